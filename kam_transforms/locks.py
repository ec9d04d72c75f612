"""Exclusive locks per KAM_HOME for the pipeline's writing steps.

Every writing step takes one lock before it touches a file other steps read:

- ``extract.<source>.<entity>``: one extract of that entity at a time (extracts of different
  entities still run in parallel);
- ``warehouse``: ``build``, ``validate``, ``publish`` and ``rollback`` (they share the build,
  audit and serving warehouses: DuckDB allows one writer per file, and publish must never
  copy a build that dbt is still writing);
- ``alerts``: alert sending (the alert state and the outbox).

A lock is an ``fcntl.flock`` on ``$KAM_HOME/locks/<name>.lock``. The kernel releases it when
the holder exits, however it exits (even by SIGKILL), so a lock is never stale. The file is
never deleted (deleting a locked file would let a second process lock a new file of the same
name); while held it carries a JSON record of its holder (pid, step, since, host, as_of) so
a refused step can say who holds it.

A refused step fails at once with :class:`LockHeld` ("another run holds the lock ..."),
unless ``KAM_LOCK_TIMEOUT`` (seconds, default 0) asks it to wait that long first: Airflow
retries a failed task, and a step that waits for ever would hide a stuck run.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "LOCK_TIMEOUT_ENV",
    "LockHeld",
    "LockRecord",
    "extract_lock_name",
    "hold",
    "holder",
    "lock_path",
]

#: Seconds a refused step waits for the lock before failing (default 0: fail at once).
LOCK_TIMEOUT_ENV = "KAM_LOCK_TIMEOUT"

_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LockRecord:
    """Who holds a lock: written into the lock file by its holder."""

    name: str
    pid: int
    step: str
    since: str
    host: str
    as_of: str | None = None

    def describe(self) -> str:
        on = f" as of {self.as_of}" if self.as_of else ""
        return f"pid {self.pid} on {self.host}, step {self.step}{on}, since {self.since}"


class LockHeld(RuntimeError):
    """Another process holds the lock this step needs."""

    def __init__(self, path: Path, step: str, record: LockRecord | None) -> None:
        self.path = path
        self.record = record
        who = record.describe() if record else "holder unknown (it has not written its record)"
        super().__init__(
            f"{step}: another run holds the lock {path} ({who}); "
            f"retry when it has finished, or set {LOCK_TIMEOUT_ENV} to wait for it"
        )


def lock_path(home: Path, name: str) -> Path:
    """The lock file of ``name`` under ``home`` (``<home>/locks/<name>.lock``)."""
    if not _NAME.match(name):
        raise ValueError(f"not a lock name: {name!r}")
    return home / "locks" / f"{name}.lock"


def extract_lock_name(source: str, entity: str) -> str:
    """The lock of one entity's extract."""
    return f"extract.{source}.{entity}"


def _timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds") from exc
    if value < 0 or value != value:  # noqa: PLR0124 - NaN check
        raise ValueError(f"{LOCK_TIMEOUT_ENV}={raw!r} must be 0 or more seconds")
    return value


def _read_record(fd: int) -> LockRecord | None:
    try:
        raw = os.pread(fd, 64 * 1024, 0)
        data: dict[str, Any] = json.loads(raw.decode("utf-8"))
        return LockRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def holder(home: Path, name: str) -> LockRecord | None:
    """The record of the current holder of ``name``, or None when nobody holds it."""
    path = lock_path(home, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_record(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def hold(
    home: Path,
    name: str,
    step: str,
    *,
    as_of: str | None = None,
    timeout: float | None = None,
) -> Iterator[LockRecord]:
    """Hold the exclusive lock ``name`` of ``home`` for the block.

    Parameters
    ----------
    home
        The KAM_HOME whose lock it is.
    name
        ``warehouse``, ``alerts`` or :func:`extract_lock_name`.
    step
        What the holder does (``build``, ``publish``, ...): shown to a refused step.
    as_of
        The run date the holder works on, shown too.
    timeout
        Seconds to wait for a held lock; default ``KAM_LOCK_TIMEOUT`` (0: fail at once).

    Raises
    ------
    LockHeld
        Another process holds the lock (after ``timeout``); its record is in the message.
    """
    path = lock_path(home, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot open lock file {path}: {exc.strerror}") from exc
    try:
        wait = _timeout() if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockHeld(path, step, _read_record(fd)) from None
                time.sleep(_POLL_SECONDS)
        record = LockRecord(
            name=name,
            pid=os.getpid(),
            step=step,
            since=datetime.now(UTC).isoformat(timespec="seconds"),
            host=socket.gethostname(),
            as_of=as_of,
        )
        payload = json.dumps(record.__dict__, sort_keys=True).encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, payload, 0)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OSError(exc.errno, f"cannot write lock record {path}: disk full") from exc
            raise OSError(exc.errno, f"cannot write lock record {path}: {exc.strerror}") from exc
        try:
            yield record
        finally:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass  # the lock is released on close whatever the record holds
    finally:
        os.close(fd)  # releases the flock
