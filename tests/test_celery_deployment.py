"""The multi-machine deployment of docker-compose.yml, run here without Docker: the same
Airflow components (api-server, scheduler, dag-processor, celery worker) as separate
processes, against the local PostgreSQL (metadata) and Redis (broker), run the DAG."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from airflow_services import (
    BIN,
    airflow_env,
    api_up,
    free_port,
    fresh_database,
    query,
    running,
    unavailable,
    wait_for,
)
from test_docker_compose import init_script, service

pytestmark = [pytest.mark.slow, pytest.mark.services]


@pytest.fixture(scope="module")
def metadata_db() -> Iterator[str]:
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    with fresh_database("kam_airflow_test") as url:
        yield url


def redis_url() -> str:
    import redis

    try:
        # The test's own database index, emptied of any earlier run's queues.
        redis.Redis(host="127.0.0.1", port=6379, db=11, socket_timeout=5).flushdb()
    except redis.exceptions.ConnectionError:
        unavailable("Redis")
    return "redis://127.0.0.1:6379/11"


def login(port: int, username: str, password: str) -> str | None:
    """A token from the api-server's login endpoint, or None when it refuses."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/auth/token", method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
            return str(json.load(resp)["access_token"])
    except urllib.error.HTTPError as exc:
        assert exc.code == 401, exc.code
        return None


def api_get(port: int, token: str, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
        return dict(json.load(resp))


def test_dag_runs_on_celery_with_postgres_and_redis(metadata_db: str, tmp_path: Path) -> None:
    from kam_transforms.demo_data import generate

    api_port = free_port()
    broker = redis_url()
    password = "pw-" + os.urandom(8).hex()
    # the compose file's login set-up, with the password file in this test's config folder
    compose_env = service("airflow-apiserver")["environment"]
    auth = {k: v for k, v in compose_env.items() if k.startswith("AIRFLOW__CORE__SIMPLE_AUTH")
            or k == "AIRFLOW__CORE__AUTH_MANAGER"}
    auth["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
        tmp_path / "airflow" / "config" / "simple_auth_manager_passwords.json")
    env = airflow_env(tmp_path / "airflow", metadata_db, api_port, "CeleryExecutor") | {
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_db,
        "KAM_PIPELINE_SCHEDULE": "",  # manual runs only: no scheduled run for today
        "KAM_HOME": str(tmp_path / "kam"),
    } | auth
    # airflow-init's own script: migrate, the one-slot pool, the admin's password file
    init = subprocess.run(
        ["/bin/bash", "-c", init_script({"AIRFLOW_UID": str(os.getuid())})],
        env=env | {"AIRFLOW_ADMIN_PASSWORD": password}, capture_output=True, text=True,
        timeout=300, check=False)
    assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-4000:]
    assert password not in init.stdout + init.stderr  # never printed
    assert query(metadata_db, "select slots from slot_pool where pool = 'kam_warehouse'") == [(1,)]
    generate(tmp_path / "kam" / "exports", 200, 3, date(2026, 10, 31))
    airflow = str(BIN / "airflow")

    components = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "celery-worker": ["celery", "worker", "--concurrency", "2"],
    }
    with running(components, env, tmp_path) as procs:
        wait_for(lambda: api_up(api_port), 120, "the api-server", procs)
        assert login(api_port, "admin", "wrong-" + password) is None
        token = login(api_port, "admin", password)
        assert token, "the admin of the compose set-up cannot log in"
        wait_for(lambda: query(metadata_db, "select count(*) from dag "
                               "where dag_id = 'kam_pipeline'")[0][0] == 1,
                 180, "the dag-processor to register kam_pipeline", procs)
        subprocess.run([airflow, "dags", "trigger", "kam_pipeline", "--conf",
                        json.dumps({"as_of": "2026-10-31"})], env=env, check=True,
                       capture_output=True)
        wait_for(lambda: query(metadata_db, "select state from dag_run")[0][0]
                 in ("success", "failed"), 420, "the DAG run", procs)

        states = query(metadata_db, "select task_id, state, count(*) from task_instance "
                                    "group by 1, 2 order by 1")
        assert query(metadata_db, "select state from dag_run") == [("success",)], states
        assert states == [
            ("alerts", "success", 1), ("as_of", "success", 1), ("dbt_build", "success", 1),
            ("extract", "success", 14), ("extract_fx_rates", "success", 1),
            ("extract_owner_directory", "success", 1),
            ("publish", "success", 1), ("summary", "success", 1),
            ("validate", "success", 1), ("wait_for_earlier_runs", "success", 1),
        ]
        runs = api_get(api_port, token, "/api/v2/dags/kam_pipeline/dagRuns")
        assert [r["state"] for r in runs["dag_runs"]] == ["success"]
        executors = query(metadata_db, "select distinct executor from task_instance")
        assert executors in ([(None,)], [("CeleryExecutor",)]), executors
        worker_log = (tmp_path / "celery-worker.log").read_text(errors="replace")
        assert "execute_workload" in worker_log or "succeeded" in worker_log

    serving = tmp_path / "kam" / "warehouse" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select as_of from _kam_publish_log").fetchone()[0].isoformat() == (
            "2026-10-31"
        )
        assert con.execute("select count(*) from customer_tiers").fetchone() == (200,)
    assert list((tmp_path / "kam" / "outbox").glob("*.eml"))
