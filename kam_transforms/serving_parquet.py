"""The optional Parquet copy of the serving warehouse (``KAM_SERVING_PARQUET=1``).

Each served table (every mart and snapshot) is written as ``<parquet>/<table>/data.parquet``
beside ``<parquet>/_kam_publish.json`` (as_of, run_id, build_id and the row count of each
table), for readers that take Parquet rather than a DuckDB file (Spark, Polars, pandas,
object-store syncs).

``<parquet>`` (``KAM_SERVING_PARQUET_DIR``, default ``parquet/`` beside the serving file)
is a symbolic link to a versioned directory ``.<parquet>.<build>.<random>/`` next to it.
Publish writes the new version from the staged serving file, checks every table's row
count, and only then renames the serving file into place and, right after it, a new link
over ``<parquet>`` (``rename(2)``: atomic). A reader that resolves the link sees the whole
old set or the whole new set, never a mix; a publish that fails before the rename leaves
the link and the version it points to untouched (the new version is deleted). The version
the link replaced stays, linked as ``<parquet>.previous`` (for readers still inside it and
for rollback); older versions are deleted after the switch.

The caller holds the ``warehouse`` lock, so one publish at a time writes here.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import date
from pathlib import Path

from kam_transforms import duck
from kam_transforms.duck import quote_ident, sql_string

__all__ = ["ParquetPublishError", "discard", "previous_link", "rollback", "stage", "switch"]

#: The publish record in each version, beside the table folders.
MANIFEST = "_kam_publish.json"


class ParquetPublishError(RuntimeError):
    """The Parquet copy could not be written or switched; the message names the path."""


def previous_link(parquet_dir: Path) -> Path:
    return parquet_dir.with_name(parquet_dir.name + ".previous")


def _versions(parquet_dir: Path) -> list[Path]:
    return sorted(parquet_dir.parent.glob(f".{parquet_dir.name}.v-*"))


def _target(link: Path) -> Path | None:
    return link.parent / os.readlink(link) if link.is_symlink() else None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage(
    staged_serving: Path,
    parquet_dir: Path,
    counts: dict[str, int],
    *,
    as_of: date,
    run_id: str,
    build_id: str | None,
) -> Path:
    """Write every table of ``counts`` from ``staged_serving`` (the verified, closed staged
    serving file) as Parquet into a new version directory; check each row count; return the
    version. Nothing a reader sees changes until :func:`switch`."""
    if parquet_dir.exists() and not parquet_dir.is_symlink():
        raise ParquetPublishError(
            f"{parquet_dir} is a directory, not the link publish switches: move it aside")
    tag = (build_id or as_of.isoformat()).replace("/", "_")
    version = parquet_dir.with_name(f".{parquet_dir.name}.v-{tag}.{uuid.uuid4().hex[:8]}")
    try:
        version.mkdir(parents=True)
        with duck.connect() as con:
            con.execute(f"attach {sql_string(str(staged_serving))} as s (read_only)")
            for table, expected in counts.items():
                out = version / table / "data.parquet"
                out.parent.mkdir()
                con.execute(
                    f"copy (select * from s.main.{quote_ident(table)}) to {sql_string(str(out))} "  # noqa: S608 - checked identifier
                    "(format parquet, compression zstd)"
                )
                row = con.execute(
                    f"select count(*) from read_parquet({sql_string(str(out))})"  # noqa: S608 - our path
                ).fetchone()
                written = int(row[0]) if row else -1
                if written != expected:
                    raise ParquetPublishError(
                        f"{out}: {written} rows written, the serving table has {expected}")
        record = {"as_of": as_of.isoformat(), "run_id": run_id, "build_id": build_id,
                  "tables": counts}
        (version / MANIFEST).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
        for path in version.rglob("*"):
            if path.is_file():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(version)
    except BaseException as exc:
        discard(version)
        if isinstance(exc, ParquetPublishError | KeyboardInterrupt | SystemExit):
            raise
        raise ParquetPublishError(f"{version}: cannot write the Parquet copy: {exc}") from exc
    return version


def discard(version: Path) -> None:
    shutil.rmtree(version, ignore_errors=True)


def _link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (relative, so the folder can move) in one rename."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.link")
    os.symlink(target.name, tmp)
    os.replace(tmp, link)


def switch(parquet_dir: Path, version: Path) -> None:
    """Make ``version`` what ``parquet_dir`` shows (atomic); keep the version it replaced
    as ``<parquet>.previous``; delete every older version."""
    replaced = _target(parquet_dir)
    _link(parquet_dir, version)
    if replaced is not None and replaced.exists():
        _link(previous_link(parquet_dir), replaced)
    _fsync_dir(parquet_dir.parent)
    keep = {version.name} | ({replaced.name} if replaced is not None else set())
    for old in _versions(parquet_dir):
        if old.name not in keep:
            discard(old)


def rollback(parquet_dir: Path) -> bool:
    """Swap ``<parquet>`` and ``<parquet>.previous`` (twice restores); False when there is
    no previous version."""
    current, previous = _target(parquet_dir), _target(previous_link(parquet_dir))
    if previous is None or not previous.exists():
        return False
    _link(parquet_dir, previous)
    if current is not None:
        _link(previous_link(parquet_dir), current)
    _fsync_dir(parquet_dir.parent)
    return True
