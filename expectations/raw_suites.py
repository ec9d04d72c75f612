"""Raw Great Expectations suites: one per canonical entity, built from its rule table.

Each new batch is validated (as a pandas frame, typed from its canonical text) before it
becomes visible in the lake. The thin modules ``expectations/raw_<entity>.py`` name one
entity each (``SOURCE``, ``ENTITY``, ``build``); this module holds the shared builder.

What a raw suite checks:

- every canonical column is present (extra columns allowed);
- the key is not null and unique (compound keys as a whole);
- numbers parse; amounts and quantities are not negative, fx rates positive; bounded
  values in range;
- currencies are in the known set (fx currencies of the batch/lake and the base currency);
- event dates and timestamps are plausible (after 1990) and not after the as-of date;
- foreign keys resolve within the landed data (non-blocking: parents land in parallel).

Expectations carry ``meta.blocking``; a failed blocking one fails the entity
(:class:`RawSuiteFailed`), a failed non-blocking one is reported as a warning.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from kam_transforms.entities import Entity
from kam_transforms.extract.rules import rules_for

__all__ = ["EARLIEST", "RawSuiteFailed", "build", "suite_name", "typed_frame", "validate_raw_batch"]

log = logging.getLogger(__name__)

#: Dates before this are implausible for any KAM record.
EARLIEST = datetime(1990, 1, 1)
#: Foreign keys are only checked when the parent has at most this many landed keys.
_FK_MAX_KEYS = 200_000


class RawSuiteFailed(RuntimeError):
    """A blocking raw expectation failed; the message lists each with its row count."""


def suite_name(ent: Entity) -> str:
    return f"raw_{ent.source}_{ent.name}"


def typed_frame(frame: pd.DataFrame, ent: Entity) -> pd.DataFrame:
    """The canonical text batch with numbers as floats and dates/timestamps as naive UTC."""
    rules = rules_for(ent)
    out = frame.copy()
    for col in rules.numbers:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in rules.timestamps + rules.dates:
        if col in out:
            parsed = pd.to_datetime(out[col], format="ISO8601", errors="coerce", utc=True)
            out[col] = parsed.dt.tz_localize(None)
    return out


def build(
    gx: Any,
    ent: Entity,
    as_of: date,
    known_currencies: set[str] | None = None,
    references: dict[str, list[str]] | None = None,
) -> Any:
    """The raw suite of ``ent`` for a batch as of ``as_of``.

    ``references`` maps a foreign-key column to the parent keys landed so far.
    """
    e = gx.expectations
    rules = rules_for(ent)
    block = {"blocking": True}
    warn = {"blocking": False}
    latest = datetime.combine(as_of + timedelta(days=1), time()) - timedelta(microseconds=1)
    suite = gx.ExpectationSuite(name=suite_name(ent))
    items: list[Any] = [
        e.ExpectTableColumnsToMatchSet(column_set=list(ent.columns), exact_match=False, meta=block),
    ]
    for col in ent.key:
        items.append(e.ExpectColumnValuesToNotBeNull(column=col, meta=block))
    if len(ent.key) == 1:
        items.append(e.ExpectColumnValuesToBeUnique(column=ent.key[0], meta=block))
    else:
        items.append(e.ExpectCompoundColumnsToBeUnique(column_list=list(ent.key), meta=block))
    for col in rules.non_negative:
        items.append(e.ExpectColumnValuesToBeBetween(column=col, min_value=0, meta=block))
    for col in rules.positive:
        items.append(
            e.ExpectColumnValuesToBeBetween(column=col, min_value=0, strict_min=True, meta=block)
        )
    for col, (lo, hi) in rules.ranges.items():
        items.append(
            e.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi, meta=block)
        )
    if known_currencies is not None:
        for col in rules.currencies:
            items.append(
                e.ExpectColumnValuesToBeInSet(
                    column=col, value_set=sorted(known_currencies), meta=block
                )
            )
    for col in rules.not_after_as_of:
        items.append(
            e.ExpectColumnValuesToBeBetween(
                column=col, min_value=EARLIEST, max_value=latest, meta=block
            )
        )
    for col, keys in (references or {}).items():
        items.append(e.ExpectColumnValuesToBeInSet(column=col, value_set=keys, meta=warn))
    for item in items:
        suite.add_expectation(item)
    return suite


def _references(
    ent: Entity, frame: pd.DataFrame, lake_dir: Path | None, as_of: date
) -> dict[str, list[str]]:
    """Parent keys per foreign-key column: landed so far plus this batch (when cheap)."""
    if lake_dir is None:
        return {}
    from kam_transforms.entities import entity
    from kam_transforms.extract.landing import landed_rows

    out: dict[str, list[str]] = {}
    for col, parent_name in rules_for(ent).references.items():
        if col not in frame or frame[col].notna().sum() == 0:
            continue
        parent = entity(ent.source, parent_name)
        if len(parent.key) != 1:
            continue
        keys = set(landed_rows(lake_dir, parent, as_of, columns=[])[parent.key[0]].dropna())
        if parent.name == ent.name:
            keys |= set(frame[parent.key[0]].dropna())
        if not keys or len(keys) > _FK_MAX_KEYS:
            continue  # parent not landed yet (parallel first run) or too big to check here
        out[col] = sorted(keys)
    return out


def validate_raw_batch(
    frame: pd.DataFrame,
    ent: Entity,
    as_of: date,
    *,
    lake_dir: Path | None = None,
    known_currencies: set[str] | None = None,
) -> dict[str, Any]:
    """Validate the rows about to land; raise :class:`RawSuiteFailed` on a blocking failure.

    ``frame`` holds the canonical text columns (after the row rules). Returns
    ``{"suite", "evaluated", "warnings"}``; tombstones (``is_deleted = true``) are only
    checked for their key.
    """
    import great_expectations as gx

    from kam_transforms.validate import _context, _outcomes

    live = frame
    if "is_deleted" in frame:
        live = frame[frame["is_deleted"].fillna("false") != "true"]
    typed = typed_frame(live, ent)
    context = _context(gx)
    name = suite_name(ent)
    batch = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("batch")
        .get_batch(batch_parameters={"dataframe": typed})
    )
    suite = context.suites.add(
        build(gx, ent, as_of, known_currencies, _references(ent, live, lake_dir, as_of))
    )
    result = batch.validate(suite)
    outcomes = _outcomes(name, result)
    blocking = {
        r.expectation_config.type + str(r.expectation_config.kwargs.get("column")): bool(
            (r.expectation_config.meta or {}).get("blocking", True)
        )
        for r in result.results
    }
    failed = [
        o for o in outcomes if not o.success and blocking.get(o.expectation + str(o.column), True)
    ]
    warnings = [o.describe() for o in outcomes if not o.success and o not in failed]
    for w in warnings:
        log.warning("raw suite warning: %s", w)
    if failed:
        lines = "\n  ".join(o.describe() for o in failed)
        raise RawSuiteFailed(
            f"raw suite {name} failed {len(failed)} of {len(outcomes)} expectations as of "
            f"{as_of}:\n  {lines}"
        )
    return {"suite": name, "evaluated": len(outcomes), "warnings": warnings}
