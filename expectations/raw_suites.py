"""Raw suites: one per canonical entity, built from its rule table, evaluated in DuckDB.

Each new batch is validated before it becomes visible in the lake. :func:`checks` declares an
entity's expectations once; :func:`validate_raw` computes every one of them exactly as an
aggregate in DuckDB over the rows about to land (a temp Parquet file, any size, no pandas
and no Great Expectations import on the landing path), and :func:`build` turns the same
declarations into a Great Expectations suite (the thin modules ``expectations/raw_<entity>.py``
name one entity each: ``SOURCE``, ``ENTITY``, ``build``).

What a raw suite checks:

- every canonical column is present (extra columns allowed);
- the key is not null and unique (compound keys as a whole);
- amounts and quantities are not negative, fx rates positive; bounded values in range;
- currencies are in the known set (landed fx currencies and the base currency); columns
  with a value set (a plan's status) hold only its values;
- event dates and timestamps are plausible (after 1990) and not after the as-of date;
- foreign keys resolve to a live key of the parent's landed state (non-blocking: parents
  land in parallel; exact at any size, skipped only while the parent has no landed batch).

Expectations carry ``blocking``; a failed blocking one fails the entity
(:class:`RawSuiteFailed`), a failed non-blocking one is reported as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kam_transforms.entities import Entity, entity
from kam_transforms.extract.lake import create_live, quote, state_files
from kam_transforms.extract.rules import rules_for

if TYPE_CHECKING:
    import duckdb

__all__ = ["EARLIEST", "Check", "RawSuiteFailed", "build", "checks", "suite_name", "validate_raw"]

log = logging.getLogger(__name__)

#: Dates before this are implausible for any KAM record.
EARLIEST = datetime(1990, 1, 1)


class RawSuiteFailed(RuntimeError):
    """A blocking raw expectation failed; the message lists each with its row count."""


def suite_name(ent: Entity) -> str:
    return f"raw_{ent.source}_{ent.name}"


@dataclass(frozen=True)
class Check:
    """One raw expectation (named as Great Expectations names it)."""

    expectation: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    min_value: float | datetime | None = None
    max_value: float | datetime | None = None
    strict_min: bool = False
    value_set: tuple[str, ...] = ()
    #: A foreign key: values must be live keys of this parent entity.
    parent: Entity | None = None
    #: Compare as timestamps (``True``) or as numbers (``False``) in a between check.
    temporal: bool = False
    blocking: bool = True


def checks(ent: Entity, as_of: date, known_currencies: set[str] | None = None) -> list[Check]:
    """The raw expectations of ``ent`` for a batch as of ``as_of``."""
    rules = rules_for(ent)
    latest = datetime.combine(as_of + timedelta(days=1), time()) - timedelta(microseconds=1)
    out = [Check("expect_table_columns_to_match_set", columns=ent.columns)]
    out += [Check("expect_column_values_to_not_be_null", k) for k in ent.key]
    if len(ent.key) == 1:
        out.append(Check("expect_column_values_to_be_unique", ent.key[0]))
    else:
        out.append(Check("expect_compound_columns_to_be_unique", columns=ent.key))
    between = "expect_column_values_to_be_between"
    out += [Check(between, c, min_value=0) for c in rules.non_negative]
    out += [Check(between, c, min_value=0, strict_min=True) for c in rules.positive]
    out += [Check(between, c, min_value=lo, max_value=hi) for c, (lo, hi) in rules.ranges.items()]
    if known_currencies is not None:
        known = tuple(sorted(known_currencies))
        in_set = "expect_column_values_to_be_in_set"
        out += [Check(in_set, c, value_set=known) for c in rules.currencies]
    out += [
        Check("expect_column_values_to_be_in_set", c, value_set=allowed)
        for c, allowed in rules.value_sets.items()
    ]
    out += [
        Check(between, c, min_value=EARLIEST, max_value=latest, temporal=True)
        for c in rules.not_after_as_of
    ]
    out += [
        Check(
            "expect_column_values_to_be_in_set",
            col,
            parent=entity(ent.source, parent),
            blocking=False,
        )
        for col, parent in rules.references.items()
        if len(entity(ent.source, parent).key) == 1
    ]
    return out


def build(
    gx: Any,
    ent: Entity,
    as_of: date,
    known_currencies: set[str] | None = None,
    references: dict[str, list[str]] | None = None,
) -> Any:
    """The raw suite of ``ent`` as a Great Expectations suite (the same :func:`checks`).

    ``references`` maps a foreign-key column to the parent keys to check against (foreign
    keys without an entry are left out).
    """
    e = gx.expectations
    gx.get_context(mode="ephemeral")  # a suite needs an active context
    suite = gx.ExpectationSuite(name=suite_name(ent))
    for c in checks(ent, as_of, known_currencies):
        meta = {"blocking": c.blocking}
        if c.expectation == "expect_table_columns_to_match_set":
            item = e.ExpectTableColumnsToMatchSet(
                column_set=list(c.columns), exact_match=False, meta=meta
            )
        elif c.expectation == "expect_column_values_to_not_be_null":
            item = e.ExpectColumnValuesToNotBeNull(column=c.column, meta=meta)
        elif c.expectation == "expect_column_values_to_be_unique":
            item = e.ExpectColumnValuesToBeUnique(column=c.column, meta=meta)
        elif c.expectation == "expect_compound_columns_to_be_unique":
            item = e.ExpectCompoundColumnsToBeUnique(column_list=list(c.columns), meta=meta)
        elif c.expectation == "expect_column_values_to_be_between":
            bounds = {"min_value": c.min_value, "max_value": c.max_value}
            extra = {"strict_min": True} if c.strict_min else {}
            item = e.ExpectColumnValuesToBeBetween(column=c.column, **bounds, **extra, meta=meta)
        elif c.parent is not None:
            if c.column not in (references or {}):
                continue
            values = (references or {})[str(c.column)]
            item = e.ExpectColumnValuesToBeInSet(column=c.column, value_set=values, meta=meta)
        else:
            item = e.ExpectColumnValuesToBeInSet(
                column=c.column, value_set=list(c.value_set), meta=meta
            )
        suite.add_expectation(item)
    return suite


# --------------------------------------------------------------------------- DuckDB evaluation


def _typed(c: Check) -> str:
    col = quote(str(c.column))
    if c.temporal:
        return f"try_cast(replace(replace({col}, 'T', ' '), 'Z', '') as timestamp)"
    return f"try_cast({col} as double)"


def _unexpected(c: Check, relation: str) -> tuple[str, list[Any]]:
    """SQL selecting the offending values of ``c`` in ``relation`` and its parameters."""
    if c.expectation == "expect_column_values_to_not_be_null":
        return f"select null from {relation} where {quote(str(c.column))} is null", []  # noqa: S608
    if c.expectation.endswith("_to_be_unique"):
        cols = [quote(k) for k in (c.columns or (str(c.column),))]
        keys = ", ".join(cols)
        where = " and ".join(f"{k} is not null" for k in cols)
        return (
            f"select {cols[0]} from (select {keys}, count(*) over (partition by {keys}) as _n "  # noqa: S608
            f"from {relation} where {where}) where _n > 1",
            [],
        )
    if c.expectation == "expect_column_values_to_be_between":
        v = _typed(c)
        cond, params = [], []
        if c.min_value is not None:
            cond.append(f"{v} {'<=' if c.strict_min else '<'} ?")
            params.append(c.min_value)
        if c.max_value is not None:
            cond.append(f"{v} > ?")
            params.append(c.max_value)
        return (
            f"select {quote(str(c.column))} from {relation} "  # noqa: S608
            f"where {v} is not null and ({' or '.join(cond)})",
            params,
        )
    col = quote(str(c.column))
    return (
        f"select {col} from {relation} where {col} is not null "  # noqa: S608
        f"and not list_contains(?, {col})",
        [list(c.value_set)],
    )


def _foreign(
    con: duckdb.DuckDBPyConnection, c: Check, relation: str, lake_dir: Path, as_of: date
) -> tuple[str, list[Any]] | None:
    """SQL selecting the foreign-key values of ``relation`` the parent's live keys lack;
    None while the parent has no landed batch (it may land in parallel)."""
    assert c.parent is not None  # noqa: S101
    files = state_files(lake_dir, c.parent, as_of, before=False)
    if not files:
        return None
    table = f"parent_{c.parent.name}"
    create_live(con, table, files, c.parent, columns=[])
    key, col = quote(c.parent.key[0]), quote(str(c.column))
    return (
        f"select v.{col} from {relation} v anti join {quote(table)} p "  # noqa: S608
        f"on trim(cast(p.{key} as varchar)) = trim(v.{col}) where v.{col} is not null",
        [],
    )


def validate_raw(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    ent: Entity,
    as_of: date,
    *,
    lake_dir: Path | None = None,
    known_currencies: set[str] | None = None,
) -> dict[str, Any]:
    """Evaluate the raw suite on ``relation`` (the live rows about to land, canonical text);
    raise :class:`RawSuiteFailed` on a blocking failure.

    Returns ``{"suite", "evaluated", "warnings"}``; every count is exact.
    """
    name = suite_name(ent)
    total = con.execute(f"select count(*) from {relation}").fetchall()[0][0]  # noqa: S608
    present = {r[0] for r in con.execute(f"describe select * from {relation}").fetchall()}  # noqa: S608
    failed: list[str] = []
    warnings: list[str] = []
    evaluated = 0
    for c in checks(ent, as_of, known_currencies):
        where = f" on {c.column}" if c.column else ""
        if c.expectation == "expect_table_columns_to_match_set":
            evaluated += 1
            missing = [col for col in c.columns if col not in present]
            if missing:
                failed.append(f"{name}.{c.expectation}: missing {', '.join(missing)}")
            continue
        if c.parent is not None:
            if lake_dir is None or c.column not in present:
                continue
            query = _foreign(con, c, relation, lake_dir, as_of)
            if query is None:
                continue
        else:
            query = _unexpected(c, relation)
        evaluated += 1
        sql, params = query
        bad = con.execute(f"select count(*) from ({sql})", params).fetchall()[0][0]  # noqa: S608
        if not bad:
            continue
        sample = con.execute(f"select distinct * from ({sql}) limit 3", params).fetchall()  # noqa: S608
        shown = ", ".join(str(r[0]) for r in sample if r[0] is not None)
        text = f"{name}.{c.expectation}{where}: {bad} of {total} rows" + (
            f" (e.g. {shown})" if shown else ""
        )
        (failed if c.blocking else warnings).append(text)
    for w in warnings:
        log.warning("raw suite warning: %s", w)
    if failed:
        lines = "\n  ".join(failed)
        raise RawSuiteFailed(
            f"raw suite {name} failed {len(failed)} of {evaluated} expectations as of "
            f"{as_of}:\n  {lines}"
        )
    return {"suite": name, "evaluated": evaluated, "warnings": warnings}
