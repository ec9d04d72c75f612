"""The landed state of an entity, read in DuckDB: per key the latest row, as staging reads it.

Staging (``latest_landed``) keeps, per key, the row of the latest ``as_of`` partition, then
the latest ``_loaded_at`` and ``_batch_id``, and drops keys whose latest row is a tombstone
(``is_deleted = 'true'``). The landing needs the same state for two things: the keys a full
snapshot no longer holds (:mod:`kam_transforms.extract.snapshot`) and the parent keys of the
raw suite's foreign-key checks (:mod:`expectations.raw_suites`). Both run here in DuckDB, so
neither holds an entity in Python memory.

Raw files of a full snapshot carry the Parquet metadata ``kam.snapshot = full``: the state is
read from the partitions since the latest full snapshot only, not the whole history.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from kam_transforms.entities import Entity

if TYPE_CHECKING:
    import duckdb

__all__ = ["SNAPSHOT_METADATA", "create_live", "quote", "state_files"]

#: Parquet key-value metadata on the raw file of a full snapshot.
SNAPSHOT_METADATA = {b"kam.snapshot": b"full"}


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def state_files(lake_dir: Path, ent: Entity, as_of: date, *, before: bool) -> list[str]:
    """Raw files of ``ent`` up to ``as_of`` (excluded with ``before``), newest partition
    first, back to and including the latest full snapshot."""
    root = Path(lake_dir) / "raw" / ent.source / ent.name
    day = as_of.isoformat()
    days = sorted(
        (
            p
            for p in root.glob("as_of=*")
            if (d := p.name.removeprefix("as_of=")) < day or (d == day and not before)
        ),
        reverse=True,
    )
    out: list[str] = []
    for part in days:
        files = sorted(part.glob("*.parquet"))
        out.extend(str(f) for f in files)
        full = SNAPSHOT_METADATA[b"kam.snapshot"]
        if any((pq.read_schema(f).metadata or {}).get(b"kam.snapshot") == full for f in files):
            break
    return out


def create_live(
    con: duckdb.DuckDBPyConnection,
    name: str,
    files: list[str],
    ent: Entity,
    columns: list[str] | None = None,
) -> set[str]:
    """Create temp table ``name``: per key of ``ent`` the latest row in ``files``, tombstones
    dropped; ``columns`` (canonical names, default all) limits what it holds besides the key.
    Returns the column names the files have."""
    scan = "read_parquet(?, hive_partitioning = true, union_by_name = true)"
    # Identifiers are the entity registry's canonical columns (an allow-list), quoted; the
    # file list is a bound parameter.
    probe = f"describe select * from {scan}"  # noqa: S608
    names = {r[0] for r in con.execute(probe, [files]).fetchall()}
    deleted = (
        "coalesce(lower(cast(is_deleted as varchar)), 'false') in ('true', '1')"
        if "is_deleted" in names
        else "false"
    )
    wanted = list(ent.columns) if columns is None else list(dict.fromkeys([*ent.key, *columns]))
    picked = ", ".join(quote(c) for c in wanted if c in names)
    keys = ", ".join(quote(k) for k in ent.key)
    sql = (
        f"create or replace temp table {quote(name)} as select {picked} from ("  # noqa: S608
        f"  select *, row_number() over (partition by {keys} order by"
        f"    cast(as_of as varchar) desc, _loaded_at desc, _batch_id desc) as _rank"
        f"  from {scan}) where _rank = 1 and not ({deleted})"
    )
    con.execute(sql, [files])
    return names
