"""The build and serving DuckDB warehouses: safe reads and write-audit-publish.

dbt is the only writer of the build warehouse. Publishing copies the mart tables (as listed
in dbt's manifest, the allow-list for every identifier used here) into a *new* serving file
and renames it over the old one, so a reader sees the old or the new warehouse and never a
mix. The replaced file is kept as ``<serving>.previous`` for ``rollback``. Readers open the
serving file read-only; a published file is never written again, so they never block or
are blocked by a build. Publish and rollback refuse to rename over a file another process
holds read-write (:func:`_refuse_a_writer`), and move a write-ahead log a dead writer left
with the file it belongs to.

The serving file is written in the DuckDB storage version ``KAM_SERVING_STORAGE_VERSION``
(default ``v1.0.0``: DuckDB 1.0 and later, so the 1.x drivers most BI tools ship, read it),
with the build's table and column comments (dbt's ``persist_docs`` of the YAML
descriptions), so BI tools show the documentation.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from kam_transforms import duck, serving_parquet
from kam_transforms.config import DEFAULT_STORAGE_VERSION
from kam_transforms.duck import quote_ident, sql_string

__all__ = [
    "PublishError",
    "count_rows",
    "count_rows_in",
    "install_staged",
    "new_staged_path",
    "Relation",
    "mart_relations",
    "previous_path",
    "publish",
    "rollback",
    "write_publish_records",
]

_STORAGE_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


class PublishError(RuntimeError):
    """The serving warehouse could not be replaced or restored."""


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str




def mart_relations(manifest_path: Path) -> list[Relation]:
    """What BI tools read, from dbt's manifest: the tables under ``models/marts`` and the
    snapshots (SCD2 history), in a stable order."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PublishError(f"{manifest_path}: no dbt manifest; run dbt build first") from exc

    def served(node: dict) -> bool:
        if not node["config"].get("enabled", True):
            return False
        if node["resource_type"] == "snapshot":
            return True
        return (
            node["resource_type"] == "model"
            and node["path"].replace("\\", "/").startswith("marts/")
            and node["config"].get("materialized") in ("table", "incremental")
        )

    relations = {
        Relation(node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if served(node)
    }
    return sorted(relations, key=lambda r: (r.schema, r.name))


def count_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    """Row count of one table on an open connection (identifiers checked and quoted)."""
    sql = f"select count(*) from {quote_ident(schema)}.{quote_ident(table)}"  # noqa: S608
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def previous_path(serving_db: Path) -> Path:
    return serving_db.with_name(serving_db.name + ".previous")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_with_contract(con: duckdb.DuckDBPyConnection, rel: Relation) -> None:
    """Create the table as the build declared it (dbt's contract: types, not null, primary
    key) in the staged serving file, then copy its rows."""
    columns = con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where database_name = 'build' and schema_name = ? and table_name = ? "
        "order by column_index",
        [rel.schema, rel.name],
    ).fetchall()
    if not columns:
        raise PublishError(f"{rel.schema}.{rel.name} is in the manifest but not in the build")
    keys = con.execute(
        "select constraint_column_names from duckdb_constraints() "
        "where database_name = 'build' and schema_name = ? and table_name = ? "
        "and constraint_type = 'PRIMARY KEY'",
        [rel.schema, rel.name],
    ).fetchone()
    parts = [
        f"{quote_ident(name)} {data_type}{'' if nullable else ' not null'}"
        for name, data_type, nullable in columns
    ]
    if keys:
        parts.append(f"primary key ({', '.join(quote_ident(k) for k in keys[0])})")
    target = f"main.{quote_ident(rel.name)}"
    con.execute(f"create table {target} ({', '.join(parts)})")
    source = f"build.{quote_ident(rel.schema)}.{quote_ident(rel.name)}"
    con.execute(f"insert into {target} select * from {source}")  # noqa: S608 - quoted identifiers
    table_comment, column_comments = _comments(con, "build", rel.schema, rel.name)
    if table_comment:
        con.execute(f"comment on table {target} is {sql_string(table_comment)}")
    for column, comment in column_comments.items():
        con.execute(
            f"comment on column {target}.{quote_ident(column)} is {sql_string(comment)}"
        )


def _comments(
    con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str
) -> tuple[str | None, dict[str, str]]:
    """The table's comment and its columns' (those that have one)."""
    row = con.execute(
        "select comment from duckdb_tables() "
        "where database_name = ? and schema_name = ? and table_name = ?",
        [database, schema, table],
    ).fetchone()
    columns = con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? and comment is not null order by column_index",
        [database, schema, table],
    ).fetchall()
    return (row[0] if row else None), {str(name): str(comment) for name, comment in columns}


def _staged_path(serving_db: Path) -> Path:
    """A staging name no other publish uses: ``.<serving>.<pid>-<random>.new``."""
    return serving_db.with_name(f".{serving_db.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.new")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_stagings(serving_db: Path) -> None:
    """Delete staged files left by publishes that died (their pid no longer runs)."""
    pattern = re.compile(rf"^\.{re.escape(serving_db.name)}\.(\d+)-[0-9a-f]+\.new(\.wal)?$")
    for path in serving_db.parent.glob(f".{serving_db.name}.*.new*"):
        match = pattern.match(path.name)
        if match and not _pid_alive(int(match.group(1))):
            path.unlink(missing_ok=True)


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list:
    return con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? "
        "order by column_index",
        [database, schema, table],
    ).fetchall()


def _version_tuple(version: str) -> tuple[int, ...]:
    match = _STORAGE_VERSION.match(version.rstrip("+"))
    return tuple(int(part) for part in match.groups()) if match else (999,)


def _verify_staged(
    staged: Path,
    build_db: Path,
    marts: list[Relation],
    counts: dict[str, int],
    as_of: date,
    build_id: str | None,
    storage_version: str,
) -> None:
    """Reopen the staged file and check it is the whole build: every mart present with the
    build's columns, types and nullability (its contract), comments and row count, the file
    in ``storage_version`` (or older), and the publish log naming ``as_of`` and ``build_id``.

    Raises
    ------
    PublishError
        Naming the staged file and each difference; the serving file is not touched.
    """
    problems: list[str] = []
    with duck.connect(staged, read_only=True) as con:
        con.execute(f"attach {sql_string(str(build_db))} as build (read_only)")
        staged_db = con.execute(
            "select database_name, tags['storage_version'] from duckdb_databases() "
            "where database_name = current_database()"
        ).fetchone()
        db_name, written = (str(staged_db[0]), str(staged_db[1])) if staged_db else ("", "")
        if storage_version != "latest" and (
            _version_tuple(written) > _version_tuple(storage_version)
        ):
            problems.append(f"storage version {written}, asked for {storage_version}")
        for rel in marts:
            built = _columns(con, "build", rel.schema, rel.name)
            served = _columns(con, db_name, "main", rel.name)
            if not served:
                problems.append(f"{rel.name}: missing")
                continue
            if served != built:
                problems.append(f"{rel.name}: columns {served} differ from the build's {built}")
            if _comments(con, db_name, "main", rel.name) != _comments(
                con, "build", rel.schema, rel.name
            ):
                problems.append(f"{rel.name}: table or column comments differ from the build's")
            build_rows = count_rows_in(con, "build", rel.schema, rel.name)
            staged_rows = count_rows(con, "main", rel.name)
            if not staged_rows == build_rows == counts.get(rel.name):
                problems.append(
                    f"{rel.name}: {staged_rows} rows staged, {build_rows} in the build, "
                    f"{counts.get(rel.name)} copied"
                )
        log = con.execute("select as_of, build_id from main._kam_publish_log").fetchall()
        if log != [(as_of, build_id)]:
            problems.append(f"_kam_publish_log: {log}, expected [({as_of}, {build_id})]")
        con.execute("detach build")
    if problems:
        raise PublishError(
            f"{staged}: the staged serving warehouse is not the whole build {build_db}; "
            "serving is unchanged:\n  " + "\n  ".join(problems)
        )


def count_rows_in(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> int:
    """Row count of ``database.schema.table`` (identifiers checked and quoted)."""
    name = f"{quote_ident(database)}.{quote_ident(schema)}.{quote_ident(table)}"
    row = con.execute(f"select count(*) from {name}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


_PUBLISH_LOG = sql_string(
    "One row: the as-of date, run id and build id this serving warehouse was published "
    "from, and the row count of every published table (JSON)."
)
_VALIDATION_RUNS = sql_string(
    "Every Great Expectations outcome of every validation run, one row per expectation "
    "(copied from the audit warehouse); build_id ties a run to _kam_publish_log."
)


def _wal(db: Path) -> Path:
    """DuckDB's write-ahead log of ``db``: found by name, so it must move with its file."""
    return db.with_name(db.name + ".wal")


def _move_wal(db: Path, to: Path) -> None:
    """Move ``db``'s write-ahead log, if it has one, to be ``to``'s."""
    if _wal(db).exists():
        os.replace(_wal(db), _wal(to))


def _refuse_a_writer(serving_db: Path, step: str) -> None:
    """Refuse to rename over a serving file another process holds read-write.

    That writer keeps the replaced file (its changes land in ``.previous``), but its
    write-ahead log is ``<serving>.wal`` by name: every new reader of the new file would
    replay it. A read-only open conflicts only with a writer's lock, so it tells.

    Raises
    ------
    PublishError
        Naming the file and the process DuckDB reports holding it; serving is unchanged.
    """
    if not serving_db.exists():
        return
    try:
        duck.connect(serving_db, read_only=True).close()
    except duckdb.ConnectionException:  # this process has it open: no other can write it
        return
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise PublishError(
            f"{step} refused: {serving_db} is open read-write in another process ({exc}); "
            "its writes and write-ahead log would reach the new version. Serving is "
            "unchanged; close that client or connect it read-only, then retry"
        ) from exc


def _write_error(path: Path, exc: BaseException) -> PublishError:
    return PublishError(f"{path}: cannot write the staged serving warehouse: {exc}")


def new_staged_path(serving_db: Path) -> Path:
    """A fresh staging name beside ``serving_db`` for :func:`install_staged`, after deleting
    the staged files of publishes that died."""
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_stagings(serving_db)
    return _staged_path(serving_db)


def install_staged(staged: Path, serving_db: Path, step: str = "publish") -> None:
    """Rename the verified ``staged`` file over ``serving_db`` (one atomic rename), keeping
    the replaced file as ``<serving>.previous``. The caller holds the ``warehouse`` lock.

    Raises
    ------
    PublishError
        When another process holds ``serving_db`` read-write; serving is unchanged.
    """
    _refuse_a_writer(serving_db, step)
    if serving_db.exists():
        previous = previous_path(serving_db)
        keep = serving_db.with_name(f".{serving_db.name}.{os.getpid()}.keep")
        keep.unlink(missing_ok=True)
        os.link(serving_db, keep)
        _wal(previous).unlink(missing_ok=True)
        os.replace(keep, previous)
        _move_wal(serving_db, previous)  # left by a writer that died: the old file's
    os.replace(staged, serving_db)
    _fsync_dir(serving_db.parent)


def write_publish_records(
    con: duckdb.DuckDBPyConnection,
    audit_db: Path | None,
    as_of: date,
    run_id: str,
    counts: dict[str, int],
    build_id: str | None,
) -> None:
    """Into the serving database being staged (the connection's current one): the audit
    warehouse's ``validation_runs`` (when it exists) and the one-row ``_kam_publish_log``
    stamp (as-of, run id, rows per table, build id), each with its comment."""
    if audit_db is not None and audit_db.exists():
        con.execute(f"attach {sql_string(str(audit_db))} as audit (read_only)")
        con.execute("create table main.validation_runs as select * from audit.validation_runs")
        con.execute(f"comment on table main.validation_runs is {_VALIDATION_RUNS}")
        con.execute("detach audit")
    con.execute(
        "create table main._kam_publish_log "
        "(as_of date, run_id varchar, tables varchar, build_id varchar)"
    )
    con.execute(f"comment on table main._kam_publish_log is {_PUBLISH_LOG}")
    con.execute(
        "insert into main._kam_publish_log values (?, ?, ?, ?)",
        [as_of, run_id, json.dumps(counts, sort_keys=True), build_id],
    )


def publish(
    build_db: Path,
    serving_db: Path,
    marts: list[Relation],
    as_of: date,
    run_id: str,
    audit_db: Path | None = None,
    build_id: str | None = None,
    storage_version: str = DEFAULT_STORAGE_VERSION,
    parquet_dir: Path | None = None,
) -> dict[str, int]:
    """Copy ``marts`` from the build warehouse into a fresh serving file and swap it in.

    The file is staged under a name of its own (``.<serving>.<pid>-<random>.new``), so two
    publishes never write one file; it is verified (:func:`_verify_staged`) before the
    rename. The caller holds the ``warehouse`` lock (:mod:`kam_transforms.locks`), so two
    publishes never rename over each other either. ``validation_runs`` from ``audit_db``
    (when it exists) is published beside the marts, so BI tools can show what every
    published version was checked against; ``_kam_publish_log`` carries ``as_of``,
    ``run_id`` and ``build_id``. The file is written in ``storage_version`` (see
    :func:`kam_transforms.config.check_storage_version`), with the build's table and column
    comments. With ``parquet_dir``, every published mart is also written as Parquet from
    the staged file before the rename and switched in right after it
    (:mod:`kam_transforms.serving_parquet`). Returns the row count of each published table.
    """
    if not marts:
        raise PublishError("no mart tables to publish")
    staged = new_staged_path(serving_db)
    counts: dict[str, int] = {}
    parquet: Path | None = None
    try:
        try:
            with duck.connect() as con:
                con.execute(
                    f"attach {sql_string(str(staged))} as serving "
                    f"(storage_version {sql_string(storage_version)})"
                )
                con.execute("use serving")
                con.execute(f"attach {sql_string(str(build_db))} as build (read_only)")
                for rel in marts:
                    _copy_with_contract(con, rel)
                    counts[rel.name] = count_rows(con, "main", rel.name)
                write_publish_records(con, audit_db, as_of, run_id, counts, build_id)
                con.execute("detach build")
                con.execute("checkpoint serving")
            with staged.open("rb") as fh:
                os.fsync(fh.fileno())
        except (OSError, duckdb.IOException) as exc:
            raise _write_error(staged, exc) from exc
        _verify_staged(staged, build_db, marts, counts, as_of, build_id, storage_version)
        if parquet_dir is not None:
            parquet = serving_parquet.stage(
                staged, parquet_dir, counts, as_of=as_of, run_id=run_id, build_id=build_id)
        install_staged(staged, serving_db)
        if parquet is not None:
            serving_parquet.switch(parquet_dir, parquet)  # type: ignore[arg-type]
            parquet = None
    except serving_parquet.ParquetPublishError as exc:
        raise PublishError(f"publish refused: {exc}; serving is unchanged") from exc
    finally:
        if parquet is not None:  # not switched in: readers never saw it
            serving_parquet.discard(parquet)
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
    _fsync_dir(serving_db.parent)
    return counts


def rollback(serving_db: Path, parquet_dir: Path | None = None) -> None:
    """Swap the serving warehouse with the version it replaced (twice restores it), and the
    Parquet copy in ``parquet_dir`` with its previous version when there is one.

    When the serving file is missing, the previous version becomes the serving file. The
    caller holds the ``warehouse`` lock."""
    previous = previous_path(serving_db)
    if not previous.exists():
        raise PublishError(f"{previous}: no previous serving warehouse to roll back to")
    _refuse_a_writer(serving_db, "rollback")
    if parquet_dir is not None:
        serving_parquet.rollback(parquet_dir)
    if not serving_db.exists():  # e.g. deleted by hand: restore the previous version
        _wal(serving_db).unlink(missing_ok=True)
        os.replace(previous, serving_db)
        _move_wal(previous, serving_db)
        _fsync_dir(serving_db.parent)
        return
    swap = serving_db.with_name(f".{serving_db.name}.swap")
    for name in (swap, _wal(swap)):
        name.unlink(missing_ok=True)
    os.link(serving_db, swap)
    _move_wal(serving_db, swap)
    os.replace(previous, serving_db)
    _move_wal(previous, serving_db)
    os.replace(swap, previous)
    _move_wal(swap, previous)
    _fsync_dir(serving_db.parent)
