"""Row rules applied to one bounded chunk of a batch: normalisation and reasons, in Arrow.

:func:`apply_rules` takes a chunk's columns as Arrow string arrays in canonical column
names (rendered by :mod:`kam_transforms.extract.canonical`), normalises keys, numbers,
booleans and currencies with ``pyarrow.compute``, and collects each row's quarantine reasons
from the entity's rule table (:mod:`kam_transforms.extract.rules`); a reason's text is built
only for the rows it flags. Dates and timestamps are parsed by pandas, e-mail addresses,
locales and owners by Python functions (one column at a time). What needs the whole batch
(duplicate keys, "no value of this column parses") is accumulated across chunks:
:class:`Drift` here, duplicates in DuckDB by :mod:`kam_transforms.extract.landing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from kam_transforms.addresses import canonical_locale, normalise_address
from kam_transforms.entities import Entity
from kam_transforms.extract.canonical import SchemaDriftError
from kam_transforms.extract.rules import MAX_MAGNITUDE, EntityRules
from kam_transforms.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:  # imported when the rules first run, not when a task imports the extract path
    np, pd = lazy("numpy"), lazy("pandas")

__all__ = [
    "Drift",
    "OwnerIndex",
    "Reasons",
    "SchemaDriftError",
    "apply_rules",
]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_CURRENCY = r"^[A-Z]{3}$"
#: A typed column whose every value (at least this many) fails to parse is schema drift.
_DRIFT_MIN_VALUES = 2

Columns = dict[str, pa.Array]


@dataclass
class Drift:
    """Per typed column of a whole batch: values present, values that parsed, a sample."""

    present: dict[str, int] = field(default_factory=dict)
    parsed: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, col: str, text: pa.Array, ok: np.ndarray, kind: str) -> None:
        present = _valid(text)
        self.present[col] = self.present.get(col, 0) + int(present.sum())
        self.parsed[col] = self.parsed.get(col, 0) + int((ok & present).sum())
        self.kinds[col] = kind
        sample = self.samples.setdefault(col, [])
        if len(sample) < 3:
            head = text.filter(pa.array(present)).slice(0, 3 - len(sample))
            sample.extend(repr(v) for v in head.to_pylist())

    def check(self, ent: Entity) -> None:
        """Raise :class:`SchemaDriftError` for a column of which no value parses."""
        for col, n in self.present.items():
            if n >= _DRIFT_MIN_VALUES and not self.parsed[col]:
                raise SchemaDriftError(
                    f"{ent.source}/{ent.name}: column {col} has an impossible type: no value "
                    f"parses as a {self.kinds[col]} (e.g. {', '.join(self.samples[col])})"
                )

@dataclass(frozen=True)
class OwnerIndex:
    """The live landed ``crm/owners``: their ids, and id by lower-cased e-mail."""

    ids: frozenset[str]
    by_email: dict[str, str]


@dataclass
class Reasons:
    """Each flagged row's reasons, and the count per rule; ``columns`` are read for the
    values the reasons quote."""

    n: int
    columns: Columns = field(default_factory=dict)
    #: Reasons by row position, for the rows that have any (in the order they were found).
    rows: dict[int, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, mask: np.ndarray, rule: str, template: str, col: str = "") -> None:
        """Flag rows; ``template`` may name ``{col}`` and ``{value}`` (the cell's text)."""
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        values = self.columns[col].take(pa.array(rows)).to_pylist() if col else [""] * len(rows)
        self.counts[rule] = self.counts.get(rule, 0) + len(rows)
        for i, v in zip(rows.tolist(), values, strict=True):
            text = template.format(col=col, value=repr(v) if col else "")
            self.rows.setdefault(i, []).append(text)

    def add_each(self, mask: np.ndarray, rule: str, message: Callable[[int], str]) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            self.counts[rule] = self.counts.get(rule, 0) + len(rows)
        for i in rows.tolist():
            self.rows.setdefault(i, []).append(message(i))

    def bad(self) -> np.ndarray:
        flags = np.zeros(self.n, dtype=bool)
        flags[list(self.rows)] = True
        return flags

    def texts(self) -> list[str | None]:
        """Each row's reasons joined by ``; `` (None for a row with none)."""
        out: list[str | None] = [None] * self.n
        for i, found in self.rows.items():
            out[i] = "; ".join(found)
        return out


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, null as false."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _valid(arr: pa.Array) -> np.ndarray:
    return _np(pc.is_valid(arr))


def _strip(arr: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(arr)


def _is_in(arr: pa.Array, values: Any) -> np.ndarray:
    return _np(pc.is_in(arr, value_set=pa.array(sorted(values), pa.string())))


def _where(mask: np.ndarray, arr: pa.Array, other: pa.Array | None = None) -> pa.Array:
    """``arr`` where ``mask``, else ``other`` (null when None)."""
    alt = pa.scalar(None, pa.string()) if other is None else other
    return pc.if_else(pa.array(mask, pa.bool_()), arr, alt)


def _python_map(arr: pa.Array, fn: Callable[[str], Any], type_: pa.DataType) -> pa.Array:
    """``fn`` of each non-null value (null for null), called once per distinct value."""
    enc = arr.dictionary_encode()
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], type_)
    return mapped.take(enc.indices)


def _parse_times(text: pa.Array, fmt: str | None) -> pd.Series:
    values = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
    if fmt:
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    return pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)


def _render_times(parsed: pd.Series, date_only: bool) -> pa.Array:
    """``parsed`` (UTC) as ``2026-01-31`` or ``2026-01-31T09:15:00Z`` (whole seconds): Arrow's
    ISO cast when every time is of a four-digit year, else pandas' ``strftime``."""
    times = pa.array(parsed)
    seconds = pc.floor_temporal(times, unit="second").cast(pa.timestamp("s"))
    years = pc.min_max(pc.year(seconds)).as_py()
    if years["min"] is None or (years["min"] >= 1000 and years["max"] <= 9999):
        if date_only:
            return seconds.cast(pa.date32()).cast(pa.string())
        text = pc.replace_substring(seconds.cast(pa.string()), " ", "T", max_replacements=1)
        return pc.binary_join_element_wise(text, "Z", "")
    rendered = parsed.dt.strftime("%Y-%m-%d" if date_only else "%Y-%m-%dT%H:%M:%SZ")
    return pa.array(rendered.to_numpy(dtype=object), pa.string(), from_pandas=True)


def _to_number(cleaned: pa.Array) -> pd.Series:
    """``pd.to_numeric(cleaned, errors="coerce")``, by Arrow's parser when every value of the
    chunk parses (the usual case, about 3x faster), else by pandas for the whole chunk. Where
    both parse a text they give the same double (both round correctly; the cases Arrow
    refuses, such as ``0x10`` or ``1,000``, go to pandas)."""
    try:
        values = pc.cast(cleaned, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = pd.Series(cleaned.to_numpy(zero_copy_only=False), dtype=object)
        return pd.to_numeric(text, errors="coerce")
    return pd.Series(values.to_numpy(zero_copy_only=False))


def _deleted(columns: Columns, n: int) -> np.ndarray:
    if "is_deleted" not in columns:
        return np.zeros(n, dtype=bool)
    # Python's strip and lower, as the tombstone flag always was read.
    return _np(_python_map(columns["is_deleted"], lambda v: v.strip().lower() in _TRUE, pa.bool_()))


def apply_rules(
    columns: Columns,
    n: int,
    ent: Entity,
    rules: EntityRules,
    known_currencies: set[str] | None,
    formats: dict[str, str],
    drift: Drift,
    *,
    owners: OwnerIndex | None = None,
) -> tuple[Columns, Reasons]:
    """Normalise typed columns (``columns``: Arrow string arrays of ``n`` rows, replaced in
    place) and collect each row's reasons; duplicate keys are not checked here (they need the
    whole batch). ``owners`` resolves the rows of an entity with ``resolve_owner``."""
    reasons = Reasons(n, columns)
    deleted = _deleted(columns, n)
    live = ~deleted

    # Keys and foreign keys are trimmed as staging trims them (``ORD-5 `` is ``ORD-5``).
    for col in dict.fromkeys([*ent.key, *rules.references]):
        if col in columns:
            columns[col] = _strip(columns[col])

    _check_addresses_and_locales(columns, rules, reasons, live)
    if rules.resolve_owner:
        if owners is None:
            raise ValueError(f"{ent.qualified_name}: the landed owners are needed to resolve rows")
        _resolve_owners(columns, owners, reasons, live)
    flagged = reasons.bad() if rules.resolve_owner else np.zeros(n, dtype=bool)

    # Required values, keys first (keys are required on tombstones too).
    def empty(col: str) -> np.ndarray:
        return _np(pc.fill_null(pc.equal(_strip(columns[col]), ""), True))

    for col in ent.key:
        reasons.add(
            empty(col) & ~flagged, "required_value_missing", "required key column {col} is empty",
            col,
        )  # fmt: skip
    for col in rules.required:
        reasons.add(
            empty(col) & live, "required_value_missing", "required value {col} is empty", col
        )

    _times(columns, rules, formats, drift, reasons, deleted)
    _numbers(columns, rules, drift, reasons, deleted)
    _words(columns, rules, known_currencies, drift, reasons, deleted)
    return columns, reasons


def _times(
    columns: Columns,
    rules: EntityRules,
    formats: dict[str, str],
    drift: Drift,
    reasons: Reasons,
    deleted: np.ndarray,
) -> None:
    live = ~deleted
    times: dict[str, pd.Series] = {}
    for kind, cols in (("timestamp", rules.timestamps), ("date", rules.dates)):
        for col in cols:
            if col not in columns:
                continue
            text = columns[col]
            fmt = formats.get(col) or formats.get(f"{kind}_format")
            parsed = _parse_times(text, fmt)
            times[col] = parsed
            ok = parsed.notna().to_numpy()
            drift.add(col, text, ok, kind)
            reasons.add(
                _valid(text) & ~ok & live,
                f"unparseable_{kind}",
                f"unparseable {kind} in {{col}}: {{value}}",
                col,
            )
            shown = _render_times(parsed, date_only=kind == "date")
            columns[col] = _where(ok, shown, _where(live, text))

    for earlier, later in rules.ordered:
        if earlier in times and later in times:
            first, second = times[earlier], times[later]
            reversed_ = (first.notna() & second.notna() & (second < first)).to_numpy()

            def message(i: int, a: str = earlier, b: str = later) -> str:
                return f"{b} {columns[b][i].as_py()!r} is before {a} {columns[a][i].as_py()!r}"

            reasons.add_each(reversed_ & live, f"{later}_before_{earlier}", message)


def _numbers(
    columns: Columns, rules: EntityRules, drift: Drift, reasons: Reasons, deleted: np.ndarray
) -> None:
    live = ~deleted
    for col in rules.numbers:
        if col not in columns:
            continue
        text = columns[col]
        cleaned = _strip(text)
        num = _to_number(cleaned)
        parsed = num.notna().to_numpy()
        drift.add(col, text, parsed, "number")
        reasons.add(
            _valid(text) & ~parsed & live, "unparseable_number", "not a number in {col}: {value}",
            col,
        )  # fmt: skip
        inf = np.isinf(num).to_numpy()
        reasons.add(
            parsed & inf & live, "non_finite_number", "non-finite number in {col}: {value}", col
        )
        ok = pd.Series(parsed & ~inf)
        huge = (ok & (num.abs() > MAX_MAGNITUDE)).to_numpy()
        reasons.add(
            huge & live,
            "number_too_large",
            f"number in {{col}} too large: {{value}} (limit {MAX_MAGNITUDE:g})",
            col,
        )
        if col in rules.non_negative:
            neg = (ok & (num < 0)).to_numpy()
            reasons.add(neg & live, f"negative_{col}", "negative {col}: {value}", col)
        if col in rules.positive:
            low = (ok & (num <= 0)).to_numpy()
            reasons.add(low & live, f"non_positive_{col}", "{col} must be positive: {value}", col)
        if col in rules.ranges:
            lo, hi = rules.ranges[col]
            out = (ok & ((num < lo) | (num > hi))).to_numpy()
            reasons.add(
                out & live,
                f"{col}_out_of_range",
                f"{{col}} {{value}} outside [{lo:g}, {hi:g}]",
                col,
            )
        columns[col] = _where(ok.to_numpy() | live, cleaned)


def _words(
    columns: Columns,
    rules: EntityRules,
    known_currencies: set[str] | None,
    drift: Drift,
    reasons: Reasons,
    deleted: np.ndarray,
) -> None:
    """Booleans, value sets and currencies."""
    live = ~deleted
    for col in rules.booleans:
        if col not in columns:
            continue
        text = columns[col]
        low = pc.utf8_lower(_strip(text))
        is_true, is_false = _is_in(low, _TRUE), _is_in(low, _FALSE)
        ok = is_true | is_false
        words = _where(is_false, pa.repeat(pa.scalar("false"), len(low)))
        norm = _where(is_true, pa.repeat(pa.scalar("true"), len(low)), words)
        drift.add(col, text, ok, "boolean")
        reasons.add(
            _valid(text) & ~ok & live, "unparseable_boolean", "not a boolean in {col}: {value}",
            col,
        )  # fmt: skip
        columns[col] = _where(ok, norm, _where(live, text))

    for col, allowed in rules.value_sets.items():
        if col not in columns:
            continue
        text = columns[col]
        low = pc.utf8_lower(_strip(text))
        bad = _valid(low) & ~_is_in(low, allowed)
        reasons.add(
            bad & live,
            f"{col}_not_allowed",
            f"{{col}} {{value}} is not one of {', '.join(allowed)}",
            col,
        )
        columns[col] = low

    for col in rules.currencies:
        if col not in columns:
            continue
        text = columns[col]
        code = pc.utf8_upper(_strip(text))
        well_formed = _np(pc.match_substring_regex(code, _CURRENCY))
        known = well_formed if known_currencies is None else _is_in(code, known_currencies)
        bad = _valid(code) & ~(well_formed & known)
        reasons.add(bad & live, "unknown_currency", "unknown currency in {col}: {value}", col)
        columns[col] = code


def _check_addresses_and_locales(
    columns: Columns, rules: EntityRules, reasons: Reasons, live: np.ndarray
) -> None:
    """E-mail columns must be one plain address (lower-cased), locales well-formed tags."""
    for col, check, rule, what in [
        *((c, normalise_address, "invalid_email", "an e-mail address") for c in rules.addresses),
        *((c, canonical_locale, "invalid_locale", "a language tag such as en or zh-CN")
          for c in rules.locales),
    ]:  # fmt: skip
        if col not in columns:
            continue
        text = _strip(columns[col])
        text = _where(_np(pc.not_equal(text, "")), text)
        norm = _python_map(text, check, pa.string())
        bad = _valid(text) & ~_valid(norm)
        reasons.add(bad & live, rule, f"{{col}} is not {what}: {{value}}", col)
        columns[col] = _where(~bad, norm, columns[col])


def _resolve_owners(
    columns: Columns, owners: OwnerIndex, reasons: Reasons, live: np.ndarray
) -> None:
    """Fill ``owner_id`` from ``email`` and flag rows naming no, an unknown or two owners."""
    ids = [None if v == "" else v for v in columns["owner_id"].to_pylist()]
    raw_emails = columns["email"].to_pylist()
    emails = [normalise_address(v) if isinstance(v, str) else None for v in raw_emails]
    by_email = [owners.by_email.get(v) if v else None for v in emails]
    rows = range(len(ids))
    none = np.array([ids[i] is None and raw_emails[i] is None for i in rows], dtype=bool)
    reasons.add(none & live, "owner_not_named", "neither owner_id nor email names the owner")
    unknown_id = np.array([v is not None and v not in owners.ids for v in ids], dtype=bool)
    reasons.add(
        unknown_id & live,
        "unknown_owner",
        "owner_id {value} is not a live crm/owners owner",
        "owner_id",
    )
    unknown_email = np.array(
        [ids[i] is None and emails[i] is not None and by_email[i] is None for i in rows], dtype=bool
    )
    reasons.add(
        unknown_email & live,
        "unknown_owner",
        "email {value} is not the e-mail of a live crm/owners owner",
        "email",
    )
    mismatch = np.array(
        [ids[i] is not None and by_email[i] is not None and ids[i] != by_email[i] for i in rows],
        dtype=bool,
    ) & ~unknown_id
    reasons.add_each(
        mismatch & live,
        "owner_mismatch",
        lambda i: f"owner_id {ids[i]!r} and email {raw_emails[i]!r} name two "
        f"owners (the e-mail is owner {by_email[i]!r}'s)",
    )
    columns["owner_id"] = pa.array(
        [ids[i] if ids[i] is not None else by_email[i] for i in rows], pa.string()
    )
