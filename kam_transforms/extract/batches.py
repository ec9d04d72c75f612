"""Bounded record batches for the API and database connectors (HubSpot pages, Odoo cursors).

A connector that reads rows one by one (JSON records, database rows) hands them to the
landing as Arrow record batches of at most :func:`batch_rows` rows
(``KAM_EXTRACT_BATCH_ROWS``, default :data:`DEFAULT_BATCH_ROWS`), never as one frame of the
whole entity: :func:`batched` cuts a row stream into lists of that size and
:func:`record_batch` turns one list into a batch.

Values keep their source types (text, numbers, dates, timestamps), so the landing renders
them exactly as it renders a frame of the same rows: ``Decimal`` becomes its ``str`` first
(Arrow would infer a scale per batch and write ``1.50`` for ``1.5``), and a column Arrow
cannot hold in one type (a JSON property that is sometimes a string and sometimes a
number) makes that batch a pandas frame instead, so nothing is re-typed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

import pyarrow as pa

__all__ = ["BATCH_ENV", "DEFAULT_BATCH_ROWS", "batch_rows", "batched", "record_batch"]

#: The most rows a connector hands to the landing at once.
BATCH_ENV = "KAM_EXTRACT_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 50_000

T = TypeVar("T")


def batch_rows(value: int | None = None) -> int:
    """``value``, else ``KAM_EXTRACT_BATCH_ROWS``, else :data:`DEFAULT_BATCH_ROWS`.

    Raises
    ------
    ValueError
        If the value is not a positive integer.
    """
    raw: Any = value
    if raw is None:
        raw = os.environ.get(BATCH_ENV, "").strip() or DEFAULT_BATCH_ROWS
    try:
        rows = int(raw)
    except (TypeError, ValueError):
        rows = 0
    if rows < 1:
        raise ValueError(f"{BATCH_ENV}={raw!r}: expected a positive number of rows")
    return rows


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """``rows`` in lists of at most ``size`` items, in order."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _column(values: list[Any]) -> pa.Array:
    if any(isinstance(v, Decimal) for v in values):
        values = [str(v) if isinstance(v, Decimal) else v for v in values]
    return pa.array(values, from_pandas=True)


def record_batch(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """One batch of ``rows`` (tuples in ``columns`` order) as a :class:`pyarrow.RecordBatch`;
    a pandas frame when a column mixes types Arrow cannot hold in one array."""
    by_column = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in columns]
    try:
        arrays = [_column(values) for values in by_column]
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        import pandas as pd

        return pd.DataFrame(list(rows), columns=list(columns))
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))
