"""DAG files import cleanly, cheaply, and wire the steps in the documented order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import REPO

HEAVY = ("pandas", "dbt", "great_expectations", "duckdb", "pyarrow", "numpy", "scipy")


def test_dag_files_import_without_errors_or_heavy_modules() -> None:
    probe = f"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({str(REPO / "dags")!r})
print(json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "dags": sorted(bag.dags),
    "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules),
}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], env=os.environ.copy(), capture_output=True, text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"] == [
        "kam_alerts", "kam_extract_crm", "kam_extract_erp", "kam_pipeline", "kam_warehouse"
    ]
    assert result["heavy"] == []


def test_pipeline_structure() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(str(REPO / "dags")).dags["kam_pipeline"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.doc_md
    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert downstream == {
        "wait_for_earlier_runs": ["as_of"],
        "as_of": [
            "alerts", "dbt_build", "extract", "extract_fx_rates", "extract_owner_directory",
            "publish", "summary", "validate"
        ],
        "extract_fx_rates": ["dbt_build", "extract"],
        "extract": ["dbt_build", "extract_owner_directory"],
        "extract_owner_directory": ["dbt_build"],
        "dbt_build": ["validate"],
        "validate": ["publish"],
        "publish": ["alerts"],
        "alerts": ["summary"],
        "summary": [],
    }
    writers = {t.task_id for t in dag.tasks if t.pool == "kam_warehouse"}
    assert writers == {"dbt_build", "validate", "publish"}
    assert dag.params["as_of"] is None


def test_assets_wire_extract_warehouse_and_alerts() -> None:
    """One extract DAG per source, one asset per entity; the warehouse DAG scheduled on all
    of them and producing the serving asset; the alerts DAG scheduled on that."""
    from airflow.dag_processing.dagbag import DagBag

    dags = DagBag(str(REPO / "dags")).dags
    produced: dict[str, str] = {}
    for dag_id, source in (("kam_extract_crm", "crm"), ("kam_extract_erp", "erp")):
        dag = dags[dag_id]
        assert dag.schedule is None or dag.timetable.summary  # KAM_EXTRACT_SCHEDULE, default off
        for t in dag.tasks:
            (asset,) = t.outlets
            assert t.task_id == f"extract_{asset.name.removeprefix(f'kam_lake_{source}_')}"
            produced[asset.name] = asset.uri
    assert len(produced) == 16 and produced["kam_lake_erp_order_lines"] == (
        "kam://lake/raw/erp/order_lines")
    crm = dags["kam_extract_crm"]  # the directory's rows must name landed owners
    assert crm.task_dict["extract_owners"].downstream_task_ids == {"extract_owner_directory"}
    erp = dags["kam_extract_erp"]
    assert erp.task_dict["extract_fx_rates"].downstream_task_ids == {
        f"extract_{n}" for n in ("customers", "products", "orders", "order_lines", "invoices",
                                 "payments")}  # fmt: skip
    warehouse = dags["kam_warehouse"]
    consumed = {a.name for a in warehouse.timetable.asset_condition.objects}
    assert consumed == set(produced)  # every entity asset, all of them (AND)
    assert type(warehouse.timetable.asset_condition).__name__ == "AssetAll"
    (serving,) = warehouse.task_dict["publish"].outlets
    assert serving.name == "kam_serving_warehouse"
    alerts = dags["kam_alerts"]
    assert {a.name for a in alerts.timetable.asset_condition.objects} == {serving.name}
    assert [t.task_id for t in alerts.topological_sort()] == ["as_of", "alerts"]
    writers = {t.task_id for t in warehouse.tasks if t.pool == "kam_warehouse"}
    assert writers == {"dbt_build", "validate", "publish"}
    # a manual run of the warehouse DAG passes dbt vars as kam_pipeline's does
    for dag_id in ("kam_warehouse", "kam_pipeline"):
        params = dags[dag_id].params
        assert params["dbt_vars"] == {} and params["as_of"] is None, dag_id
        assert params.get_param("dbt_vars").schema["type"] == "object"


def test_an_asset_triggered_run_takes_one_date_from_its_events() -> None:
    from types import SimpleNamespace

    from kam_transforms.orchestration import as_of_from_events, run_as_of

    def ev(day: str) -> SimpleNamespace:
        return SimpleNamespace(extra={"as_of": day})

    from airflow.sdk import Asset

    crm = Asset(name="kam_lake_crm_accounts", uri="kam://lake/raw/crm/accounts")
    erp = Asset(name="kam_lake_erp_orders", uri="kam://lake/raw/erp/orders")
    events = {crm: [ev("2026-10-30"), ev("2026-10-31")], erp: [ev("2026-10-31")]}
    assert as_of_from_events(events) == "2026-10-31"  # the latest event of each asset
    assert run_as_of({"params": {}, "triggering_asset_events": events}) == "2026-10-31"
    assert run_as_of({"params": {"as_of": "2026-09-30"}, "triggering_asset_events": events}) == (
        "2026-09-30")  # an explicit param wins
    with pytest.raises(ValueError, match="different dates: .*'2026-11-01': .*kam_lake_erp_orders"):
        as_of_from_events({crm: [ev("2026-10-31")], erp: [ev("2026-11-01")]})
    with pytest.raises(ValueError, match="kam_lake_erp_orders carries no as_of"):
        as_of_from_events({erp: [SimpleNamespace(extra={})]})


def test_a_run_waits_for_every_earlier_unfinished_run() -> None:
    """The first task of kam_pipeline waits while a run of an earlier logical date is running
    or queued (a backfill's runs, or a backfill beside the nightly run), and only then."""
    from types import SimpleNamespace

    from kam_transforms.orchestration import earlier_unfinished_run

    class Ti:
        def __init__(self, runs: dict[str, SimpleNamespace]) -> None:
            self.runs = runs  # the latest earlier run in each state

        def get_previous_dagrun(self, state: str | None = None) -> SimpleNamespace | None:
            return self.runs.get(state or "")

    def run(run_id: str, day: int) -> SimpleNamespace:
        return SimpleNamespace(run_id=run_id, logical_date=datetime(2026, day, 28, tzinfo=UTC))

    assert earlier_unfinished_run(Ti({})) is None  # the first run, or all earlier ones done
    assert earlier_unfinished_run(Ti({"queued": run("backfill__2026-08-31", 8)})) == (
        "backfill__2026-08-31 (queued, logical date 2026-08-28)")
    running = Ti({"running": run("scheduled__2026-09-30", 9), "queued": run("b", 8)})
    assert earlier_unfinished_run(running) == (
        "scheduled__2026-09-30 (running, logical date 2026-09-28)")


def test_a_dated_file_drop_is_read_for_its_own_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``KAM_EXPORTS_DIR`` with ``{as_of}``: each run (a backfill's too) reads its date's drop."""
    from datetime import date

    from kam_transforms.config import Settings
    from kam_transforms.extract.connectors import connector_for

    monkeypatch.setenv("KAM_HOME", str(tmp_path))
    monkeypatch.setenv("KAM_EXPORTS_DIR", str(tmp_path / "drops" / "{as_of}"))
    monkeypatch.delenv("KAM_CRM_CONNECTOR", raising=False)
    settings = Settings.from_env()
    day = date(2026, 9, 30)
    assert settings.exports_for(day) == tmp_path / "drops" / "2026-09-30"
    assert connector_for("crm", settings, day).exports_dir == tmp_path / "drops" / "2026-09-30"
    monkeypatch.setenv("KAM_EXPORTS_DIR", str(tmp_path / "drop"))
    assert Settings.from_env().exports_for(day) == tmp_path / "drop"  # no placeholder


def test_every_task_has_a_timeout_a_doc_the_failure_callback_and_sensible_retries() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from kam_transforms.orchestration import notify_task_failure

    bag = DagBag(str(REPO / "dags")).dags
    for dag in bag.values():
        for t in dag.tasks:
            assert t.execution_timeout is not None and t.doc_md, (dag.dag_id, t.task_id)
            assert notify_task_failure in (t.on_failure_callback if isinstance(
                t.on_failure_callback, list) else [t.on_failure_callback]), (dag.dag_id, t.task_id)
    dag = bag["kam_pipeline"]
    assert dag.start_date.date().isoformat() == "1990-01-01"  # nothing is skipped silently
    timeouts = {t.task_id: t.execution_timeout.total_seconds() / 60 for t in dag.tasks}
    assert timeouts == {"wait_for_earlier_runs": 5, "as_of": 5, "extract_fx_rates": 60,
                        "extract": 60, "extract_owner_directory": 60, "dbt_build": 180,
                        "validate": 60, "publish": 30, "alerts": 30, "summary": 10}
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert retries == {"wait_for_earlier_runs": 0, "as_of": 0, "extract_fx_rates": 3, "extract": 3,
                       "extract_owner_directory": 3, "dbt_build": 0,
                       "validate": 0, "publish": 1, "alerts": 3, "summary": 1}
    for t in dag.tasks:
        assert t.doc_md, t.task_id
        callbacks = t.on_failure_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert notify_task_failure in callbacks, t.task_id
        if t.retries:
            assert t.retry_exponential_backoff, t.task_id


def test_a_failing_task_tells_the_data_team_on_a_loopback_smtp_server(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real DAG (``dag.test()``) on an export whose fx rates lack a column: the extract
    fails without retry, nothing downstream runs, and the failure callback e-mails the data
    team once over SMTP (the provider's standard connection), naming task, date and error."""
    from airflow.dag_processing.dagbag import DagBag
    from test_alerts_smtp import provider_conn, smtp_server

    home = tmp_path / "kam"
    (home / "exports" / "erp").mkdir(parents=True)
    (home / "exports" / "erp" / "fx_rates.csv").write_text(
        "currency,rate_date\nEUR,2026-10-30\n", encoding="utf-8")
    for key in [k for k in os.environ if k.startswith("KAM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KAM_HOME", str(home))
    monkeypatch.setenv("KAM_DATA_TEAM_EMAIL", "data-team@kam.example.com")
    monkeypatch.setenv("KAM_ALERTS_DELIVERY", "smtp")
    with smtp_server() as server:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(server.port))
        dag = DagBag(str(REPO / "dags")).dags["kam_pipeline"]
        run = dag.test(logical_date=datetime(2026, 10, 31, tzinfo=UTC))
        received = list(server.handler.messages)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract_fx_rates"] == "failed"
    assert states["publish"] != "success" and states["alerts"] != "success"
    assert len(received) == 1, [r.rcpt_tos for r in received]
    assert received[0].rcpt_tos == ["data-team@kam.example.com"]
    mail = received[0].message
    assert mail["Subject"] == "KAM task failed: kam_pipeline.extract_fx_rates as of 2026-10-31"
    body = mail.get_content()
    assert "fx_rates.csv lacks canonical column(s) rate_to_base" in body, body
    assert "Tries:    1 (retries allowed: 3)" in body  # AirflowFailException: no retry


#: What each task imports before it does any work (its module path, as the task body and the
#: function it calls import them), and the heavy modules that path must not load: a task pays
#: for pandas, GX or dbt only when it uses them (the landing's row rules import pandas when
#: they first run; validate needs GX and pandas; alerts pandas).
TASK_PATHS = {
    "extract": (
        "from airflow.sdk.exceptions import AirflowFailException; "
        "from kam_transforms.orchestration import extract_for_task; "
        "import kam_transforms.config, kam_transforms.extract, kam_transforms.pipeline, "
        "kam_transforms.extract.export_config, kam_transforms.extract.snapshot",
        ("pandas", "great_expectations", "dbt"),
    ),
    "validate": (
        "import kam_transforms.pipeline, expectations, kam_transforms.validate",
        ("great_expectations", "dbt"),
    ),
    "publish": (
        "import kam_transforms.pipeline, kam_transforms.warehouse, kam_transforms.builds",
        ("pandas", "great_expectations", "dbt", "matplotlib"),
    ),
    "alerts": (
        "import kam_transforms.alert_step, kam_transforms.alerts, kam_transforms.alerts.source",
        ("great_expectations", "dbt", "matplotlib"),
    ),
}


@pytest.mark.parametrize("task", sorted(TASK_PATHS))
def test_task_paths_import_no_heavy_module_they_do_not_need(task: str) -> None:
    statement, forbidden = TASK_PATHS[task]
    probe = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=os.environ.copy(), capture_output=True, text=True,
        check=True, cwd=REPO,
    )
    loaded = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}
    assert sorted(loaded & set(forbidden)) == [], task
