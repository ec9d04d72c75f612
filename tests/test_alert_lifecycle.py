"""The alert lifecycle: episodes in the alert state, their export to the lake, and what the
scorecards of a build count from it (alerts raised and closed in the month, median days to
close), against a pandas recomputation over the session demo build (tests/dbt_build.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alert_fixtures import alert_row
from dbt_build import AS_OF, Build, run_dbt

from kam_transforms.alerts import ALERT_COLUMNS, OutboxState
from kam_transforms.alerts.lifecycle import LIFECYCLE_SCHEMA, export_alert_lifecycle

D1, D2, D3 = dt.date(2026, 9, 30), dt.date(2026, 10, 10), dt.date(2026, 10, 20)


def _frame(day: dt.date, *customers: str) -> pd.DataFrame:
    rows = [alert_row(as_of_date=day, customer_id=c) for c in customers]  # key C00x|no_touchpoint
    return pd.DataFrame(rows, columns=list(ALERT_COLUMNS))


def _episodes(state: OutboxState) -> list[tuple]:
    return [(e["dedup_key"][:4], e["raised_on"], e["closed_on"]) for e in state.episodes()]


def test_episodes_follow_raise_close_and_reopen_and_export_atomically(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with OutboxState(tmp_path / "state.sqlite") as state:
        state.plan(_frame(D1, "C001", "C002"), D1)
        state.plan(_frame(D2, "C001", "C003"), D2)  # C002 closes, C003 is raised
        state.plan(_frame(D2, "C001", "C003", "C004"), D2)  # a rerun of D2 that sees C004 too
        state.plan(_frame(D2, "C001", "C003"), D2)  # ... and the final rerun without it
        state.plan(_frame(D3, "C002", "C003"), D3)  # C002 again (a new episode), C001 closes
        assert _episodes(state) == [
            ("C001", "2026-09-30", "2026-10-20"),
            ("C002", "2026-09-30", "2026-10-10"),
            ("C002", "2026-10-20", None),
            ("C003", "2026-10-10", None),
        ]
        path = export_alert_lifecycle(state, lake, D3)
        assert path == lake / "alert_history" / "as_of=2026-10-20" / "alert_lifecycle.parquet"
        first = path.read_bytes()
        assert export_alert_lifecycle(state, lake, D3).read_bytes() == first  # a rerun: same bytes
        assert list(path.parent.iterdir()) == [path]  # no temporary file left
    table = pd.read_parquet(path)
    assert list(table.columns) == LIFECYCLE_SCHEMA.names
    assert table["closed_on"].notna().sum() == 2
    assert set(table["_batch_id"]) == {"alerts-2026-10-20"}

    # a state from before the episodes table gets one episode per alert when opened
    with OutboxState(tmp_path / "state.sqlite") as state:
        state._db.execute("DROP TABLE alert_episodes")  # noqa: SLF001 - simulate the old schema
    with OutboxState(tmp_path / "state.sqlite") as state:
        assert _episodes(state) == [
            ("C001", "2026-09-30", "2026-10-20"),
            ("C002", "2026-10-20", None),
            ("C003", "2026-10-10", None),
        ]


# --------------------------------------------------------------------------- in the warehouse

HISTORY_AS_OF = dt.date(2026, 10, 15)  # the previous alerts step the build of AS_OF sees


def _history(alerts: pd.DataFrame, customers: list[str]) -> pd.DataFrame:
    """An alert history with every case: open and still detected, open and no longer
    detected (closed by the build's run), closed in October and in September."""
    keys = sorted(alerts["dedup_key"])
    raised = [dt.date(2026, 9, 20), dt.date(2026, 10, 2), dt.date(2026, 10, 9)]
    rows = []
    for i, key in enumerate(keys[::2]):  # half of today's alerts were already open
        rows.append((key, key.split("|")[0], "x", "low", raised[i % 3], None))
    for i, cid in enumerate(customers):
        rows.append((f"{cid}|gone", cid, "gone", "high", raised[i % 3], None))  # closes at AS_OF
        closed = dt.date(2026, 10, 1 + i % 9)
        rows.append((f"{cid}|oct", cid, "oct", "low", dt.date(2026, 9, 28), closed))
        rows.append((f"{cid}|sep", cid, "sep", "low", dt.date(2026, 9, 1), dt.date(2026, 9, 25)))
    frame = pd.DataFrame(rows, columns=["dedup_key", "customer_id", "rule_id", "severity",
                                        "raised_on", "closed_on"])  # fmt: skip
    frame["_batch_id"] = "alerts-test"
    frame["_loaded_at"] = pd.Timestamp(HISTORY_AS_OF, tz="UTC")
    return frame


def _write(lake: Path, day: dt.date, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = lake / "alert_history" / f"as_of={day.isoformat()}"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(frame, LIFECYCLE_SCHEMA, preserve_index=False),
                   folder / "alert_lifecycle.parquet")  # fmt: skip


@pytest.fixture(scope="module")
def rebuilt(build: Build, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The session build with an alert history in its lake, the scorecards rebuilt over it."""
    root = tmp_path_factory.mktemp("lifecycle")
    lake, db = root / "lake", root / "build.duckdb"
    shutil.copytree(build.lake_dir, lake)
    shutil.copy(build.db_path, db)
    alerts = build.query("select dedup_key, customer_id from key_account_alerts")
    customers = sorted(build.query(
        "select customer_id from dim_customers where owner_id is not null "
        "and customer_id is not null")["customer_id"])[::7]  # fmt: skip
    history = _history(alerts, customers)
    _write(lake, HISTORY_AS_OF, history)
    # neither an older partition nor the run date's own (written after its build) is read
    _write(lake, dt.date(2026, 9, 30), history.head(3))
    _write(lake, AS_OF, history.assign(closed_on=None))
    proc = run_dbt(
        ["build", "--select", "stg_alerts__alert_lifecycle+", "--exclude", "test_type:unit",
         "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})],
        lake, db, root,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:]
    return {"history": history, "alerts": alerts, "db": db, "customers": customers}


def _query(db: Path, sql: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def _expected(rebuilt: dict, owners: pd.DataFrame, by: str) -> pd.DataFrame:
    history, alerts = rebuilt["history"], rebuilt["alerts"]
    month = pd.Timestamp(AS_OF).replace(day=1)
    detected = set(alerts["dedup_key"])
    open_before = set(history.loc[history["closed_on"].isna(), "dedup_key"])
    episodes = history.copy()
    episodes["raised_on"] = pd.to_datetime(episodes["raised_on"])
    episodes["closed_on"] = pd.to_datetime(episodes["closed_on"])
    closing = episodes["closed_on"].isna() & ~episodes["dedup_key"].isin(detected)
    episodes.loc[closing, "closed_on"] = pd.Timestamp(AS_OF)
    raised_now = alerts[~alerts["dedup_key"].isin(open_before)].assign(
        raised_on=pd.Timestamp(AS_OF), closed_on=pd.NaT
    )
    episodes = pd.concat([episodes, raised_now], ignore_index=True).merge(owners, on="customer_id")
    episodes["raised"] = episodes["raised_on"] >= month
    episodes["closed"] = episodes["closed_on"] >= month
    episodes["days"] = (episodes["closed_on"] - episodes["raised_on"]).dt.days
    g = episodes.dropna(subset=[by]).groupby(by)
    return pd.DataFrame(
        {
            "alerts_raised_in_month": g["raised"].sum(),
            "alerts_closed_in_month": g["closed"].sum(),
            "median_days_to_close": g.apply(lambda f: f.loc[f["closed"], "days"].median()),
        }
    )


@pytest.mark.parametrize("grain, by", [("owner", "owner_id"), ("manager", "manager_email")])
def test_scorecards_count_the_lifecycle_as_pandas_does(rebuilt: dict, grain: str, by: str) -> None:
    db = rebuilt["db"]
    owners = _query(db, "select customer_id, owner_id, manager_email from dim_customers "
                        "where owner_id is not null and customer_id is not null")  # fmt: skip
    expected = _expected(rebuilt, owners, by)
    got = _query(db, "select * from account_manager_scorecards where grain = '" + grain + "'")
    got = got.set_index("subject_id").loc[expected.index]
    for col in expected.columns:
        np.testing.assert_allclose(got[col].astype(float), expected[col].astype(float),
                                   err_msg=f"{grain} {col}")  # fmt: skip
    # every case is there: closures this month with a median, and raisings
    assert expected["alerts_closed_in_month"].sum() > 0
    assert expected["alerts_raised_in_month"].sum() > 0
    assert got["median_days_to_close"].notna().sum() >= 2
    lifecycle = _query(db, "select distinct raised_by from main_intermediate.int_alert_lifecycle")
    assert set(lifecycle["raised_by"]) == {"alert_history", "run_detection"}
