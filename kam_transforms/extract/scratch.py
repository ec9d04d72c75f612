"""The landing's scratch space: a folder of this process's own in the lake and a DuckDB
connection that spills into it, with the landing's memory limit.

``KAM_LANDING_MEMORY_LIMIT`` (else ``KAM_DUCKDB_MEMORY_LIMIT``, else ``1GB``) caps DuckDB
wherever an extract computes over a whole entity: the landing's duplicate, snapshot and
raw-suite checks (:mod:`kam_transforms.extract.landing`) and a connector's own whole-entity
work (Odoo's hard deletes, :mod:`kam_transforms.extract.odoo`). Beyond it DuckDB spills to
the folder.
A folder whose process died is removed by the next extract (:func:`cleanup_work`).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["MEMORY_ENV", "cleanup_work", "connect_spilling", "scratch_duckdb", "work_folder"]

#: DuckDB's memory limit while landing (whole-batch checks spill beyond it).
MEMORY_ENV = "KAM_LANDING_MEMORY_LIMIT"


def connect_spilling(spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB capped at ``KAM_LANDING_MEMORY_LIMIT`` (else the run's
    ``KAM_DUCKDB_MEMORY_LIMIT``, else ``1GB``), spilling to ``spill``."""
    from kam_transforms.duck import SIZE_PATTERN, connect

    # extract tasks run side by side: their own limit, else the run's, else a small one
    limit = (
        os.environ.get(MEMORY_ENV, "").strip()
        or os.environ.get("KAM_DUCKDB_MEMORY_LIMIT", "").strip()
        or "1GB"
    )
    if not SIZE_PATTERN.match(limit):
        raise ValueError(f"{MEMORY_ENV}={limit!r}: expected a size (1GB) or a share (10%)")
    con = connect()
    # Both values are checked above / made here: a size and a temporary folder of our own.
    con.execute(f"set memory_limit = '{limit.strip()}'")
    con.execute("set temp_directory = '" + str(spill).replace("'", "''") + "'")
    con.execute("set preserve_insertion_order = true")
    return con


def cleanup_work(work: Path) -> None:
    """Remove the landing folders of extracts that died (their pid no longer runs)."""
    for folder in work.glob("*-*"):
        owner = re.fullmatch(r"(\d+)-[0-9a-f]+", folder.name)
        if owner is None:
            continue
        try:
            os.kill(int(owner.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue


@contextmanager
def work_folder(lake_dir: Path) -> Iterator[Path]:
    """A new folder ``lake/_landing/<pid>-<random>`` of this process's own, removed after
    (folders of extracts that died are removed first)."""
    work = Path(lake_dir) / "_landing"
    cleanup_work(work)
    folder = work / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_duckdb(lake_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A spilling DuckDB connection (:func:`connect_spilling`) in a :func:`work_folder`."""
    with work_folder(lake_dir) as folder, connect_spilling(folder) as con:
        yield con
