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

__all__ = ["ExportSink", "fixed_width_strings", "put_digits", "render_csv"]

#: Rows rendered to CSV text at once (bounds the text buffer, far below 2 GiB of offsets).
CSV_CHUNK_ROWS = 200_000
_NEEDS_QUOTES = '[,"\r\n]'


def put_digits(out: np.ndarray, start: int, width: int, value: np.ndarray) -> None:
    """Write ``value`` (non-negative, below ``10**width``) zero-padded as ASCII digits into
    the columns ``start .. start + width - 1`` of the byte matrix ``out``."""
    rest = np.array(value, dtype=np.int64)
    for col in range(start + width - 1, start - 1, -1):
        out[:, col] = rest % 10 + ord("0")
        rest //= 10


def fixed_width_strings(data: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """The rows of the ``uint8`` matrix ``data`` (ASCII, one string per row) as an Arrow
    string array, null where not ``valid``: Arrow takes the bytes as its buffers."""
    n, size = data.shape
    if n * size >= 2**31:
        raise ValueError(f"{n} strings of {size} bytes do not fit 32-bit offsets")
    offsets = np.arange(n + 1, dtype=np.int32) * size
    if valid is None:
        validity, nulls = None, 0
    else:
        ok = np.asarray(valid, dtype=bool)
        validity, nulls = pa.py_buffer(np.packbits(ok, bitorder="little")), int(ok.size - ok.sum())
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))],
        null_count=nulls,
    )


def _calendar(days: np.ndarray, template: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """A byte matrix of ``template`` rows with ``YYYY-MM-DD`` of ``days`` (since 1970) in its
    first ten columns, or None if a year is outside 1000-9999."""
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    if year.size and (year.min() < 1000 or year.max() > 9999):
        return None
    out = np.empty((days.size, len(template)), dtype=np.uint8)
    out[:] = np.frombuffer(template, dtype=np.uint8)
    put_digits(out, 0, 4, year)
    put_digits(out, 5, 2, month_start.astype(np.int64) % 12 + 1)
    put_digits(out, 8, 2, (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1)
    return out, year


def _iso_text(arr: pa.Array) -> pa.Array | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a ``timestamp[s, UTC]`` or ``YYYY-MM-DD`` of a ``date32``
    array, or None where a year falls outside 1000-9999."""
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_date32(arr.type):
        days = arr.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        made = _calendar(days, b"0000-00-00")
        return None if made is None else fixed_width_strings(made[0], valid)
    secs = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    made = _calendar(secs // 86400, b"0000-00-00T00:00:00Z")
    if made is None:
        return None
    out, _ = made
    sod = secs % 86400
    put_digits(out, 11, 2, sod // 3600)
    put_digits(out, 14, 2, sod // 60 % 60)
    put_digits(out, 17, 2, sod % 60)
    return fixed_width_strings(out, valid)


def _float_text(arr: pa.Array) -> pa.Array:
    """Python's ``repr`` of each float (what pandas writes), empty for null and NaN.

    Arrow's shortest round-trip text has the same digits; where it differs in notation
    (``100`` for ``100.0``) it is mended, and where Python writes an exponent (magnitudes
    below 1e-4 or from 1e16) or Arrow does (many digits), numpy's ``repr`` of those few
    values is taken instead."""
    values = arr.to_numpy(zero_copy_only=False)  # null -> NaN
    text = arr.cast(pa.string())
    text = pc.if_else(
        pc.match_substring_regex(text, "[.eni]"), text,
        pc.binary_join_element_wise(text, ".0", ""),
    )  # fmt: skip
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        plain = ((size >= 1e-4) & (size < 1e16)) | (values == 0)
    plain &= ~pc.match_substring(text, "e").fill_null(False).to_numpy(zero_copy_only=False)
    other = ~plain & ~np.isnan(values)
    if other.any():
        text = pc.replace_with_mask(
            text, pa.array(other), pa.array(values[other].astype(str), type=pa.string())
        )
    return pc.if_else(pa.array(np.isnan(values)), pa.scalar(None, pa.string()), text)


def _render(arr: pa.Array) -> pa.Array:
    """One column as the CSV text of its cells (null where the cell is empty)."""
    t = arr.type
    if pa.types.is_timestamp(t):
        if t.unit != "s" or t.tz != "UTC":
            raise TypeError(f"timestamps must be timestamp[s, tz=UTC], got {t}")
        fast = _iso_text(arr)
        if fast is not None:
            return fast
        return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_date32(t):
        fast = _iso_text(arr)
        return arr.cast(pa.string()) if fast is None else fast
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(t) and arr.null_count == 0:
        return arr.cast(pa.string())
    if pa.types.is_floating(t) or pa.types.is_integer(t):  # pandas: ints with nulls are floats
        return _float_text(arr.cast(pa.float64()))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        arr = arr.cast(pa.string())
        needs = pc.match_substring_regex(arr, _NEEDS_QUOTES)
        if not pc.any(needs).as_py():
            return arr
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring(arr, '"', '""'), '"', ""
        )
        return pc.if_else(needs, quoted, arr)
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
