"""What the DAGs share besides their tasks: per-step timeouts and retries, the start date,
and the failure callback that tells the data team (the same delivery path as the alerts).

The start date is 1990-01-01, the earliest date the landing rules accept: Airflow runs no
task at all for a logical date before a DAG's start date and reports the run a success, so
a later start date would turn a backfill of older history into a silent no-op. A date with
no landed orders fails the build instead (:class:`kam_transforms.pipeline.NoDataError`).

Kept free of heavy imports: the DAG files import this module when Airflow parses them.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

__all__ = [
    "START_DATE",
    "STEP_POLICY",
    "StepPolicy",
    "RUN_ORDER_POKE_SECONDS",
    "as_of_from_events",
    "earlier_unfinished_run",
    "extract_for_task",
    "failure_message",
    "notify_task_failure",
    "run_as_of",
]

log = logging.getLogger(__name__)

#: The DAGs' start date: the earliest date the landing rules accept.
START_DATE = date(1990, 1, 1)
_MAX_ERROR = 4000


class StepPolicy:
    """How long a step may run and how it is retried (none where a retry cannot help)."""

    def __init__(self, timeout_minutes: int, retries: int, why: str) -> None:
        self.timeout = timedelta(minutes=timeout_minutes)
        self.retries = retries
        self.why = why

    def task_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"execution_timeout": self.timeout, "retries": self.retries}
        if self.retries:
            args |= {
                "retry_delay": timedelta(minutes=1),
                "retry_exponential_backoff": True,
                "max_retry_delay": timedelta(minutes=20),
            }
        return args


#: Per step: the timeout (SIGTERM, which stops dbt and marks the build failed) and retries.
STEP_POLICY: dict[str, StepPolicy] = {
    "wait_for_earlier_runs": StepPolicy(5, 0, "a look at the metadata; it waits by rescheduling"),
    "as_of": StepPolicy(5, 0, "computes a date; a retry gives the same answer"),
    "extract": StepPolicy(60, 3, "APIs and databases fail transiently (429, 5xx, timeouts)"),
    "dbt_build": StepPolicy(180, 0, "a failed model fails again; rerun after fixing the data"),
    "validate": StepPolicy(60, 0, "a failed expectation fails again on the same build"),
    "publish": StepPolicy(30, 1, "a lock held by a BI client or another run may clear"),
    "alerts": StepPolicy(30, 3, "SMTP servers refuse transiently; delivery is exactly once"),
    "summary": StepPolicy(10, 1, "reads the warehouses"),
}


#: How often a run waiting for an earlier one looks again (``KAM_RUN_ORDER_POKE_SECONDS``).
#: Airflow asks at least a minute of a sensor in reschedule mode; far less lets the
#: scheduler queue the next poke before the previous poke's process has ended and then fail
#: the task ("task state changed externally", seen at 5 s on a loaded machine).
RUN_ORDER_POKE_SECONDS = 60.0


def earlier_unfinished_run(ti: Any) -> str | None:
    """An earlier run of the task's DAG (by logical date) that is still queued or running,
    described, or None. Backfill runs count against the backfill's ``max_active_runs``
    (default 10), not the DAG's, and a nightly run may overlap a backfill: a run starts its
    work only when every earlier one has finished, so the snapshots gain their versions in
    date order, whatever the concurrency. A run without a logical date has none earlier."""
    for state in ("running", "queued"):
        previous = ti.get_previous_dagrun(state=state)
        if previous is not None:
            logical = previous.logical_date
            day = logical.date().isoformat() if logical is not None else "?"
            return f"{previous.run_id} ({state}, logical date {day})"
    return None


def run_as_of(context: Any) -> str:
    """A scheduled or manual run's as-of date: the ``as_of`` param, else the date of the
    data interval end (never the wall clock); an asset-triggered run's: the date its
    triggering events carry (:func:`as_of_from_events`)."""
    params = context.get("params") or {}
    if params.get("as_of"):
        return str(params["as_of"])
    events = context.get("triggering_asset_events") or {}
    if events:
        return as_of_from_events(events)
    end = context.get("data_interval_end") or context["dag_run"].run_after
    return str(end.in_timezone("UTC").date().isoformat())


def as_of_from_events(events: Any) -> str:
    """The one as-of date of the asset events that triggered a run (``{asset: [event]}``,
    each event's ``extra["as_of"]``), the latest per asset. Assets updated for different
    dates (one source re-extracted for another day) are refused, naming them: a warehouse
    build must not mix two dates."""
    latest: dict[str, str] = {}
    for asset, asset_events in events.items():
        days = [
            str((e.extra or {}).get("as_of")) for e in asset_events if (e.extra or {}).get("as_of")
        ]
        if not days:
            raise ValueError(f"asset event of {getattr(asset, 'name', asset)} carries no as_of")
        latest[str(getattr(asset, "name", asset))] = max(days)
    dates = sorted(set(latest.values()))
    if len(dates) != 1:
        by_date = {d: sorted(a for a, v in latest.items() if v == d) for d in dates}
        raise ValueError(f"the triggering assets are of different dates: {by_date}")
    return dates[0]


def extract_for_task(as_of: str, source: str, name: str) -> dict[str, Any]:
    """What an extract task runs: land ``source/name`` as of ``as_of``. Errors a retry
    cannot fix (schema drift, a failed raw suite, a refused token, a broken
    ``_export.json``, an empty or shrunken full snapshot) fail the task without retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from kam_transforms.config import Settings
    from kam_transforms.extract import HubSpotAuthError, RawValidationError, SchemaDriftError
    from kam_transforms.extract.export_config import ExportConfigError
    from kam_transforms.extract.snapshot import SnapshotError
    from kam_transforms.pipeline import extract_entity

    final = (SchemaDriftError, RawValidationError, HubSpotAuthError, ExportConfigError,
             SnapshotError)  # fmt: skip
    try:
        return extract_entity(Settings.from_env(), date.fromisoformat(as_of), source, name)
    except final as exc:
        raise AirflowFailException(str(exc)) from exc


def _describe_error(exc: BaseException | None) -> str:
    from kam_transforms.textsafe import strip_bidi_controls

    if exc is None:
        return "(Airflow passed no exception: the task was killed, timed out or zombied)"
    text = strip_bidi_controls(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " [...]"


def failure_message(
    facts: dict[str, Any], *, sender: str, recipient: str, delivery_id: str
) -> EmailMessage:
    """The data team's e-mail about a task that failed for good (``facts``: dag_id,
    task_id, run_id, as_of, try_number, retries, error, log_url)."""
    from kam_transforms.textsafe import strip_bidi_controls

    msg = EmailMessage(policy=policy.SMTP)  # CRLF: SMTP relays refuse bare-LF lines
    subject = f"KAM task failed: {facts['dag_id']}.{facts['task_id']} as of {facts['as_of']}"
    msg["Subject"] = " ".join(strip_bidi_controls(subject).split())
    msg["From"] = sender
    msg["To"] = recipient
    msg["Message-ID"] = f"<{delivery_id}@kam-alerts>"
    msg["Date"] = format_datetime(datetime.now(UTC))
    lines = [
        f"DAG:      {facts['dag_id']}",
        f"Task:     {facts['task_id']}",
        f"Run:      {facts['run_id']}",
        f"As of:    {facts['as_of']}",
        f"Tries:    {facts['try_number']} (retries allowed: {facts['retries']})",
        "",
        "Error:",
        f"  {facts['error']}",
        "",
        f"Log: {facts['log_url'] or '(no log URL: see the task log in Airflow)'}",
        "",
        "The serving warehouse still holds the last validated version; nothing of this run",
        "was published past the failed step. Fix the cause, then clear the task to rerun it.",
    ]
    msg.set_content("\n".join(lines))
    return msg


def _facts(context: Any) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    try:
        as_of = run_as_of(context)
    except (KeyError, AttributeError, ValueError):  # the callback still reports the failure
        as_of = "unknown"
    task = context.get("task")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?"),
        "task_id": getattr(ti, "task_id", "?"),
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", "?"),
        "as_of": str(as_of),
        "try_number": int(getattr(ti, "try_number", 1) or 1),
        "retries": int(getattr(task, "retries", 0) or 0),
        "error": _describe_error(context.get("exception")),
        "log_url": getattr(ti, "log_url", None),
    }


def notify_task_failure(context: Any) -> str | None:
    """Airflow ``on_failure_callback`` (called once a task has failed for good, after its
    retries): e-mail the data team once per task try (the delivery id), through
    ``KAM_ALERTS_DELIVERY`` (``.eml`` files or SMTP).

    Never raises: a callback that fails would hide the task's own error; it logs instead.
    """
    try:
        from kam_transforms.alerts.render import sender_address
        from kam_transforms.config import Settings
        from kam_transforms.notify import send_to_data_team

        settings = Settings.from_env()
        facts = _facts(context)
        key = "|".join(str(facts[k]) for k in ("dag_id", "task_id", "run_id", "try_number"))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        delivery_id = f"kam.task-failed.{facts['as_of'].replace('-', '')}.{digest}"
        message = failure_message(
            facts,
            sender=str(sender_address(settings.mail_from)),
            recipient=settings.data_team_email,
            delivery_id=delivery_id,
        )
        send_to_data_team(settings, message, delivery_id, None)
        log.info("told %s that %s failed (%s)", settings.data_team_email, key, delivery_id)
        return delivery_id
    except Exception:  # noqa: BLE001 - a callback must not raise
        log.exception("could not tell the data team about the failed task")
        return None
