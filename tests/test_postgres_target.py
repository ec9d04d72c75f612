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

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_build import AS_OF, DBT_PROJECT_DIR, Build, _dbt_executable  # noqa: E402
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
def pg_build(
    build: Build, pg_target: PostgresTarget, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    from kam_transforms.pgwarehouse.build import build_postgres

    work = tmp_path_factory.mktemp("pg_build")
    return build_postgres(
        pg_target,
        build.lake_dir,
        {"as_of_date": AS_OF.isoformat(), "base_currency": "USD"},
        dbt_command=[_dbt_executable()],
        project_dir=DBT_PROJECT_DIR,
        target_dir=work / "target",
        log_dir=work / "logs",
        env=os.environ | {"KAM_BASE_CURRENCY": "USD", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    ) | {"work": work}


def test_postgres_build_runs_every_node_of_the_duckdb_build(build: Build, pg_build: dict) -> None:
    duck = json.loads((build.root / "target" / "run_results.json").read_text(encoding="utf-8"))
    duck_ids = {r["unique_id"] for r in duck["results"]}
    assert set(pg_build["nodes"]) <= {"pass", "success", "no-op"}, pg_build["nodes"]
    assert sum(pg_build["nodes"].values()) == len(duck_ids)
    # the Python models ran outside dbt in three levels: fit, scores, horizons and forecasts
    assert [p["phase"] for p in pg_build["phases"]] == ["phase 0", "phase 1", "phase 2", "phase 3"]
    assert pg_build["raw_rows"]["raw_erp.customers"] == len(build.landed("erp", "customers"))


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
