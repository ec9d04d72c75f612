"""The pipeline as asset-driven DAGs: one extract DAG per source system, the warehouse DAG
on their assets, the alerts DAG on the serving warehouse.

- `kam_extract_crm`, `kam_extract_erp` (schedule `KAM_EXTRACT_SCHEDULE`, default none):
  one task per canonical entity, each updating the asset `kam_lake_<source>_<entity>`
  with the run's `as_of` in the event's extra;
- `kam_warehouse`: scheduled when every entity asset has been updated; builds, validates
  and publishes the date the events carry (events of two dates are refused), then updates
  `kam_serving_warehouse` with `as_of` and `build_id`;
- `kam_alerts`: scheduled on `kam_serving_warehouse`; sends that date's digests.

`kam_pipeline` (the single DAG) does the same in one run; schedule one or the other (see
the README), both are safe together (locks, build ids) but would do the work twice.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from kam_transforms.orchestration import (
    START_DATE,
    STEP_POLICY,
    extract_for_task,
    notify_task_failure,
    run_as_of,
)

SOURCES = {
    "crm": [
        "accounts", "owners", "contacts", "activities", "opportunities", "tickets", "surveys",
        "owner_directory", "account_plans",
    ],
    "erp": ["fx_rates", "customers", "products", "orders", "order_lines", "invoices", "payments"],
}
WAREHOUSE_POOL = "kam_warehouse"


def lake_asset(source: str, name: str) -> Asset:
    return Asset(name=f"kam_lake_{source}_{name}", uri=f"kam://lake/raw/{source}/{name}")


SERVING = Asset(name="kam_serving_warehouse", uri="kam://serving/serving.duckdb")
LAKE = {f"{s}/{n}": lake_asset(s, n) for s, names in SOURCES.items() for n in names}
COMMON = {
    "start_date": pendulum.datetime(START_DATE.year, START_DATE.month, START_DATE.day, tz="UTC"),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": {"on_failure_callback": notify_task_failure},
}


def _settings():  # noqa: ANN202 - imported lazily on purpose
    from kam_transforms.config import Settings

    return Settings.from_env()


def _policy(step: str) -> dict:
    return STEP_POLICY[step].task_args()


def extract_dag(source: str) -> None:
    @dag(
        dag_id=f"kam_extract_{source}",
        schedule=os.environ.get("KAM_EXTRACT_SCHEDULE") or None,
        tags=["kam", "extract", source],
        doc_md=f"Land every {source.upper()} entity; each task updates its lake asset.",
        **COMMON,
    )
    def extract_source() -> None:
        previous = None
        tasks = {}
        for name in SOURCES[source]:
            asset = LAKE[f"{source}/{name}"]

            @task(
                task_id=f"extract_{name}",
                outlets=[asset],
                doc_md=f"Land {source}/{name}; the asset event carries the as-of date.",
                **_policy("extract"),
            )
            def extract(name: str = name, asset: Asset = asset, *, outlet_events=None) -> dict:  # noqa: ANN001
                day = run_as_of(get_current_context())
                summary = extract_for_task(day, source, name)
                outlet_events[asset].extra = {"as_of": day, "batch_id": summary["batch_id"]}
                return summary

            landed = tasks[name] = extract()
            if name == "fx_rates":  # every other ERP batch checks currencies against them
                previous = landed
            elif previous is not None:
                previous >> landed
            if name == "owner_directory":  # its rows must name landed owners
                tasks["owners"] >> landed

    extract_source()


for _source in SOURCES:
    extract_dag(_source)


@dag(
    dag_id="kam_warehouse",
    schedule=list(LAKE.values()),
    tags=["kam", "warehouse"],
    doc_md="dbt build, validate and publish the date every lake asset was updated for. "
    "A manual run takes `as_of` and `dbt_vars` (the vars are recorded with the build).",
    params={
        "as_of": Param(None, type=["null", "string"], format="date",
                       description="Rebuild this date instead of the assets' date."),
        "dbt_vars": Param({}, type="object",
                          description="dbt vars for this build, e.g. {\"abc_cutoff_a\": 0.75}."),
    },
    **COMMON,
)
def kam_warehouse() -> None:
    @task(doc_md="The date the triggering lake assets carry (one date).", **_policy("as_of"))
    def as_of() -> str:
        return run_as_of(get_current_context())

    @task(pool=WAREHOUSE_POOL, doc_md="dbt build as of the date.", **_policy("dbt_build"))
    def dbt_build(as_of: str) -> dict:
        from datetime import date

        from kam_transforms.pipeline import dbt_build as build

        dbt_vars = get_current_context()["params"].get("dbt_vars") or {}
        return build(_settings(), date.fromisoformat(as_of), dbt_vars=dbt_vars)

    @task(pool=WAREHOUSE_POOL, doc_md="Great Expectations on this build.", **_policy("validate"))
    def validate(as_of: str, built: dict) -> dict:
        from datetime import date

        from kam_transforms.pipeline import validate_build

        run_id = get_current_context()["run_id"]
        return validate_build(_settings(), date.fromisoformat(as_of), run_id)

    @task(
        pool=WAREHOUSE_POOL,
        outlets=[SERVING],
        doc_md="Publish the validated build; updates the serving warehouse asset.",
        **_policy("publish"),
    )
    def publish(as_of: str, validated: dict, *, outlet_events=None) -> dict:  # noqa: ANN001
        from datetime import date

        from kam_transforms.pipeline import publish_marts

        run_id = get_current_context()["run_id"]
        published = publish_marts(_settings(), date.fromisoformat(as_of), run_id)
        outlet_events[SERVING].extra = {"as_of": as_of, "build_id": published.get("build_id")}
        return published

    day = as_of()
    publish(day, validate(day, dbt_build(day)))


@dag(
    dag_id="kam_alerts",
    schedule=[SERVING],
    tags=["kam", "alerts"],
    doc_md="Key-account alert digests from the newly published serving warehouse.",
    **COMMON,
)
def kam_alerts() -> None:
    @task(doc_md="The date of the published serving warehouse.", **_policy("as_of"))
    def as_of() -> str:
        return run_as_of(get_current_context())

    @task(
        doc_md="One digest per recipient, exactly once; at a month-end each manager's team "
        "scorecard; then the alert lifecycle for the next build.",
        **_policy("alerts"),
    )
    def alerts(as_of: str) -> dict:
        from datetime import date

        from kam_transforms.alert_step import send_alerts

        return send_alerts(_settings(), date.fromisoformat(as_of))

    alerts(as_of())


kam_warehouse()
kam_alerts()
