"""Publish copies the marts into a new serving file atomically and keeps one for rollback."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kam_transforms.duck import quote_ident
from kam_transforms.warehouse import (
    PublishError,
    Relation,
    count_rows,
    mart_relations,
    previous_path,
    publish,
    rollback,
)

MARTS = [Relation("main_marts", "customer_tiers"), Relation("main_marts", "dim_customers")]


def tier_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return count_rows(con, "main", "customer_tiers")


def make_build(path: Path, n_customers: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists main_marts")
        con.execute("create schema if not exists main_staging")
        con.execute(
            "create or replace table main_marts.customer_tiers as "
            "select 'C' || i as customer_id, case when i < 2 then 'A' else 'C' end as abc_class "
            "from range(?) t(i)",
            [n_customers],
        )
        con.execute("create or replace table main_marts.dim_customers as select 1 as x")
        con.execute("create or replace view main_staging.stg_x as select 1 as y")


def test_manifest_lists_only_mart_tables(tmp_path: Path) -> None:
    def node(name: str, path: str, materialized: str) -> dict:
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": "main_marts",
            "path": path,
            "config": {"materialized": materialized, "enabled": True},
        }

    manifest = {
        "nodes": {
            "model.kam.b": node("dim_customers", "marts/dim_customers.sql", "table"),
            "model.kam.a": node("customer_tiers", "marts/customer_tiers.sql", "table"),
            "model.kam.s": node("stg_crm__accounts", "staging/crm/stg_crm__accounts.sql", "view"),
        "snapshot.kam.h": {"resource_type": "snapshot", "name": "snap_customer_tiers",
                           "alias": "snap_customer_tiers", "schema": "snapshots",
                           "path": "snap_customer_tiers.sql",
                           "config": {"materialized": "snapshot", "enabled": True}},
            "test.kam.t": {
                "resource_type": "test",
                "name": "t",
                "schema": "x",
                "path": "marts/t.sql",
                "config": {"materialized": "test"},
            },
        }
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert mart_relations(path) == [*MARTS, Relation("snapshots", "snap_customer_tiers")]
    with pytest.raises(PublishError, match="no dbt manifest"):
        mart_relations(tmp_path / "missing.json")


def test_publish_then_rollback(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serve" / "serving.duckdb"
    make_build(build, 5)
    counts = publish(build, serving, MARTS, date(2026, 10, 31), "run-1")
    assert counts == {"customer_tiers": 5, "dim_customers": 1}
    assert tier_rows(serving) == 5
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        log = con.execute("select as_of, run_id from _kam_publish_log").fetchall()
    assert tables == {"customer_tiers", "dim_customers", "_kam_publish_log"}  # no staging
    assert [(str(a), r) for a, r in log] == [("2026-10-31", "run-1")]

    make_build(build, 7)
    publish(build, serving, MARTS, date(2026, 11, 1), "run-2")
    assert tier_rows(serving) == 7
    assert tier_rows(previous_path(serving)) == 5
    assert sorted(p.name for p in serving.parent.iterdir()) == [
        "serving.duckdb",
        "serving.duckdb.previous",
    ]

    rollback(serving)
    assert tier_rows(serving) == 5
    rollback(serving)  # rolling back twice restores the newer version
    assert tier_rows(serving) == 7


def test_reader_holding_the_old_file_keeps_a_consistent_view(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    make_build(build, 3)
    publish(build, serving, MARTS, date(2026, 10, 31), "run-1")
    with duckdb.connect(str(serving), read_only=True) as reader:
        make_build(build, 9)
        publish(build, serving, MARTS, date(2026, 11, 1), "run-2")
        assert reader.execute("select count(*) from customer_tiers").fetchone() == (3,)
    assert tier_rows(serving) == 9


def test_rollback_without_previous_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no previous serving warehouse"):
        rollback(tmp_path / "serving.duckdb")


def test_identifiers_are_checked() -> None:
    assert quote_ident("customer_tiers") == '"customer_tiers"'
    for bad in ('x"; drop table y; --', "a b", "", "1abc"):
        with pytest.raises(ValueError, match="refusing identifier"):
            quote_ident(bad)


def test_published_tables_keep_the_build_contract(tmp_path: Path) -> None:
    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("create schema main_marts")
        con.execute(
            "create table main_marts.customer_tiers "
            "(customer_id varchar primary key, abc_class varchar not null, share double)"
        )
        con.execute("insert into main_marts.customer_tiers values ('C1', 'A', 0.5)")
    publish(build, serving, [Relation("main_marts", "customer_tiers")], date(2026, 10, 31), "r")
    with duckdb.connect(str(serving), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type, is_nullable from information_schema.columns "
            "where table_name = 'customer_tiers' order by ordinal_position"
        ).fetchall()
        constraints = con.execute(
            "select constraint_type from duckdb_constraints() where table_name = 'customer_tiers' "
            "order by 1"
        ).fetchall()
    assert columns == [
        ("customer_id", "VARCHAR", "NO"),
        ("abc_class", "VARCHAR", "NO"),
        ("share", "DOUBLE", "YES"),
    ]
    assert ("PRIMARY KEY",) in constraints
