"""Run one extract: window from the watermark, fetch, land (rules, raw suite), then commit.

A connector turns a window of one canonical entity into streamed record batches in
canonical columns (:class:`Fetched`); :func:`run_extract` does everything else the same way
for every source:

1. the window is ``(since, until)`` with ``since`` from :class:`WatermarkStore` (exclusive;
   ``None`` = everything) less the look-back overlap (``KAM_EXTRACT_LOOKBACK_MINUTES``,
   default 60) and ``until`` the end of the as-of day (exclusive), so a rerun of a date
   refetches exactly the same interval and lands the same batch again. The overlap catches
   late commits: a row stamped 10:00 whose transaction commits after a row stamped 10:05
   was read is still in the next window. Rows read twice are the same key landed in two
   batches; staging keeps one row per key (the latest batch), so none is lost or doubled;
2. :func:`~kam_transforms.extract.landing.land_parts` quarantines bad rows, runs the raw
   suite and publishes the batch atomically;
3. only then the watermark moves to the largest cursor landed.

Which connector a source uses, and the task entry point, are in
:mod:`kam_transforms.extract.connectors`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kam_transforms.entities import ENTITIES, Entity
from kam_transforms.extract.files import ExportNotFoundError, ExtractError
from kam_transforms.extract.landing import Part, land_parts, landed_currencies, landed_owners
from kam_transforms.extract.rules import rules_for
from kam_transforms.extract.snapshot import Snapshot
from kam_transforms.extract.state import WatermarkStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LOOKBACK_ENV",
    "Connector",
    "Fetched",
    "Window",
    "ordered_entities",
    "run_extract",
]

#: Minutes an incremental window reaches back before the watermark (late commits).
LOOKBACK_ENV = "KAM_EXTRACT_LOOKBACK_MINUTES"
DEFAULT_LOOKBACK = timedelta(minutes=60)


@dataclass(frozen=True)
class Window:
    """What one run extracts: changes with ``since < cursor < until`` (``since`` None = all).

    ``since`` is where the connector reads from (the recorded ``start`` less the look-back);
    ``start`` is the watermark the run begins at, which the run records.
    """

    as_of: date
    since: datetime | None
    until: datetime
    lake_dir: Path
    start: datetime | None = None


@dataclass
class Fetched:
    """A connector's batch: canonical columns (plus extras) and what it knows about it.

    The rows are either ``parts`` (streams, one per file, listing or query: what every
    connector hands over) or one in-memory ``frame`` (tests, small ad-hoc batches). A
    connector whose parts are read lazily (HubSpot pages, an Odoo cursor) fills in
    ``cursor_max`` and ``stats`` once its parts have been read: :func:`run_extract` reads
    them after the landing.
    """

    frame: pd.DataFrame | None
    origin: str
    parts: Sequence[Part] = ()
    cursor_max: datetime | None = None
    formats: dict[str, str] = field(default_factory=dict)
    required_columns: tuple[str, ...] | None = None
    #: The batch is a full snapshot of the source (its missing keys were deleted), or None.
    snapshot: Snapshot | None = None
    stats: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """A source system; ``incremental`` connectors honour ``Window.since``."""

    name: str
    incremental: bool

    def fetch(self, ent: Entity, window: Window) -> Fetched: ...


def lookback() -> timedelta:
    """The look-back overlap of incremental reads (``KAM_EXTRACT_LOOKBACK_MINUTES``)."""
    raw = os.environ.get(LOOKBACK_ENV, "").strip()
    if not raw:
        return DEFAULT_LOOKBACK
    try:
        minutes = float(raw)
    except ValueError as exc:
        raise ValueError(f"{LOOKBACK_ENV}={raw!r} is not a number of minutes") from exc
    if minutes < 0:
        raise ValueError(f"{LOOKBACK_ENV}={raw!r} must be 0 or more minutes")
    return timedelta(minutes=minutes)


def _window(
    store: WatermarkStore, ent: Entity, as_of: date, incremental: bool, lake_dir: Path
) -> Window:
    start_text = store.window_start(ent, as_of) if incremental else None
    start = datetime.fromisoformat(start_text) if start_text else None
    until = datetime.combine(as_of + timedelta(days=1), time(), UTC)
    since = start - lookback() if start is not None else None
    return Window(as_of=as_of, since=since, until=until, lake_dir=lake_dir, start=start)


def run_extract(
    connector: Connector,
    ent: Entity,
    lake_dir: Path,
    as_of: date,
    *,
    base_currency: str = "USD",
    loaded_at: datetime | None = None,
    validate: bool = True,
    allow_shrink: bool = False,
) -> dict[str, Any]:
    """Extract ``ent`` through ``connector`` for ``as_of`` and land it; returns the summary.

    The summary holds the landing counts (``rows_in == rows_landed + rows_quarantined``),
    ``quarantine_reasons`` per rule, the window (``since``, ``until``), the new
    ``watermark`` and the connector's ``stats`` (requests, pages, retries, tombstones).
    A full snapshot also reports ``rows_deleted`` (tombstones for vanished keys);
    ``allow_shrink`` lets it delete more than its ``max_shrink`` share.

    Raises
    ------
    ExtractError
        The source or the batch cannot be landed (schema drift, failed raw suite, HTTP
        401/403, ...); nothing is landed and the watermark stays.
    """
    store = WatermarkStore(lake_dir)
    window = _window(store, ent, as_of, connector.incremental, Path(lake_dir))
    try:
        fetched = connector.fetch(ent, window)
    except ExportNotFoundError as exc:
        if not ent.optional:
            raise
        # An optional entity the source does not have: nothing lands, nothing is deleted
        # (the previous batch, if any, stays in force) and the watermark stays.
        return _skipped(ent, connector.name, window, str(exc))
    owners = None
    if rules_for(ent).resolve_owner:
        owners = landed_owners(Path(lake_dir), as_of)
        if owners is None:
            raise ExtractError(
                f"{ent.qualified_name}: no crm/owners batch landed on or before {as_of}, so "
                "its rows cannot be matched to owners; land crm/owners first"
            )
    # Known currencies: the base and those with landed (never quarantined) fx rows only.
    known = {base_currency} | landed_currencies(Path(lake_dir))
    parts = fetched.parts
    if fetched.frame is not None:
        parts = [Part.of_frame(fetched.frame.reset_index(drop=True), fetched.origin)]
    outcome = land_parts(
        parts,
        ent,
        Path(lake_dir),
        as_of,
        origin=fetched.origin,
        loaded_at=loaded_at,
        known_currencies=None if ent.name == "fx_rates" else known,
        fx_landed=bool(known - {base_currency}),
        formats=fetched.formats,
        validate=validate,
        required_columns=fetched.required_columns,
        snapshot=(
            replace(fetched.snapshot, allow_shrink=True)
            if fetched.snapshot is not None and allow_shrink
            else fetched.snapshot
        ),
        owners=owners,
    )
    cursor = fetched.cursor_max
    if cursor is not None and cursor.tzinfo is None:
        cursor = cursor.replace(tzinfo=UTC)
    end = window.start  # the watermark never moves back, overlap or not
    if cursor is not None and (end is None or cursor > end):
        end = cursor
    # Full-snapshot connectors (file drops) record their batch too, with no cursor: a later
    # switch to an incremental connector then starts with a full extract.
    store.commit(
        ent,
        as_of,
        start=window.start.isoformat() if window.start else None,
        end=end.isoformat() if end else None,
        connector=connector.name,
        details={
            "batch_id": outcome.batch_id,
            "rows_in": outcome.rows_in,
            "rows_landed": outcome.rows_landed,
            "rows_quarantined": outcome.rows_quarantined,
            "rows_deleted": outcome.rows_deleted,
            "quarantine_reasons": outcome.quarantine_reasons,
        },
    )
    summary = outcome.as_dict() | {
        "connector": connector.name,
        "since": window.since.isoformat() if window.since else None,
        "start": window.start.isoformat() if window.start else None,
        "until": window.until.isoformat(),
        "watermark": end.isoformat() if end else None,
        "stats": fetched.stats,
    }
    summary["extra_columns"] = list(outcome.extra_columns)
    return summary


def _skipped(ent: Entity, connector: str, window: Window, why: str) -> dict[str, Any]:
    return {
        "source": ent.source,
        "entity": ent.name,
        "batch_id": None,
        "rows_in": 0,
        "rows_landed": 0,
        "rows_quarantined": 0,
        "rows_deleted": 0,
        "quarantine_reasons": {},
        "path": None,
        "quarantine_path": None,
        "raw_validation": {},
        "as_of": window.as_of.isoformat(),
        "origin": None,
        "skipped": f"optional entity, no export: {why}",
        "connector": connector,
        "since": None,
        "start": window.start.isoformat() if window.start else None,
        "until": window.until.isoformat(),
        "watermark": window.start.isoformat() if window.start else None,
        "stats": {},
        "extra_columns": [],
    }


#: Landed after every other entity of their source (their rows are checked against it).
LAST = ("crm/owner_directory",)


def ordered_entities(source: str | None = None) -> list[Entity]:
    """The canonical entities of ``source`` (or all), ``erp/fx_rates`` first (every other
    batch checks its currencies against the landed rates) and ``crm/owner_directory`` last
    (its rows must name landed owners)."""
    chosen = [e for e in ENTITIES if source is None or e.source == source]
    return sorted(
        chosen,
        key=lambda e: (e.qualified_name in LAST) - (e.qualified_name == "erp/fx_rates"),
    )
