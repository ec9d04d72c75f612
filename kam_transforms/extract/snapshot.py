"""Full snapshots: keys missing from today's export are deleted, within declared limits.

A connector that hands over everything the source holds (a file drop, by default) declares
its batch a full snapshot (:class:`Snapshot`). The landing then

- refuses an empty (header-only) snapshot and one of which every row was quarantined, unless
  ``allow_empty``: either would otherwise report success and serve yesterday's data;
- compares the snapshot's keys with the previous landed state (per key the latest row before
  the run date, as staging reads it, tombstones excluded) and lands a tombstone (the previous
  row with ``is_deleted = 'true'``) for every key that vanished, so staging drops it;
- refuses a shrink beyond ``max_shrink`` (vanished keys / previous live keys) unless
  ``allow_shrink`` (``kam extract --allow-shrink`` or ``KAM_ALLOW_SHRINK=1`` for one run).

Raw files of a full snapshot carry the Parquet metadata ``kam.snapshot = full``: the previous
state is read from the dates since the latest full snapshot only, not the whole history.
Keys are compared trimmed (as staging trims them); the computation runs in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError

__all__ = [
    "ALLOW_SHRINK_ENV",
    "SNAPSHOT_METADATA",
    "PreviousState",
    "Snapshot",
    "SnapshotError",
    "check_not_empty",
    "check_shrink",
    "vanished_keys",
]

#: Set to 1/true to let one run land a snapshot that shrinks beyond its ``max_shrink``.
ALLOW_SHRINK_ENV = "KAM_ALLOW_SHRINK"
#: Parquet key-value metadata on the raw file of a full snapshot.
SNAPSHOT_METADATA = {b"kam.snapshot": b"full"}


class SnapshotError(ExtractError):
    """A full snapshot is empty, wholly quarantined or shrank beyond its limit; nothing landed."""


@dataclass(frozen=True)
class Snapshot:
    """A full snapshot's policy (see the module doc)."""

    allow_empty: bool = False
    max_shrink: float = 0.5
    allow_shrink: bool = False


@dataclass(frozen=True)
class PreviousState:
    """The live keys before the run date and the previous rows of those that vanished."""

    live_keys: int
    tombstones: pa.Table


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _state_files(lake_dir: Path, ent: Entity, as_of: date) -> list[str]:
    """Raw files before ``as_of``, back to (and including) the latest full snapshot."""
    root = lake_dir / "raw" / ent.source / ent.name
    days = sorted(
        (p for p in root.glob("as_of=*") if p.name.removeprefix("as_of=") < as_of.isoformat()),
        reverse=True,
    )
    out: list[str] = []
    for day in days:
        files = sorted(day.glob("*.parquet"))
        out.extend(str(f) for f in files)
        if any((pq.read_schema(f).metadata or {}).get(b"kam.snapshot") == b"full" for f in files):
            break
    return out


def vanished_keys(
    lake_dir: Path, ent: Entity, as_of: date, present: pa.Table, columns: list[str]
) -> PreviousState:
    """Compare the snapshot's keys (``present``, trimmed text) with the previous live state.

    Returns the number of live keys before ``as_of`` and, for every one missing from
    ``present``, its previous row in ``columns`` (canonical columns only, as text) with
    ``is_deleted = 'true'``, ordered by key.
    """
    empty = pa.table({c: pa.array([], pa.string()) for c in columns})
    files = _state_files(Path(lake_dir), ent, as_of)
    if not files:
        return PreviousState(0, empty)
    from kam_transforms.duck import connect

    # Identifiers are the entity registry's canonical columns (an allow-list), quoted; the
    # file list is a bound parameter.
    scan = "read_parquet(?, hive_partitioning = true, union_by_name = true)"
    keys = ", ".join(_q(k) for k in ent.key)
    with connect() as con:
        probe = f"describe select * from {scan}"  # noqa: S608
        names = {r[0] for r in con.execute(probe, [files]).fetchall()}
        deleted = (
            "coalesce(lower(cast(is_deleted as varchar)), 'false') in ('true', '1')"
            if "is_deleted" in names
            else "false"
        )
        latest = (
            f"create temp table live as select * from ("  # noqa: S608
            f"  select *, row_number() over (partition by {keys} order by"
            f"    cast(as_of as varchar) desc, _loaded_at desc, _batch_id desc) as _rank"
            f"  from {scan}) where _rank = 1 and not ({deleted})"
        )
        con.execute(latest, [files])
        con.register("present", present)
        live_keys = con.execute("select count(*) from live").fetchall()[0][0]
        picked = ", ".join(
            "'true' as is_deleted"
            if c == "is_deleted"
            else (f"cast(l.{_q(c)} as varchar) as {_q(c)}" if c in names else f"null as {_q(c)}")
            for c in columns
        )
        on = " and ".join(f"trim(cast(l.{_q(k)} as varchar)) = p.{_q(k)}" for k in ent.key)
        order = ", ".join(f"l.{_q(k)}" for k in ent.key)
        gone = f"select {picked} from live l anti join present p on {on} order by {order}"  # noqa: S608
        table = con.sql(gone).to_arrow_table()
    return PreviousState(int(live_keys), table.cast(empty.schema))


def check_not_empty(
    ent: Entity, snapshot: Snapshot, origin: str, rows_in: int, rows_landed: int,
    reasons: dict[str, int],
) -> None:  # fmt: skip
    """Refuse a header-only or wholly quarantined full snapshot unless ``allow_empty``."""
    if snapshot.allow_empty or rows_landed:
        return
    hint = (
        f'declare "allow_empty": true for {ent.name} in {ent.source}/_export.json if the '
        "source really holds nothing"
    )
    if rows_in == 0:
        raise SnapshotError(
            f"{ent.qualified_name}: the full snapshot {origin} has no rows (header only); "
            f"landing it would delete every key. Nothing was landed; {hint}"
        )
    raise SnapshotError(
        f"{ent.qualified_name}: every one of the {rows_in} rows of the full snapshot {origin} "
        f"was quarantined ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))}); "
        f"nothing was landed. Fix the export, or {hint}"
    )


def check_shrink(
    ent: Entity, snapshot: Snapshot, origin: str, previous: PreviousState
) -> None:
    """Refuse a snapshot whose vanished keys exceed ``max_shrink`` of the previous live keys."""
    gone = previous.tombstones.num_rows
    if snapshot.allow_shrink or not previous.live_keys:
        return
    share = gone / previous.live_keys
    if share > snapshot.max_shrink:
        raise SnapshotError(
            f"{ent.qualified_name}: the full snapshot {origin} lacks {gone} of the "
            f"{previous.live_keys} keys landed before ({share:.0%}, more than the allowed "
            f"{snapshot.max_shrink:.0%}); nothing was landed. If the deletions are real, rerun "
            f"with kam extract --allow-shrink ({ALLOW_SHRINK_ENV}=1) or raise max_shrink for "
            f"{ent.name} in {ent.source}/_export.json"
        )
