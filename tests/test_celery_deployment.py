"""The multi-machine deployment of docker-compose.yml, run here without Docker: the same
Airflow components (api-server, scheduler, dag-processor, celery worker) as separate
processes, against the local PostgreSQL (metadata) and Redis (broker), run the DAG."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_docker_compose import init_script, service

from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.services]
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not reachable on loopback; CI must run this test")
    pytest.skip(f"{what} is not reachable on loopback")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def metadata_db() -> Iterator[str]:
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    import psycopg2

    name = f"kam_airflow_test_{os.getpid()}"
    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
    except psycopg2.OperationalError:
        unavailable("PostgreSQL")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}"')
        cur.execute(f'create database "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def redis_url() -> str:
    import redis

    try:
        # The test's own database index, emptied of any earlier run's queues.
        redis.Redis(host="127.0.0.1", port=6379, db=11, socket_timeout=5).flushdb()
    except redis.exceptions.ConnectionError:
        unavailable("Redis")
    return "redis://127.0.0.1:6379/11"


def query(db_url: str, sql: str) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(dbname=db_url.rsplit("/", 1)[1], **PG) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


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


def wait_for(check, timeout: float, what: str, procs: dict) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
        assert not dead, f"component(s) exited while waiting for {what}: {dead}"
        if check():
            return
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_dag_runs_on_celery_with_postgres_and_redis(metadata_db: str, tmp_path: Path) -> None:
    from kam_transforms.demo_data import generate

    api_port, health_port = free_port(), free_port()
    broker = redis_url()
    password = "pw-" + os.urandom(8).hex()
    # the compose file's login set-up, with the password file in this test's config folder
    compose_env = service("airflow-apiserver")["environment"]
    auth = {k: v for k, v in compose_env.items() if k.startswith("AIRFLOW__CORE__SIMPLE_AUTH")
            or k == "AIRFLOW__CORE__AUTH_MANAGER"}
    auth["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
        tmp_path / "airflow" / "config" / "simple_auth_manager_passwords.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KAM_"))} | {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_db,
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-secret",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(health_port),
        "KAM_PIPELINE_SCHEDULE": "",  # manual runs only: no scheduled run for today
        "KAM_HOME": str(tmp_path / "kam"),
        "PATH": f"{BIN}:{os.environ['PATH']}",
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
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in components}
    procs = {
        name: subprocess.Popen([airflow, *args], env=env, stdout=logs[name],
                               stderr=subprocess.STDOUT, start_new_session=True)
        for name, args in components.items()
    }
    try:
        def api_up() -> bool:
            try:
                url = f"http://127.0.0.1:{api_port}/api/v2/version"
                with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                    return json.load(resp)["version"].startswith("3.")
            except OSError:
                return False

        wait_for(api_up, 120, "the api-server", procs)
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
            ("validate", "success", 1),
        ]
        runs = api_get(api_port, token, "/api/v2/dags/kam_pipeline/dagRuns")
        assert [r["state"] for r in runs["dag_runs"]] == ["success"]
        executors = query(metadata_db, "select distinct executor from task_instance")
        assert executors in ([(None,)], [("CeleryExecutor",)]), executors
        worker_log = (tmp_path / "celery-worker.log").read_text(errors="replace")
        assert "execute_workload" in worker_log or "succeeded" in worker_log
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for log in logs.values():
            log.close()

    serving = tmp_path / "kam" / "warehouse" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select as_of from _kam_publish_log").fetchone()[0].isoformat() == (
            "2026-10-31"
        )
        assert con.execute("select count(*) from customer_tiers").fetchone() == (200,)
    assert list((tmp_path / "kam" / "outbox").glob("*.eml"))
