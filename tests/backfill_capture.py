"""What a run of one date leaves behind, kept per date so two ways of running the same dates
(an Airflow backfill, ``kam run`` one date after another) can be compared: the serving
warehouse (marts and snapshots), the alert state and that date's digests.

:func:`capture` runs right after a date's alerts were sent: from ``kam run`` in the test, and
from the test-only Airflow listener ``tests/airflow_plugins/kam_capture.py`` in the task
process of the ``alerts`` task (before the next run can start: earlier runs finish first).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import duckdb

__all__ = ["alert_state", "capture", "digests", "snapshot_versions", "table_differences"]

#: Alert state tables and the order that makes their rows comparable.
ALERT_TABLES = {
    "alerts": "dedup_key",
    "deliveries": "delivery_id",
    "delivery_alerts": "delivery_id, dedup_key",
    "runs": "as_of",
    "alert_episodes": "dedup_key, raised_on",
}


def capture(home: Path, into: Path) -> str:
    """Copy ``home``'s serving warehouse, alert state and outbox to ``into/<as_of>/`` (the
    date serving was published for); return the date."""
    serving = home / "warehouse" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        row = con.execute("select max(as_of) from _kam_publish_log").fetchone()
    assert row is not None and row[0] is not None, f"{serving} has no publish log"
    day = row[0].isoformat()
    target = into / day
    target.mkdir(parents=True)
    shutil.copyfile(serving, target / "serving.duckdb")  # a published file is never written
    with sqlite3.connect(home / "alerts" / "state.sqlite") as src, \
            sqlite3.connect(target / "state.sqlite") as dst:
        src.backup(dst)
    shutil.copytree(home / "outbox", target / "outbox")
    return day


#: Served columns that name their run (Airflow's run id or kam's ``cli__<date>``, the build id,
#: the clock), and the text of statistics GX observed (floats, see below), not data.
RUN_COLUMNS = {"validation_runs": {"run_id", "validated_at", "build_id", "observed_value"}}
_FLOATS = ("DOUBLE", "FLOAT", "REAL")


def _served_tables(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and table_name not like '\\_kam%' escape '\\' "
        "order by table_name, column_index", [db]).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def table_differences(a: Path, b: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Every served table (marts and snapshots, not the ``_kam_*`` run metadata) of two
    serving files, row for row: the row counts of ``a`` and, per table that differs, how.

    Rows are sorted on every column; doubles compare to 1e-9 (relative): DuckDB's parallel
    sums add in no fixed order, so two runs of the same build differ in the last bits."""
    import numpy as np

    counts: dict[str, int] = {}
    differ: dict[str, str] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        tables_a, tables_b = _served_tables(con, "a"), _served_tables(con, "b")
        if set(tables_a) != set(tables_b):
            differ["(tables)"] = f"{sorted(set(tables_a) ^ set(tables_b))}"
        for table, columns in tables_a.items():
            if columns != tables_b.get(table):
                differ[table] = "columns differ"
                continue
            skip = RUN_COLUMNS.get(table, set())
            exact = [c for c, kind in columns if kind not in _FLOATS and c not in skip]
            floats = [c for c, kind in columns if kind in _FLOATS and c not in skip]
            keys = [f'"{c}"::varchar' for c in exact] + [f'round("{c}", 6)' for c in floats]
            select = ", ".join([f'"{c}"::varchar as "{c}"' for c in exact]
                               + [f'"{c}"' for c in floats])
            order = ", ".join(f"{k} nulls first" for k in keys)
            frames = [con.execute(f'select {select} from {db}.main."{table}" order by {order}').df()  # noqa: S608 - names from the catalog
                      for db in ("a", "b")]
            counts[table] = len(frames[0])
            if len(frames[0]) != len(frames[1]):
                differ[table] = f"{len(frames[0])} rows against {len(frames[1])}"
                continue
            bad = [c for c in exact if not frames[0][c].equals(frames[1][c])]
            bad += [c for c in floats if not np.allclose(
                frames[0][c].astype(float), frames[1][c].astype(float),
                rtol=1e-9, atol=1e-9, equal_nan=True)]
            if bad:
                differ[table] = f"columns {bad}"
    return counts, differ


def snapshot_versions(serving: Path) -> dict[str, list[tuple]]:
    """Per snapshot: (valid_from, valid_to, number of versions), in valid_from order."""
    with duckdb.connect(str(serving), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like 'snap\\_%' escape '\\' order by 1").fetchall()]
        return {
            name: con.execute(
                f"select dbt_valid_from::date, dbt_valid_to::date, count(*) from {name} "  # noqa: S608 - names from the catalog
                "group by all order by 1, 2 nulls last").fetchall()
            for name in names
        }


def alert_state(state: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(state) as con:
        return {
            table: con.execute(f"select * from {table} order by {order}").fetchall()  # noqa: S608 - fixed names
            for table, order in ALERT_TABLES.items()
        }


def digests(outbox: Path) -> dict[str, str]:
    """The outbox's files (account managers' and, at month-ends, managers' team digests)
    and the sha256 of each."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(outbox.glob("*.eml"))
    }
