"""The two entry points: publish a run's alerts, or preview the digests it would send."""

from __future__ import annotations

import datetime as dt
import email
import logging
from collections.abc import Mapping, Sequence
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

from kam_transforms.alerts.cockpit_link import cockpit_url
from kam_transforms.alerts.deliver import (
    DeliveryPlan,
    DeliveryReport,
    EmlOutbox,
    PlannedDelivery,
    Transport,
    deliver,
    transport_for,
)
from kam_transforms.alerts.model import to_date
from kam_transforms.alerts.outbox import AlertPlan, OutboxState, SnoozeSource
from kam_transforms.alerts.overview import DEFAULT_MAX_ACCOUNTS
from kam_transforms.alerts.reasons import load_next_steps
from kam_transforms.alerts.render import (
    delivery_id_for,
    render_digest,
    resolve_crm_base_url,
    sender_address,
)
from kam_transforms.alerts.routing import group_by_recipient
from kam_transforms.alerts.team_digest import TEAM_DELIVERY_PREFIX, team_deliveries
from kam_transforms.alerts.team_source import TeamScorecard, is_month_end
from kam_transforms.config import Settings

__all__ = ["build_delivery_plan", "default_state_path", "preview_alerts", "publish_alerts"]

log = logging.getLogger(__name__)

STATE_FILE_NAME = "alerts_state.sqlite"


def default_state_path(settings: Settings) -> Path:
    """``<outbox_dir>/../alerts_state.sqlite``."""
    return settings.outbox_dir.parent / STATE_FILE_NAME


def build_delivery_plan(
    alert_plan: AlertPlan,
    *,
    sales_ops_email: str,
    mail_from: str,
    crm_base_url: str | None = None,
    revenue_history: Mapping[str, Sequence[float]] | None = None,
    cc_manager_on_high: bool = True,
    margins: Mapping[str, float] | None = None,
    currency: str = "USD",
    max_accounts: int = DEFAULT_MAX_ACCOUNTS,
    next_steps: Mapping[str, Mapping[str, str]] | None = None,
) -> DeliveryPlan:
    """Route the plan's alerts and render one digest per recipient."""
    envelope_from = sender_address(mail_from).addr_spec
    plan = DeliveryPlan(as_of=alert_plan.as_of, envelope_from=envelope_from)
    for digest in group_by_recipient(
        alert_plan.to_notify, sales_ops_email, cc_manager_on_high=cc_manager_on_high
    ):
        keys = [a.row.dedup_key for a in digest.alerts]
        delivery_id = delivery_id_for(digest.recipient, alert_plan.as_of, keys)
        message = render_digest(
            digest,
            as_of=alert_plan.as_of,
            mail_from=mail_from,
            delivery_id=delivery_id,
            crm_base_url=crm_base_url,
            revenue_history=revenue_history,
            margins=margins,
            currency=currency,
            max_accounts=max_accounts,
            next_steps=next_steps,
            cockpit_url=cockpit_url(digest, alert_plan.as_of),
        )
        plan.items.append(
            PlannedDelivery(
                delivery_id=delivery_id,
                recipient=digest.recipient,
                cc=digest.cc,
                locale=digest.locale,
                message=message,
                alert_severities={a.row.dedup_key: a.row.severity for a in digest.alerts},
            )
        )
    return plan


def team_delivery_items(
    state: OutboxState,
    teams: Sequence[TeamScorecard] | None,
    as_of: dt.date,
    *,
    mail_from: str,
    currency: str,
) -> list[PlannedDelivery]:
    """The manager digests of this run: one per team when ``as_of`` is a month-end, plus
    every unsent manager digest of an earlier date (still owed: never superseded, retried
    with the bytes recorded first)."""
    items = (
        team_deliveries(teams, as_of=as_of, mail_from=mail_from, currency=currency)
        if teams and is_month_end(as_of)
        else []
    )
    planned = {item.delivery_id for item in items}
    for row in state.unsent_deliveries(as_of):
        owed = row["delivery_id"].startswith(TEAM_DELIVERY_PREFIX)
        if owed and row["delivery_id"] not in planned:
            message = email.message_from_bytes(
                row["message"], _class=EmailMessage, policy=policy.SMTP
            )
            items.append(
                PlannedDelivery(
                    delivery_id=row["delivery_id"],
                    recipient=row["recipient"],
                    cc=tuple(a for a in row["cc"].split(",") if a),
                    locale=str(message["Content-Language"] or "en"),
                    message=message,
                    alert_severities={},
                )
            )
    return items


def publish_alerts(
    alerts_df: pd.DataFrame,
    as_of: dt.date | str,
    settings: Settings,
    state_path: str | Path | None = None,
    transport: Transport | None = None,
    snoozes: SnoozeSource = None,
    crm_base_url: str | None = None,
    renotify_after_days: int | None = 7,
    *,
    revenue_history: Mapping[str, Sequence[float]] | None = None,
    cc_manager_on_high: bool = True,
    margins: Mapping[str, float] | None = None,
    max_accounts: int = DEFAULT_MAX_ACCOUNTS,
    next_steps: Mapping[str, Mapping[str, str]] | None = None,
    team_scorecards: Sequence[TeamScorecard] | None = None,
) -> dict[str, Any]:
    """Plan, render and deliver the alert digests of one run, and at a month-end the
    managers' team scorecards (:mod:`~kam_transforms.alerts.team_digest`).

    Parameters
    ----------
    alerts_df
        The ``key_account_alerts`` rows of this run (columns in docs/CONTRACTS.md).
    as_of
        The run date (the DAG run's data interval end); every date written derives from it.
    settings
        ``sales_ops_email``, ``mail_from`` and ``outbox_dir`` are used.
    state_path
        The SQLite alert state; None: ``<outbox_dir>/../alerts_state.sqlite``.
    transport
        :class:`~kam_transforms.alerts.deliver.SmtpTransport`, an ``EmlOutbox``, or None
        for the one ``settings.alerts_delivery`` names
        (:func:`~kam_transforms.alerts.deliver.transport_for`). The transport's
        ``from_email`` overrides ``settings.mail_from``.
    snoozes
        Snooze CSV path, frame or list of Snooze.
    crm_base_url
        CRM record links ``<base>/<account_id>``; None: ``KAM_CRM_BASE_URL`` if set.
    renotify_after_days
        Remind about a still-open alert after this many days (None: never).
    revenue_history
        Optional ``customer_id -> monthly revenue (oldest first)`` for inline sparklines.
    cc_manager_on_high
        Cc the owner's manager on digests with a high-severity alert.
    margins
        Optional ``customer_id -> trailing 12-month gross margin`` (``settings.base_currency``)
        for the order of the accounts and the summary's "most margin at stake".
    max_accounts
        Accounts shown per digest; the rest are in its CSV attachment.
    next_steps
        ``rule_id -> locale -> text`` overriding the catalogue's next steps; None: the file
        ``KAM_ALERT_NEXT_STEPS`` names, if set (:func:`~kam_transforms.alerts.reasons.
        load_next_steps`).
    team_scorecards
        The managers' teams of the run (:func:`~kam_transforms.alerts.team_source.
        read_team_scorecards`): one manager digest each when ``as_of`` is a month-end,
        delivered with the alert digests (same state, transport and exactly-once record).

    Returns
    -------
    dict
        ``as_of``, the alert counts (``alerts_in_frame``, ``alerts_new``, ``alerts_reopened``,
        ``alerts_updated``, ``alerts_unchanged``, ``alerts_closed``, ``alerts_snoozed``,
        ``alerts_to_notify``), ``delivery`` (``eml`` or ``smtp``), ``digests_planned``,
        ``digests_sent`` (= ``digests_emailed`` over SMTP + ``digests_written`` as ``.eml``
        files), ``digests_pending`` (unsent digests of this date or earlier left in the
        state), ``digests_already_delivered``, ``digests_already_sent``,
        ``digests_superseded``, ``recipients`` (of digests sent), ``message_ids``,
        ``files_written``, ``transport``, ``state_path`` and ``stale_after`` (a newer date
        already in the state; nothing done); every ``digests_*`` count and list is of alert
        digests only. Manager digests: ``manager_digests_planned``, ``manager_digests_sent``,
        ``manager_digests_already_sent``, ``manager_digest_recipients`` and
        ``manager_digest_files``.

    Raises
    ------
    DeliveryError
        When a digest could not be sent, or the SMTP connection is unusable (then also
        with nothing to send); unsent digests stay pending and their alerts un-notified
        for the next attempt.
    """
    as_of = to_date(as_of)
    steps = next_steps if next_steps is not None else load_next_steps()  # a bad file: no state
    transport = transport if transport is not None else transport_for(settings)
    mail_from = transport.from_email or settings.mail_from
    base_url = resolve_crm_base_url(crm_base_url)
    path = Path(state_path) if state_path is not None else default_state_path(settings)
    with OutboxState(path) as state:
        alert_plan = state.plan(alerts_df, as_of, renotify_after_days, snoozes)
        summary: dict[str, Any] = {"as_of": as_of.isoformat(), **alert_plan.counts()}
        summary.update(
            delivery="eml" if isinstance(transport, EmlOutbox) else "smtp",
            transport=transport.description,
            state_path=str(path),
            stale_after=alert_plan.stale_after.isoformat() if alert_plan.stale_after else None,
        )
        if alert_plan.is_stale:
            summary.update(
                digests_planned=0,
                digests_sent=0,
                digests_emailed=0,
                digests_written=0,
                digests_pending=0,
                digests_already_delivered=0,
                digests_already_sent=0,
                digests_superseded=0,
                recipients=[],
                message_ids=[],
                files_written=[],
                **_team_counts([], DeliveryReport()),
            )
            return summary
        plan = build_delivery_plan(
            alert_plan,
            sales_ops_email=settings.sales_ops_email,
            mail_from=mail_from,
            crm_base_url=base_url,
            revenue_history=revenue_history,
            cc_manager_on_high=cc_manager_on_high,
            margins=margins,
            currency=settings.base_currency,
            max_accounts=max_accounts,
            next_steps=steps,
        )
        team_items = team_delivery_items(
            state, team_scorecards, as_of, mail_from=mail_from, currency=settings.base_currency
        )
        plan.items.extend(team_items)
        report = deliver(plan, transport, state)
        pending = sum(
            not row["delivery_id"].startswith(TEAM_DELIVERY_PREFIX)
            for row in state.unsent_deliveries(as_of)
        )
    by_id = {item.delivery_id: item for item in plan.items}
    alerts_only = _alert_digests(report)
    delivered = [by_id[i] for i in alerts_only.sent + alerts_only.already_delivered if i in by_id]
    summary.update(
        digests_planned=len(plan.items) - len(team_items),
        digests_sent=len(alerts_only.sent),
        digests_emailed=len(alerts_only.sent) - len(alerts_only.files_written),
        digests_written=len(alerts_only.files_written),
        digests_pending=pending,
        digests_already_delivered=len(alerts_only.already_delivered),
        digests_already_sent=len(alerts_only.already_sent),
        digests_superseded=len(alerts_only.superseded),
        recipients=sorted({item.recipient for item in delivered}),
        message_ids=sorted(item.message_id for item in delivered),
        files_written=alerts_only.files_written,
        **_team_counts(team_items, report),
    )
    log.info("alerts for %s: %s", as_of, summary)
    return summary


def _is_team(value: str) -> bool:
    return Path(value).name.startswith(TEAM_DELIVERY_PREFIX)


def _alert_digests(report: DeliveryReport) -> DeliveryReport:
    """The report without its manager digests."""
    return DeliveryReport(
        **{
            name: values if name == "errors" else [v for v in values if not _is_team(v)]
            for name, values in vars(report).items()
        }
    )


def _team_counts(items: Sequence[PlannedDelivery], report: DeliveryReport) -> dict[str, Any]:
    by_id = {item.delivery_id: item for item in items}
    sent = [i for i in report.sent + report.already_delivered if i in by_id]
    return {
        "manager_digests_planned": len(items),
        "manager_digests_sent": sum(i in by_id for i in report.sent),
        "manager_digests_already_sent": sum(i in by_id for i in report.already_sent),
        "manager_digest_recipients": sorted({by_id[i].recipient for i in sent}),
        "manager_digest_files": [f for f in report.files_written if _is_team(f)],
    }


def preview_alerts(
    alerts_df: pd.DataFrame,
    as_of: dt.date | str,
    settings: Settings,
    state_path: str | Path | None = None,
    snoozes: SnoozeSource = None,
    crm_base_url: str | None = None,
    renotify_after_days: int | None = 7,
    *,
    revenue_history: Mapping[str, Sequence[float]] | None = None,
    cc_manager_on_high: bool = True,
    mail_from: str | None = None,
    margins: Mapping[str, float] | None = None,
    max_accounts: int = DEFAULT_MAX_ACCOUNTS,
    next_steps: Mapping[str, Mapping[str, str]] | None = None,
) -> list[EmailMessage]:
    """Render the digests :func:`publish_alerts` would send now, without sending anything
    or writing the state (an existing state file is opened read-only; none is created)."""
    as_of = to_date(as_of)
    path = Path(state_path) if state_path is not None else default_state_path(settings)
    with OutboxState(path, read_only=True) as state:
        alert_plan = state.plan(alerts_df, as_of, renotify_after_days, snoozes, dry_run=True)
    plan = build_delivery_plan(
        alert_plan,
        sales_ops_email=settings.sales_ops_email,
        mail_from=mail_from or settings.mail_from,
        crm_base_url=resolve_crm_base_url(crm_base_url),
        revenue_history=revenue_history,
        cc_manager_on_high=cc_manager_on_high,
        margins=margins,
        currency=settings.base_currency,
        max_accounts=max_accounts,
        next_steps=next_steps if next_steps is not None else load_next_steps(),
    )
    return [item.message for item in plan.items]
