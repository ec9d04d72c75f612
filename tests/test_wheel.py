"""The built wheel carries everything ``kam run`` needs (the dbt project inside the package,
the expectation suites), and the installed ``kam`` runs the whole pipeline from a directory
outside the checkout.

The wheel is built from a copy of the source tree with pip (``pip wheel --no-deps``) and
installed with ``--no-deps`` into a fresh virtual environment whose only other path is this
environment's site-packages (a ``.pth`` line: the dependencies, already installed, without
reinstalling Airflow, dbt and Great Expectations, which takes minutes). Nothing of the
checkout is importable there: the test asserts that ``kam_transforms`` and the dbt project
come from the fresh environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CUSTOMERS = 200
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "airflow_home", "target", "logs", "dbt_packages", "dist", "build",
    "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.duckdb*",
)


def run(cmd: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(  # type: ignore[call-overload]
        [str(c) for c in cmd], capture_output=True, text=True, timeout=900, check=False, **kwargs
    )
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_the_installed_wheel_runs_the_pipeline_outside_the_checkout(tmp_path: Path) -> None:
    source, dist, venv = tmp_path / "source", tmp_path / "dist", tmp_path / "venv"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source])
    (wheel,) = dist.glob("kam_transforms-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "kam_transforms/dbt_project/dbt_project.yml",
        "kam_transforms/dbt_project/profiles.yml",
        "kam_transforms/dbt_project/models/marts/customer_tiers.sql",
        "kam_transforms/dbt_project/models/marts/_marts__models.yml",
        "kam_transforms/dbt_project/snapshots/snap_customer_tiers.sql",
        "kam_transforms/dbt_project/macros/round_to.sql",
        "expectations/customer_tiers.py",
        "kam_transforms/py.typed",
    ):
        assert shipped in names, shipped
    assert not [n for n in names if "/target/" in n or n.endswith(".duckdb")]

    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())
    (site / "_kam_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", "utf-8")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KAM_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"KAM_HOME": str(tmp_path / "home"), "PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    where = run([python, "-c", "import kam_transforms.config as c, expectations as e; "
                 "print(c.__file__, c.DBT_PROJECT_DIR, e.__file__, sep='\\n')"],
                cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    assert Path(where[1]) == site / "kam_transforms" / "dbt_project"

    kam = venv / "bin" / "kam"
    run([kam, "demo-data", "--customers", CUSTOMERS, "--seed", 5, "--as-of", "2026-10-31"],
        cwd=elsewhere, env=env)
    result = json.loads(run([kam, "run", "--as-of", "2026-10-31"], cwd=elsewhere, env=env).stdout)
    rows = result["rows_per_mart"]
    assert rows["customer_tiers"] == CUSTOMERS
    assert rows["dim_customers"] >= CUSTOMERS and rows["fct_order_lines"] > CUSTOMERS
    assert {"customer_clv", "key_account_alerts", "snap_customer_tiers"} <= set(rows)
    assert result["serving_db"] == str(tmp_path / "home" / "warehouse" / "serving.duckdb")
