"""PostgreSQL as a warehouse target: the session's demo lake built on the local PostgreSQL
(127.0.0.1:5432, user postgres, trust) equals the DuckDB build of it, mart for mart and row
for row (tests/pg_compare.py says how cells are compared, floats within 1e-9 relative).

The test makes its own database, kam_test_<pid>, and drops it at the end.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_build import AS_OF, DBT_PROJECT_DIR, Build  # noqa: E402
from pg_compare import compare_mart  # noqa: E402

from kam_transforms.pgwarehouse.target import PostgresTarget  # noqa: E402

pytestmark = pytest.mark.slow

ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def _pg_schema(target: PostgresTarget, duck_schema: str) -> str:
    """DuckDB's `main`, `main_snapshots` ... are `<schema>`, `<schema>_snapshots` there."""
    return target.schema + duck_schema[len("main"):]


@pytest.fixture(scope="module")
def pg_target() -> Iterator[PostgresTarget]:
    import psycopg

    name = f"kam_test_{os.getpid()}"
    with psycopg.connect(**ADMIN, autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')
        con.execute(f'create database "{name}"')
    try:
        yield PostgresTarget(host="127.0.0.1", port=5432, user="postgres", dbname=name)
    finally:
        with psycopg.connect(**ADMIN, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def pg_home(
    build: Build, pg_target: PostgresTarget, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """KAM_WAREHOUSE=postgres and a home whose lake is the session's: the pipeline's steps."""
    from kam_transforms.config import Settings

    home = tmp_path_factory.mktemp("pg_home")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "KAM_WAREHOUSE": "postgres", "KAM_HOME": str(home), "KAM_LAKE_DIR": str(build.lake_dir),
            "KAM_PG_HOST": pg_target.host, "KAM_PG_PORT": str(pg_target.port),
            "KAM_PG_USER": pg_target.user, "KAM_PG_DBNAME": pg_target.dbname,
            "KAM_BASE_CURRENCY": "USD", "KAM_ALERTS_DELIVERY": "eml",
        }.items():  # fmt: skip
            mp.setenv(key, value)
        for key in ("KAM_BUILD_DB", "KAM_SERVING_DB", "KAM_AUDIT_DB", "KAM_PG_SCHEMA"):
            mp.delenv(key, raising=False)
        yield Settings.from_env()


@pytest.fixture(scope="module")
def pg_build(pg_home: Any) -> dict:
    """`kam build` on PostgreSQL (kam_transforms.pipeline.dbt_build)."""
    from kam_transforms.pipeline import dbt_build

    return dbt_build(pg_home, AS_OF)


def test_postgres_build_runs_every_node_of_the_duckdb_build(build: Build, pg_build: dict) -> None:
    duck = json.loads((build.root / "target" / "run_results.json").read_text(encoding="utf-8"))
    duck_ids = {r["unique_id"] for r in duck["results"]}
    assert pg_build["status"] == "complete" and pg_build["warehouse"] == "postgres"
    assert set(pg_build["nodes"]) <= {"pass", "success", "no-op"}, pg_build["nodes"]
    assert sum(pg_build["nodes"].values()) == len(duck_ids)
    # the Python models ran outside dbt in three levels: fit, scores, horizons and forecasts
    assert [p["phase"] for p in pg_build["phases"]] == ["phase 0", "phase 1", "phase 2", "phase 3"]


def test_every_mart_equals_the_duckdb_build_row_for_row(
    build: Build, pg_build: dict, pg_target: PostgresTarget
) -> None:
    from kam_transforms.warehouse import mart_relations

    marts = mart_relations(build.root / "target" / "manifest.json")
    assert len(marts) >= 27  # every mart and snapshot BI tools read
    problems: list[str] = []
    with pg_target.connect(autocommit=True) as con:
        for mart in marts:
            pg_schema = _pg_schema(pg_target, mart.schema)
            problems += compare_mart(build.db_path, mart.schema, con, pg_schema, mart.name)
        clv = con.execute(
            "select count(*), min(model_run_id), max(model_run_id) "
            f"from {pg_target.schema}.customer_clv"  # noqa: S608 - the test's own schema
        ).fetchone()
    assert problems == []
    duck_clv = build.query("select count(*) as n, min(model_run_id) as run from main.customer_clv")
    # the same CLV fit: the run id hashes the input and the config
    assert clv is not None
    assert (clv[0], clv[1], clv[2]) == (duck_clv.n[0], duck_clv.run[0], duck_clv.run[0])


def test_validate_and_publish_on_postgres_as_on_duckdb(
    build: Build, pg_build: dict, pg_home: Any, pg_target: PostgresTarget, tmp_path: Path
) -> None:
    """`kam validate` runs the same suites with the same outcomes as on DuckDB (SQL datasource
    where it can, pandas batches read from PostgreSQL elsewhere); `kam publish` swaps in the
    serving schema `kam`."""
    from kam_transforms.pipeline import publish_marts, validate_build
    from kam_transforms.validate import validate_marts

    duck = validate_marts(
        build.db_path, "main", AS_OF, serving_db=tmp_path / "serving.duckdb",
        audit_db=tmp_path / "audit.duckdb", reports_dir=tmp_path / "reports",
        gx_root=tmp_path / "gx", run_id="pg-target-duckdb",
    )  # fmt: skip
    summary = validate_build(pg_home, AS_OF, "pg-target-run", pg_build["build_id"])
    assert summary["success"], summary["failed"]
    pg = json.loads(Path(summary["report"]).read_text(encoding="utf-8"))

    def outcomes(rows: list[dict]) -> list[tuple]:
        return sorted(
            (o["suite"], o["expectation"], o["column"] or "", o["kwargs"], o["success"],
             o["unexpected_count"])
            for o in rows
        )  # fmt: skip

    from dataclasses import asdict

    assert len(pg["outcomes"]) == len(duck.outcomes) > 200
    assert outcomes(pg["outcomes"]) == outcomes([asdict(o) for o in duck.outcomes])
    # suites without pandas-only steps ran through GX's SQL datasource, the rest through the
    # bounded batch runner over a DuckDB copy streamed from PostgreSQL
    modes = pg["batch_modes"]
    assert set(duck.batch_modes.values()) == {"duckdb"}
    assert modes["customer_facts"] == "sql"
    assert modes["customer_clv"] == "duckdb"  # a pandas row_condition
    assert modes["customer_demand_forecast"] == "duckdb"  # prepare(frame)
    assert sorted(set(modes.values())) == ["duckdb", "sql"]

    published = publish_marts(pg_home, AS_OF, "pg-target-run", pg_build["build_id"])
    assert published["serving"] == "postgres"
    with pg_target.connect(autocommit=True) as con:
        stamp = con.execute("select as_of, run_id, build_id from kam._kam_publish_log").fetchone()
        tiers = con.execute("select count(*) from kam.customer_tiers").fetchone()
        comment = con.execute(
            "select obj_description('kam.customer_tiers'::regclass, 'pg_class')"
        ).fetchone()
    assert stamp == (AS_OF, "pg-target-run", pg_build["build_id"])
    assert tiers is not None and tiers[0] == published["tables"]["customer_tiers"] > 0
    assert comment is not None and comment[0]  # the dbt YAML description, carried over
    _alerts_read_the_published_version(build, pg_home, pg_target, published, tmp_path)


def _alerts_read_the_published_version(
    build: Build, pg_home: Any, pg_target: PostgresTarget, published: dict, tmp_path: Path
) -> None:
    """The pg publish also wrote the local DuckDB serving file from the version it swapped in:
    its tables hold the serving schema's rows, and `kam`'s alerts step sends, from it, the
    alerts the DuckDB path sends for the same date."""
    from dataclasses import replace

    from kam_transforms import duck
    from kam_transforms.alert_step import _alerts_for, send_alerts
    from kam_transforms.builds import serving_stamp
    from kam_transforms.pipeline import summarize
    from kam_transforms.warehouse import count_rows, mart_relations, publish

    stamp = serving_stamp(pg_home.serving_db)
    assert stamp is not None
    assert (stamp.as_of, stamp.run_id, stamp.build_id) == (
        AS_OF, "pg-target-run", published["build_id"])  # fmt: skip
    with pg_target.connect(autocommit=True) as con:
        pg_rows = {
            name: con.execute(f"select count(*) from kam.{name}").fetchone()[0]  # noqa: S608
            for name in published["tables"]
        }
    with duck.connect(pg_home.serving_db, read_only=True) as local:
        local_rows = {name: count_rows(local, "main", name) for name in published["tables"]}
    assert len(pg_rows) >= 27 and pg_rows["customer_tiers"] > 0
    assert local_rows == pg_rows == published["tables"]
    assert summarize(pg_home, AS_OF)["rows_per_mart"]["customer_tiers"] == pg_rows["customer_tiers"]

    # the DuckDB path for the same date: its own home, serving file and alert state
    duck_home = tmp_path / "duck_home"
    duck_settings = replace(
        pg_home, home=duck_home, serving_db=duck_home / "serving.duckdb",
        outbox_dir=duck_home / "outbox", lake_dir=duck_home / "lake",
    )  # fmt: skip
    marts = mart_relations(build.root / "target" / "manifest.json")
    publish(build.db_path, duck_settings.serving_db, marts, AS_OF, "pg-target-duckdb")
    # the lifecycle export writes into the lake: never the session's
    pg_settings = replace(pg_home, lake_dir=tmp_path / "pg_lake")

    def rows(settings: Any) -> list[tuple]:
        frame = _alerts_for(settings, AS_OF, "alerts test")
        return [
            tuple(json.loads(v) if c == "evidence" else v for c, v in row.items())
            for row in frame.astype(object).to_dict("records")
        ]

    duck_alerts, pg_alerts = rows(duck_settings), rows(pg_settings)
    assert len(pg_alerts) == len(duck_alerts) > 0
    assert pg_alerts == duck_alerts
    sent_duck, sent_pg = send_alerts(duck_settings, AS_OF), send_alerts(pg_settings, AS_OF)
    paths = {"transport", "state_path", "files_written", "manager_digest_files",
             "alert_lifecycle", "data_coverage_warning"}  # fmt: skip
    keys = sorted(set(sent_duck) - paths)
    assert sent_pg["digests_sent"] == sent_duck["digests_sent"] > 0
    assert {k: sent_pg[k] for k in keys} == {k: sent_duck[k] for k in keys}


def test_contract_types_are_ones_both_adapters_accept() -> None:
    """A `data_type: double` in the YAML breaks every PostgreSQL build (no such type there)."""
    import yaml

    allowed = {"bigint", "boolean", "date", "double precision", "integer", "timestamp", "varchar"}
    found: set[str] = set()
    for path in DBT_PROJECT_DIR.rglob("*.yml"):
        text = path.read_text(encoding="utf-8")
        if "data_type:" not in text:
            continue
        for model in (yaml.safe_load(text) or {}).get("models", []) or []:
            for column in model.get("columns", []) or []:
                if "data_type" in column:
                    found.add(str(column["data_type"]).lower())
    assert found and found <= allowed, sorted(found - allowed)
