"""Build ids: which build, of which date, each step works on.

- ``dbt_build`` records every build in ``main._kam_build`` of the build warehouse: a new
  ``build_id`` with its as-of date, written as ``running`` before dbt starts and set to
  ``complete`` (a whole ``dbt build``), ``partial`` (a ``--select`` build: the other marts
  are older) or ``failed`` when it ends. A build whose process was killed stays
  ``running``; since every step on the warehouse holds the ``warehouse`` lock, a
  ``running`` record seen by another step is always a build that died.
- ``validate`` accepts only the current build when it is ``complete`` and of the date asked,
  and records its verdict for that ``build_id`` in ``_kam_validations`` of the audit
  warehouse (``running`` when it starts, then ``passed`` or ``failed``).
- ``publish`` accepts only the current build when it is ``complete``, of the date asked,
  and its latest verdict ``passed``; the serving file carries the ``as_of`` and
  ``build_id`` in ``_kam_publish_log``.
- ``alerts`` accept only a serving warehouse whose ``as_of`` is the run's date.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from kam_transforms import duck

__all__ = [
    "BuildRecord",
    "BuildRefused",
    "ServingStamp",
    "current_build",
    "finish_build",
    "finish_validation",
    "latest_validation",
    "new_build_id",
    "require_complete_build",
    "require_serving_of",
    "require_validated",
    "serving_stamp",
    "start_build",
    "start_validation",
]

_BUILD_DDL = """
create table if not exists main._kam_build (
    seq integer not null,
    build_id varchar primary key,
    as_of_date date not null,
    status varchar not null,
    selection varchar,
    pid integer not null,
    started_at timestamp not null,
    finished_at timestamp,
    detail varchar
)
"""

_VALIDATIONS_DDL = """
create table if not exists main._kam_validations (
    seq integer not null,
    build_id varchar not null,
    run_id varchar not null,
    as_of_date date not null,
    status varchar not null,
    blocking_failures integer,
    started_at timestamp not null,
    finished_at timestamp
)
"""


class BuildRefused(RuntimeError):
    """A step was given a build (or serving warehouse) it must not work on."""


@dataclass(frozen=True)
class BuildRecord:
    build_id: str
    as_of: date
    status: str
    selection: str | None
    pid: int
    started_at: datetime
    finished_at: datetime | None
    detail: str | None

    def describe(self) -> str:
        return f"build {self.build_id} as of {self.as_of} ({self.status})"


@dataclass(frozen=True)
class ServingStamp:
    as_of: date
    run_id: str
    build_id: str | None


def _now() -> datetime:
    """Bookkeeping time only (when a step ran), never what the data means."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_build_id(as_of: date) -> str:
    return f"{as_of:%Y%m%d}-{uuid.uuid4().hex[:12]}"


def start_build(build_db: Path, as_of: date, selection: str | None = None) -> BuildRecord:
    """Record a new build of ``as_of`` as ``running`` (before dbt opens the file)."""
    build_db.parent.mkdir(parents=True, exist_ok=True)
    record = BuildRecord(
        build_id=new_build_id(as_of),
        as_of=as_of,
        status="running",
        selection=selection,
        pid=os.getpid(),
        started_at=_now(),
        finished_at=None,
        detail=None,
    )
    with duck.connect(build_db) as con:
        con.execute(_BUILD_DDL)
        con.execute(
            "insert into main._kam_build select coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, "
            "null, null from main._kam_build",
            [record.build_id, as_of, "running", selection, record.pid, record.started_at],
        )
    return record


def finish_build(build_db: Path, build_id: str, status: str, detail: str | None = None) -> None:
    """Mark a build ``complete``, ``partial`` or ``failed``."""
    if status not in ("complete", "partial", "failed"):
        raise ValueError(f"not a final build status: {status!r}")
    with duck.connect(build_db) as con:
        con.execute(
            "update main._kam_build set status = ?, finished_at = ?, detail = ? "
            "where build_id = ?",
            [status, _now(), detail, build_id],
        )


def current_build(build_db: Path) -> BuildRecord | None:
    """The last build started on ``build_db`` (the one whose tables it holds), or None."""
    if not build_db.exists():
        return None
    with duck.connect(build_db, read_only=True) as con:
        try:
            row = con.execute(
                "select build_id, as_of_date, status, selection, pid, started_at, finished_at, "
                "detail from main._kam_build order by seq desc limit 1"
            ).fetchone()
        except duckdb.CatalogException:
            return None
    return BuildRecord(*row) if row else None


def require_complete_build(
    build_db: Path, as_of: date, step: str, build_id: str | None = None
) -> BuildRecord:
    """The current build, if it is complete, of ``as_of`` (and ``build_id`` when given).

    Raises
    ------
    BuildRefused
        No build, a build of another date, a build that failed, was killed (``running``
        with nobody holding the warehouse lock) or was partial; the message says which.
    """
    build = current_build(build_db)
    if build is None:
        raise BuildRefused(
            f"{step} as of {as_of} refused: {build_db} holds no recorded build; "
            f"run `kam build --as-of {as_of}` first"
        )
    if build_id is not None and build.build_id != build_id:
        raise BuildRefused(
            f"{step} as of {as_of} refused: expected build {build_id}, but {build_db} now "
            f"holds {build.describe()} (another run rebuilt it)"
        )
    if build.status == "running":
        raise BuildRefused(
            f"{step} as of {as_of} refused: {build.describe()} in {build_db} never finished "
            f"(started {build.started_at:%Y-%m-%d %H:%M:%S} UTC by pid {build.pid}, which was "
            f"killed or crashed): its tables may mix two builds; rerun `kam build --as-of "
            f"{build.as_of}`"
        )
    if build.status != "complete":
        why = f" ({build.detail})" if build.detail else ""
        what = f"a partial build (--select {build.selection})" if build.status == "partial" else (
            "a failed build"
        )
        raise BuildRefused(
            f"{step} as of {as_of} refused: {build.describe()} in {build_db} is {what}{why}; "
            f"run a whole `kam build --as-of {build.as_of}`"
        )
    if build.as_of != as_of:
        raise BuildRefused(
            f"{step} as of {as_of} refused: {build_db} holds {build.describe()}, "
            f"not a build as of {as_of}; run `kam build --as-of {as_of}` first"
        )
    return build


def start_validation(audit_db: Path, build: BuildRecord, run_id: str) -> None:
    """Record that ``run_id`` started validating ``build`` (a crash leaves it ``running``)."""
    audit_db.parent.mkdir(parents=True, exist_ok=True)
    with duck.connect(audit_db) as con:
        con.execute(_VALIDATIONS_DDL)
        con.execute(
            "insert into main._kam_validations select coalesce(max(seq), 0) + 1, ?, ?, ?, "
            "'running', null, ?, null from main._kam_validations",
            [build.build_id, run_id, build.as_of, _now()],
        )


def finish_validation(
    audit_db: Path, build: BuildRecord, run_id: str, blocking_failures: int | None
) -> None:
    """Record the verdict of ``run_id`` on ``build``: ``passed`` when no blocking expectation
    failed, ``failed`` otherwise (``blocking_failures`` None: the validation crashed)."""
    status = "passed" if blocking_failures == 0 else "failed"
    with duck.connect(audit_db) as con:
        con.execute(
            "update main._kam_validations set status = ?, blocking_failures = ?, finished_at = ? "
            "where seq = (select max(seq) from main._kam_validations "
            "where build_id = ? and run_id = ?)",
            [status, blocking_failures, _now(), build.build_id, run_id],
        )


def latest_validation(audit_db: Path, build_id: str) -> tuple[str, str, int | None] | None:
    """``(run_id, status, blocking_failures)`` of the last validation of ``build_id``."""
    if not audit_db.exists():
        return None
    with duck.connect(audit_db, read_only=True) as con:
        try:
            row = con.execute(
                "select run_id, status, blocking_failures from main._kam_validations "
                "where build_id = ? order by seq desc limit 1",
                [build_id],
            ).fetchone()
        except duckdb.CatalogException:
            return None
    return (str(row[0]), str(row[1]), row[2]) if row else None


def require_validated(audit_db: Path, build: BuildRecord, step: str = "publish") -> str:
    """The run id whose validation of ``build`` passed last; else :class:`BuildRefused`."""
    verdict = latest_validation(audit_db, build.build_id)
    if verdict is None:
        raise BuildRefused(
            f"{step} as of {build.as_of} refused: {build.describe()} was never validated; "
            f"run `kam validate --as-of {build.as_of}` first"
        )
    run_id, status, failures = verdict
    if status != "passed":
        detail = (
            f"{failures} blocking expectation(s) failed" if status == "failed" and failures
            else "the validation did not finish"
        )
        raise BuildRefused(
            f"{step} as of {build.as_of} refused: the last validation of {build.describe()} "
            f"(run {run_id}) did not pass: {detail}; see the validation report"
        )
    return run_id


def serving_stamp(serving_db: Path) -> ServingStamp | None:
    """The as-of date, run id and build id the serving warehouse was published with."""
    if not serving_db.exists():
        return None
    with duck.connect(serving_db, read_only=True) as con:
        try:
            columns = {
                r[0]
                for r in con.execute(
                    "select column_name from duckdb_columns() "
                    "where schema_name = 'main' and table_name = '_kam_publish_log'"
                ).fetchall()
            }
            build = "build_id" if "build_id" in columns else "null"
            row = con.execute(
                f"select as_of, run_id, {build} from main._kam_publish_log"  # noqa: S608
            ).fetchone()
        except duckdb.CatalogException:
            return None
    return ServingStamp(row[0], str(row[1]), row[2]) if row else None


def require_serving_of(serving_db: Path, as_of: date, step: str) -> ServingStamp:
    """The serving warehouse's stamp if it was published as of ``as_of``; else refuse.

    Alerts computed from another date's warehouse would close every alert of the run's
    date (it has none) or resend an old day's.
    """
    stamp = serving_stamp(serving_db)
    if stamp is None:
        raise BuildRefused(
            f"{step} as of {as_of} refused: {serving_db} is missing or was not written by "
            f"`kam publish` (no _kam_publish_log)"
        )
    if stamp.as_of != as_of:
        raise BuildRefused(
            f"{step} as of {as_of} refused: {serving_db} holds the build as of {stamp.as_of} "
            f"(build {stamp.build_id}, run {stamp.run_id}), not {as_of}; publish {as_of} first"
        )
    return stamp
