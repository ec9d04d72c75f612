"""Excel (.xlsx) export files as Arrow record batches: openpyxl in read-only mode.

The header is the sheet's first row; cell types are kept (a column whose cells share a type
keeps it, a mixed one is rendered as text). Blank rows are skipped. A formula without a
cached value (a workbook saved by a program that does not calculate) fails naming the sheet
and the cell: the values workbook (``data_only``) would give an empty cell, so the formulas
workbook is read beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from kam_transforms.extract.files import ExtractError

__all__ = ["open_xlsx"]


def open_xlsx(
    path: Path, sheet: str | int, batch_rows: int
) -> tuple[list[str], Callable[[], Iterator[pa.RecordBatch]]]:
    import openpyxl

    def sheets(data_only: bool) -> tuple[Any, Any]:
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
        except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError, ...
            raise ExtractError(
                f"{path}: not a readable .xlsx workbook ({type(exc).__name__})"
            ) from None
        names = book.sheetnames
        if isinstance(sheet, int):
            if sheet >= len(names):
                book.close()
                raise ExtractError(f"{path}: no sheet number {sheet}; sheets: {', '.join(names)}")
            return book, book[names[sheet]]
        if sheet not in names:
            book.close()
            raise ExtractError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(names)}")
        return book, book[sheet]

    book, ws = sheets(data_only=True)
    try:
        first = next(ws.iter_rows(max_row=1, values_only=True), ())
    finally:
        book.close()
    first = list(first)
    while first and first[-1] is None:
        first.pop()
    header = [f"Unnamed: {i}" if v is None else str(v) for i, v in enumerate(first)]
    if not header:
        raise ExtractError(f"{path}: sheet {ws.title!r} is empty (no header row)")
    width = len(header)

    def batches() -> Iterator[pa.RecordBatch]:
        values_book, values = sheets(data_only=True)
        formulas_book, formulas = sheets(data_only=False)
        try:
            rows: list[tuple[Any, ...]] = []
            pairs = zip(
                values.iter_rows(min_row=2, values_only=True),
                formulas.iter_rows(min_row=2),
                strict=False,
            )
            for cached, cells in pairs:
                cached = tuple(cached[:width]) + (None,) * (width - len(cached))
                for value, cell in zip(cached, cells[:width], strict=False):
                    if value is None and getattr(cell, "data_type", None) == "f":
                        raise ExtractError(
                            f"{path}: sheet {values.title!r} cell {cell.coordinate} holds a "
                            f"formula without a calculated value (the workbook was saved by a "
                            f"program that does not calculate); open and save it in Excel or "
                            f"LibreOffice, or export the values"
                        )
                if all(v is None for v in cached):
                    continue  # a blank row, as pandas' read_excel skips
                rows.append(cached)
                if len(rows) == batch_rows:
                    yield _rows_batch(rows, width)
                    rows = []
            if rows:
                yield _rows_batch(rows, width)
        finally:
            values_book.close()
            formulas_book.close()

    return header, batches


def _rows_batch(rows: list[tuple[Any, ...]], width: int) -> pa.RecordBatch:
    """Excel rows as a batch: a column keeps its cells' type when they share one, else each
    cell is rendered as text (dates ISO-8601)."""
    arrays = []
    for i in range(width):
        cells = [r[i] for r in rows]
        try:
            arrays.append(pa.array(cells))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([_cell_text(v) for v in cells], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=[str(i) for i in range(width)])


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
