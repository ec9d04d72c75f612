"""Small array helpers shared by the CLV modules (not part of the public API)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["as_float_array", "unique_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def as_float_array(values: Any, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float64 array, or raise ``ValueError`` naming ``name``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has non-finite values")
    return arr


def unique_rows(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray, IntArray]:
    """Deduplicate rows of equal-length 1-D columns.

    Returns
    -------
    (unique_columns, weights, inverse)
        ``unique_columns[k][inverse]`` reproduces ``columns[k]``; ``weights`` counts how
        many input rows each unique row stands for. Unique rows come out sorted
        lexicographically (first column slowest), so the result is independent of the
        input row order.
    """
    n = len(columns[0])
    if n == 0:
        return [c.copy() for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in sorted_cols:
        change[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    weights = np.diff(np.r_[starts, n]).astype(np.float64)
    return [c[starts] for c in sorted_cols], weights, inverse
