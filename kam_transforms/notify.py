"""Tell the data team that a run was blocked, or that its data could not support some
checks, over the same delivery path as alerts."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from kam_transforms.alerts.deliver import Transport, transport_for
from kam_transforms.alerts.render import sender_address
from kam_transforms.config import Settings
from kam_transforms.validate import ValidationReport

__all__ = ["notify_data_coverage", "notify_validation_failure", "send_to_data_team"]


def _message(settings: Settings, report: ValidationReport, delivery_id: str) -> EmailMessage:
    failures = report.blocking_failures
    msg = EmailMessage(policy=policy.SMTP)  # CRLF: SMTP relays refuse bare-LF lines
    noun = "expectation" if len(failures) == 1 else "expectations"
    msg["Subject"] = f"KAM run blocked {report.as_of}: {len(failures)} blocking {noun} failed"
    msg["From"] = sender_address(settings.mail_from)
    msg["To"] = settings.data_team_email
    msg["Message-ID"] = f"<{delivery_id}@kam-alerts>"
    as_of = datetime.fromisoformat(report.as_of).replace(tzinfo=UTC)
    msg["Date"] = format_datetime(as_of)
    lines = [
        f"The build as of {report.as_of} (run {report.run_id}) was not published: the serving",
        "warehouse still holds the previous validated version.",
        "",
        "Blocking failures:",
        *(f"  - {o.describe()}" for o in failures),
    ]
    if report.warnings:
        lines += ["", "Warnings:", *(f"  - {o.describe()}" for o in report.warnings)]
    lines += [
        "",
        f"Validation report: {report.path}",
        f"Data Docs: {report.data_docs}",
        "",
        "Fix the data or the suite, then clear and rerun the DAG run's validate task.",
    ]
    msg.set_content("\n".join(lines))
    return msg


def notify_validation_failure(
    settings: Settings, report: ValidationReport, transport: Transport | None = None
) -> str:
    """Send (once per run and failure set) the data-team email; return its delivery id.

    ``transport`` defaults to the one ``KAM_ALERTS_DELIVERY`` names; an unusable SMTP
    connection raises :class:`~kam_transforms.alerts.deliver.DeliveryError` naming it.
    """
    key = "|".join([report.run_id, *sorted(o.describe() for o in report.blocking_failures)])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    delivery_id = f"kam.validation.{report.as_of.replace('-', '')}.{digest}"
    send_to_data_team(settings, _message(settings, report, delivery_id), delivery_id, transport)
    return delivery_id


def send_to_data_team(
    settings: Settings, message: EmailMessage, delivery_id: str, transport: Transport | None
) -> None:
    """Send ``message`` to the data team unless the transport already has ``delivery_id``."""
    transport = transport or transport_for(settings)
    try:
        if not transport.already_delivered(delivery_id):
            sender = transport.from_email or sender_address(settings.mail_from).addr_spec
            transport.send(
                bytes(message),
                delivery_id=delivery_id,
                sender=sender,
                recipients=[settings.data_team_email],
            )
    finally:
        transport.close()


def notify_data_coverage(
    settings: Settings,
    as_of: date,
    inactive: Sequence[Mapping[str, str]],
    transport: Transport | None = None,
) -> str | None:
    """Send the run's one data-coverage warning; return its delivery id (None: nothing inactive).

    ``inactive`` holds the inactive ``data_coverage`` rows (``check_type``, ``check_name``,
    ``input_entity``, ``inactive_reason``). The delivery id derives from the date and those
    rows, so a rerun of the date with the same gaps sends nothing new to the ``.eml`` outbox.
    """
    if not inactive:
        return None
    rows = sorted(inactive, key=lambda r: (r["input_entity"], r["check_type"], r["check_name"]))
    key = "|".join(f"{r['input_entity']}:{r['check_type']}:{r['check_name']}" for r in rows)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    delivery_id = f"kam.coverage.{as_of:%Y%m%d}.{digest}"
    entities = sorted({r["input_entity"] for r in rows})
    msg = EmailMessage(policy=policy.SMTP)  # CRLF, as SMTP relays require
    # short enough never to be folded (the stdlib folds a header just past 78 characters
    # into a continuation line the reader sees as a leading space); the entities are below
    noun = "check" if len(rows) == 1 else "checks"
    msg["Subject"] = f"KAM data coverage {as_of.isoformat()}: {len(rows)} {noun} inactive"
    msg["From"] = sender_address(settings.mail_from)
    msg["To"] = settings.data_team_email
    msg["Message-ID"] = f"<{delivery_id}@kam-alerts>"
    msg["Date"] = format_datetime(datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC))
    lines = [
        f"The run as of {as_of.isoformat()} was published, but no row of "
        f"{', '.join(entities)} has ever landed, so these checks did not run:",
        "",
    ]
    for entity in entities:
        lines.append(f"{entity}:")
        for r in rows:
            if r["input_entity"] == entity:
                effect = (
                    "raises no alert for any account"
                    if r["check_type"] == "alert_rule"
                    else "is unknown (null) in customer_health"
                )
                lines.append(f"  - {r['check_type'].replace('_', ' ')} {r['check_name']}: {effect}")
    lines += [
        "",
        "If the source really has no such records, nothing is wrong. Otherwise check the",
        "export or connector of each entity above; the checks run again as soon as rows land.",
        "The mart data_coverage lists every check and whether it ran.",
    ]
    msg.set_content("\n".join(lines))
    send_to_data_team(settings, msg, delivery_id, transport)
    return delivery_id
