"""The shared landing path: one canonical batch in, raw + quarantine Parquet out, atomically.

Every connector (file drop, HubSpot, Odoo) produces a frame in canonical column names and
calls :func:`land_batch`. It

1. checks the schema: every canonical column present (a missing one fails the entity,
   naming source, entity and column), a value of an impossible type (a list in a text
   column, a number in a date column, a column of which no value parses) fails it too;
   new source columns are carried through as text;
2. renders every value as text (timestamps ``2026-01-31T09:15:00Z`` UTC, dates
   ``2026-01-31``, booleans ``true``/``false``) and applies the entity's row rules
   (:mod:`kam_transforms.extract.rules`): each bad row goes to quarantine with its reasons;
3. checks rows in = rows landed + rows quarantined;
4. runs the entity's raw Great Expectations suite on the rows to land (a blocking failure
   fails the entity before anything becomes visible);
5. writes the batch and its quarantine to hidden temporary files and renames them into
   ``lake/raw|quarantine/<source>/<entity>/as_of=<date>/<batch_id>.parquet``, then removes
   the date's older batches: a reader sees the old batch or the new one, never a part.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError, LandResult, partition_dir
from kam_transforms.extract.rules import MAX_MAGNITUDE, EntityRules, rules_for
from kam_transforms.extract.snapshot import (
    SNAPSHOT_METADATA,
    Snapshot,
    check_not_empty,
    check_shrink,
    vanished_keys,
)

__all__ = [
    "PAUSE_ENV",
    "BatchOutcome",
    "RawValidationError",
    "SchemaDriftError",
    "canonical_text",
    "land_batch",
    "landed_currencies",
    "landed_rows",
]

log = logging.getLogger(__name__)

#: Test hook: seconds to sleep after the batch is written to its temporary file and before
#: it is renamed into place (lets a test kill an extract at the worst moment).
PAUSE_ENV = "KAM_EXTRACT_PAUSE_BEFORE_PUBLISH"

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: A typed column whose every value (at least this many) fails to parse is schema drift.
_DRIFT_MIN_VALUES = 2


class SchemaDriftError(ExtractError):
    """A required column is missing or a column holds an impossible type."""


class RawValidationError(ExtractError):
    """The raw Great Expectations suite failed on a batch; nothing was landed."""


@dataclass(frozen=True)
class BatchOutcome(LandResult):
    """A :class:`LandResult` plus the quarantine reasons counted per rule and the raw suite."""

    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    #: Tombstones landed for keys that vanished from a full snapshot (not part of rows_in).
    rows_deleted: int = 0
    extra_columns: tuple[str, ...] = ()
    raw_validation: dict[str, Any] = field(default_factory=dict)
    as_of: str = ""
    origin: str = ""


# --------------------------------------------------------------------------- text rendering


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


# --------------------------------------------------------------------------- row rules


@dataclass
class _Reasons:
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


def _check_drift(ent: Entity, col: str, text: pd.Series, ok: pd.Series, kind: str) -> None:
    present = text.notna()
    if int(present.sum()) >= _DRIFT_MIN_VALUES and not bool((ok & present).any()):
        sample = ", ".join(repr(v) for v in text[present].head(3))
        raise SchemaDriftError(
            f"{ent.source}/{ent.name}: column {col} has an impossible type: no value parses "
            f"as a {kind} (e.g. {sample})"
        )


def _apply_rules(
    frame: pd.DataFrame,
    ent: Entity,
    rules: EntityRules,
    known_currencies: set[str] | None,
    formats: dict[str, str],
) -> tuple[pd.DataFrame, _Reasons]:
    """Normalise typed columns in place and collect each row's reasons (vectorised)."""
    n = len(frame)
    reasons = _Reasons(n, frame)
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

    # Required values, keys first (keys are required on tombstones too).
    for col in ent.key:
        empty = (frame[col].isna() | (frame[col].astype(str).str.strip() == "")).to_numpy()
        reasons.add(empty, "required_value_missing", "required key column {col} is empty", col)
    for col in rules.required:
        empty = (frame[col].isna() | (frame[col].astype(str).str.strip() == "")).to_numpy()
        reasons.add(empty & live, "required_value_missing", "required value {col} is empty", col)

    for kind, cols in (("timestamp", rules.timestamps), ("date", rules.dates)):
        for col in cols:
            if col not in frame:
                continue
            text = frame[col]
            fmt = formats.get(col) or formats.get(f"{kind}_format")
            parsed = _parse_times(text, fmt)
            ok = parsed.notna()
            _check_drift(ent, col, text, ok, kind)
            bad = (text.notna() & ~ok).to_numpy()
            reasons.add(
                bad & live,
                f"unparseable_{kind}",
                f"unparseable {kind} in {{col}}: {{value}}",
                col,
            )
            rendered = parsed.dt.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%SZ")
            frame[col] = rendered.astype(object).where(ok, text.where(~deleted, None))

    for col in rules.numbers:
        if col not in frame:
            continue
        text = frame[col]
        cleaned = text.where(text.isna(), text.astype(str).str.strip())
        num = pd.to_numeric(cleaned, errors="coerce")
        parsed = num.notna()
        _check_drift(ent, col, text, parsed, "number")
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
        norm = low.map(lambda v: "true" if v in _TRUE else "false" if v in _FALSE else None)
        ok = norm.notna()
        _check_drift(ent, col, text, ok, "boolean")
        bad = (text.notna() & ~ok).to_numpy()
        reasons.add(bad & live, "unparseable_boolean", "not a boolean in {col}: {value}", col)
        frame[col] = norm.where(ok, text.where(~deleted, None)).astype(object)

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

    # Duplicate keys among rows with a complete key (after normalisation).
    keys = frame[list(ent.key)]
    stripped = keys.astype(str).apply(lambda s: s.str.strip())
    complete = keys.notna().all(axis=1) & (stripped != "").all(axis=1)
    sizes = keys[complete].assign(_n=1).groupby(list(ent.key), sort=False)["_n"].transform("size")
    dup = np.zeros(n, dtype=bool)
    dup_count = np.zeros(n, dtype=int)
    positions = np.flatnonzero(complete.to_numpy())
    dup[positions] = (sizes > 1).to_numpy()
    dup_count[positions] = sizes.to_numpy()
    reasons.add_each(
        dup,
        "duplicate_key",
        lambda i: (
            "duplicate key "
            + ", ".join(f"{k}={frame[k].iat[i]}" for k in ent.key)
            + f" appears {dup_count[i]} times in the batch"
        ),
    )
    return frame, reasons


# --------------------------------------------------------------------------- lake reads


def _partition_files(
    lake_dir: Path, ent: Entity, as_of: date | None, before: bool = False
) -> list[Path]:
    root = lake_dir / "raw" / ent.source / ent.name
    files = []
    for part in sorted(root.glob("as_of=*")):
        day = part.name.removeprefix("as_of=")
        if as_of is not None and (day > as_of.isoformat() or (before and day == as_of.isoformat())):
            continue
        files.extend(sorted(part.glob("*.parquet")))
    return files


def landed_rows(
    lake_dir: Path,
    ent: Entity,
    as_of: date | None = None,
    columns: Iterable[str] | None = None,
    *,
    before: bool = False,
) -> pd.DataFrame:
    """The current landed state of ``ent``: per key the row of the latest batch (as staging).

    Reads partitions with ``as_of <= as_of`` (``<`` with ``before``; all when ``None``);
    ``columns`` limits what is read (keys, ``is_deleted`` and ``_loaded_at`` always are).
    """
    files = _partition_files(lake_dir, ent, as_of, before)
    wanted = None if columns is None else list(dict.fromkeys([*ent.key, *columns]))
    frames = []
    for order, path in enumerate(files):
        schema = pq.read_schema(path)
        cols = None
        if wanted is not None:
            cols = [c for c in [*wanted, "is_deleted", "_loaded_at"] if c in schema.names]
        t = pq.read_table(path, columns=cols).to_pandas()
        t["_order"] = order
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=wanted if wanted is not None else list(ent.key))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["_order", "_loaded_at"], kind="stable")
    frame = frame.drop_duplicates(list(ent.key), keep="last").drop(columns="_order")
    return frame.reset_index(drop=True)


def landed_currencies(lake_dir: Path) -> set[str]:
    """Currencies with a landed fx rate (any date)."""
    from kam_transforms.entities import entity

    out: set[str] = set()
    for path in _partition_files(lake_dir, entity("erp", "fx_rates"), None):
        col = pq.read_table(path, columns=["currency"]).column("currency")
        out.update(v for v in col.to_pylist() if v)
    return out


# --------------------------------------------------------------------------- publish


def _write_tmp(table: pa.Table, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own (pid + random): two extracts of one entity never share a tmp file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    return tmp


def _clean_stale_tmp(directory: Path) -> None:
    """Delete tmp files of extracts that died (their pid no longer runs), never a live one's."""
    for stale in directory.glob(".*.tmp"):
        owner = re.search(r"\.(\d+)-[0-9a-f]+\.tmp$", stale.name)
        if owner:
            try:
                os.kill(int(owner.group(1)), 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        stale.unlink(missing_ok=True)


def _publish(
    raw: pa.Table, bad: pa.Table | None, raw_dir: Path, q_dir: Path, batch_id: str
) -> tuple[Path, Path | None]:
    _clean_stale_tmp(raw_dir)
    _clean_stale_tmp(q_dir)
    raw_target = raw_dir / f"{batch_id}.parquet"
    q_target = q_dir / f"{batch_id}.parquet"
    raw_tmp = _write_tmp(raw, raw_target)
    q_tmp = _write_tmp(bad, q_target) if bad is not None else None
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause:
        log.warning("%s=%s: pausing before publishing %s", PAUSE_ENV, pause, batch_id)
        time.sleep(pause)
    os.replace(raw_tmp, raw_target)
    if q_tmp is not None:
        os.replace(q_tmp, q_target)
    for old in raw_dir.glob("*.parquet"):
        if old != raw_target:
            old.unlink()
    for old in q_dir.glob("*.parquet"):
        if q_tmp is None or old != q_target:
            old.unlink()
    return raw_target, (q_target if q_tmp is not None else None)


# --------------------------------------------------------------------------- entry point


def _kind(col: str, rules: EntityRules) -> str:
    if col in rules.timestamps:
        return "timestamp"
    if col in rules.dates:
        return "date"
    if col in rules.numbers:
        return "number"
    if col in rules.booleans:
        return "boolean"
    return "text"


def land_batch(
    frame: pd.DataFrame,
    ent: Entity,
    lake_dir: Path,
    as_of: date,
    *,
    origin: str,
    loaded_at: datetime | None = None,
    known_currencies: set[str] | None = None,
    formats: dict[str, str] | None = None,
    validate: bool = True,
    required_columns: Iterable[str] | None = None,
    snapshot: Snapshot | None = None,
) -> BatchOutcome:
    """Land one batch of ``ent`` for ``as_of``: rules, quarantine, raw suite, atomic publish.

    Parameters
    ----------
    frame
        The batch in canonical column names (every canonical column, plus any extra source
        columns, which are carried through). Values of any type; they land as text.
    origin
        Where the batch came from (file, URL, table), for messages and ``_source_file``.
    known_currencies
        Currencies a money row may use (fx currencies of the batch/lake plus the base
        currency); ``None`` only checks the three-letter form.
    formats
        ``{"date_format": ..., "timestamp_format": ...}`` or per-column strptime formats for
        sources that do not write ISO-8601.
    validate
        Run the raw Great Expectations suite before publishing (default).
    required_columns
        Columns that must be present (default: the canonical columns of ``ent``).
    snapshot
        The batch is a full snapshot (:mod:`kam_transforms.extract.snapshot`): keys that
        vanished since the previous landed state land as tombstones; an empty, wholly
        quarantined or over-shrunk snapshot fails. ``None``: an incremental batch.

    Raises
    ------
    SchemaDriftError
        A required column is missing or a column has an impossible type; nothing is landed.
    RawValidationError
        The raw suite failed; nothing is landed.
    SnapshotError
        A full snapshot is empty, wholly quarantined or shrank too much; nothing is landed.
    """
    rules = rules_for(ent)
    formats = formats or {}
    frame = frame.reset_index(drop=True)
    row_origins = frame.pop("__origin").astype(str).to_numpy() if "__origin" in frame else None
    row_numbers = frame.pop("__row").to_numpy() if "__row" in frame else None
    loaded = (loaded_at or datetime.now(UTC)).astimezone(UTC)
    required = list(ent.columns if required_columns is None else required_columns)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaDriftError(
            f"{ent.source}/{ent.name}: required column {', '.join(missing)} missing from {origin}"
        )
    names = [str(c) for c in frame.columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise SchemaDriftError(
            f"{ent.source}/{ent.name}: column {', '.join(dupes)} appears twice in {origin}"
        )
    reserved = [c for c in names if c.startswith("_")]
    if reserved:
        raise SchemaDriftError(
            f"{ent.source}/{ent.name}: column {', '.join(reserved)} from {origin} uses the "
            f"reserved '_' prefix"
        )
    for col in ent.columns:  # optional canonical columns (e.g. is_deleted) default to null
        if col not in frame.columns:
            frame = frame.assign(**{col: None})
    extras = tuple(c for c in names if c not in ent.columns)
    order = [*ent.columns, *extras]
    text = pd.DataFrame(
        {
            c: canonical_text(
                frame[c].reset_index(drop=True),
                _kind(c, rules),
                f"{ent.source}/{ent.name}: column {c} from {origin}",
            )
            for c in order
        }
    )
    n = len(text)
    text, reasons = _apply_rules(text, ent, rules, known_currencies, formats)
    bad_mask = reasons.bad()
    good = text[~bad_mask].reset_index(drop=True)
    bad = text[bad_mask].reset_index(drop=True)
    if len(good) + len(bad) != n:  # pragma: no cover - guarded invariant
        raise ExtractError(f"{ent.source}/{ent.name}: row accounting broken ({n} in)")

    tombstones = None
    if snapshot is not None:
        check_not_empty(ent, snapshot, origin, n, len(good), reasons.counts)
        present = pa.table(
            {k: pa.array(text[k].tolist(), pa.string()) for k in ent.key}  # trimmed keys
        )
        canonical = [c for c in order if c in ent.columns]
        if "is_deleted" not in canonical:
            canonical.append("is_deleted")
        previous = vanished_keys(lake_dir, ent, as_of, present, canonical)
        if not (snapshot.allow_empty and len(good) == 0):
            check_shrink(ent, snapshot, origin, previous)
        if previous.tombstones.num_rows:
            tombstones = previous.tombstones.to_pandas()
            if "is_deleted" not in order:
                order.append("is_deleted")

    digest = hashlib.sha256(text.to_csv(index=False).encode("utf-8"))
    digest.update(origin.encode("utf-8"))
    batch_id = f"{ent.source}-{ent.name}-{as_of:%Y%m%d}-{digest.hexdigest()[:12]}"

    raw_validation: dict[str, Any] = {}
    if validate:
        from expectations.raw_suites import RawSuiteFailed, validate_raw_batch

        try:
            raw_validation = validate_raw_batch(
                good, ent, as_of, lake_dir=lake_dir, known_currencies=known_currencies
            )
        except RawSuiteFailed as exc:
            raise RawValidationError(f"{ent.source}/{ent.name} from {origin}: {exc}") from exc

    stamp = pd.Timestamp(loaded.replace(tzinfo=None)).as_unit("us")

    def to_table(df: pd.DataFrame) -> pa.Table:
        cols = {
            c: pa.array(
                df[c].astype(object).where(df[c].notna(), None).tolist()
                if c in df
                else [None] * len(df),
                pa.string(),
            )
            for c in order
        }
        cols["_batch_id"] = pa.array([batch_id] * len(df), pa.string())
        cols["_loaded_at"] = pa.array([stamp] * len(df), pa.timestamp("us"))
        return pa.table(cols)

    raw_table = to_table(good if tombstones is None else pd.concat([good, tombstones]))
    if snapshot is not None:
        raw_table = raw_table.replace_schema_metadata(SNAPSHOT_METADATA)
    q_table = None
    if len(bad):
        positions = np.flatnonzero(bad_mask)
        numbers = positions + 1 if row_numbers is None else row_numbers[positions]
        origins = [origin] * len(bad) if row_origins is None else list(row_origins[positions])
        q_table = to_table(bad)
        q_table = q_table.append_column(
            "_row_number", pa.array(np.asarray(numbers).astype("int64"), pa.int64())
        )
        q_table = q_table.append_column(
            "_reason", pa.array(["; ".join(reasons.texts[i]) for i in positions], pa.string())
        )
        q_table = q_table.append_column("_source_file", pa.array(origins, pa.string()))
    raw_path, q_path = _publish(
        raw_table,
        q_table,
        partition_dir(lake_dir, "raw", ent, as_of),
        partition_dir(lake_dir, "quarantine", ent, as_of),
        batch_id,
    )
    outcome = BatchOutcome(
        source=ent.source,
        entity=ent.name,
        batch_id=batch_id,
        rows_in=n,
        rows_landed=len(good),
        rows_quarantined=len(bad),
        rows_deleted=0 if tombstones is None else len(tombstones),
        path=str(raw_path),
        quarantine_path=str(q_path) if q_path else None,
        quarantine_reasons=dict(sorted(reasons.counts.items())),
        extra_columns=extras,
        raw_validation=raw_validation,
        as_of=as_of.isoformat(),
        origin=origin,
    )
    log.info(
        "%s/%s as of %s: %d rows in, %d landed, %d quarantined, %d deleted %s",
        ent.source,
        ent.name,
        as_of,
        n,
        outcome.rows_landed,
        outcome.rows_quarantined,
        outcome.rows_deleted,
        outcome.quarantine_reasons or "",
    )
    return outcome
