"""Publish on PostgreSQL: the validated build becomes the serving schema in one transaction.

The marts and snapshots dbt built (``kam_build``, ``kam_build_snapshots``) are copied into a
fresh schema ``<serving>__next`` with their table and column comments (from the dbt YAML,
``persist_docs``) and a ``_kam_publish_log`` row (as-of date, run id, build id). Then one
transaction renames the serving schema to ``<serving>__previous`` (dropping the one before)
and ``<serving>__next`` to ``<serving>``. A BI reader's statement resolves ``kam.<mart>``
either before that commit (all old tables) or after it (all new ones): never a mix, never a
missing table, and no reader is blocked, since renaming a schema takes no lock on its tables.

The previous version stays as ``<serving>__previous`` until the next publish (a rollback is
the same swap the other way). A reader still inside a transaction on tables two versions old
delays that drop; ``KAM_PG_PUBLISH_LOCK_TIMEOUT`` (default 5min) bounds the wait, after which
publish fails with the serving schema untouched.

``KAM_PG_READER_ROLE`` (optional) is granted usage and select on every new serving schema.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from kam_transforms.pgwarehouse.target import PostgresTarget, quote_ident

__all__ = ["PublishedVersion", "publish_postgres", "serving_version"]

log = logging.getLogger(__name__)

PublishedVersion = tuple[date, str, str | None]


def _literal(value: str | None) -> Any:
    from psycopg import sql

    return sql.Literal(value)


def serving_version(target: PostgresTarget) -> PublishedVersion | None:
    """``(as_of, run_id, build_id)`` of the serving schema, or None before the first publish."""
    with target.connect(autocommit=True) as con:
        found = con.execute(
            "select 1 from information_schema.tables where table_schema = %s "
            "and table_name = '_kam_publish_log'",
            [target.serving_schema],
        ).fetchone()
        if found is None:
            return None
        row = con.execute(
            f"select as_of, run_id, build_id from {quote_ident(target.serving_schema)}"  # noqa: S608
            "._kam_publish_log"
        ).fetchone()
    return (row[0], str(row[1]), row[2]) if row else None


def _copy_table(cur: Any, source_schema: str, name: str, next_schema: str) -> int:
    from psycopg import sql

    source = f"{quote_ident(source_schema)}.{quote_ident(name)}"
    dest = f"{quote_ident(next_schema)}.{quote_ident(name)}"
    # LIKE ... INCLUDING ALL carries column types, defaults, constraints and column comments
    cur.execute(f"create table {dest} (like {source} including all)")
    cur.execute(f"insert into {dest} select * from {source}")  # noqa: S608
    rows = cur.rowcount
    cur.execute("select obj_description(%s::regclass, 'pg_class')", [f"{source_schema}.{name}"])
    comment = cur.fetchone()[0]
    if comment is not None:
        cur.execute(sql.SQL(f"comment on table {dest} is {{}}").format(_literal(comment)))
    return int(rows)


def publish_postgres(
    target: PostgresTarget,
    marts: Sequence[tuple[str, str]],
    as_of: date,
    run_id: str,
    build_id: str | None = None,
) -> dict[str, Any]:
    """Serve ``marts`` (``(build schema, table)`` pairs) as ``target.serving_schema``.

    Raises ValueError if two marts share a name (one serving schema holds them all) and
    RuntimeError naming the table a copy failed on; the serving schema is then unchanged.
    """
    names = [name for _, name in marts]
    if len(set(names)) != len(names) or "_kam_publish_log" in names:
        raise ValueError(f"mart names must be unique in one serving schema: {sorted(names)}")
    serving = target.serving_schema
    next_schema, previous = f"{serving}__next", f"{serving}__previous"
    reader = os.environ.get("KAM_PG_READER_ROLE", "").strip()
    lock_timeout = os.environ.get("KAM_PG_PUBLISH_LOCK_TIMEOUT", "").strip() or "5min"
    rows: dict[str, int] = {}
    with target.connect() as con:
        with con.transaction(), con.cursor() as cur:
            cur.execute(f"drop schema if exists {quote_ident(next_schema)} cascade")
            cur.execute(f"create schema {quote_ident(next_schema)}")
            for schema, name in marts:
                try:
                    rows[name] = _copy_table(cur, schema, name, next_schema)
                except Exception as exc:
                    raise RuntimeError(f"publish: copying {schema}.{name} failed: {exc}") from exc
            cur.execute(
                f"create table {quote_ident(next_schema)}._kam_publish_log "
                "(as_of date not null, run_id text not null, build_id text, "
                "published_at timestamp not null)"
            )
            cur.execute(
                f"insert into {quote_ident(next_schema)}._kam_publish_log "  # noqa: S608
                "values (%s, %s, %s, %s)",
                [as_of, run_id, build_id, datetime.now(UTC).replace(tzinfo=None)],
            )
            if reader:
                role = quote_ident(reader)
                cur.execute(f"grant usage on schema {quote_ident(next_schema)} to {role}")
                cur.execute(
                    f"grant select on all tables in schema {quote_ident(next_schema)} to {role}"
                )
        # the swap: one transaction, so readers see the old version or the new one
        with con.transaction(), con.cursor() as cur:
            cur.execute("select set_config('lock_timeout', %s, true)", [lock_timeout])
            cur.execute(f"drop schema if exists {quote_ident(previous)} cascade")
            cur.execute(
                "select 1 from information_schema.schemata where schema_name = %s", [serving]
            )
            if cur.fetchone() is not None:
                cur.execute(
                    f"alter schema {quote_ident(serving)} rename to {quote_ident(previous)}"
                )
            cur.execute(
                f"alter schema {quote_ident(next_schema)} rename to {quote_ident(serving)}"
            )
    log.info("published %d tables as of %s: %s %s", len(rows), as_of, target.describe(), serving)
    return {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "build_id": build_id,
        "serving": f"{target.describe()} schema {serving}",
        "tables": rows,
    }
