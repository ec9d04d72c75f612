"""The session-scoped dbt build of the demo data set that several test modules read.

The demo generator writes CSV exports as of AS_OF, the file-drop extractor lands them in a
private lake and ``dbt build`` (models and data tests) writes a private DuckDB file; the
fixture ``build`` (registered in conftest.py) hands it out once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

__all__ = [
    "AS_OF", "CUSTOMERS", "DBT_PROJECT_DIR", "SEED", "Build", "build", "install_build", "run_dbt",
]

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO / "dbt_project"
AS_OF = date(2026, 10, 31)
CUSTOMERS = 400
SEED = 11


def _dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if found is None:
        pytest.skip("dbt is not installed")
    return found


@dataclass(frozen=True)
class Build:
    root: Path
    lake_dir: Path
    db_path: Path
    manifest: dict[str, Any]
    dbt_stdout: str

    def query(self, sql: str) -> pd.DataFrame:
        import duckdb

        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql).df()

    def landed(self, source: str, entity: str) -> pd.DataFrame:
        files = sorted((self.lake_dir / "raw" / source / entity).glob("as_of=*/*.parquet"))
        assert files, f"nothing landed for {source}/{entity}"
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def run_dbt(
    args: list[str], lake_dir: Path, db_path: Path, work_dir: Path
) -> subprocess.CompletedProcess[str]:
    """Run dbt in the project with a private target, log dir and warehouse file."""
    env = os.environ.copy()
    env.update(
        {
            "KAM_LAKE_DIR": str(lake_dir),
            "KAM_BUILD_DB": str(db_path),
            "KAM_BASE_CURRENCY": "USD",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    cmd = [
        _dbt_executable(), *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
    ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)


def install_build(build: Build, settings: Any, *, with_lake: bool = False) -> None:
    """Put the session build into the home of ``settings`` (a ``Settings``) as a complete
    build of AS_OF: its warehouse, its dbt manifest and, ``with_lake``, its lake; ready
    for validate and publish."""
    from kam_transforms.builds import finish_build, start_build
    from kam_transforms.pipeline import dbt_target_dir

    settings.build_db.parent.mkdir(parents=True)
    shutil.copy(build.db_path, settings.build_db)
    dbt_target_dir(settings).mkdir(parents=True)
    shutil.copy(build.root / "target" / "manifest.json", dbt_target_dir(settings))
    if with_lake:
        shutil.copytree(build.lake_dir, settings.lake_dir)
    record = start_build(settings.build_db, AS_OF)
    finish_build(settings.build_db, record.build_id, "complete")


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    demo_data = pytest.importorskip("kam_transforms.demo_data")
    files = pytest.importorskip("kam_transforms.extract.connectors")
    root = tmp_path_factory.mktemp("dbt_demo")
    exports, lake, db = root / "exports", root / "lake", root / "build.duckdb"
    manifest = demo_data.generate(exports, CUSTOMERS, SEED, AS_OF)
    files.land_exports(exports, lake, AS_OF)
    proc = run_dbt(
        ["build", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})], lake, db, root
    )
    assert proc.returncode == 0, f"dbt build failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-2000:]}"
    return Build(root, lake, db, manifest, proc.stdout)
