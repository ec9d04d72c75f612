"""docker-compose.yml cannot run here (no Docker engine): check what it declares."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
AIRFLOW = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
           "airflow-triggerer", "airflow-worker")
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """What ``docker compose`` makes of a value: ``${VAR:-default}`` and ``${VAR}`` from
    ``env`` (the .env file), ``$$`` a literal ``$`` for the container's shell."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1)) or match.group(2) or ""

    return _VARIABLE.sub(one, value)


def service(name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One service as compose runs it, with the ``.env`` values ``env``."""
    return dict(interpolate(SERVICES[name], env or {}))


def init_script(env: dict[str, str]) -> str:
    """The shell script airflow-init runs (its ``bash -c`` argument), interpolated."""
    command = service("airflow-init", env)["command"]
    assert command[0] == "-c" and SERVICES["airflow-init"]["entrypoint"] == "/bin/bash"
    return str(command[1])


def test_every_long_running_service_has_a_health_check() -> None:
    assert set(SERVICES) == {"postgres", "redis", "mailpit", "airflow-init", *AIRFLOW}
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


def test_airflow_mounts_dags_logs_config_and_plugins_like_the_official_file() -> None:
    for name in (*AIRFLOW, "airflow-init"):
        mounts = {m.split(":")[1]: m.split(":")[0] for m in service(name)["volumes"]}
        assert mounts == {
            "/opt/airflow/dags": "./dags", "/opt/airflow/logs": "./logs",
            "/opt/airflow/config": "./config", "/opt/airflow/plugins": "./plugins",
            "/opt/kam/var": "kam-data",
        }, name
        env = service(name)["environment"]
        assert env["AIRFLOW_CONFIG"] == "/opt/airflow/config/airflow.cfg"
        # the admin's password file lives in the mounted config folder, shared by all
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(
            "/opt/airflow/config/")


def test_login_is_one_admin_whose_password_comes_from_the_env_file() -> None:
    env = service("airflow-apiserver", {"AIRFLOW_ADMIN_USER": "ops"})["environment"]
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("simple_auth_manager.SimpleAuthManager")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "ops:admin"
    assert "SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in COMPOSE_TEXT  # no open door
    init_env = service("airflow-init", {"AIRFLOW_ADMIN_PASSWORD": "from-dotenv"})["environment"]
    assert init_env["AIRFLOW_ADMIN_PASSWORD"] == "from-dotenv"  # noqa: S105 - a test value
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^AIRFLOW_ADMIN_PASSWORD=$", example, re.M)  # to be set, no default
    assert "8080" in str(service("airflow-apiserver")["ports"])


def test_init_refuses_to_start_without_an_admin_password(tmp_path: Path) -> None:
    """The real init script, run by bash: no password, no migration, a clear message."""
    env = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "KAM_HOME": str(tmp_path / "kam"), "AIRFLOW_ADMIN_PASSWORD": ""}
    proc = subprocess.run(["/bin/bash", "-c", init_script({})], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "AIRFLOW_ADMIN_PASSWORD is not set" in proc.stderr
    assert not (tmp_path / "airflow").exists()  # it stopped before touching anything


def test_mailpit_receives_the_alerts_over_the_smtp_default_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kam_transforms.alerts.deliver import transport_from_airflow

    mailpit = service("mailpit")
    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", mailpit["image"])
    assert "8025:8025" in mailpit["ports"] and 1025 in mailpit["expose"]
    env = service("airflow-worker", {"KAM_ALERTS_FROM": "kam@acme.example"})["environment"]
    assert env["KAM_ALERTS_DELIVERY"] == "smtp"
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", env["AIRFLOW_CONN_SMTP_DEFAULT"])
    transport = transport_from_airflow("smtp_default")
    assert transport is not None
    assert (transport.host, transport.port) == ("mailpit", 1025)
    assert not transport.use_ssl and not transport.starttls
    assert transport.from_email == "kam@acme.example"


def test_crm_and_erp_connection_examples_are_what_the_connectors_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kam_transforms.extract.hubspot import HubSpotConnector
    from kam_transforms.extract.odoo import OdooConnector

    dotenv = {"KAM_HUBSPOT_TOKEN": "pat-na1-test", "KAM_ODOO_HOST": "erp.internal",
              "KAM_ODOO_PASSWORD": "pw-from-env", "KAM_ODOO_DB": "acme"}
    env = service("airflow-worker", dotenv)["environment"]
    for key in ("KAM_HUBSPOT_TOKEN", "KAM_HUBSPOT_BASE_URL", "KAM_ODOO_DSN"):
        monkeypatch.delenv(key, raising=False)
    for conn_id in ("CRM_HUBSPOT", "ERP_ODOO"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", env[f"AIRFLOW_CONN_{conn_id}"])
    hubspot = HubSpotConnector.from_airflow_or_env()
    assert hubspot.client.base_url.rstrip("/") == "https://api.hubapi.com"
    odoo = OdooConnector.from_airflow_or_env()
    assert "host=erp.internal" in odoo.conninfo and "dbname=acme" in odoo.conninfo
    assert "password=pw-from-env" in odoo.conninfo and odoo.schema == "public"
    # every secret in the examples is a reference to the env file, never a value
    for conn_id in ("SMTP_DEFAULT", "CRM_HUBSPOT", "ERP_ODOO"):
        raw = json.loads(interpolate(SERVICES["airflow-worker"]["environment"][
            f"AIRFLOW_CONN_{conn_id}"], {}))
        assert not raw.get("password"), conn_id
