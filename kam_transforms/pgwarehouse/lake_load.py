"""Load the landed Parquet lake into PostgreSQL for dbt: ``raw_<source>.<entity>``.

dbt-duckdb reads ``raw/<source>/<entity>/as_of=<date>/<batch>.parquet`` directly
(``read_parquet(..., hive_partitioning, union_by_name)``); PostgreSQL cannot, so before each
build every landed entity is reloaded into one table of the same shape: the union of the
columns of all its batches (by name), as text, plus ``as_of`` (the partition). Staging casts
from text on both targets (macros/casts.sql), so the build sees the same values.

Bounded memory: each file is read in Arrow record batches, written as CSV and streamed with
``COPY ... FROM STDIN``; no table is ever held whole. The tables of one source are replaced in
one transaction, so a build never sees half a reload.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from kam_transforms.pgwarehouse.target import PostgresTarget, quote_ident

__all__ = ["BATCH_ROWS", "landed_entities", "load_lake"]

log = logging.getLogger(__name__)

#: Rows per Arrow batch streamed through COPY.
BATCH_ROWS = 50_000
_PARTITION = re.compile(r"^as_of=(\d{4}-\d{2}-\d{2})$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def landed_entities(lake_dir: Path) -> dict[tuple[str, str], list[tuple[str, Path]]]:
    """``{(source, entity): [(as_of, file), ...]}`` of every landed batch, sorted, and of the
    alert history (``alert_history/as_of=<date>/``) as ``("alert_history", "alert_lifecycle")``."""
    found: dict[tuple[str, str], list[tuple[str, Path]]] = {}
    raw = lake_dir / "raw"
    for path in sorted(raw.glob("*/*/as_of=*/*.parquet")):
        match = _PARTITION.match(path.parent.name)
        if match is None:
            raise ValueError(
                f"{path}: partition folder {path.parent.name!r} is not as_of=YYYY-MM-DD"
            )
        source, entity = path.parent.parent.parent.name, path.parent.parent.name
        found.setdefault((source, entity), []).append((match.group(1), path))
    # the alerts step's export of the alert lifecycle, read by the next build
    for path in sorted(lake_dir.glob("alert_history/as_of=*/*.parquet")):
        match = _PARTITION.match(path.parent.name)
        if match is None:
            raise ValueError(
                f"{path}: partition folder {path.parent.name!r} is not as_of=YYYY-MM-DD"
            )
        found.setdefault(("alert_history", "alert_lifecycle"), []).append((match.group(1), path))
    return found


def _columns(files: list[tuple[str, Path]]) -> list[str]:
    """The union of the files' columns in first-seen order (DuckDB's union_by_name)."""
    columns: list[str] = []
    for _, path in files:
        for name in pq.read_schema(path).names:
            if not _COLUMN.match(name):
                raise ValueError(f"{path}: column {name!r} is not a plain identifier")
            if name == "as_of":
                raise ValueError(f"{path}: a landed column is named as_of (the partition column)")
            if name not in columns:
                columns.append(name)
    return columns


def _as_text(batch: pa.RecordBatch, columns: list[str], as_of: str) -> pa.Table:
    arrays = []
    for name in columns:
        if name in batch.schema.names:
            arrays.append(pc.cast(batch.column(name), pa.string()))
        else:
            arrays.append(pa.nulls(batch.num_rows, pa.string()))
    arrays.append(pa.array([as_of] * batch.num_rows, pa.string()))
    return pa.Table.from_arrays(arrays, names=[*columns, "as_of"])


def _copy_file(cur: Any, table_sql: str, columns: list[str], as_of: str, path: Path) -> int:
    """Stream one Parquet file into the table: CSV with every non-null value quoted, so a
    null (empty, unquoted) and an empty string ("") stay apart."""
    column_sql = ", ".join(quote_ident(c.lower()) for c in [*columns, "as_of"])
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    rows = 0
    with cur.copy(f"copy {table_sql} ({column_sql}) from stdin with (format csv)") as copy:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(_as_text(batch, columns, as_of), buffer, options)
            copy.write(buffer.getvalue())
            rows += batch.num_rows
    return rows


def load_lake(target: PostgresTarget, lake_dir: Path) -> dict[str, int]:
    """Reload every landed entity into ``<raw_prefix>_<source>.<entity>``; rows per table.

    Entities no longer landed are dropped (an optional entity such as crm/owner_directory
    must read as absent, not stale). Raises ValueError naming the file for a partition folder
    or column name that is not as the lake layout promises.
    """
    entities = landed_entities(lake_dir)
    if not entities:
        raise ValueError(f"{lake_dir / 'raw'}: no landed Parquet batch (run `kam extract` first)")
    counts: dict[str, int] = {}
    sources = sorted({source for source, _ in entities})
    with target.connect() as con:
        for source in sources:
            schema = target.raw_schema(source)
            schema_sql = quote_ident(schema)
            with con.transaction(), con.cursor() as cur:
                cur.execute(f"create schema if not exists {schema_sql}")
                cur.execute(
                    "select table_name from information_schema.tables where table_schema = %s",
                    [schema],
                )
                for (stale,) in cur.fetchall():
                    if (source, stale) not in entities:
                        cur.execute(f"drop table {schema_sql}.{quote_ident(stale)} cascade")
                for (src, entity), files in sorted(entities.items()):
                    if src != source:
                        continue
                    columns = _columns(files)
                    table_sql = f"{schema_sql}.{quote_ident(entity)}"
                    column_defs = ", ".join(
                        f"{quote_ident(c.lower())} text" for c in [*columns, "as_of"]
                    )
                    cur.execute(
                        "select column_name from information_schema.columns "
                        "where table_schema = %s and table_name = %s order by ordinal_position",
                        [schema, entity],
                    )
                    existing = [r[0] for r in cur.fetchall()]
                    if existing == [c.lower() for c in [*columns, "as_of"]]:
                        # same shape: keep the table (the staging views over it stay valid)
                        cur.execute(f"truncate {table_sql}")
                    else:
                        # a new shape: the staging views over the old one go too (the build
                        # that follows recreates them)
                        cur.execute(f"drop table if exists {table_sql} cascade")
                        cur.execute(f"create table {table_sql} ({column_defs})")
                    rows = sum(_copy_file(cur, table_sql, columns, as_of, p) for as_of, p in files)
                    cur.execute(f"analyze {table_sql}")
                    counts[f"{schema}.{entity}"] = rows
                    log.info("loaded %s rows of %s/%s into %s", rows, source, entity, table_sql)
    return counts
