"""Row rules applied to one bounded chunk of a batch: canonical text, normalisation, reasons.

:func:`apply_rules` takes a chunk (a pandas frame of at most a record batch's rows) in
canonical column names, renders every value as text (timestamps ``2026-01-31T09:15:00Z`` UTC,
dates ``2026-01-31``, booleans ``true``/``false``), normalises keys, numbers, booleans and
currencies, and collects each row's quarantine reasons from the entity's rule table
(:mod:`kam_transforms.extract.rules`). Vectorised per chunk; what needs the whole batch
(duplicate keys, "no value of this column parses") is accumulated across chunks:
:class:`Drift` here, duplicates in DuckDB by :mod:`kam_transforms.extract.landing`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kam_transforms.addresses import canonical_locale, normalise_address
from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError
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
    "canonical_text",
    "kind_of",
]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: A typed column whose every value (at least this many) fails to parse is schema drift.
_DRIFT_MIN_VALUES = 2


class SchemaDriftError(ExtractError):
    """A required column is missing or a column holds an impossible type."""


@dataclass
class Drift:
    """Per typed column of a whole batch: values present, values that parsed, a sample."""

    present: dict[str, int] = field(default_factory=dict)
    parsed: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, col: str, text: pd.Series, ok: pd.Series, kind: str) -> None:
        present = text.notna()
        self.present[col] = self.present.get(col, 0) + int(present.sum())
        self.parsed[col] = self.parsed.get(col, 0) + int((ok & present).sum())
        self.kinds[col] = kind
        sample = self.samples.setdefault(col, [])
        if len(sample) < 3:
            sample.extend(repr(v) for v in text[present].head(3 - len(sample)))

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


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return v is pd.NaT or (isinstance(v, type(pd.NA)) and v is pd.NA)


def _iso_ts(v: datetime | pd.Timestamp) -> str:
    ts = pd.Timestamp(v)
    ts = ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar_text(v: Any, kind: str, where: str) -> str | None:
    """One value as canonical text; raises ``SchemaDriftError`` for an impossible type."""
    if _is_missing(v):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        if kind in ("number", "date", "timestamp"):
            raise SchemaDriftError(f"{where}: a boolean ({v!r}) cannot be a {kind}")
        return "true" if v else "false"
    if isinstance(v, datetime | pd.Timestamp):
        if kind in ("number", "boolean"):
            raise SchemaDriftError(f"{where}: a timestamp ({v!r}) cannot be a {kind}")
        return v.strftime("%Y-%m-%d") if kind == "date" else _iso_ts(v)
    if isinstance(v, date):
        if kind in ("number", "boolean"):
            raise SchemaDriftError(f"{where}: a date ({v!r}) cannot be a {kind}")
        return v.isoformat()
    if isinstance(v, int | np.integer):
        if kind in ("date", "timestamp"):
            raise SchemaDriftError(f"{where}: a number ({v!r}) cannot be a {kind}")
        return str(int(v))
    if isinstance(v, float | np.floating):
        if kind in ("date", "timestamp"):
            raise SchemaDriftError(f"{where}: a number ({v!r}) cannot be a {kind}")
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if isinstance(v, Decimal):
        if kind in ("date", "timestamp"):
            raise SchemaDriftError(f"{where}: a number ({v!r}) cannot be a {kind}")
        return str(v)
    raise SchemaDriftError(f"{where}: a {type(v).__name__} value ({str(v)[:40]!r}) is not a scalar")


def canonical_text(series: pd.Series, kind: str, where: str) -> pd.Series:
    """Render a column of any input type as text (``kind``: text/number/date/timestamp/boolean).

    Strings are kept verbatim (they are parsed by the rules); typed values are rendered
    canonically. Raises :class:`SchemaDriftError` when a value cannot be of ``kind``.
    """
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        return series.astype(object).where(series.notna(), None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if kind in ("number", "boolean"):
            raise SchemaDriftError(f"{where}: a timestamp column cannot be a {kind}")
        ts = series.dt.tz_localize(UTC) if series.dt.tz is None else series.dt.tz_convert(UTC)
        fmt = "%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%SZ"
        return ts.dt.strftime(fmt).astype(object).where(series.notna(), None)
    return pd.Series(
        [_scalar_text(v, kind, where) for v in series.to_numpy(dtype=object)],
        index=series.index,
        dtype=object,
    )


@dataclass
class Reasons:
    n: int
    frame: pd.DataFrame | None = None
    texts: list[list[str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.texts = [[] for _ in range(self.n)]

    def add(self, mask: np.ndarray, rule: str, template: str, col: str = "") -> None:
        """Flag rows; ``template`` may name ``{col}`` and ``{value}`` (the cell's text)."""
        assert self.frame is not None  # noqa: S101
        frame = self.frame
        self.add_each(
            mask,
            rule,
            lambda i: template.format(col=col, value=repr(frame[col].iat[i]) if col else ""),
        )

    def add_each(self, mask: np.ndarray, rule: str, message: Callable[[int], str]) -> None:
        rows = np.flatnonzero(mask)
        if len(rows):
            self.counts[rule] = self.counts.get(rule, 0) + len(rows)
        for i in rows:
            self.texts[i].append(message(int(i)))

    def bad(self) -> np.ndarray:
        return np.array([bool(t) for t in self.texts], dtype=bool)


def _parse_times(text: pd.Series, fmt: str | None) -> pd.Series:
    values = text.where(text.notna(), None).astype(object)
    if fmt:
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    return pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)


def _to_number(cleaned: pd.Series) -> pd.Series:
    """``pd.to_numeric(cleaned, errors="coerce")``, by Arrow's parser when every value of the
    chunk parses (the usual case, about 3x faster), else by pandas for the whole chunk. Where
    both parse a text they give the same double (both round correctly; the cases Arrow
    refuses, such as ``0x10`` or ``1,000``, go to pandas)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(cleaned.to_numpy(dtype=object), pa.string(), from_pandas=True)
    try:
        values = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(cleaned, errors="coerce")
    return pd.Series(values.to_numpy(zero_copy_only=False), index=cleaned.index)


def apply_rules(
    frame: pd.DataFrame,
    ent: Entity,
    rules: EntityRules,
    known_currencies: set[str] | None,
    formats: dict[str, str],
    drift: Drift,
    *,
    owners: OwnerIndex | None = None,
) -> tuple[pd.DataFrame, Reasons]:
    """Normalise typed columns in place and collect each row's reasons (vectorised);
    duplicate keys are not checked here (they need the whole batch). ``owners`` resolves
    the rows of an entity with ``resolve_owner`` (required for it)."""
    n = len(frame)
    reasons = Reasons(n, frame)
    deleted = (
        frame["is_deleted"].fillna("").str.strip().str.lower().isin(_TRUE).to_numpy()
        if "is_deleted" in frame
        else np.zeros(n, dtype=bool)
    )
    live = ~deleted

    # Keys and foreign keys are trimmed as staging trims them (``ORD-5 `` is ``ORD-5``).
    for col in dict.fromkeys([*ent.key, *rules.references]):
        if col in frame:
            frame[col] = frame[col].where(frame[col].isna(), frame[col].astype(str).str.strip())

    _check_addresses_and_locales(frame, rules, reasons, live)
    if rules.resolve_owner:
        if owners is None:
            raise ValueError(f"{ent.qualified_name}: the landed owners are needed to resolve rows")
        _resolve_owners(frame, owners, reasons, live)
    flagged = reasons.bad() if rules.resolve_owner else np.zeros(n, dtype=bool)

    # Required values, keys first (keys are required on tombstones too).
    for col in ent.key:
        empty = (frame[col].isna() | (frame[col].astype(str).str.strip() == "")).to_numpy()
        reasons.add(
            empty & ~flagged, "required_value_missing", "required key column {col} is empty", col
        )
    for col in rules.required:
        empty = (frame[col].isna() | (frame[col].astype(str).str.strip() == "")).to_numpy()
        reasons.add(empty & live, "required_value_missing", "required value {col} is empty", col)

    times: dict[str, pd.Series] = {}
    for kind, cols in (("timestamp", rules.timestamps), ("date", rules.dates)):
        for col in cols:
            if col not in frame:
                continue
            text = frame[col]
            fmt = formats.get(col) or formats.get(f"{kind}_format")
            parsed = _parse_times(text, fmt)
            times[col] = parsed
            ok = parsed.notna()
            drift.add(col, text, ok, kind)
            bad = (text.notna() & ~ok).to_numpy()
            reasons.add(
                bad & live,
                f"unparseable_{kind}",
                f"unparseable {kind} in {{col}}: {{value}}",
                col,
            )
            rendered = parsed.dt.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%SZ")
            frame[col] = rendered.astype(object).where(ok, text.where(~deleted, None))

    for earlier, later in rules.ordered:
        if earlier in times and later in times:
            first, second = times[earlier], times[later]
            reversed_ = (first.notna() & second.notna() & (second < first)).to_numpy()

            def message(i: int, a: str = earlier, b: str = later) -> str:
                return f"{b} {frame[b].iat[i]!r} is before {a} {frame[a].iat[i]!r}"

            reasons.add_each(reversed_ & live, f"{later}_before_{earlier}", message)

    for col in rules.numbers:
        if col not in frame:
            continue
        text = frame[col]
        cleaned = text.where(text.isna(), text.astype(str).str.strip())
        num = _to_number(cleaned)
        parsed = num.notna()
        drift.add(col, text, parsed, "number")
        bad = (text.notna() & ~parsed).to_numpy()
        reasons.add(bad & live, "unparseable_number", "not a number in {col}: {value}", col)
        infinite = (parsed & np.isinf(num)).to_numpy()
        reasons.add(
            infinite & live, "non_finite_number", "non-finite number in {col}: {value}", col
        )
        ok = parsed & ~np.isinf(num)
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
        frame[col] = cleaned.where(ok.to_numpy() | ~deleted, None).astype(object)

    for col in rules.booleans:
        if col not in frame:
            continue
        text = frame[col]
        low = text.where(text.isna(), text.astype(str).str.strip().str.lower())
        is_true, is_false = low.isin(_TRUE).to_numpy(), low.isin(_FALSE).to_numpy()
        words = np.full(len(low), None, dtype=object)
        words[is_true], words[is_false] = "true", "false"
        norm = pd.Series(words, index=low.index)
        ok = pd.Series(is_true | is_false, index=low.index)
        drift.add(col, text, ok, "boolean")
        bad = (text.notna() & ~ok).to_numpy()
        reasons.add(bad & live, "unparseable_boolean", "not a boolean in {col}: {value}", col)
        frame[col] = norm.where(ok, text.where(~deleted, None)).astype(object)

    for col, allowed in rules.value_sets.items():
        if col not in frame:
            continue
        text = frame[col]
        low = text.where(text.isna(), text.astype(str).str.strip().str.lower())
        bad = (low.notna() & ~low.isin(allowed)).to_numpy()
        reasons.add(
            bad & live,
            f"{col}_not_allowed",
            f"{{col}} {{value}} is not one of {', '.join(allowed)}",
            col,
        )
        frame[col] = low.astype(object)

    for col in rules.currencies:
        if col not in frame:
            continue
        text = frame[col]
        code = text.where(text.isna(), text.astype(str).str.strip().str.upper())
        well_formed = code.map(lambda v: isinstance(v, str) and bool(_CURRENCY.match(v)))
        known = well_formed if known_currencies is None else code.isin(known_currencies)
        bad = (code.notna() & ~(well_formed & known)).to_numpy()
        reasons.add(bad & live, "unknown_currency", "unknown currency in {col}: {value}", col)
        frame[col] = code.astype(object)
    return frame, reasons


def _check_addresses_and_locales(
    frame: pd.DataFrame, rules: EntityRules, reasons: Reasons, live: np.ndarray
) -> None:
    """E-mail columns must be one plain address (lower-cased), locales well-formed tags."""
    for col, check, rule, what in [
        *((c, normalise_address, "invalid_email", "an e-mail address") for c in rules.addresses),
        *((c, canonical_locale, "invalid_locale", "a language tag such as en or zh-CN")
          for c in rules.locales),
    ]:  # fmt: skip
        if col not in frame:
            continue
        text = frame[col].where(frame[col].isna(), frame[col].astype(str).str.strip())
        text = text.where(text != "", None)
        norm = text.map(lambda v, f=check: f(v) if isinstance(v, str) else None)
        bad = (text.notna() & norm.isna()).to_numpy()
        reasons.add(bad & live, rule, f"{{col}} is not {what}: {{value}}", col)
        frame[col] = norm.where(~bad, frame[col]).astype(object)


def _resolve_owners(
    frame: pd.DataFrame, owners: OwnerIndex, reasons: Reasons, live: np.ndarray
) -> None:
    """Fill ``owner_id`` from ``email`` and flag rows naming no, an unknown or two owners."""
    ids = frame["owner_id"].where(frame["owner_id"] != "", None)
    emails = frame["email"].map(lambda v: normalise_address(v) if isinstance(v, str) else None)
    by_email = emails.map(lambda v: owners.by_email.get(v) if v else None)
    none = (ids.isna() & frame["email"].isna()).to_numpy()
    reasons.add(none & live, "owner_not_named", "neither owner_id nor email names the owner")
    unknown_id = (ids.notna() & ~ids.isin(owners.ids)).to_numpy()
    reasons.add(
        unknown_id & live,
        "unknown_owner",
        "owner_id {value} is not a live crm/owners owner",
        "owner_id",
    )
    unknown_email = (ids.isna() & emails.notna() & by_email.isna()).to_numpy()
    reasons.add(
        unknown_email & live,
        "unknown_owner",
        "email {value} is not the e-mail of a live crm/owners owner",
        "email",
    )
    mismatch = (ids.notna() & by_email.notna() & (ids != by_email) & ~unknown_id).to_numpy()
    reasons.add_each(
        mismatch & live,
        "owner_mismatch",
        lambda i: f"owner_id {ids.iat[i]!r} and email {frame['email'].iat[i]!r} name two "
        f"owners (the e-mail is owner {by_email.iat[i]!r}'s)",
    )
    frame["owner_id"] = ids.where(ids.notna(), by_email).astype(object)


def kind_of(col: str, rules: EntityRules) -> str:
    if col in rules.timestamps:
        return "timestamp"
    if col in rules.dates:
        return "date"
    if col in rules.numbers:
        return "number"
    if col in rules.booleans:
        return "boolean"
    return "text"

