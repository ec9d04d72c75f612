"""Great Expectations on the PostgreSQL build: the marts of ``<schema>`` and the baseline of
the serving schema, for :func:`kam_transforms.validate.validate_marts` (``marts=``).

A suite runs through GX's SQL datasource (``add_postgres``: a table asset, the metrics computed
in PostgreSQL) when it can: no ``prepare(frame)`` step (derived columns computed in pandas) and
no pandas ``row_condition`` (GX's SqlAlchemy engine refuses ``condition_parser="pandas"``).
Every other suite, and any suite whose SQL run raises, goes through the same bounded batch
runner as on DuckDB (:mod:`kam_transforms.validate_batches`: pandas batches of at most
``KAM_VALIDATION_BATCH_ROWS``), over a local DuckDB copy of the mart streamed from PostgreSQL
in batches. The report's ``batch_modes`` says which, per mart.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kam_transforms.pgwarehouse.host_models import frame_of_rows
from kam_transforms.pgwarehouse.target import PostgresTarget, quote_ident

#: Rows per batch copied from PostgreSQL into the local DuckDB copy.
COPY_BATCH_ROWS = 50_000
#: PostgreSQL type oids -> the DuckDB type the dbt-duckdb build gives the same column.
_DUCKDB_TYPES = {
    16: "boolean", 20: "bigint", 21: "smallint", 23: "integer", 700: "double", 701: "double",
    1700: "double", 1082: "date", 1114: "timestamp", 25: "varchar", 1043: "varchar",
}  # fmt: skip

__all__ = ["PostgresMarts", "sql_capable", "stream_to_duckdb"]

DATASOURCE = "kam_build_postgres"


def sql_capable(module: Any, suite: Any) -> bool:
    """Whether GX's SQL datasource can run ``suite`` as it is written."""
    if hasattr(module, "prepare"):
        return False
    return all(getattr(e, "condition_parser", None) != "pandas" for e in suite.expectations)


def stream_to_duckdb(con: Any, schema: str, table: str, local: Any, dest: str) -> int:
    """Copy PostgreSQL ``schema.table`` into a new DuckDB table ``dest`` (already quoted) of
    the ``local`` connection through a server-side cursor, COPY_BATCH_ROWS rows at a time,
    typed as DuckDB's build types it; the rows copied. ``con`` is a psycopg connection (not
    autocommit: the cursor lives in its transaction)."""
    relation = f"{quote_ident(schema)}.{quote_ident(table)}"
    copied = 0
    with con.cursor(name=f"kam_copy_{table}") as cur:
        cur.execute(f"select * from {relation}")  # noqa: S608
        description = cur.description or []
        columns = ", ".join(
            f"{quote_ident(c.name)} {_DUCKDB_TYPES.get(c.type_code, 'varchar')}"
            for c in description
        )
        local.execute(f"create table {dest} ({columns})")
        while rows := cur.fetchmany(COPY_BATCH_ROWS):
            local.register("chunk", frame_of_rows(rows, description))
            local.execute(f"insert into {dest} select * from chunk")  # noqa: S608
            local.unregister("chunk")
            copied += len(rows)
    return copied


class PostgresMarts:
    """The marts of one PostgreSQL build and the serving schema they are compared with."""

    def __init__(self, target: PostgresTarget, *, use_sql_datasource: bool = True) -> None:
        self.target = target
        self.use_sql_datasource = use_sql_datasource
        self._datasource: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def duckdb_copy(self, table: str) -> Path:
        """A local DuckDB file with ``main.<table>``: the mart streamed from PostgreSQL in
        batches of COPY_BATCH_ROWS, typed as DuckDB's build types it."""
        from kam_transforms import duck

        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kam-pg-validate-")
        path = Path(self._tmp.name) / "marts.duckdb"
        with self.target.connect() as con, duck.connect(path) as local:
            local.execute(f"drop table if exists main.{quote_ident(table)}")
            stream_to_duckdb(con, self.target.schema, table, local, f"main.{quote_ident(table)}")
        return path

    def baseline(self, sql: str | None) -> dict[str, Any] | None:
        """The suite's BASELINE_SQL on the serving schema, or None (no publish yet, or a new
        table)."""
        if not sql:
            return None
        import psycopg

        with self.target.connect(autocommit=True) as con:
            con.execute(
                "select set_config('search_path', %s, false)",
                [quote_ident(self.target.serving_schema)],
            )
            try:
                cursor = con.execute(sql)
            except psycopg.errors.UndefinedTable:
                return None
            row = cursor.fetchone()
            names = [d.name for d in cursor.description or []]
        if row is None:
            return None
        return {
            n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)
        }

    def _connection_string(self) -> str:
        t = self.target
        # GX keeps datasources in its (file) context: the password stays a ${...} reference
        # to the environment, never a value on disk.
        password = ":${KAM_PG_PASSWORD}" if t.password else ""
        if t.password:
            os.environ.setdefault("KAM_PG_PASSWORD", t.password)
        return (
            f"postgresql+psycopg2://{quote(t.user, safe='')}{password}@{t.host}:{t.port}/"
            f"{quote(t.dbname, safe='')}"
        )

    def sql_batch(self, context: Any, module: Any, suite: Any) -> Any:
        """A whole-table batch definition of the SQL datasource, or None (pandas)."""
        if not self.use_sql_datasource or not sql_capable(module, suite):
            return None
        if self._datasource is None:
            self._datasource = context.data_sources.add_or_update_postgres(
                DATASOURCE, connection_string=self._connection_string()
            )
        try:
            asset = self._datasource.get_asset(module.TABLE)
        except LookupError:
            asset = self._datasource.add_table_asset(
                module.TABLE, table_name=module.TABLE, schema_name=self.target.schema
            )
        return next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_table(
            "whole"
        )
