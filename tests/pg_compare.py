"""Compare the marts of a DuckDB build and a PostgreSQL build of the same lake, row for row.

Each mart is read whole on both sides (test data only: a few thousand rows), typed alike
(:func:`kam_transforms.pgwarehouse.host_models.read_frame` gives PostgreSQL rows the dtypes
DuckDB's ``.df()`` gives), sorted by every column and compared cell by cell:

- text, integers, booleans, dates and timestamps exactly;
- floating-point numbers within ``REL_TOL`` relative (``ABS_TOL`` absolute near zero): the
  two engines sum and divide doubles in different orders and PostgreSQL computes some
  intermediate shares in ``numeric``, so the last bits may differ;
- text that is JSON on both sides (the alert evidence) as parsed JSON, numbers within the
  same tolerance (PostgreSQL writes ``80`` where DuckDB writes ``80.0``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from kam_transforms.pgwarehouse.host_models import read_frame

REL_TOL = 1e-9
ABS_TOL = 1e-9


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return _close(float(a), float(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _cell_equal(a: Any, b: Any) -> bool:
    if a is None or (not isinstance(a, str) and pd.isna(a)):
        return b is None or (not isinstance(b, str) and pd.isna(b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            return _close(float(a), float(b))
        except (TypeError, ValueError):
            return False
    if isinstance(a, str) and isinstance(b, str) and a != b and a[:1] in "[{":
        try:
            return _json_equal(json.loads(a), json.loads(b))
        except ValueError:
            return False
    return bool(a == b)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: exact columns first, then floats rounded to 8 digits."""
    keys = pd.DataFrame(index=frame.index)
    exact = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    for column in exact:
        keys[column] = frame[column].astype("string").fillna("\x00null")
    for column in floats:
        keys[column] = frame[column].map(lambda v: "\x00null" if pd.isna(v) else f"{v:.8g}")
    order = keys.sort_values(list(keys.columns)).index if len(keys.columns) else keys.index
    return frame.loc[order].reset_index(drop=True)


def compare_mart(
    duck_db: Path, duck_schema: str, pg_con: Any, pg_schema: str, name: str
) -> list[str]:
    """The differences of one mart (empty: equal)."""
    with duckdb.connect(str(duck_db), read_only=True) as con:
        duck = con.execute(f'select * from "{duck_schema}"."{name}"').df()  # noqa: S608
    pg = read_frame(pg_con, pg_schema, name)
    problems: list[str] = []
    if list(duck.columns) != list(pg.columns):
        return [f"{name}: columns differ: duckdb {list(duck.columns)} postgres {list(pg.columns)}"]
    if len(duck) != len(pg):
        return [f"{name}: {len(duck)} rows on duckdb, {len(pg)} on postgres"]
    duck, pg = _sorted(duck), _sorted(pg)
    for column in duck.columns:
        for i, (a, b) in enumerate(zip(duck[column].tolist(), pg[column].tolist(), strict=True)):
            if not _cell_equal(a, b):
                problems.append(f"{name}.{column} row {i}: duckdb {a!r} postgres {b!r}")
                break
    return problems
