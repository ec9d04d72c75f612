"""Runtime settings, read from environment variables with project-local defaults.

Every path the pipeline reads or writes hangs off ``KAM_HOME`` (default: ``var/`` in the
repository, or in the working directory when installed from the wheel), so a demo run, a
test and a production deployment differ only in environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

__all__ = [
    "AS_OF_PLACEHOLDER",
    "DBT_PROJECT_DIR",
    "DEFAULT_STORAGE_VERSION",
    "DELIVERY_MODES",
    "ISO_4217_CODES",
    "REPO_ROOT",
    "Settings",
    "check_currency_code",
    "check_storage_version",
]

_PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = _PACKAGE_DIR.parent
#: The dbt project: ``dbt_project/`` of the checkout, or, installed from the wheel, the copy
#: inside the package (``setup.py`` puts it there).
DBT_PROJECT_DIR = next(
    (
        folder
        for folder in (REPO_ROOT / "dbt_project", _PACKAGE_DIR / "dbt_project")
        if (folder / "dbt_project.yml").is_file()
    ),
    REPO_ROOT / "dbt_project",
)


def _default_home() -> Path:
    """``KAM_HOME`` by default: ``var/`` of the checkout, or of the working directory when
    installed from the wheel (never inside site-packages)."""
    return (REPO_ROOT if DBT_PROJECT_DIR.parent == REPO_ROOT else Path.cwd()) / "var"


#: Active ISO 4217 currency codes: the allow-list for ``KAM_BASE_CURRENCY`` (it becomes a
#: dbt var that models compare against, so it never reaches SQL unless it is one of these).
ISO_4217_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS
    VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)


def check_currency_code(value: str, source: str = "KAM_BASE_CURRENCY") -> str:
    """``value`` if it is an ISO 4217 code (three upper-case letters, on the allow-list).

    Raises
    ------
    ValueError
        Naming ``source`` and the value.
    """
    if not (len(value) == 3 and value.isascii() and value.isupper() and value in ISO_4217_CODES):
        raise ValueError(
            f"{source}={value!r} is not an ISO 4217 currency code "
            "(three upper-case letters such as USD, EUR, CNY)"
        )
    return value


#: ``KAM_ALERTS_DELIVERY``: alert and data-team e-mails as ``.eml`` files in the outbox
#: (the default), or over SMTP through the Airflow connection ``KAM_SMTP_CONN_ID``.
DELIVERY_MODES = ("eml", "smtp")

#: In ``KAM_EXPORTS_DIR``, replaced by the run's as-of date: one file drop per date.
AS_OF_PLACEHOLDER = "{as_of}"

#: The DuckDB storage version of the serving file: every DuckDB from 1.0 reads ``v1.0.0``.
DEFAULT_STORAGE_VERSION = "v1.0.0"


def check_storage_version(value: str, source: str = "KAM_SERVING_STORAGE_VERSION") -> str:
    """``value`` if it is a DuckDB version string (``v1.0.0``, ``v1.4.0``) or ``latest``
    (DuckDB itself refuses a version it does not know when publish attaches the file).

    Raises
    ------
    ValueError
        Naming ``source`` and the value.
    """
    if value != "latest" and not re.fullmatch(r"v\d+\.\d+\.\d+", value):
        raise ValueError(
            f"{source}={value!r}: expected a DuckDB version such as v1.0.0 (read by DuckDB "
            "1.0 and later) or latest"
        )
    return value


def _flag(env: str) -> bool:
    value = os.environ.get(env, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"{env}={value!r}: use 1 or 0")
    return value in ("1", "true", "yes")


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
    alerts_delivery: str = "eml"
    smtp_conn_id: str = "smtp_default"
    #: DuckDB storage version of the serving file (``KAM_SERVING_STORAGE_VERSION``).
    serving_storage_version: str = DEFAULT_STORAGE_VERSION
    #: Also publish every mart as Parquet (``KAM_SERVING_PARQUET=1``) into this link.
    serving_parquet: bool = False
    serving_parquet_dir: Path | None = None

    def __post_init__(self) -> None:
        check_currency_code(self.base_currency)
        check_storage_version(self.serving_storage_version)
        if self.alerts_delivery not in DELIVERY_MODES:
            raise ValueError(
                f"KAM_ALERTS_DELIVERY={self.alerts_delivery!r} is not one of "
                f"{', '.join(DELIVERY_MODES)}"
            )
        if not self.smtp_conn_id:
            raise ValueError("KAM_SMTP_CONN_ID is empty (default: smtp_default)")

    @classmethod
    def from_env(cls) -> Settings:
        home = _path("KAM_HOME", _default_home())
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
            alerts_delivery=os.environ.get("KAM_ALERTS_DELIVERY", "eml").strip().lower() or "eml",
            smtp_conn_id=os.environ.get("KAM_SMTP_CONN_ID", "smtp_default").strip(),
            serving_storage_version=os.environ.get("KAM_SERVING_STORAGE_VERSION", "").strip()
            or DEFAULT_STORAGE_VERSION,
            serving_parquet=_flag("KAM_SERVING_PARQUET"),
            serving_parquet_dir=_path(
                "KAM_SERVING_PARQUET_DIR",
                _path("KAM_SERVING_DB", home / "warehouse" / "serving.duckdb").parent / "parquet",
            ),
        )

    def exports_for(self, as_of: date) -> Path:
        """The file drop of ``as_of``: ``KAM_EXPORTS_DIR`` with ``{as_of}`` replaced by the
        date (``YYYY-MM-DD``) for drops that arrive in one folder per day (so a backfill
        reads each date's own drop), else ``KAM_EXPORTS_DIR`` itself."""
        text = str(self.exports_dir)
        if AS_OF_PLACEHOLDER not in text:
            return self.exports_dir
        return Path(text.replace(AS_OF_PLACEHOLDER, as_of.isoformat()))

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
