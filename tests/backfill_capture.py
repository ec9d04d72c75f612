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

__all__ = ["alert_state", "capture", "digests", "mart_hashes", "snapshot_versions"]

#: Alert state tables and the order that makes their rows comparable.
ALERT_TABLES = {
    "alerts": "dedup_key",
    "deliveries": "delivery_id",
    "delivery_alerts": "delivery_id, dedup_key",
    "runs": "as_of",
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


def mart_hashes(serving: Path) -> dict[str, tuple[int, str]]:
    """Per served table (not the ``_kam_*`` run metadata): its row count and the md5 of its
    rows, each rendered as text, in sorted order: equal hashes = equal rows."""
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name not like '\\_kam%' escape '\\' order by 1").fetchall()]
        result = {}
        for table in tables:
            schema, name = table.split(".")
            rel = f'"{schema}"."{name}"'
            count, digest = con.execute(
                f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "  # noqa: S608 - names from the catalog
                f"from (select cast(t as varchar) as r from {rel} as t)").fetchone()
            result[table] = (int(count), str(digest))
        return result


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
    """The digest files (``kam.<date>.*.eml``) and the sha256 of each."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outbox.glob("kam.2*.eml"))
    }
