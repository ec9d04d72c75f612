"""Publish on PostgreSQL swaps the serving schema in one transaction: a second connection
reading during repeated publishes only ever sees one whole version (kam_transforms.pgwarehouse
.publish). Runs on the local PostgreSQL in its own database, kam_test_pub_<pid>."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from kam_transforms.pgwarehouse.publish import publish_postgres, serving_version
from kam_transforms.pgwarehouse.target import PostgresTarget

ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
AS_OF = date(2026, 10, 31)
MARTS = [("kam_build", "customer_facts"), ("kam_build", "customer_tiers"),
         ("kam_build_snapshots", "snap_customer_tiers")]  # fmt: skip


@pytest.fixture()
def target() -> Iterator[PostgresTarget]:
    name = f"kam_test_pub_{os.getpid()}"
    with psycopg.connect(**ADMIN, autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')
        con.execute(f'create database "{name}"')
    try:
        yield PostgresTarget(dbname=name)
    finally:
        with psycopg.connect(**ADMIN, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def _build(target: PostgresTarget, version: int) -> None:
    """A 'build' whose three tables all carry ``version`` (500 rows each)."""
    with target.connect(autocommit=True) as con:
        for schema, table in MARTS:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"drop table if exists {schema}.{table}")
            con.execute(f"create table {schema}.{table} (customer_id text not null, version int)")
            con.execute(
                f"insert into {schema}.{table} select 'C' || i, %s from generate_series(1, 500) i",
                [version],
            )
            con.execute(f"comment on table {schema}.{table} is 'The {table} mart.'")
            con.execute(f"comment on column {schema}.{table}.customer_id is 'ERP customer id.'")


def test_publish_serves_the_build_with_its_comments_and_stamp(target: PostgresTarget) -> None:
    assert serving_version(target) is None
    _build(target, 1)
    result = publish_postgres(target, MARTS, AS_OF, "run-1", "20261031-abc")
    assert result["tables"] == {"customer_facts": 500, "customer_tiers": 500,
                                "snap_customer_tiers": 500}  # fmt: skip
    assert serving_version(target) == (AS_OF, "run-1", "20261031-abc")
    with target.connect(autocommit=True) as con:
        comments = con.execute(
            "select obj_description('kam.customer_tiers'::regclass, 'pg_class'), "
            "col_description('kam.customer_tiers'::regclass, 1)"
        ).fetchone()
        schemas = {r[0] for r in con.execute("select nspname from pg_namespace").fetchall()}
    assert comments == ("The customer_tiers mart.", "ERP customer id.")
    assert "kam" in schemas and "kam__next" not in schemas
    # a second publish keeps the first as kam__previous
    _build(target, 2)
    publish_postgres(target, MARTS, AS_OF, "run-2")
    with target.connect(autocommit=True) as con:
        previous = con.execute("select max(version) from kam__previous.customer_facts").fetchone()
        assert previous == (1,)
        assert con.execute("select max(version) from kam.snap_customer_tiers").fetchone() == (2,)


def test_a_failed_publish_leaves_the_serving_schema_as_it_was(target: PostgresTarget) -> None:
    _build(target, 1)
    publish_postgres(target, MARTS, AS_OF, "run-1")
    with pytest.raises(RuntimeError, match=r"copying kam_build\.no_such_mart failed"):
        publish_postgres(target, [*MARTS, ("kam_build", "no_such_mart")], AS_OF, "run-2")
    assert serving_version(target) == (AS_OF, "run-1", None)


def test_a_reader_during_publishes_sees_one_version_at_a_time(target: PostgresTarget) -> None:
    _build(target, 1)
    publish_postgres(target, MARTS, AS_OF, "run-1")
    seen: list[tuple[int, int, int, str]] = []
    errors: list[str] = []
    done = threading.Event()

    def read() -> None:
        with target.connect(autocommit=True) as con:  # a BI client: its own connection
            while not done.is_set() or len(seen) < 5:
                try:
                    row = con.execute(
                        "select (select max(version) from kam.customer_facts), "
                        "(select max(version) from kam.customer_tiers), "
                        "(select max(version) from kam.snap_customer_tiers), "
                        "(select run_id from kam._kam_publish_log)"
                    ).fetchone()
                except psycopg.Error as exc:
                    errors.append(str(exc))
                    continue
                assert row is not None
                seen.append(row)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(2, 7):
            _build(target, version)
            publish_postgres(target, MARTS, AS_OF, f"run-{version}")
    finally:
        done.set()
        reader.join(60)
    assert errors == []
    assert len(seen) >= 5
    for facts, tiers, snap, run_id in seen:  # every read is one whole version
        assert facts == tiers == snap == int(run_id.removeprefix("run-"))
    versions = [row[0] for row in seen]
    assert versions == sorted(versions)  # never back to an older version
    assert versions[-1] == 6
    assert len(set(versions)) >= 2  # it read while versions changed


def test_the_connection_comes_from_the_environment_or_the_airflow_connection() -> None:
    """KAM_PG_* first, else the kam_warehouse_postgres connection's URI; the password never in
    what logs and errors show."""
    from kam_transforms.pgwarehouse.target import warehouse_kind

    uri = "postgresql://kam%40etl:s3cr%2Ft@db.internal:6432/warehouse"
    target = PostgresTarget.from_env({"AIRFLOW_CONN_KAM_WAREHOUSE_POSTGRES": uri})
    assert (target.host, target.port, target.user, target.dbname, target.password) == (
        "db.internal", 6432, "kam@etl", "warehouse", "s3cr/t"
    )
    assert "s3cr" not in target.describe() and "s3cr" not in repr(target)
    assert target.dbt_env()["KAM_PG_PASSWORD"] == target.password  # the child's environment only
    own = PostgresTarget.from_env(
        {"KAM_PG_HOST": "10.0.0.5", "KAM_PG_DBNAME": "kam",
         "AIRFLOW_CONN_KAM_WAREHOUSE_POSTGRES": uri}
    )  # fmt: skip
    assert (own.host, own.port, own.dbname, own.password) == ("10.0.0.5", 5432, "kam", None)
    with pytest.raises(ValueError, match="KAM_PG_PORT='x'"):
        PostgresTarget.from_env({"KAM_PG_HOST": "h", "KAM_PG_PORT": "x"})
    with pytest.raises(ValueError, match="not an allowed PostgreSQL identifier"):
        PostgresTarget(serving_schema='kam"; drop')
    assert warehouse_kind() in ("duckdb", "postgres")
