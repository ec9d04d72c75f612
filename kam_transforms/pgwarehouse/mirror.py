"""The local DuckDB serving file written from the PostgreSQL serving schema.

The alerts step, the cockpit and ``kam summary`` read the DuckDB serving file
(``Settings.serving_db``). On PostgreSQL, publish writes that file from the version it has just
swapped in: after the swap commits, every published table is streamed from the serving schema
in bounded batches (:func:`kam_transforms.pgwarehouse.validate.stream_to_duckdb`), all in one
REPEATABLE READ transaction (one snapshot: the tables of one version), into a staged file with
the same ``_kam_publish_log`` a DuckDB publish writes (plus ``validation_runs`` from the audit
warehouse). The staged file is checked (publish log and row count of every table equal to
what PostgreSQL published) and renamed into place atomically, the replaced file kept as
``<serving>.previous`` (:func:`kam_transforms.warehouse.install_staged`). The caller holds the
``warehouse`` lock.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms.duck import sql_string
from kam_transforms.pgwarehouse.target import PostgresTarget, quote_ident

__all__ = ["mirror_serving"]



def _comments(con: Any, schema: str, table: str) -> tuple[str | None, dict[str, str]]:
    """The table comment and the column comments of PostgreSQL ``schema.table``."""
    relation = f"{quote_ident(schema)}.{quote_ident(table)}"
    row = con.execute("select obj_description(%s::regclass, 'pg_class')", [relation]).fetchone()
    columns = con.execute(
        "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
        "where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped "
        "and col_description(a.attrelid, a.attnum) is not null",
        [relation],
    ).fetchall()
    return (row[0] if row else None), {str(name): str(text) for name, text in columns}


def mirror_serving(
    target: PostgresTarget,
    serving_db: Path,
    tables: dict[str, int],
    as_of: date,
    run_id: str,
    build_id: str | None,
    *,
    audit_db: Path | None = None,
    storage_version: str = "v1.0.0",
) -> dict[str, int]:
    """Write ``serving_db`` from the PostgreSQL serving schema ``target.serving_schema``.

    ``tables`` are the row counts :func:`~kam_transforms.pgwarehouse.publish.publish_postgres`
    published. Returns the row count of each mirrored table.

    Raises
    ------
    PublishError
        When the serving schema is not the version of ``as_of``/``run_id``/``build_id`` or a
        table's rows differ from what was published; the serving file is then unchanged.
    """
    from psycopg import IsolationLevel

    from kam_transforms import duck
    from kam_transforms.pgwarehouse.validate import stream_to_duckdb
    from kam_transforms.warehouse import (
        PublishError,
        install_staged,
        new_staged_path,
        write_publish_records,
    )

    serving = target.serving_schema
    staged = new_staged_path(serving_db)
    counts: dict[str, int] = {}
    try:
        with target.connect() as con, duck.connect() as local:
            con.isolation_level = IsolationLevel.REPEATABLE_READ
            local.execute(
                f"attach {sql_string(str(staged))} as serving "
                f"(storage_version {sql_string(storage_version)})"
            )
            local.execute("use serving")
            with con.transaction():
                stamp = con.execute(
                    f"select as_of, run_id, build_id from {quote_ident(serving)}._kam_publish_log"  # noqa: S608
                ).fetchall()
                if stamp != [(as_of, run_id, build_id)]:
                    raise PublishError(
                        f"{target.describe()} schema {serving} holds {stamp}, not the version "
                        f"just published ({as_of}, {run_id}, {build_id}); {serving_db} unchanged"
                    )
                for name in sorted(tables):
                    dest = f"main.{quote_ident(name)}"
                    counts[name] = stream_to_duckdb(con, serving, name, local, dest)
                    comment, columns = _comments(con, serving, name)
                    if comment is not None:
                        local.execute(f"comment on table {dest} is {sql_string(comment)}")
                    for column, text in columns.items():
                        local.execute(
                            f"comment on column {dest}.{quote_ident(column)} is {sql_string(text)}"
                        )
            if counts != tables:
                raise PublishError(
                    f"{staged}: mirrored rows {counts} differ from the published {tables}; "
                    f"{serving_db} unchanged"
                )
            write_publish_records(local, audit_db, as_of, run_id, counts, build_id)
            local.execute("checkpoint serving")
            local.execute("use memory")
            local.execute("detach serving")
        with staged.open("rb") as fh:
            os.fsync(fh.fileno())
        install_staged(staged, serving_db)
    finally:
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
    return counts
