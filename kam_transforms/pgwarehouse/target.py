"""Which warehouse the dbt project builds on, and how to reach PostgreSQL.

``KAM_WAREHOUSE`` is ``duckdb`` (the default) or ``postgres``. The PostgreSQL connection comes
from, in this order: the ``KAM_PG_HOST`` / ``KAM_PG_PORT`` / ``KAM_PG_USER`` /
``KAM_PG_PASSWORD`` / ``KAM_PG_DBNAME`` environment variables, else the Airflow connection
``kam_warehouse_postgres`` (``KAM_PG_CONN_ID`` names another; an ``AIRFLOW_CONN_*`` URI works
without an Airflow database). No password is in code; :meth:`PostgresTarget.describe` (what
logs and errors show) never includes it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "WAREHOUSES",
    "PostgresTarget",
    "quote_ident",
    "warehouse_kind",
]

WAREHOUSES = ("duckdb", "postgres")
DEFAULT_CONN_ID = "kam_warehouse_postgres"
#: Schema names this package creates or swaps: lower-case identifiers only.
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def warehouse_kind() -> str:
    """``KAM_WAREHOUSE`` (``duckdb`` by default), validated."""
    kind = os.environ.get("KAM_WAREHOUSE", "").strip().lower() or "duckdb"
    if kind not in WAREHOUSES:
        raise ValueError(f"KAM_WAREHOUSE={kind!r} is not one of {', '.join(WAREHOUSES)}")
    return kind


def quote_ident(name: str) -> str:
    """``name`` double-quoted, if it is a plain lower-case identifier (an allow-list)."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not an allowed PostgreSQL identifier ([a-z_][a-z0-9_]*)")
    return f'"{name}"'


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL warehouse: where dbt builds (``schema`` and its ``schema_*`` siblings)
    and where publish serves (``serving_schema``)."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    dbname: str = "kam"
    password: str | None = field(default=None, repr=False)
    #: dbt's target schema: marts land here, staging in ``<schema>_staging`` and so on.
    schema: str = "kam_build"
    #: The schema BI tools read; publish swaps it in.
    serving_schema: str = "kam"
    #: The landed lake is loaded into ``<raw_prefix>_<source>`` (raw_crm, raw_erp).
    raw_prefix: str = "raw"

    def __post_init__(self) -> None:
        for name in (self.schema, self.serving_schema, self.raw_prefix):
            quote_ident(name)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> PostgresTarget:
        env = dict(os.environ if environ is None else environ)
        fields: dict[str, Any] = {}
        if not env.get("KAM_PG_HOST"):
            fields.update(_airflow_connection(env.get("KAM_PG_CONN_ID") or DEFAULT_CONN_ID, env))
        for key, name in (
            ("KAM_PG_HOST", "host"), ("KAM_PG_USER", "user"), ("KAM_PG_PASSWORD", "password"),
            ("KAM_PG_DBNAME", "dbname"), ("KAM_PG_SCHEMA", "schema"),
            ("KAM_PG_SERVING_SCHEMA", "serving_schema"), ("KAM_PG_RAW_PREFIX", "raw_prefix"),
        ):  # fmt: skip
            if env.get(key):
                fields[name] = env[key]
        if env.get("KAM_PG_PORT"):
            try:
                fields["port"] = int(env["KAM_PG_PORT"])
            except ValueError:
                port = env["KAM_PG_PORT"]
                raise ValueError(f"KAM_PG_PORT={port!r} is not a port number") from None
        return cls(**fields)

    def describe(self) -> str:
        """``user@host:port/dbname`` (never the password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    def conninfo(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``."""
        info: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname,
            "application_name": "kam-warehouse",
        }  # fmt: skip
        if self.password:
            info["password"] = self.password
        return info

    def connect(self, **kwargs: Any) -> Any:
        import psycopg

        try:
            return psycopg.connect(**self.conninfo(), **kwargs)
        except psycopg.OperationalError as exc:
            # psycopg's message names host and user, never the password.
            raise RuntimeError(f"cannot connect to PostgreSQL {self.describe()}: {exc}") from exc

    def dbt_env(self) -> dict[str, str]:
        """What the ``postgres`` output of dbt_project/profiles.yml reads (the password
        travels in the child's environment only)."""
        env = {
            "KAM_DBT_TARGET": "postgres",
            "KAM_PG_HOST": self.host,
            "KAM_PG_PORT": str(self.port),
            "KAM_PG_USER": self.user,
            "KAM_PG_DBNAME": self.dbname,
            "KAM_PG_SCHEMA": self.schema,
            "KAM_PG_RAW_PREFIX": self.raw_prefix,
        }
        if self.password:
            env["KAM_PG_PASSWORD"] = self.password
        return env

    def relation_schema(self, custom: str | None) -> str:
        """The schema dbt builds a node with ``+schema: custom`` into."""
        return self.schema if not custom else f"{self.schema}_{custom}"

    def raw_schema(self, source: str) -> str:
        return f"{self.raw_prefix}_{source}"


def _airflow_connection(conn_id: str, env: dict[str, str]) -> dict[str, Any]:
    """Host, port, user, password and database of an Airflow connection: its
    ``AIRFLOW_CONN_<ID>`` URI when set, else Airflow's own lookup; {} when neither has it."""
    uri = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if uri is None:
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(conn_id)
        except Exception:  # noqa: BLE001 - no Airflow, no database, or no such connection
            return {}
        fields: dict[str, Any] = {
            "host": conn.host, "port": conn.port, "user": conn.login,
            "password": conn.password, "dbname": conn.schema,
        }  # fmt: skip
        return {k: v for k, v in fields.items() if v}
    parts = urlsplit(uri)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"AIRFLOW_CONN_{conn_id.upper()} is not a postgres:// URI")
    fields = {
        "host": parts.hostname, "port": parts.port, "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""), "dbname": parts.path.lstrip("/"),
    }  # fmt: skip
    return {k: v for k, v in fields.items() if v}
