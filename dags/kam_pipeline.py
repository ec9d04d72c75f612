"""KAM warehouse pipeline: extract -> dbt build -> validate -> publish -> alerts.

One run computes everything **as of** its data interval end (or the `as_of` param): the
extract lands each canonical entity (fx rates first), dbt builds the warehouse, Great
Expectations validates it, publish replaces the serving warehouse that BI reads (only a
validated build of the run's date), and the alerts step e-mails one digest per account
owner (and, at a month-end, one team scorecard per manager). A rerun or a backfill of a
date gives the same tables and sends no second e-mail. The first task,
`wait_for_earlier_runs`, holds a run until every run of an earlier logical date has
finished, so a backfill (whose runs Airflow counts against the backfill's own
`--max-active-runs`, not this DAG's `max_active_runs=1`) builds its dates oldest first.

Every task has an `execution_timeout` (SIGTERM stops dbt and marks the build failed) and
retries only where a retry can help (extract, publish, alerts; never dbt or validation);
a failed task e-mails the data team (`KAM_DATA_TEAM_EMAIL`) through the alerts' delivery
(`.eml` files or SMTP). The start date is 1990-01-01 (the earliest date the landing
accepts), so `airflow backfill create` reaches any history and Airflow never skips a date
silently; a date with no landed orders fails the build naming the earliest order date.

Thin wiring only: every task imports its logic from ``kam_transforms`` when it runs, so
parsing this file loads neither pandas, dbt, Great Expectations nor DuckDB.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task

from kam_transforms.orchestration import (
    RUN_ORDER_POKE_SECONDS,
    START_DATE,
    STEP_POLICY,
    earlier_unfinished_run,
    extract_for_task,
    notify_task_failure,
    run_as_of,
)

WAREHOUSE_POOL = "kam_warehouse"  # one slot: DuckDB allows one writer per file
DAGRUN_TIMEOUT = timedelta(hours=6)
# One extract task per canonical entity; fx rates land first because every other batch
# checks its currencies against them, and the owner directory (optional: no export lands
# nothing) last, because its rows must name landed owners.
FX_RATES = "erp/fx_rates"
OWNER_DIRECTORY = "crm/owner_directory"
ENTITIES = [
    "crm/accounts",
    "crm/owners",
    "crm/contacts",
    "crm/activities",
    "crm/opportunities",
    "crm/tickets",
    "crm/surveys",
    "crm/account_plans",
    "erp/customers",
    "erp/products",
    "erp/orders",
    "erp/order_lines",
    "erp/invoices",
    "erp/payments",
]


def _policy(step: str) -> dict:
    return STEP_POLICY[step].task_args()


def _settings():  # noqa: ANN202 - imported lazily on purpose
    from kam_transforms.config import Settings

    return Settings.from_env()


@dag(
    dag_id="kam_pipeline",
    schedule=os.environ.get("KAM_PIPELINE_SCHEDULE", "@daily") or None,
    start_date=pendulum.datetime(START_DATE.year, START_DATE.month, START_DATE.day, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["kam", "warehouse"],
    default_args={"on_failure_callback": notify_task_failure, **_policy("summary")},
    dagrun_timeout=DAGRUN_TIMEOUT,
    doc_md=__doc__,
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Recompute this date (YYYY-MM-DD) instead of the data interval end.",
        ),
        "dbt_vars": Param(
            {},
            type="object",
            description="dbt vars for this run's build, e.g. {\"abc_cutoff_a\": 0.75}; "
            "recorded with the build in the audit warehouse (_kam_run_config).",
        ),
    },
)
def kam_pipeline() -> None:
    @task.sensor(
        mode="reschedule",
        poke_interval=float(os.environ.get("KAM_RUN_ORDER_POKE_SECONDS") or RUN_ORDER_POKE_SECONDS),
        timeout=DAGRUN_TIMEOUT.total_seconds(),
        doc_md="Wait (rescheduling, no worker slot held) until every earlier run of this DAG "
        "has finished: a backfill (whose runs do not count against `max_active_runs=1`) or a "
        "nightly run overlapping one then still builds the dates in order.",
        **_policy("wait_for_earlier_runs"),
    )
    def wait_for_earlier_runs() -> PokeReturnValue:
        earlier = earlier_unfinished_run(get_current_context()["ti"])
        if earlier is not None:
            print(f"waiting for the earlier run {earlier} to finish")
        return PokeReturnValue(is_done=earlier is None)

    @task(doc_md="The run's as-of date (param `as_of`, else the interval end).", **_policy("as_of"))
    def as_of() -> str:
        return run_as_of(get_current_context())

    @task(
        map_index_template="{{ task.op_kwargs['qualified'] }}",
        doc_md="Land one canonical entity (rules, quarantine, raw suite, atomic batch); "
        "schema drift, a failed raw suite, a refused token, a broken _export.json or an "
        "empty or shrunken full snapshot fail without retry.",
        **_policy("extract"),
    )
    def extract(qualified: str, as_of: str) -> dict:
        source, name = qualified.split("/")
        return extract_for_task(as_of, source, name)

    @task(
        pool=WAREHOUSE_POOL,
        doc_md="dbt build of the whole project as of the run date (a new build id).",
        **_policy("dbt_build"),
    )
    def dbt_build(as_of: str, landed: list[dict]) -> dict:
        from datetime import date

        from kam_transforms.pipeline import dbt_build as build

        dbt_vars = get_current_context()["params"].get("dbt_vars") or {}
        return build(_settings(), date.fromisoformat(as_of), dbt_vars=dbt_vars)

    @task(
        pool=WAREHOUSE_POOL,
        doc_md="Great Expectations mart suites on this build; blocking failures stop here.",
        **_policy("validate"),
    )
    def validate(as_of: str, built: dict) -> dict:
        from datetime import date

        from kam_transforms.pipeline import validate_build

        run_id = get_current_context()["run_id"]
        return validate_build(_settings(), date.fromisoformat(as_of), run_id)

    @task(
        pool=WAREHOUSE_POOL,
        doc_md="Atomically replace the serving warehouse with this validated build.",
        **_policy("publish"),
    )
    def publish(as_of: str, validated: dict) -> dict:
        from datetime import date

        from kam_transforms.pipeline import publish_marts

        run_id = get_current_context()["run_id"]
        return publish_marts(_settings(), date.fromisoformat(as_of), run_id)

    @task(
        doc_md="One digest per recipient, exactly once, from serving; at a month-end each "
        "manager's team scorecard; then the alert lifecycle for the next build.",
        **_policy("alerts"),
    )
    def alerts(as_of: str, published: dict) -> dict:
        from datetime import date

        from kam_transforms.alert_step import send_alerts

        return send_alerts(_settings(), date.fromisoformat(as_of))

    @task(doc_md="The run's counts, printed as JSON.", **_policy("summary"))
    def summary(as_of: str, sent: dict) -> dict:
        import json
        from datetime import date

        from kam_transforms.pipeline import summarize

        result = summarize(_settings(), date.fromisoformat(as_of)) | {"alerts": sent}
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return result

    day = as_of()
    wait_for_earlier_runs() >> day
    fx_rates = extract.override(task_id="extract_fx_rates")(qualified=FX_RATES, as_of=day)
    landed = extract.partial(as_of=day).expand(qualified=ENTITIES)
    directory = extract.override(task_id="extract_owner_directory")(
        qualified=OWNER_DIRECTORY, as_of=day
    )
    fx_rates >> landed >> directory
    built = dbt_build(day, [fx_rates, landed, directory])
    validated = validate(day, built)
    published = publish(day, validated)
    summary(day, alerts(day, published))


kam_pipeline()
