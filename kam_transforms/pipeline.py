"""The pipeline's steps as plain functions: what each Airflow task (and ``kam`` command) calls.

Each step takes the run's as-of date and :class:`Settings`, does one idempotent thing, and
returns a small JSON-able summary (it becomes the task's XCom).

Every writing step holds its lock of ``KAM_HOME`` (:mod:`kam_transforms.locks`): an entity's
extract its entity's lock, build, validate, publish and rollback the ``warehouse`` lock,
alert sending the ``alerts`` lock. Build, validate and publish agree on one build id
(:mod:`kam_transforms.builds`): validate and publish refuse a build that is incomplete,
failed, partial or of another date, publish one that did not pass validation, and alerts
(:mod:`kam_transforms.alert_step`) a serving warehouse of another date.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms import duck
from kam_transforms.builds import (
    finish_build,
    finish_validation,
    require_complete_build,
    require_validated,
    start_build,
    start_validation,
)
from kam_transforms.config import DBT_PROJECT_DIR, Settings
from kam_transforms.locks import extract_lock_name, hold
from kam_transforms.pgwarehouse import steps as pg_steps

__all__ = [
    "DbtBuildError",
    "NoDataError",
    "dbt_build",
    "extract_entity",
    "publish_marts",
    "report_cockpit",
    "rollback_serving",
    "run_all",
    "summarize",
    "validate_build",
]

log = logging.getLogger(__name__)


#: The lock of the build, audit and serving warehouses.
WAREHOUSE_LOCK = "warehouse"


class DbtBuildError(RuntimeError):
    """``dbt build`` failed; the message lists the failing nodes."""


class NoDataError(RuntimeError):
    """The run date has no landed orders on or before it: nothing to build."""


def require_orders_up_to(settings: Settings, as_of: date) -> int:
    """The number of landed orders dated on or before ``as_of``, in the batches staging
    reads for it (:func:`kam_transforms.extract.lake.state_files`); raises
    :class:`NoDataError` naming the date and the earliest order when there are none, so a
    run of a date before the data fails instead of publishing empty marts (and a backfill
    before the history starts says so)."""
    from kam_transforms.entities import entity
    from kam_transforms.extract.lake import state_files

    root = settings.lake_dir / "raw" / "erp" / "orders"
    files = state_files(settings.lake_dir, entity("erp", "orders"), as_of, before=False)
    if not files:
        raise NoDataError(f"no erp/orders batch landed on or before {as_of} under {root}")
    with duck.connect(":memory:") as con:
        count, earliest = con.execute(
            "select count(*) filter (where try_cast(order_date as date) <= ?), "
            "min(try_cast(order_date as date)) from read_parquet(?)",
            [as_of, files],
        ).fetchone() or (0, None)
    if not count:
        raise NoDataError(
            f"no orders dated on or before {as_of} in the landed erp/orders "
            f"(the earliest is {earliest or 'none'}): nothing to build as of {as_of}"
        )
    return int(count)


def extract_entity(settings: Settings, as_of: date, source: str, name: str) -> dict[str, Any]:
    """Land one canonical entity through its source's connector (files, HubSpot or Odoo),
    holding that entity's lock (extracts of other entities run in parallel)."""
    from kam_transforms.extract import extract

    lock = extract_lock_name(source, name)
    with hold(settings.home, lock, f"extract {source}/{name}", as_of=as_of.isoformat()):
        return extract(settings, as_of, source, name)


def _dbt_command() -> list[str]:
    """dbt of this interpreter: the ``dbt`` script beside it, else ``python -m dbt.cli.main``
    (never another environment's dbt from PATH: the Python models import this package)."""
    beside = Path(sys.executable).parent / "dbt"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "dbt.cli.main"]


def dbt_target_dir(settings: Settings) -> Path:
    return settings.home / "dbt" / "target"


def _failed_nodes(target: Path) -> list[str]:
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [
        f"{r['unique_id']}: {r['status']}: {(r.get('message') or '').strip()}"
        for r in results["results"]
        if r["status"] in ("error", "fail", "runtime error")
    ]


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies (Linux
    ``PR_SET_PDEATHSIG``), however it dies: a killed ``kam build`` takes dbt with it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _run_child(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to its end; if this process is interrupted (SIGTERM via the CLI's
    handler, Ctrl-C, an Airflow task timeout), stop the child before re-raising."""
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd,
        env=env,
        cwd=DBT_PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_die_with_parent(),  # noqa: PLW1509 - only prctl and getppid run there
    )
    try:
        out, err = proc.communicate()
    except BaseException:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def dbt_build(
    settings: Settings,
    as_of: date,
    select: str | None = None,
    dbt_vars: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``dbt build`` for ``as_of`` into the build warehouse (the only writer of it).

    Holds the ``warehouse`` lock; records the build (:func:`kam_transforms.builds.start_build`)
    as ``running`` first and ``complete``/``partial``/``failed`` at the end; its
    ``build_id`` is in the summary. dbt dies with this process.
    """
    from kam_transforms.run_config import parse_vars

    extra = parse_vars(dbt_vars)
    with hold(settings.home, WAREHOUSE_LOCK, "build", as_of=as_of.isoformat()):
        require_orders_up_to(settings, as_of)
        return _dbt_build_locked(settings, as_of, select, extra)


def _dbt_build_locked(
    settings: Settings, as_of: date, select: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    from kam_transforms.run_config import record_run_config

    target = dbt_target_dir(settings)
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    dbt_vars = extra | {"as_of_date": as_of.isoformat(), "base_currency": settings.base_currency}
    cmd = [
        *_dbt_command(),
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(settings.home / "dbt" / "logs"),
        "--vars",
        json.dumps(dbt_vars),
    ]
    if select:
        cmd += ["--select", select]
    env = os.environ | settings.dbt_env() | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if pg_steps.is_postgres() and select:
        raise ValueError("KAM_WAREHOUSE=postgres builds the whole project: --select is DuckDB-only")
    build = start_build(settings.build_db, as_of, select)
    record_run_config(settings.audit_db, build.build_id, as_of, extra, DBT_PROJECT_DIR.parent)
    if pg_steps.is_postgres():
        return _postgres_build(settings, as_of, build.build_id, dbt_vars, env, extra)
    try:
        proc = _run_child(cmd, env)
    except BaseException as exc:
        finish_build(settings.build_db, build.build_id, "failed", f"interrupted: {exc!r}")
        raise
    for line in proc.stdout.splitlines():
        log.info("dbt: %s", line)
    if proc.returncode != 0:
        failed = _failed_nodes(target) or proc.stdout.splitlines()[-20:] + [proc.stderr[-2000:]]
        finish_build(settings.build_db, build.build_id, "failed", f"dbt exit {proc.returncode}")
        raise DbtBuildError(
            f"dbt build {build.build_id} failed as of {as_of} (exit {proc.returncode}):\n  "
            + "\n  ".join(failed)
        )
    status = "partial" if select else "complete"
    finish_build(settings.build_db, build.build_id, status)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    statuses: dict[str, int] = {}
    for r in results["results"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "as_of": as_of.isoformat(),
        "build_id": build.build_id,
        "status": status,
        "dbt_vars": extra,
        "nodes": statuses,
        "build_db": str(settings.build_db),
    }


def _postgres_build(
    settings: Settings, as_of: date, build_id: str, dbt_vars: dict[str, Any],
    env: dict[str, str], extra: dict[str, Any],
) -> dict[str, Any]:
    """The build on PostgreSQL (kam_transforms.pgwarehouse), recorded like a DuckDB one."""
    from kam_transforms.pgwarehouse.build import PostgresBuildError

    try:
        summary = pg_steps.build(
            dbt_vars, lake_dir=settings.lake_dir, dbt_command=_dbt_command(),
            project_dir=DBT_PROJECT_DIR, target_dir=dbt_target_dir(settings),
            log_dir=settings.home / "dbt" / "logs", env=env, run=_run_child,
        )  # fmt: skip
    except PostgresBuildError as exc:
        finish_build(settings.build_db, build_id, "failed", "postgres build failed")
        raise DbtBuildError(f"dbt build {build_id} failed as of {as_of}: {exc}") from exc
    except BaseException as exc:
        finish_build(settings.build_db, build_id, "failed", f"interrupted: {exc!r}")
        raise
    finish_build(settings.build_db, build_id, "complete")
    return {
        "as_of": as_of.isoformat(), "build_id": build_id, "status": "complete",
        "dbt_vars": extra, "nodes": summary["nodes"], "warehouse": "postgres",
        "target": summary["target"], "phases": summary["phases"],
    }  # fmt: skip


def _marts(settings: Settings) -> list[Any]:
    from kam_transforms.warehouse import mart_relations

    return mart_relations(dbt_target_dir(settings) / "manifest.json")


def validate_build(
    settings: Settings, as_of: date, run_id: str, build_id: str | None = None
) -> dict[str, Any]:
    """Run the mart suites on the build warehouse.

    Holds the ``warehouse`` lock. Only a complete build of ``as_of`` (and ``build_id``,
    when given) is validated, else :class:`~kam_transforms.builds.BuildRefused`; the verdict
    is recorded for its build id. A blocking failure emails the data team and raises
    ``ValidationFailed``, so publish never runs; warnings are returned in the summary.
    """
    with hold(settings.home, WAREHOUSE_LOCK, "validate", as_of=as_of.isoformat()):
        build = require_complete_build(settings.build_db, as_of, "validate", build_id)
        start_validation(settings.audit_db, build, run_id)
        blocking: int | None = None
        try:
            summary = _validate_locked(settings, as_of, run_id, build.build_id)
            blocking = 0
        except Exception as exc:
            report = getattr(exc, "report", None)
            if report is not None:
                blocking = len(report.blocking_failures)
            raise
        finally:
            finish_validation(settings.audit_db, build, run_id, blocking)
        return summary


def _validate_locked(settings: Settings, as_of: date, run_id: str, build_id: str) -> dict:
    from expectations import MART_SUITES
    from kam_transforms.validate import ValidationFailed, validate_marts

    schemas = {rel.name: rel.schema for rel in _marts(settings)}
    missing = [m.TABLE for m in MART_SUITES if m.TABLE not in schemas]
    if missing:
        raise RuntimeError(f"mart(s) {', '.join(missing)} not in the dbt manifest")
    (schema,) = {schemas[m.TABLE] for m in MART_SUITES}
    try:
        report = validate_marts(
            settings.build_db,
            schema,
            as_of,
            serving_db=settings.serving_db,
            audit_db=settings.audit_db,
            reports_dir=settings.reports_dir,
            gx_root=settings.gx_root,
            run_id=run_id,
            build_id=build_id,
            marts=pg_steps.marts_source() if pg_steps.is_postgres() else None,
        )
    except ValidationFailed as failed:
        from kam_transforms.alerts.deliver import DeliveryError
        from kam_transforms.notify import notify_validation_failure

        try:
            notify_validation_failure(settings, failed.report)
        except DeliveryError as exc:  # the run stays blocked either way; say both
            log.error("the data team was not told of the blocked run: %s", exc)
            failed.add_note(f"the data team was not told: {exc}")
        raise
    return report.as_dict()


def publish_marts(
    settings: Settings, as_of: date, run_id: str, build_id: str | None = None
) -> dict[str, Any]:
    """Replace the serving warehouse with the validated marts of the build warehouse.

    Holds the ``warehouse`` lock. Publishes only a complete build of ``as_of`` (and
    ``build_id``, when given) whose last validation passed; else
    :class:`~kam_transforms.builds.BuildRefused` and serving is untouched.
    """
    from kam_transforms.warehouse import publish

    with hold(settings.home, WAREHOUSE_LOCK, "publish", as_of=as_of.isoformat()):
        build = require_complete_build(settings.build_db, as_of, "publish", build_id)
        validated_by = require_validated(settings.audit_db, build)
        if pg_steps.is_postgres():  # the serving schema, then its local DuckDB mirror
            counts = pg_steps.publish(
                _marts(settings), as_of, run_id, build.build_id, serving_db=settings.serving_db,
                audit_db=settings.audit_db, storage_version=settings.serving_storage_version,
            )  # fmt: skip
            where: dict[str, Any] = {"serving": "postgres"}
        else:
            counts = publish(
                settings.build_db,
                settings.serving_db,
                _marts(settings),
                as_of,
                run_id,
                audit_db=settings.audit_db,
                build_id=build.build_id,
                storage_version=settings.serving_storage_version,
                parquet_dir=settings.serving_parquet_dir if settings.serving_parquet else None,
            )
            parquet = settings.serving_parquet_dir if settings.serving_parquet else None
            where = {"serving_parquet": str(parquet) if parquet else None}
    return {
        "as_of": as_of.isoformat(),
        "build_id": build.build_id,
        "validation_run": validated_by,
        "serving_db": str(settings.serving_db),
        **where,
        "tables": counts,
        "cockpit": report_cockpit(settings, as_of),
    }


def report_cockpit(settings: Settings, as_of: date) -> str | None:
    """Write the cockpit of the run just published (:mod:`kam_transforms.cockpit`); its
    index path, or None when it failed: a failing cockpit is logged and never undoes or
    fails the publish (the previous cockpit of that date stays whole)."""
    from kam_transforms.cockpit import write_cockpit

    try:
        return str(write_cockpit(settings, as_of)["cockpit"])
    except Exception:  # noqa: BLE001 - the publish stands; the report is a by-product
        log.exception("the cockpit of %s was not written (serving is published)", as_of)
        return None


def rollback_serving(settings: Settings) -> dict[str, Any]:
    """Swap serving and ``.previous`` back (holding the ``warehouse`` lock)."""
    from kam_transforms.builds import serving_stamp
    from kam_transforms.warehouse import rollback

    with hold(settings.home, WAREHOUSE_LOCK, "rollback"):
        rollback(settings.serving_db, settings.serving_parquet_dir)
        stamp = serving_stamp(settings.serving_db)
    return {
        "rolled_back": str(settings.serving_db),
        "as_of": stamp.as_of.isoformat() if stamp else None,
        "build_id": stamp.build_id if stamp else None,
    }


def run_all(
    settings: Settings, as_of: date, dbt_vars: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every step in order, without Airflow (the DAG runs the same functions)."""
    from kam_transforms.alert_step import send_alerts
    from kam_transforms.extract import ordered_entities

    for ent in ordered_entities():
        extract_entity(settings, as_of, ent.source, ent.name)
    run_id = f"cli__{as_of.isoformat()}"
    built = dbt_build(settings, as_of, dbt_vars=dbt_vars)
    validate_build(settings, as_of, run_id, build_id=built["build_id"])
    publish_marts(settings, as_of, run_id, build_id=built["build_id"])
    alerts = send_alerts(settings, as_of)
    return summarize(settings, as_of) | {"build_id": built["build_id"], "alerts": alerts}


def _cockpit_index(settings: Settings, as_of: date) -> str | None:
    from kam_transforms.cockpit import cockpit_dir

    index = cockpit_dir(settings, as_of) / "index.html"
    return str(index) if index.exists() else None


def summarize(settings: Settings, as_of: date) -> dict[str, Any]:
    """Rows per mart, customers per class and where everything is, read from serving."""

    from kam_transforms.alert_step import inactive_checks
    from kam_transforms.validate import data_docs_index

    with duck.connect(settings.serving_db, read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_name not like '\\_%' escape '\\' "
                "order by table_name"
            ).fetchall()
        ]
        from kam_transforms.warehouse import count_rows

        rows = {t: count_rows(con, "main", t) for t in tables}
        classes = dict(
            con.execute(
                "select abc_class, count(*) from customer_tiers group by 1 order by 1"
            ).fetchall()
        )
        alerts = dict(
            con.execute(
                "select severity, count(*) from key_account_alerts where as_of_date = ? "
                "group by 1 order by 1",
                [as_of],
            ).fetchall()
        )
    inactive = inactive_checks(settings)
    return {
        "as_of": as_of.isoformat(),
        "rows_per_mart": rows,
        "customers_per_class": classes,
        "alerts_per_severity": alerts,
        "inactive_alert_rules": {
            r["check_name"]: r["inactive_reason"]
            for r in inactive
            if r["check_type"] == "alert_rule"
        },
        "unknown_health_scores": {
            r["check_name"]: r["inactive_reason"]
            for r in inactive
            if r["check_type"] == "health_score"
        },
        "digests_in_outbox": len(list(settings.outbox_dir.glob(f"kam.{as_of:%Y%m%d}.*.eml"))),
        "manager_digests_in_outbox": len(
            list(settings.outbox_dir.glob(f"team.{as_of:%Y%m%d}.*.eml"))
        ),
        "serving_db": str(settings.serving_db),
        "validation_report": str(settings.reports_dir / f"validation_{as_of.isoformat()}.json"),
        "data_docs": str(data_docs_index(settings.gx_root)),
        "cockpit": _cockpit_index(settings, as_of),
        "outbox": str(settings.outbox_dir),
    }
