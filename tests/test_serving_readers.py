"""The serving warehouse as BI tools read it: DuckDB 1.x drivers open it, and the dbt YAML's
table and column descriptions arrive as comments.

Each 1.x reader is a real DuckDB wheel from PyPI in a throwaway virtual environment, cached
under the pytest cache (``.pytest_cache/d/duckdb-readers``): the first run installs it
(about 15 s each), later runs reuse it. With ``CI=true`` a reader that cannot be installed
fails the test; elsewhere it skips.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_build import AS_OF, CUSTOMERS, Build, install_build

from kam_transforms.config import Settings
from kam_transforms.warehouse import mart_relations, publish

pytestmark = pytest.mark.slow

#: The oldest DuckDB the serving file promises (1.1) and the 1.x long-term release.
OLD_READERS = ("1.1.3", "1.4.4")

#: Runs under any DuckDB from 1.1: every table of ``main`` with its comment, its columns'
#: comments, ``count(*)`` and the number of rows a full read returns.
READER = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = {}
for name, comment in con.execute(
    "select table_name, comment from duckdb_tables() where schema_name = 'main' order by 1"
).fetchall():
    columns = con.execute(
        "select column_name, comment from duckdb_columns() "
        "where schema_name = 'main' and table_name = ? order by column_index", [name]
    ).fetchall()
    quoted = '"' + name.replace('"', '""') + '"'
    tables[name] = {
        "comment": comment,
        "columns": dict(columns),
        "count": con.execute("select count(*) from main." + quoted).fetchone()[0],
        "rows_read": len(con.execute("select * from main." + quoted).fetchall()),
    }
print(json.dumps({"version": duckdb.__version__, "tables": tables}))
"""


def _reader_python(cache_dir: Path, version: str) -> Path:
    """A virtual environment with ``duckdb==version`` only, made once and reused."""
    venv = cache_dir / f"duckdb-{version}"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import duckdb; print(duckdb.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip() == version:
            return python
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONSTRAINT", "PYTHONPATH")}
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", f"duckdb=={version}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            why = f"cannot install duckdb=={version}: {done.stderr[-1500:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(why)
            pytest.skip(why)
    return python


def read_with(python: Path | str, db: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [str(python), "-c", READER, str(db)], capture_output=True, text=True, check=False,
        timeout=300,
    )
    assert proc.returncode == 0, f"{python} could not read {db}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def served(build: Build, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """The demo build published once, in the default storage version."""
    serving = tmp_path_factory.mktemp("serving") / "serving.duckdb"
    marts = mart_relations(build.root / "target" / "manifest.json")
    publish(build.db_path, serving, marts, AS_OF, "readers", build_id="b-readers")
    return serving, marts


def _documented(build: Build) -> dict[str, tuple[str, dict[str, str]]]:
    """Each served relation's description and its columns' descriptions, from the YAML."""
    documented = {}
    manifest = json.loads((build.root / "target" / "manifest.json").read_text("utf-8"))
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "snapshot"):
            columns = {
                name: col["description"]
                for name, col in node["columns"].items()
                if col.get("description")
            }
            documented[node.get("alias") or node["name"]] = (node["description"], columns)
    return documented


def test_every_mart_and_column_carries_its_yaml_description(
    build: Build, served: tuple[Path, list]
) -> None:
    serving, marts = served
    seen = read_with(sys.executable, serving)["tables"]
    documented = _documented(build)
    assert {rel.name for rel in marts} | {"_kam_publish_log"} == set(seen)
    assert len(marts) >= 15
    for rel in marts:
        description, columns = documented[rel.name]
        table = seen[rel.name]
        assert description.strip() and table["comment"] == description, rel.name
        assert {c: k for c, k in table["columns"].items() if k} == columns, rel.name
    commented = sum(1 for rel in marts for k in seen[rel.name]["columns"].values() if k)
    assert commented == sum(len(documented[rel.name][1]) for rel in marts) > 300
    assert seen["customer_tiers"]["columns"]["abc_class"].startswith("ABC class now")
    assert seen["customer_tiers"]["count"] == CUSTOMERS
    assert seen["_kam_publish_log"]["comment"].startswith("One row: the as-of date")


@pytest.mark.parametrize("version", OLD_READERS)
def test_duckdb_1x_reads_every_mart_and_its_comments(
    version: str, served: tuple[Path, list], request: pytest.FixtureRequest
) -> None:
    serving, marts = served
    cache_dir = Path(request.config.cache.mkdir("duckdb-readers"))
    old = read_with(_reader_python(cache_dir, version), serving)
    new = read_with(sys.executable, serving)
    assert old["version"] == version and new["version"].startswith("2.")
    assert old["tables"] == new["tables"]
    for rel in marts:
        table = old["tables"][rel.name]
        assert table["count"] == table["rows_read"], rel.name
    assert old["tables"]["customer_tiers"]["count"] == CUSTOMERS
    assert sum(old["tables"][rel.name]["rows_read"] for rel in marts) > 10 * CUSTOMERS


def test_storage_version_is_a_setting(
    build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``KAM_SERVING_STORAGE_VERSION`` picks the format; a malformed one names the setting."""
    monkeypatch.setenv("KAM_HOME", str(tmp_path))
    monkeypatch.setenv("KAM_SERVING_STORAGE_VERSION", "1.0")
    with pytest.raises(ValueError, match="KAM_SERVING_STORAGE_VERSION='1.0': expected a DuckDB"):
        Settings.from_env()
    monkeypatch.setenv("KAM_SERVING_STORAGE_VERSION", "latest")
    assert Settings.from_env().serving_storage_version == "latest"

    marts = mart_relations(build.root / "target" / "manifest.json")[:1]
    for version, tag in (("v1.0.0", "v1.0.0+"), ("v1.4.0", "v1.4.0+"), ("latest", "v2.0.0+")):
        serving = tmp_path / f"serving-{version}.duckdb"
        publish(build.db_path, serving, marts, date(2026, 10, 31), "r", storage_version=version)
        with duckdb.connect(str(serving), read_only=True) as con:
            row = con.execute(
                "select tags['storage_version'] from duckdb_databases() "
                "where database_name = current_database()"
            ).fetchone()
        assert row == (tag,), version


# ------------------------------------------------ a BI client holding serving read-write

#: A BI client that opens the file read-write (most drivers' default) and holds it; on
#: "write" it writes a table (kept in DuckDB's write-ahead log), on "close" it closes.
HOLDER = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
for line in sys.stdin:
    if line.strip() == "write":
        con.execute("create table main.bi_scratch as select 42 as answer")
        print("written", flush=True)
    else:
        con.close()
        print("closed", flush=True)
        break
"""


def hold_read_write(db: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def tell(holder: subprocess.Popen[str], what: str) -> str:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(what + "\n")
    holder.stdin.flush()
    return holder.stdout.readline().strip()


@pytest.fixture(scope="module")
def published_home(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A KAM_HOME whose build warehouse is the session's demo build, recorded as a complete
    build, validated and published once (run-1); the warehouse folder is kept pristine."""
    from kam_transforms.pipeline import publish_marts, validate_build

    home = tmp_path_factory.mktemp("kam-rw")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("KAM_")]:
            patch.delenv(key)
        patch.setenv("KAM_HOME", str(home))
        settings = Settings.from_env()
        install_build(build, settings)
        validate_build(settings, AS_OF, "run-1")
        publish_marts(settings, AS_OF, "run-1")
        shutil.copytree(settings.build_db.parent, home / "pristine")
    yield home


@pytest.fixture
def settings(published_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("KAM_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KAM_HOME", str(published_home))
    settings = Settings.from_env()
    shutil.rmtree(settings.build_db.parent)
    shutil.copytree(published_home / "pristine", settings.build_db.parent)
    return settings


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tables(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' order by 1"
        ).fetchall()]
        return {n: con.execute(f'select count(*) from main."{n}"').fetchone()[0] for n in names}


def _logged(db: Path) -> tuple[str, dict[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        run_id, tables = con.execute("select run_id, tables from _kam_publish_log").fetchone()
    return run_id, json.loads(tables)


def test_a_client_holding_serving_read_write_fails_neither_validation_nor_serving(
    settings: Settings,
) -> None:
    from kam_transforms.pipeline import publish_marts, validate_build
    from kam_transforms.warehouse import PublishError

    serving = settings.serving_db
    holder = hold_read_write(serving)
    try:
        # what stopped the nightly run: DuckDB refuses even a read-only open meanwhile
        with pytest.raises(duckdb.IOException, match=f"Could not set lock.*PID {holder.pid}"):
            duckdb.connect(str(serving), read_only=True)

        summary = validate_build(settings, AS_OF, "run-2")
        assert summary["success"] is True and summary["failed"] == []
        with duckdb.connect(str(settings.audit_db), read_only=True) as con:
            bounds = con.execute(
                "select kwargs from validation_runs where run_id = 'run-2' and "
                "suite = 'customer_tiers' and expectation = 'expect_table_row_count_to_be_between' "
                "and kwargs like '%max_value%'"
            ).fetchall()
        # the volume check ran against the published version (400 rows, within 50%)
        assert [json.loads(k)["max_value"] for (k,) in bounds] == [CUSTOMERS * 3 // 2]

        before = _sha256(serving)
        with pytest.raises(PublishError) as refused:
            publish_marts(settings, AS_OF, "run-2")
        message = str(refused.value)
        assert message.startswith(f"publish refused: {serving} is open read-write in another")
        assert f"PID {holder.pid}" in message and "Serving is unchanged" in message
        assert _sha256(serving) == before
        assert sorted(p.name for p in serving.parent.iterdir()) == [
            "audit.duckdb", "build.duckdb", "serving.duckdb"
        ]
    finally:
        tell(holder, "close")
        holder.wait(30)

    published = publish_marts(settings, AS_OF, "run-2")  # the task's retry, once it closed
    assert _logged(serving) == ("run-2", published["tables"])
    assert published["tables"]["customer_tiers"] == CUSTOMERS


def test_a_dead_writers_log_moves_with_its_file_never_onto_the_new_one(
    settings: Settings,
) -> None:
    """A client killed after writing leaves ``serving.duckdb.wal``; DuckDB finds a log by the
    file's name, so left in place every new reader of the next version would replay it."""
    from kam_transforms.pipeline import publish_marts, rollback_serving

    serving = settings.serving_db
    wal = serving.with_name("serving.duckdb.wal")
    holder = hold_read_write(serving)
    assert tell(holder, "write") == "written"
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert wal.exists()

    published = publish_marts(settings, AS_OF, "run-2")
    assert not wal.exists()
    logged = published["tables"]
    assert _logged(serving) == ("run-2", logged)
    assert _tables(serving) == logged | {"_kam_publish_log": 1, "validation_runs": _runs(serving)}
    previous = serving.with_name("serving.duckdb.previous")
    assert _tables(previous)["bi_scratch"] == 1  # the dead client's write, with its own file

    rollback_serving(settings)
    assert _tables(serving)["bi_scratch"] == 1 and _logged(serving)[0] == "run-1"
    assert "bi_scratch" not in _tables(previous) and _logged(previous)[0] == "run-2"
    assert sorted(p.name for p in serving.parent.iterdir() if p.suffix == ".wal") == [
        "serving.duckdb.wal"
    ]


def _runs(db: Path) -> int:
    return _tables(db)["validation_runs"]
