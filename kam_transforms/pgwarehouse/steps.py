"""The pipeline's build, validate and publish steps on PostgreSQL (``KAM_WAREHOUSE=postgres``).

:mod:`kam_transforms.pipeline` calls these in place of its DuckDB steps; locks, build ids and
the validation verdicts stay where they are for DuckDB (the bookkeeping tables of
``KAM_BUILD_DB`` and ``KAM_AUDIT_DB``, local DuckDB files), so ``kam build``, ``kam validate``
and ``kam publish`` accept and refuse exactly as they do on DuckDB.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms.pgwarehouse.target import PostgresTarget, warehouse_kind

__all__ = ["build", "is_postgres", "marts_source", "pg_schema", "publish"]


def is_postgres() -> bool:
    return warehouse_kind() == "postgres"


def pg_schema(target: PostgresTarget, duck_schema: str) -> str:
    """The PostgreSQL schema of a dbt schema named for DuckDB's target schema ``main``
    (``main`` -> ``kam_build``, ``main_snapshots`` -> ``kam_build_snapshots``)."""
    if duck_schema == target.schema or duck_schema.startswith(f"{target.schema}_"):
        return duck_schema
    if duck_schema != "main" and not duck_schema.startswith("main_"):
        raise ValueError(f"not a schema of the dbt build: {duck_schema!r}")
    return target.schema + duck_schema[len("main") :]


def build(
    dbt_vars: dict[str, Any],
    *,
    lake_dir: Path,
    dbt_command: list[str],
    project_dir: Path,
    target_dir: Path,
    log_dir: Path,
    env: dict[str, str],
    run: Any,
) -> dict[str, Any]:
    from kam_transforms.pgwarehouse.build import build_postgres

    return build_postgres(
        PostgresTarget.from_env(env), lake_dir, dbt_vars, dbt_command=dbt_command,
        project_dir=project_dir, target_dir=target_dir, log_dir=log_dir, env=env, run=run,
    )  # fmt: skip


def marts_source() -> Any:
    """What validate_marts reads the PostgreSQL build and its serving baseline through."""
    from kam_transforms.pgwarehouse.validate import PostgresMarts

    return PostgresMarts(PostgresTarget.from_env())


def publish(
    relations: list[Any], as_of: date, run_id: str, build_id: str | None,
    *, serving_db: Path, audit_db: Path | None = None, storage_version: str = "v1.0.0",
) -> dict[str, int]:
    """Publish the marts and snapshots (``Relation`` of the manifest) into the serving schema,
    then write the local DuckDB serving file ``serving_db`` (alerts, cockpit, summary) from
    that same published version (:mod:`kam_transforms.pgwarehouse.mirror`)."""
    from kam_transforms.pgwarehouse.mirror import mirror_serving
    from kam_transforms.pgwarehouse.publish import publish_postgres

    target = PostgresTarget.from_env()
    marts = [(pg_schema(target, r.schema), r.name) for r in relations]
    counts = dict(publish_postgres(target, marts, as_of, run_id, build_id)["tables"])
    mirror_serving(
        target, serving_db, counts, as_of, run_id, build_id,
        audit_db=audit_db, storage_version=storage_version,
    )  # fmt: skip
    return counts
