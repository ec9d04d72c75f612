"""DAG files import cleanly, cheaply, and wire the steps in the documented order."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO

HEAVY = ("pandas", "dbt", "great_expectations", "duckdb", "pyarrow", "numpy", "scipy")


def test_dag_files_import_without_errors_or_heavy_modules() -> None:
    probe = f"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({str(REPO / "dags")!r})
print(json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "dags": sorted(bag.dags),
    "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules),
}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], env=os.environ.copy(), capture_output=True, text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert result["dags"] == ["kam_pipeline"]
    assert result["heavy"] == []


def test_pipeline_structure() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(str(REPO / "dags")).dags["kam_pipeline"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.doc_md
    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert downstream == {
        "as_of": [
            "alerts", "dbt_build", "extract", "extract_fx_rates", "publish", "summary", "validate"
        ],
        "extract_fx_rates": ["dbt_build", "extract"],
        "extract": ["dbt_build"],
        "dbt_build": ["validate"],
        "validate": ["publish"],
        "publish": ["alerts"],
        "alerts": ["summary"],
        "summary": [],
    }
    writers = {t.task_id for t in dag.tasks if t.pool == "kam_warehouse"}
    assert writers == {"dbt_build", "validate", "publish"}
    assert all(t.retries >= 1 for t in dag.tasks if t.task_id.startswith(("extract", "alerts")))
    assert dag.params["as_of"] is None
