"""Shared fixtures. Airflow reads its settings at import, so they are set here first."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from dbt_build import build  # noqa: F401  (the session-scoped dbt build of the demo data)

REPO = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="kam-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database in a throwaway AIRFLOW_HOME, with the pool."""
    env = os.environ.copy()
    subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [BIN / "airflow", "pools", "set", "kam_warehouse", "1", "DuckDB build writer"],
        env=env, check=True, capture_output=True,
    )
    return _AIRFLOW_HOME


@pytest.fixture
def kam_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private KAM_HOME: every path the pipeline uses hangs off it."""
    for var in ("KAM_EXPORTS_DIR", "KAM_LAKE_DIR", "KAM_BUILD_DB", "KAM_SERVING_DB",
                "KAM_OUTBOX_DIR", "KAM_REPORTS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAM_HOME", str(tmp_path / "kam"))
    return tmp_path / "kam"
