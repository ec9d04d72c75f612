"""File-drop connector: CSV exports in ``<exports_dir>/<source>/<entity>.csv`` to the lake.

Each file becomes one batch ``lake/raw/<source>/<entity>/as_of=<date>/<batch_id>.parquet``
holding every column as text plus ``_batch_id`` and ``_loaded_at``; typing is staging's job.
Rows that cannot be loaded (a key value missing, a key repeated inside the batch) go to
``lake/quarantine/<source>/<entity>/as_of=<date>/<batch_id>.parquet`` with ``_reason`` and
``_row_number``. Every batch checks rows in = rows landed + rows quarantined.

Landing is atomic per partition: the batch is written to a hidden temporary file and renamed
into place, then older batches of the same as-of date are removed, so a rerun replaces the
date's batch and a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kam_transforms.entities import ENTITIES, Entity

__all__ = ["ExtractError", "LandResult", "land_entity", "land_exports", "partition_dir"]


class ExtractError(RuntimeError):
    """An export cannot be landed at all (missing file, missing required column)."""


@dataclass(frozen=True)
class LandResult:
    """What one batch did: the counts always satisfy rows_in == landed + quarantined."""

    source: str
    entity: str
    batch_id: str
    rows_in: int
    rows_landed: int
    rows_quarantined: int
    path: str
    quarantine_path: str | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def partition_dir(lake_dir: Path, zone: str, ent: Entity, as_of: date) -> Path:
    return lake_dir / zone / ent.source / ent.name / f"as_of={as_of.isoformat()}"


def _read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    with path.open(newline="", encoding=encoding) as fh:
        return next(csv.reader(fh, delimiter=delimiter), [])


def _read_text_table(path: Path, encoding: str, delimiter: str) -> pa.Table:
    header = _read_header(path, encoding, delimiter)
    if not header:
        raise ExtractError(f"{path}: the file is empty (no header row)")
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise ExtractError(f"{path}: header repeats column(s) {', '.join(dupes)}")
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ExtractError(f"{path}: cannot parse as CSV: {exc}") from exc


def _batch_id(ent: Entity, as_of: date, path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{ent.source}-{ent.name}-{as_of:%Y%m%d}-{digest.hexdigest()[:12]}"


def _rejections(table: pa.Table, ent: Entity) -> pd.Series:
    """Per row, the reason it cannot be landed, or None (vectorised over the key columns)."""
    keys = table.select(list(ent.key)).to_pandas()
    reasons = pd.Series([None] * len(keys), index=keys.index, dtype="object")
    missing = keys.isna()
    has_missing = missing.any(axis=1)
    for idx in keys.index[has_missing]:
        cols = [k for k in ent.key if missing.at[idx, k]]
        reasons[idx] = f"required key column {', '.join(cols)} is empty"
    complete = keys[~has_missing].assign(_n=1)
    sizes = complete.groupby(list(ent.key), sort=False)["_n"].transform("size")
    for idx, count in sizes[sizes > 1].items():
        shown = ", ".join(f"{k}={keys.at[idx, k]}" for k in ent.key)
        reasons[idx] = f"duplicate key {shown} appears {count} times in the batch"
    return reasons


def _write_atomically(table: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(table, tmp)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def _replace_partition(table: pa.Table, directory: Path, batch_id: str) -> Path:
    target = directory / f"{batch_id}.parquet"
    _write_atomically(table, target)
    for old in directory.glob("*.parquet"):
        if old != target:
            old.unlink()
    return target


def land_entity(
    ent: Entity,
    exports_dir: Path,
    lake_dir: Path,
    as_of: date,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    loaded_at: datetime | None = None,
) -> LandResult:
    """Land ``<exports_dir>/<source>/<entity>.csv`` as the batch for ``as_of``.

    Raises
    ------
    ExtractError
        The file is missing, unreadable or lacks a canonical column; the message names the
        file and the column.
    """
    path = exports_dir / ent.source / f"{ent.name}.csv"
    if not path.is_file():
        raise ExtractError(f"{path}: export for {ent.qualified_name} not found")
    table = _read_text_table(path, encoding, delimiter)
    missing = [c for c in ent.columns if c not in table.column_names]
    if missing:
        raise ExtractError(
            f"{path}: required column(s) {', '.join(missing)} missing for {ent.qualified_name}"
        )
    batch_id = _batch_id(ent, as_of, path)
    loaded = loaded_at or datetime.now(UTC)
    n = table.num_rows
    table = table.append_column("_batch_id", pa.array([batch_id] * n, pa.string()))
    table = table.append_column(
        "_loaded_at", pa.array([loaded.replace(tzinfo=None)] * n, pa.timestamp("us"))
    )

    reasons = _rejections(table, ent)
    bad = pa.array(reasons.notna().to_numpy())
    good_rows = table.filter(pc.invert(bad))
    bad_rows = table.filter(bad)

    landed = _replace_partition(good_rows, partition_dir(lake_dir, "raw", ent, as_of), batch_id)
    quarantine_dir = partition_dir(lake_dir, "quarantine", ent, as_of)
    quarantine_path: Path | None = None
    if bad_rows.num_rows:
        rejected = reasons.dropna()
        bad_rows = bad_rows.append_column(
            "_row_number", pa.array((rejected.index + 1).to_numpy(), pa.int64())
        )
        bad_rows = bad_rows.append_column("_reason", pa.array(rejected.tolist(), pa.string()))
        bad_rows = bad_rows.append_column(
            "_source_file", pa.array([str(path)] * bad_rows.num_rows, pa.string())
        )
        quarantine_path = _replace_partition(bad_rows, quarantine_dir, batch_id)
    else:
        for old in quarantine_dir.glob("*.parquet"):
            old.unlink()

    result = LandResult(
        source=ent.source,
        entity=ent.name,
        batch_id=batch_id,
        rows_in=n,
        rows_landed=good_rows.num_rows,
        rows_quarantined=bad_rows.num_rows,
        path=str(landed),
        quarantine_path=str(quarantine_path) if quarantine_path else None,
    )
    if result.rows_in != result.rows_landed + result.rows_quarantined:  # pragma: no cover
        raise ExtractError(f"{path}: row accounting broken: {result}")
    return result


def land_exports(
    exports_dir: Path, lake_dir: Path, as_of: date, source: str | None = None
) -> list[LandResult]:
    """Land every canonical entity of ``source`` (or of all sources) for ``as_of``."""
    return [
        land_entity(ent, exports_dir, lake_dir, as_of)
        for ent in ENTITIES
        if source is None or ent.source == source
    ]
