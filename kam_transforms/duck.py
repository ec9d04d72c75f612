"""Every DuckDB connection the pipeline opens, with the run's memory limit and thread count.

``KAM_DUCKDB_MEMORY_LIMIT`` (default ``80%``, DuckDB's own default: a size such as ``8GB`` or
a share of the machine's memory) and ``KAM_DUCKDB_THREADS`` (default: the machine's cores)
apply to every process that opens DuckDB: the Python steps through :func:`connect`, and dbt
through the profile (``Settings.dbt_env`` passes both). The landing of the extract tasks,
which run side by side, narrows the memory to ``KAM_LANDING_MEMORY_LIMIT`` when it is set
(else it keeps this limit, or ``1GB`` when neither is set). DuckDB spills to disk beyond the
limit instead of growing; on a shared machine, lower both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

__all__ = ["connect", "duckdb_config", "quote_ident", "sql_string"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote an identifier that is already known to be one of ours (letters, digits, _)."""
    if not _IDENT.match(name):
        raise ValueError(f"refusing identifier {name!r}: not a plain SQL identifier")
    return f'"{name}"'


def sql_string(value: str) -> str:
    """A SQL string literal of ``value`` (for paths in ATTACH/COPY, which take no parameters)."""
    return "'" + value.replace("'", "''") + "'"

#: A DuckDB memory size (``8GB``) or a share of the machine (``60%``).
SIZE_PATTERN = _SIZE = re.compile(
    r"^\s*(\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)|\d{1,2}(\.\d+)?%|100%)\s*$"
)


def duckdb_config() -> dict[str, str]:
    """The ``memory_limit`` and ``threads`` settings from the environment, validated.

    Raises
    ------
    ValueError
        If ``KAM_DUCKDB_MEMORY_LIMIT`` is not a size or a percentage, or
        ``KAM_DUCKDB_THREADS`` is not a positive integer.
    """
    memory = os.environ.get("KAM_DUCKDB_MEMORY_LIMIT", "").strip() or "80%"
    if not _SIZE.match(memory):
        raise ValueError(
            f"KAM_DUCKDB_MEMORY_LIMIT={memory!r}: expected a size (8GB) or a share (60%)"
        )
    threads = os.environ.get("KAM_DUCKDB_THREADS", "").strip() or str(os.cpu_count() or 1)
    if not threads.isdigit() or int(threads) < 1:
        raise ValueError(f"KAM_DUCKDB_THREADS={threads!r}: expected a positive integer")
    return {"memory_limit": memory, "threads": threads}


def connect(path: Path | str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with the configured memory limit and threads."""
    config: dict[str, str | bool | int | float | list[str]] = dict(duckdb_config())
    return duckdb.connect(str(path), read_only=read_only, config=config)
