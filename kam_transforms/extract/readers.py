"""Per-file readers of a file drop: one export file as a stream of Arrow record batches.

:func:`open_export` reads a file's header (or schema) and returns an :class:`ExportFile`
whose :meth:`~ExportFile.batches` streams the rows with memory bounded by a block or a batch
of rows, never the whole file: CSV/TSV through :mod:`~kam_transforms.extract.text_reader`,
Excel through :mod:`~kam_transforms.extract.excel_reader`, Parquet batch by batch in its own
types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kam_transforms.extract.excel_reader import open_xlsx
from kam_transforms.extract.export_config import ExportSpec
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.text_reader import open_text

__all__ = ["BATCH_ROWS", "DATA_SUFFIXES", "ExportFile", "open_export"]

#: The suffixes of export files (``.tsv`` is tab-delimited unless declared otherwise).
DATA_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet")
#: Rows per record batch of an Excel or Parquet file.
BATCH_ROWS = 65_536


@dataclass
class ExportFile:
    """One opened export file: its columns (canonical names after mapping) and its rows.

    ``header`` is the file's own column names, ``columns`` the same after the declared
    ``columns`` mapping, in the same order; ``warnings`` name the file.
    """

    path: Path
    header: list[str]
    columns: list[str]
    _batches: Callable[[], Iterator[pa.RecordBatch]]
    warnings: list[str] = field(default_factory=list)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The file's rows, in order, as record batches with the mapped column names."""
        for batch in self._batches():
            yield pa.RecordBatch.from_arrays(batch.columns, names=self.columns)


def open_export(path: Path, spec: ExportSpec) -> ExportFile:
    """Open one export file by its suffix; raises :class:`ExtractError` naming the file."""
    suffix = path.suffix.lower()
    warnings: list[str] = []
    if suffix == ".xlsx":
        header, batches = open_xlsx(path, spec.sheet, BATCH_ROWS)
    elif suffix == ".parquet":
        header, batches = _open_parquet(path)
    else:
        delimiter = "\t" if suffix == ".tsv" and spec.delimiter == "," else spec.delimiter
        header, batches, warnings = open_text(path, spec.encoding, delimiter)
    header = [str(c).strip() for c in header]
    columns = [spec.columns.get(c, c) for c in header]
    return ExportFile(path, header, columns, batches, warnings)


def _open_parquet(path: Path) -> tuple[list[str], Callable[[], Iterator[pa.RecordBatch]]]:
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise ExtractError(f"{path}: not a readable Parquet file ({exc})") from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
        except (pa.ArrowException, OSError) as exc:
            raise ExtractError(f"{path}: not a readable Parquet file ({exc})") from None

    return names, batches
