"""Writers of the demo export (:mod:`kam_transforms.demo_data`), one file per entity, fed in
blocks (one region of the world after another) so that memory stays about one block.

CSV is rendered with Arrow compute, byte for byte what ``pandas.DataFrame.to_csv`` wrote
before (``index=False``, ``lineterminator="\\n"``, UTF-8): ISO timestamps with ``Z``,
``true``/``false``, dates ``YYYY-MM-DD``, floats as their shortest round-trip ``repr``
(``100.0``, ``1e-05``), an empty cell for null and NaN, and a field quoted (its quotes
doubled) only when it holds a comma, a quote or a line break. The header is written once.
Parquet goes through one ``ParquetWriter`` per entity (zstd), a row group per block at least.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["ExportSink", "render_csv"]

#: Rows rendered to CSV text at once (bounds the text buffer, far below 2 GiB of offsets).
CSV_CHUNK_ROWS = 200_000
_NEEDS_QUOTES = '[,"\r\n]'


def _render(arr: pa.Array) -> pa.Array:
    """One column as the CSV text of its cells (null where the cell is empty)."""
    t = arr.type
    if pa.types.is_timestamp(t):
        if t.unit != "s" or t.tz != "UTC":
            raise TypeError(f"timestamps must be timestamp[s, tz=UTC], got {t}")
        # "YYYY-MM-DD HH:MM:SSZ" -> the contract's "YYYY-MM-DDTHH:MM:SSZ"
        return pc.replace_substring(arr.cast(pa.string()), " ", "T", max_replacements=1)
    if pa.types.is_date32(t):
        return arr.cast(pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(t) and arr.null_count == 0:
        return arr.cast(pa.string())
    if pa.types.is_floating(t) or pa.types.is_integer(t):  # pandas: ints with nulls are floats
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        text = values.astype(str)
        return pa.array(text, type=pa.string(), mask=np.isnan(values))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        arr = arr.cast(pa.string())
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring(arr, '"', '""'), '"', ""
        )
        return pc.if_else(pc.match_substring_regex(arr, _NEEDS_QUOTES), quoted, arr)
    raise TypeError(f"no CSV rendering for {t}")


def render_csv(cols: dict[str, pa.Array]) -> bytes:
    """The CSV rows of ``cols`` (no header), each ending in ``\\n``."""
    rendered = [_render(a) for a in cols.values()]
    if not rendered or len(rendered[0]) == 0:
        return b""
    lines = pc.binary_join_element_wise(
        *rendered, ",", null_handling="replace", null_replacement=""
    )
    lines = pc.binary_join_element_wise(lines, "", "\n")  # line + "\n" + ""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    _, offsets_buf, data = lines.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    return memoryview(data)[int(offsets[0]):int(offsets[-1])].tobytes()


class ExportSink:
    """``out_dir/<source>/<entity>.<fmt>`` files written block by block; :attr:`rows` counts
    the rows written per entity. Use as a context manager (the files are closed on exit)."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
        self.out_dir, self.fmt = Path(out_dir), fmt
        self.rows: dict[str, int] = {}
        self._csv: dict[str, BinaryIO] = {}
        self._parquet: dict[str, pq.ParquetWriter] = {}

    def _open(self, name: str) -> Path:
        path = self.out_dir / f"{name}.{self.fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.stem}.*"):
            if stale.suffix in (".csv", ".parquet") and stale != path:
                stale.unlink()
        self.rows[name] = 0
        return path

    def write(self, name: str, cols: dict[str, pa.Array]) -> None:
        """Append one block of entity ``name`` (``<source>/<entity>``), columns in order."""
        n = len(next(iter(cols.values())))
        first = name not in self.rows
        path = self._open(name) if first else self.out_dir / f"{name}.{self.fmt}"
        if self.fmt == "csv":
            if first:
                self._csv[name] = path.open("wb")
                self._csv[name].write((",".join(cols) + "\n").encode("utf-8"))
            out = self._csv[name]
            for start in range(0, n, CSV_CHUNK_ROWS):
                out.write(render_csv({c: a.slice(start, CSV_CHUNK_ROWS) for c, a in cols.items()}))
        else:
            table = pa.table(cols)
            if first:
                self._parquet[name] = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer = self._parquet[name]
            if table.schema != writer.schema:
                table = table.cast(writer.schema)
            writer.write_table(table)
        self.rows[name] += n

    def close(self) -> None:
        for out in self._csv.values():
            out.close()
        for writer in self._parquet.values():
            writer.close()
        self._csv.clear()
        self._parquet.clear()

    def __enter__(self) -> ExportSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()
