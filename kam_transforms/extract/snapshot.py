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

Keys are compared trimmed (as staging trims them); the previous state is read in DuckDB
(:mod:`kam_transforms.extract.lake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.lake import create_live, quote, state_files

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ALLOW_SHRINK_ENV",
    "PreviousState",
    "Snapshot",
    "SnapshotError",
    "check_not_empty",
    "check_shrink",
    "previous_state",
]

#: Set to 1/true to let one run land a snapshot that shrinks beyond its ``max_shrink``.
ALLOW_SHRINK_ENV = "KAM_ALLOW_SHRINK"


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
    """How many keys were live before the run date, and how many of them vanished."""

    live_keys: int
    gone: int


def previous_state(
    con: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    ent: Entity,
    as_of: date,
    present: str,
    columns: list[str],
) -> PreviousState:
    """Compare the snapshot's keys (relation ``present``, trimmed text) with the live state
    before ``as_of``; creates temp table ``gone``: for every vanished key its previous row in
    ``columns`` (canonical columns as text, ``is_deleted = 'true'``), ordered by key."""
    files = state_files(lake_dir, ent, as_of, before=True)
    names = create_live(con, "previous", files, ent) if files else set()
    picked = ", ".join(
        "'true' as is_deleted"
        if c == "is_deleted"
        else (
            f"cast(l.{quote(c)} as varchar) as {quote(c)}"
            if c in names
            else f"cast(null as varchar) as {quote(c)}"
        )
        for c in columns
    )
    # Identifiers are canonical columns (the entity registry's allow-list), quoted.
    if not files:
        empty = f"create or replace temp table gone as select {picked} from (select 1) l where false"  # noqa: S608, E501
        con.execute(empty)
        return PreviousState(0, 0)
    on = " and ".join(f"trim(cast(l.{quote(k)} as varchar)) = p.{quote(k)}" for k in ent.key)
    order = ", ".join(f"l.{quote(k)}" for k in ent.key)
    con.execute(
        f"create or replace temp table gone as select {picked} "  # noqa: S608
        f"from previous l anti join {present} p on {on} order by {order}"
    )
    live = con.execute("select count(*) from previous").fetchall()[0][0]
    gone = con.execute("select count(*) from gone").fetchall()[0][0]
    return PreviousState(int(live), int(gone))


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
    gone = previous.gone
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
