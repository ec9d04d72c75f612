"""``KAM_DUCKDB_MEMORY_LIMIT`` and ``KAM_DUCKDB_THREADS`` reach every DuckDB connection the
pipeline opens: landing, the dbt build's profile, validate, publish (with its cockpit) and
alerts. Every ``duckdb.connect`` of those steps is watched, and each connection reports the
two settings as DuckDB itself reads them back."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dbt_build import AS_OF, Build, install_build, run_dbt

from kam_transforms.config import Settings

LIMIT, THREADS = "300MiB", "1"  # neither is DuckDB's default on any machine


def _settings_of(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    # fetch to the end: DuckDB keeps a connection busy while a result is unfinished
    ((memory, threads),) = con.execute(
        "select current_setting('memory_limit'), current_setting('threads')::varchar"
    ).fetchall()
    return str(memory), str(threads)


@pytest.fixture(scope="module")
def expected() -> tuple[str, str]:
    with duckdb.connect(config={"memory_limit": LIMIT, "threads": THREADS}) as con:
        return _settings_of(con)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[tuple]]:
    """The settings of every connection opened (path, memory limit, threads)."""
    for key in [k for k in os.environ if k.startswith("KAM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KAM_HOME", str(tmp_path / "kam"))
    monkeypatch.setenv("KAM_DUCKDB_MEMORY_LIMIT", LIMIT)
    monkeypatch.setenv("KAM_DUCKDB_THREADS", THREADS)
    seen: list[tuple] = []
    real = duckdb.connect

    def watched(database: str = ":memory:", *args: object, **kwargs: object) -> object:
        con = real(database, *args, **kwargs)  # type: ignore[arg-type]
        seen.append((str(database), *_settings_of(con)))
        return con

    monkeypatch.setattr(duckdb, "connect", watched)
    yield seen


def test_landing_connections_have_the_settings(
    build: Build, opened: list[tuple], expected: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    from kam_transforms.extract import extract
    from kam_transforms.extract.scratch import connect_spilling

    monkeypatch.setenv("KAM_EXPORTS_DIR", str(build.root / "exports"))
    result = extract(Settings.from_env(), AS_OF, "erp", "fx_rates")
    assert result["rows_landed"] > 0, result
    assert opened and {s[1:] for s in opened} == {expected}, opened
    # the landing sets its memory limit after connecting: KAM_DUCKDB_MEMORY_LIMIT unless
    # KAM_LANDING_MEMORY_LIMIT narrows it for the extract tasks
    with connect_spilling(tmp_path) as con:
        assert _settings_of(con) == expected
    monkeypatch.setenv("KAM_LANDING_MEMORY_LIMIT", "200MiB")
    with connect_spilling(tmp_path) as con:
        assert _settings_of(con) == ("200.0 MiB", expected[1])


def test_dbt_profile_takes_the_settings(
    build: Build, opened: list[tuple], expected: tuple[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "build.duckdb"
    shutil.copy(build.db_path, db)
    # as the build step runs dbt: the environment Settings.dbt_env gives the child
    env = Settings.from_env().dbt_env()
    assert (env["KAM_DUCKDB_MEMORY_LIMIT"], env["KAM_DUCKDB_THREADS"]) == (LIMIT, THREADS)
    sql = "select current_setting('memory_limit') as m, current_setting('threads') as t"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            if key.startswith("KAM_DUCKDB_"):
                patch.setenv(key, value)
        proc = run_dbt(["show", "--inline", sql, "--output", "json"], build.lake_dir, db, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    shown = json.loads(proc.stdout[proc.stdout.index("{"): proc.stdout.rindex("}") + 1])
    assert [(r["m"], str(r["t"])) for r in shown["show"]] == [expected]


def test_validate_publish_and_alerts_connections_have_the_settings(
    build: Build, opened: list[tuple], expected: tuple[str, str]
) -> None:
    from kam_transforms.alert_step import send_alerts
    from kam_transforms.pipeline import publish_marts, validate_build

    settings = Settings.from_env()
    install_build(build, settings, with_lake=True)
    steps = {}
    for step, run in (
        ("validate", lambda: validate_build(settings, AS_OF, "run-1")),
        ("publish", lambda: publish_marts(settings, AS_OF, "run-1")),
        ("alerts", lambda: send_alerts(settings, AS_OF)),
    ):
        before = len(opened)
        run()
        steps[step] = opened[before:]
    for step, connections in steps.items():
        assert connections, step
        assert {c[1:] for c in connections} == {expected}, (step, connections)
    assert any(c[0] == str(settings.serving_db) for c in steps["alerts"])
