"""Canonical text of a chunk's columns: every value rendered as text for the row rules.

A chunk is an Arrow table or record batch (file drops) or a pandas frame (connectors); each
of its columns becomes an Arrow string array. String columns pass through as they are (the
rules parse them); typed ones are rendered canonically (timestamps ``2026-01-31T09:15:00Z``
UTC, dates ``2026-01-31``, booleans ``true``/``false``), through pandas, one column at a time.
A value that cannot be of the column's kind is :class:`SchemaDriftError`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.rules import EntityRules
from kam_transforms.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:  # imported when a typed column is first rendered, not when a task imports the path
    np, pd = lazy("numpy"), lazy("pandas")

__all__ = ["SchemaDriftError", "canonical_text", "chunk_texts", "kind_of"]


class SchemaDriftError(ExtractError):
    """A required column is missing or a column holds an impossible type."""


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


def _pandas_text(series: pd.Series, kind: str, where: str) -> pa.Array:
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(
        series.dtype
    ):
        values = series.astype(object).where(series.notna(), None)
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        if kind in ("number", "boolean"):
            raise SchemaDriftError(f"{where}: a timestamp column cannot be a {kind}")
        ts = series.dt.tz_localize(UTC) if series.dt.tz is None else series.dt.tz_convert(UTC)
        fmt = "%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%SZ"
        values = ts.dt.strftime(fmt).astype(object).where(series.notna(), None)
    else:
        values = pd.Series([_scalar_text(v, kind, where) for v in series.to_numpy(dtype=object)])
    return pa.array(values.to_numpy(dtype=object), pa.string(), from_pandas=True)


def canonical_text(
    column: pa.Array | pa.ChunkedArray | pd.Series, kind: str, where: str
) -> pa.Array:
    """A column of any input type as an Arrow string array (``kind``: text/number/date/
    timestamp/boolean). Strings are kept verbatim (they are parsed by the rules); typed values
    are rendered canonically. Raises :class:`SchemaDriftError` when a value cannot be of
    ``kind``."""
    if isinstance(column, pa.ChunkedArray | pa.Array):
        t = column.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            text = column.cast(pa.string())
            return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        column = column.to_pandas()
    return _pandas_text(column, kind, where)


def chunk_texts(
    chunk: pa.Table | pa.RecordBatch | pd.DataFrame,
    names: list[str],
    order: list[str],
    rules: EntityRules,
    where: str,
) -> dict[str, pa.Array]:
    """The chunk's columns (named ``names`` by position) as text, for every column of
    ``order`` (all null where the chunk lacks it); ``where`` names a column by ``{}``."""
    if isinstance(chunk, pa.Table | pa.RecordBatch):
        n = chunk.num_rows
        given: dict[str, Any] = {c: chunk.column(i) for i, c in enumerate(names)}
    else:
        n = len(chunk)
        given = {c: chunk.iloc[:, i] for i, c in enumerate(names)}
    return {
        c: (
            canonical_text(given[c], kind_of(c, rules), where.format(c))
            if c in given
            else pa.nulls(n, pa.string())
        )
        for c in order
    }
