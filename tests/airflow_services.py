"""Airflow's components (api-server, scheduler, dag-processor, workers) as processes on
loopback against a fresh PostgreSQL metadata database: what the service tests of the
deployment and of backfills share."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = [
    "BIN", "PG", "airflow_env", "api_up", "free_port", "fresh_database", "query", "running",
    "unavailable", "wait_for",
]

BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REPO = Path(__file__).resolve().parent.parent


def unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not reachable on loopback; CI must run this test")
    pytest.skip(f"{what} is not reachable on loopback")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database (its SQLAlchemy URL) for Airflow's metadata, dropped after."""
    import psycopg2

    name = f"{prefix}_{os.getpid()}"
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


def query(db_url: str, sql: str) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(dbname=db_url.rsplit("/", 1)[1], **PG) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def airflow_env(home: Path, metadata_db: str, api_port: int, executor: str) -> dict[str, str]:
    """The environment every component gets: this test's AIRFLOW_HOME, the repository's
    DAGs, the metadata database, the api-server's execution API; nothing of the caller's
    AIRFLOW_* or KAM_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KAM_"))} | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-secret",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def api_up(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/api/v2/version"
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
            return bool(json.load(resp)["version"].startswith("3."))
    except OSError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, what: str, procs: dict) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
        assert not dead, f"component(s) exited while waiting for {what}: {dead}"
        if check():
            return
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@contextmanager
def running(
    components: dict[str, list[str]], env: dict[str, str], log_dir: Path
) -> Iterator[dict[str, subprocess.Popen]]:
    """Start ``airflow <args>`` per component (logs in ``log_dir/<name>.log``); stop each
    one's process group (SIGTERM, then SIGKILL after 30 s) on the way out."""
    airflow = str(BIN / "airflow")
    logs = {name: (log_dir / f"{name}.log").open("wb") for name in components}
    procs = {
        name: subprocess.Popen([airflow, *args], env=env, stdout=logs[name],
                               stderr=subprocess.STDOUT, start_new_session=True)
        for name, args in components.items()
    }
    try:
        yield procs
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
