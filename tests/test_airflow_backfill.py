"""``airflow backfill create`` over two month-ends equals running those dates one by one.

The demo world (300 customers, anchor 2026-10-31) is dropped once per date into
``drops/<date>/`` (``KAM_EXPORTS_DIR=drops/{as_of}``). Two homes run the same dates:

- **one by one**: ``kam run --as-of <date>`` for each date in order;
- **backfill**: the real Airflow 3 components (api-server with the execution API, scheduler
  with the LocalExecutor, dag-processor) on a fresh PostgreSQL metadata database, and
  ``airflow backfill create --dag-id kam_pipeline`` over the range, with the DAG on a
  month-end schedule. No ``--max-active-runs``: a backfill's runs do not count against the
  DAG's ``max_active_runs=1`` (Airflow's default for a backfill is 10 at once), so the DAG's
  ``wait_for_earlier_runs`` must put them in order.

After each date's alerts both homes are captured (``backfill_capture``; in Airflow by the
test-only listener plugin ``airflow_plugins/kam_capture.py``), then compared per date: every
mart and snapshot row for row (doubles to 1e-9: DuckDB's parallel sums differ in the last
bits from one run to the next), the snapshot versions, the alert state and the digests.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from airflow_services import (
    BIN,
    airflow_env,
    api_up,
    free_port,
    fresh_database,
    query,
    running,
    wait_for,
)
from backfill_capture import alert_state, capture, digests, snapshot_versions, table_differences

from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(1500)]

DATES = (date(2026, 9, 30), date(2026, 10, 31))
CUSTOMERS = 300
SEED = 3
# Month-ends (cron "L"), restricted to the backfilled months so that the scheduler, which
# creates the latest interval's run of a DAG with catchup=False when it is unpaused, finds
# that run (2026-10-31) already made by the backfill and adds none of its own.
SCHEDULE = "0 0 L 9-10 *"


@dataclass(frozen=True)
class Runs:
    one_by_one: Path  # captures/<date>/ of kam run
    backfill: Path  # captures/<date>/ of the Airflow backfill
    metadata_db: str
    dry_run: str


def _one_by_one(drops: str, root: Path, errors: list[str]) -> None:
    home = root / "one_by_one"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")} | {
        "KAM_HOME": str(home), "KAM_EXPORTS_DIR": drops}
    for day in DATES:
        proc = subprocess.run([str(BIN / "kam"), "run", "--as-of", day.isoformat()], env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            errors.append(f"kam run --as-of {day} failed:\n{proc.stderr[-4000:]}")
            return
        capture(home, root / "captures" / "one_by_one")


def _backfill(env: dict[str, str], metadata_db: str, root: Path, api_port: int) -> str:
    airflow = str(BIN / "airflow")

    def cli(*args: str) -> str:
        proc = subprocess.run([airflow, *args], env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert proc.returncode == 0, f"airflow {' '.join(args)}:\n{proc.stdout[-3000:]}\n" \
            f"{proc.stderr[-3000:]}"
        return proc.stdout

    cli("db", "migrate")
    cli("pools", "set", "kam_warehouse", "1", "one writer of the DuckDB build warehouse")
    components = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
    }
    with running(components, env, root) as procs:
        wait_for(lambda: api_up(api_port), 180, "the api-server", procs)
        wait_for(lambda: query(metadata_db, "select count(*) from serialized_dag "
                               "where dag_id = 'kam_pipeline'")[0][0] == 1,
                 240, "the dag-processor to register kam_pipeline", procs)
        backfill = ["backfill", "create", "--dag-id", "kam_pipeline",
                    "--from-date", DATES[0].isoformat(), "--to-date", DATES[-1].isoformat()]
        dry_run = cli(*backfill, "--dry-run")
        cli(*backfill)
        cli("dags", "unpause", "kam_pipeline")

        def finished() -> bool:
            states = query(metadata_db, "select state from dag_run")
            return len(states) >= len(DATES) and {s for (s,) in states} <= {"success", "failed"}

        wait_for(finished, 1200, "the backfill's runs", procs)
    return dry_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    from kam_transforms.demo_data import generate

    root = tmp_path_factory.mktemp("airflow_backfill")
    for day in DATES:
        generate(root / "drops" / day.isoformat(), CUSTOMERS, SEED, day, anchor=DATES[-1])
    drops = str(root / "drops" / "{as_of}")
    errors: list[str] = []
    baseline = threading.Thread(target=_one_by_one, args=(drops, root, errors))
    baseline.start()
    with fresh_database("kam_backfill_test") as metadata_db:
        api_port = free_port()
        env = airflow_env(root / "airflow", metadata_db, api_port, "LocalExecutor") | {
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # unpaused after the backfill
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "tests" / "airflow_plugins"),
            "KAM_PIPELINE_SCHEDULE": SCHEDULE,
            # half the default: a poke much shorter than its process's teardown fails the
            # sensor on a loaded machine (kam_transforms.orchestration.RUN_ORDER_POKE_SECONDS)
            "KAM_RUN_ORDER_POKE_SECONDS": "30",
            "KAM_HOME": str(root / "backfill"),
            "KAM_EXPORTS_DIR": drops,
            "KAM_CAPTURE_DIR": str(root / "captures" / "backfill"),
        }
        try:
            dry_run = _backfill(env, metadata_db, root, api_port)
        finally:
            baseline.join()
        assert not errors, errors[0]
        yield Runs(root / "captures" / "one_by_one", root / "captures" / "backfill",
                   metadata_db, dry_run)


def test_backfill_makes_one_run_per_month_end_and_runs_them_in_order(runs: Runs) -> None:
    for day in DATES:
        assert f"{day.isoformat()}T00:00:00" in runs.dry_run.replace(" ", "T"), runs.dry_run
    rows = query(runs.metadata_db, """
        select dr.run_id, dr.run_type, dr.state, dr.data_interval_end::date, dr.end_date,
               ti.start_date
        from dag_run dr join task_instance ti on ti.run_id = dr.run_id and ti.task_id = 'as_of'
        order by dr.logical_date""")
    assert [(r[1], r[2], r[3]) for r in rows] == [("backfill", "success", d) for d in DATES], rows
    for earlier, later in zip(rows, rows[1:], strict=False):
        # a later date's work starts after the earlier run has ended
        assert later[5] >= earlier[4], (earlier, later)
    states = query(runs.metadata_db, "select task_id, state, count(*) from task_instance "
                                     "group by 1, 2 order by 1")
    assert ("wait_for_earlier_runs", "success", len(DATES)) in states, states
    assert ("summary", "success", len(DATES)) in states, states
    # the later runs started at once (backfill max_active_runs 10) and waited for the earlier
    waited = query(runs.metadata_db, """
        select distinct dr.data_interval_end::date from task_reschedule tr
        join task_instance ti on ti.id = tr.ti_id join dag_run dr on dr.run_id = ti.run_id
        where ti.task_id = 'wait_for_earlier_runs' order by 1""")
    assert [d for (d,) in waited] == list(DATES[1:]), waited


def test_every_date_has_the_marts_of_a_run_one_by_one(runs: Runs) -> None:
    for day in DATES:
        counts, differ = table_differences(runs.backfill / day.isoformat() / "serving.duckdb",
                                           runs.one_by_one / day.isoformat() / "serving.duckdb")
        assert not differ, (day, differ)
        assert len(counts) > 20, sorted(counts)  # every mart and snapshot is compared
        assert counts["customer_tiers"] == CUSTOMERS, day
        assert counts["key_account_alerts"] > 0 and counts["account_plan_attainment"] > 0, day


def test_snapshots_gain_their_versions_in_date_order(runs: Runs) -> None:
    for i, day in enumerate(DATES):
        versions = snapshot_versions(runs.backfill / day.isoformat() / "serving.duckdb")
        assert versions == snapshot_versions(runs.one_by_one / day.isoformat() / "serving.duckdb")
        assert set(versions) == {
            "main.snap_customer_health", "main.snap_customer_lifecycle", "main.snap_customer_tiers"}
        for name, rows in versions.items():
            # every version starts on a run date up to this one; the open ones are current
            assert {r[0] for r in rows} <= set(DATES[: i + 1]), (day, name, rows)
            assert {r[0] for r in rows if r[1] is None} <= set(DATES[: i + 1]), (day, name)
            if i:  # each later month-end opened versions for what changed
                assert any(r[0] == day for r in rows), (day, name, rows)


def test_alert_state_and_digests_equal_and_each_digest_is_sent_once(runs: Runs) -> None:
    for day in DATES:
        backfill, one_by_one = runs.backfill / day.isoformat(), runs.one_by_one / day.isoformat()
        assert alert_state(backfill / "state.sqlite") == alert_state(one_by_one / "state.sqlite")
        assert digests(backfill / "outbox") == digests(one_by_one / "outbox"), day
    last = runs.backfill / DATES[-1].isoformat()
    sent = digests(last / "outbox")
    for day in DATES:  # every date sent its digests and its team digests, each file once
        assert any(name.startswith(f"kam.{day:%Y%m%d}.") for name in sent), day
        assert any(name.startswith(f"team.{day:%Y%m%d}.") for name in sent), day
    deliveries = alert_state(last / "state.sqlite")["deliveries"]
    assert len(deliveries) == len(sent)
    assert len({d[0] for d in deliveries}) == len(deliveries)
    assert json.dumps(sorted({d[4] for d in deliveries})) == '["sent"]'
