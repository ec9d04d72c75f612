"""Tell the data team that a run was blocked, over the same delivery path as alerts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from kam_transforms.alerts.deliver import Transport, transport_for
from kam_transforms.alerts.render import sender_address
from kam_transforms.config import Settings
from kam_transforms.validate import ValidationReport

__all__ = ["notify_validation_failure"]


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
    transport = transport or transport_for(settings)
    try:
        if not transport.already_delivered(delivery_id):
            sender = transport.from_email or sender_address(settings.mail_from).addr_spec
            transport.send(
                bytes(_message(settings, report, delivery_id)),
                delivery_id=delivery_id,
                sender=sender,
                recipients=[settings.data_team_email],
            )
    finally:
        transport.close()
    return delivery_id
