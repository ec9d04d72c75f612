"""Runtime settings, read from environment variables with project-local defaults.

Every path the pipeline reads or writes hangs off ``KAM_HOME`` (default: ``var/`` in the
repository), so a demo run, a test and a production deployment differ only in environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO_ROOT", "DBT_PROJECT_DIR", "Settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where the pipeline keeps its files and the few global choices it makes."""

    home: Path
    exports_dir: Path
    lake_dir: Path
    build_db: Path
    serving_db: Path
    audit_db: Path
    gx_root: Path
    outbox_dir: Path
    reports_dir: Path
    base_currency: str
    sales_ops_email: str
    data_team_email: str
    mail_from: str

    @classmethod
    def from_env(cls) -> Settings:
        home = _path("KAM_HOME", REPO_ROOT / "var")
        return cls(
            home=home,
            exports_dir=_path("KAM_EXPORTS_DIR", home / "exports"),
            lake_dir=_path("KAM_LAKE_DIR", home / "lake"),
            build_db=_path("KAM_BUILD_DB", home / "warehouse" / "build.duckdb"),
            serving_db=_path("KAM_SERVING_DB", home / "warehouse" / "serving.duckdb"),
            audit_db=_path("KAM_AUDIT_DB", home / "warehouse" / "audit.duckdb"),
            gx_root=_path("KAM_GX_ROOT", home),
            outbox_dir=_path("KAM_OUTBOX_DIR", home / "outbox"),
            reports_dir=_path("KAM_REPORTS_DIR", home / "reports"),
            base_currency=os.environ.get("KAM_BASE_CURRENCY", "USD"),
            sales_ops_email=os.environ.get("KAM_SALES_OPS_EMAIL", "sales-ops@example.com"),
            data_team_email=os.environ.get("KAM_DATA_TEAM_EMAIL", "data-team@example.com"),
            mail_from=os.environ.get("KAM_MAIL_FROM", "kam-alerts@example.com"),
        )

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile and sources read."""
        from kam_transforms.duck import duckdb_config

        duck = duckdb_config()
        return {
            "KAM_LAKE_DIR": str(self.lake_dir),
            "KAM_BUILD_DB": str(self.build_db),
            "KAM_BASE_CURRENCY": self.base_currency,
            "KAM_DUCKDB_MEMORY_LIMIT": duck["memory_limit"],
            "KAM_DUCKDB_THREADS": duck["threads"],
        }
