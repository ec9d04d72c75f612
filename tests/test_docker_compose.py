"""docker-compose.yml cannot run here (no Docker engine): check what it declares."""

from __future__ import annotations

import re

import yaml

from conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIRFLOW = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
           "airflow-triggerer", "airflow-worker")


def test_every_long_running_service_has_a_health_check() -> None:
    assert set(SERVICES) == {"postgres", "redis", "airflow-init", *AIRFLOW}
    for name, service in SERVICES.items():
        if name != "airflow-init":
            assert service["healthcheck"]["test"], name


def test_airflow_services_share_one_celery_configuration() -> None:
    for name in (*AIRFLOW, "airflow-init"):
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert SERVICES[name]["image"] == "kam-airflow:0.1.0"
    commands = {n: SERVICES[n]["command"] for n in AIRFLOW}
    assert commands == {
        "airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }


def test_init_migrates_and_creates_the_single_writer_pool_before_anything_starts() -> None:
    script = " ".join(SERVICES["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert re.search(r"airflow pools set kam_warehouse 1\b", script)
    for name in AIRFLOW:
        deps = SERVICES[name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"


def test_images_are_pinned_and_no_secret_is_written_in() -> None:
    for name in ("postgres", "redis"):
        assert re.fullmatch(r"[a-z]+:\d+(\.\d+)+(-\w+)?", SERVICES[name]["image"]), name
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+-python3\.11$", dockerfile, re.M)
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert "${POSTGRES_PASSWORD:-" in text and "${AIRFLOW_JWT_SECRET:-" in text
