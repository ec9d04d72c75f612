"""CSV/TSV export files as Arrow record batches, streamed with bounded memory.

RFC 4180 (line breaks and delimiters inside quoted fields, ``""`` for a quote) through
``pyarrow.csv.open_csv`` with ``newlines_in_values``; every cell is text, ``""`` is null. The
block starts at :data:`BLOCK_SIZE`; a record larger than the block (a cell of several MB)
makes the reader start again with a block four times larger and skip the rows it already
gave, up to :data:`MAX_RECORD`. One pass over the bytes before reading finds a quoted field
that is never closed (pyarrow would read the rest of the file as one cell) and a file
declared in another encoding whose bytes are valid UTF-8 with non-ASCII text (a warning: the
declaration is probably wrong and the text would land garbled). Errors name the file, row
and line, never a record's content.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from kam_transforms.extract.files import ExtractError

__all__ = ["BLOCK_SIZE", "MAX_RECORD", "open_text"]

#: The first block the CSV reader parses at once (bytes).
BLOCK_SIZE = 1 << 20
#: The largest CSV record the reader accepts (bytes); beyond it the file is refused.
MAX_RECORD = 1 << 28
_UTF8_NAMES = {"utf-8", "utf-8-sig"}
_SCAN_CHUNK = 1 << 20
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def open_text(
    path: Path, declared: str, delimiter: str
) -> tuple[list[str], Callable[[], Iterator[pa.RecordBatch]], list[str]]:
    """The header, the rows (a generator factory) and the warnings of one delimited file."""
    encoding = _encoding(path, declared)
    header, batches = _open_text(path, encoding, delimiter)
    return header, batches, _scan_text(path, declared, encoding, delimiter)


def _encoding(path: Path, declared: str) -> str:
    if codecs.lookup(declared).name == "utf-8":
        with path.open("rb") as fh:
            if fh.read(3) == codecs.BOM_UTF8:
                return "utf-8-sig"
    return declared


def _scan_text(path: Path, declared: str, encoding: str, delimiter: str) -> list[str]:
    """One pass over the bytes: an unterminated quoted field fails the file (pyarrow would
    read the rest of the file as one cell); a file declared non-UTF-8 whose bytes are valid
    UTF-8 with non-ASCII text gets a warning. Returns the warnings."""
    name = codecs.lookup(declared).name
    check_utf8 = name not in _UTF8_NAMES
    count_quotes = not name.startswith(("utf-16", "utf-32"))  # ASCII-compatible encodings
    decoder = codecs.getincrementaldecoder("utf-8")()
    odd_quotes, first_line, lines = False, 0, 1
    with path.open("rb") as fh:
        while (count_quotes or check_utf8) and (chunk := fh.read(_SCAN_CHUNK)):
            if count_quotes:
                odd_quotes ^= bool(chunk.count(b'"') & 1)
            if check_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    check_utf8 = False
                    continue
                if not first_line and (high := _NON_ASCII.search(chunk)):
                    first_line = lines + chunk.count(b"\n", 0, high.start())
                lines += chunk.count(b"\n")
        if check_utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                check_utf8 = False
    if odd_quotes:
        _check_quotes_closed(path, encoding, delimiter)
    if not (check_utf8 and first_line):
        return []
    return [
        f"{path}: declared {declared} but its bytes are valid UTF-8 with non-ASCII text "
        f"(from line {first_line}); the declared encoding is probably wrong and the text "
        f"lands garbled; declare utf-8 in _export.json if the export is UTF-8"
    ]


def _check_quotes_closed(path: Path, encoding: str, delimiter: str) -> None:
    """An odd number of quotes: bare quotes inside unquoted fields (read as they are), or a
    quoted field never closed, which Python's strict csv reader finds at the end."""
    _allow_large_fields()
    rows, line = 0, 0
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            for _ in reader:
                rows, line = rows + 1, reader.line_num
        except csv.Error:
            raise ExtractError(
                f"{path}: row {rows} (line {line + 1}) opens a quoted field that is never "
                f"closed; the rest of the file would be read as one cell"
            ) from None


def _allow_large_fields() -> None:
    csv.field_size_limit(min(sys.maxsize, MAX_RECORD))


def _open_text(
    path: Path, encoding: str, delimiter: str
) -> tuple[list[str], Callable[[], Iterator[pa.RecordBatch]]]:
    _allow_large_fields()
    try:
        with path.open(newline="", encoding=encoding) as fh:
            header = next(csv.reader(fh, delimiter=delimiter), [])
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    except csv.Error as exc:
        raise ExtractError(f"{path}: cannot read the header row: {exc}") from None
    if not header:
        raise ExtractError(f"{path}: the file is empty (no header row)")

    def batches() -> Iterator[pa.RecordBatch]:
        yield from _csv_batches(path, encoding, delimiter, header)

    return header, batches


def _csv_reader(
    path: Path, encoding: str, delimiter: str, header: list[str], block: int
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=block),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _csv_batches(
    path: Path, encoding: str, delimiter: str, header: list[str]
) -> Iterator[pa.RecordBatch]:
    done = 0  # rows already given; a restart with a larger block skips them
    block = BLOCK_SIZE
    while True:
        skip = done
        try:
            for batch in _csv_reader(path, encoding, delimiter, header, block):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
                done += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc) and block < MAX_RECORD:
                block = min(block * 4, MAX_RECORD)
                continue
            raise _parse_error(path, encoding, delimiter, len(header), exc) from None
        except UnicodeDecodeError:
            raise _decode_error(path, encoding) from None


def _decode_error(path: Path, encoding: str) -> ExtractError:
    """Which line is not ``encoding`` (line by line: no multi-byte sequence holds a newline
    in the encodings exports use)."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                return ExtractError(
                    f"{path}: line {number} is not valid {encoding} (byte {exc.start + 1} of "
                    f"the line); declare the file's encoding in _export.json"
                )
    return ExtractError(f"{path}: not readable as {encoding}")


def _parse_error(
    path: Path, encoding: str, delimiter: str, width: int, exc: pa.ArrowInvalid
) -> ExtractError:
    """The first malformed record, found again with Python's csv module (an error path only);
    the message names row and line, never the record's content."""
    if "straddl" in str(exc):
        return ExtractError(
            f"{path}: a record is larger than {MAX_RECORD >> 20} MiB (an unterminated quote?)"
        )
    if "UTF8" in str(exc) or "UTF-8" in str(exc):
        return _decode_error(path, encoding)
    _allow_large_fields()
    try:
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            next(reader, None)
            for row_number, record in enumerate(reader, start=1):
                if record and len(record) != width:
                    return ExtractError(
                        f"{path}: row {row_number} (line {reader.line_num}) has "
                        f"{len(record)} field(s), the header has {width}"
                    )
    except csv.Error as err:
        return ExtractError(f"{path}: malformed CSV near line {reader.line_num}: {err}")
    return ExtractError(f"{path}: cannot parse as CSV ({str(exc).split(':')[0]})")
