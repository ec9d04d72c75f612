"""The pipeline's alerts step: what the Airflow alerts task (and ``kam alerts``) calls.

It reads this run's alerts, the digests' context (trend, margins, the managers' teams at a
month-end) and the data-coverage gaps from the serving warehouse published as of the run's
date, sends the digests through :mod:`kam_transforms.alerts` (exactly once per delivery id)
and exports the alert lifecycle for the next build. It holds the ``alerts`` lock of
``KAM_HOME`` (:mod:`kam_transforms.locks`) and refuses a serving warehouse of another date.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms import duck
from kam_transforms.builds import require_serving_of
from kam_transforms.config import Settings
from kam_transforms.locks import hold

__all__ = ["ALERTS_LOCK", "export_lifecycle", "inactive_checks", "preview_alerts", "send_alerts"]

#: The lock of alert sending (alert state and outbox).
ALERTS_LOCK = "alerts"


def _alerts_for(settings: Settings, as_of: date, step: str) -> Any:
    """This run's alerts, from a serving warehouse published as of ``as_of`` only."""
    from kam_transforms.alerts.source import read_alerts

    require_serving_of(settings.serving_db, as_of, step)
    return read_alerts(settings.serving_db, as_of)


def _revenue_history(settings: Settings, as_of: date, customer_ids: list[str]) -> dict:
    """The revenues of the 12 months up to the month of ``as_of`` (oldest first, 0 for a month
    without orders) of each alerted customer, for the digest's labelled trend chart."""

    if not customer_ids:
        return {}
    with duck.connect(settings.serving_db, read_only=True) as con:
        rows = con.execute(
            "with months as (select unnest(generate_series(date_trunc('month', ?::date) "
            "- interval 11 month, date_trunc('month', ?::date), interval 1 month))::date as m), "
            "alerted as (select distinct unnest(?) as customer_id) "
            "select a.customer_id, list(coalesce(f.revenue_base, 0) order by months.m) "
            "from alerted a cross join months left join fct_customer_monthly f "
            "on f.customer_id = a.customer_id and f.month_start_date = months.m "
            "group by a.customer_id having count(f.customer_id) > 0",
            [as_of, as_of, customer_ids],
        ).fetchall()
    return {customer_id: [float(v) for v in values] for customer_id, values in rows}


def _margins(settings: Settings, customer_ids: list[str]) -> dict[str, float]:
    """The trailing 12-month gross margin of each alerted customer: its margin at stake."""
    if not customer_ids:
        return {}
    with duck.connect(settings.serving_db, read_only=True) as con:
        rows = con.execute(
            "select customer_id, gross_margin_t12m from customer_tiers "
            "where customer_id in (select unnest(?)) and gross_margin_t12m is not null",
            [customer_ids],
        ).fetchall()
    return {customer_id: float(margin) for customer_id, margin in rows}


def _max_accounts() -> int:
    raw = os.environ.get("KAM_DIGEST_MAX_ACCOUNTS", "25")
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"KAM_DIGEST_MAX_ACCOUNTS={raw!r} is not a whole number >= 1")
    return value


def _alert_options(settings: Settings, as_of: date, alerts: Any) -> dict[str, Any]:
    snooze_file = os.environ.get("KAM_SNOOZE_FILE")
    customer_ids = sorted(set(alerts["customer_id"].dropna()))
    return {
        "state_path": settings.home / "alerts" / "state.sqlite",
        "crm_base_url": os.environ.get("KAM_CRM_BASE_URL"),
        "snoozes": Path(snooze_file) if snooze_file else None,
        "renotify_after_days": int(os.environ.get("KAM_ALERT_RENOTIFY_DAYS", "7")),
        "revenue_history": _revenue_history(settings, as_of, customer_ids),
        "margins": _margins(settings, customer_ids),
        "max_accounts": _max_accounts(),
    }


def _team_scorecards(settings: Settings, as_of: date) -> list[Any] | None:
    """The managers' teams for the month-end manager digests; None on other dates."""
    from kam_transforms.alerts.team_source import is_month_end, read_team_scorecards

    if not is_month_end(as_of):
        return None
    return read_team_scorecards(settings.serving_db, as_of)


def inactive_checks(settings: Settings) -> list[dict[str, str]]:
    """The ``data_coverage`` rows of serving whose check could not run (none before the mart
    existed)."""
    with duck.connect(settings.serving_db, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = 'data_coverage'"
        ).fetchall()[0][0]
        if not exists:
            return []
        rows = con.execute(
            "select check_type, check_name, input_entity, inactive_reason from data_coverage "
            "where not is_active order by check_type, check_name"
        ).fetchall()
    keys = ("check_type", "check_name", "input_entity", "inactive_reason")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def export_lifecycle(settings: Settings, state_path: Path, as_of: date) -> str:
    """Export the alert state's episodes to ``<lake>/alert_history/as_of=<as_of>/`` for the
    next build (:mod:`kam_transforms.alerts.lifecycle`); the caller holds the alerts lock."""
    from kam_transforms.alerts.lifecycle import export_alert_lifecycle
    from kam_transforms.alerts.outbox import OutboxState

    with OutboxState(state_path) as state:
        return str(export_alert_lifecycle(state, settings.lake_dir, as_of))


def send_alerts(settings: Settings, as_of: date) -> dict[str, Any]:
    """Send this run's key-account alert digests the way ``KAM_ALERTS_DELIVERY`` says:
    ``.eml`` files (default) or SMTP through the Airflow connection ``KAM_SMTP_CONN_ID``.

    Holds the ``alerts`` lock; refuses a serving warehouse not published as of ``as_of``.
    A corrupt alert state or a full disk raise errors naming the file; with ``smtp``, a
    missing or unusable connection raises ``DeliveryError`` naming it, every digest pending.
    When ``data_coverage`` has inactive checks (an entity never landed), the data team gets
    one data-coverage warning for the run (``data_coverage_warning``: its delivery id).
    At a month-end every manager also gets the team's scorecard (``manager_digests_*``;
    :mod:`kam_transforms.alerts.team_digest`), once, over the same delivery path. Last, the
    alert lifecycle is exported for the next build (``alert_lifecycle``: the file; none for a
    run older than the state's newest, which changes nothing).
    """
    from kam_transforms.alerts import DeliveryError, publish_alerts
    from kam_transforms.notify import notify_data_coverage

    with hold(settings.home, ALERTS_LOCK, "alerts send", as_of=as_of.isoformat()):
        alerts = _alerts_for(settings, as_of, "alerts send")
        options = _alert_options(settings, as_of, alerts)
        state = options["state_path"]
        try:  # the alert state's own errors (AlertStateError) name its file
            teams = _team_scorecards(settings, as_of)
            try:
                summary = publish_alerts(alerts, as_of, settings, team_scorecards=teams, **options)
            except DeliveryError:  # the state recorded the run's alerts: export them anyway
                export_lifecycle(settings, state, as_of)
                raise
            lifecycle = None if summary["stale_after"] else export_lifecycle(settings, state, as_of)
            inactive = inactive_checks(settings)
            warning = notify_data_coverage(settings, as_of, inactive)
            return summary | {
                "inactive_checks": [row["inactive_reason"] for row in inactive],
                "data_coverage_warning": warning,
                "alert_lifecycle": lifecycle,
            }
        except OSError as exc:
            if exc.filename:
                raise
            raise OSError(
                exc.errno, f"{exc.strerror}: writing alerts to {settings.outbox_dir} "
                f"(state {state})"
            ) from exc


def preview_alerts(settings: Settings, as_of: date, out_dir: Path | None = None) -> dict[str, Any]:
    """Render the digests ``send_alerts`` would send, without sending or recording anything."""
    from kam_transforms.alerts import preview_alerts as preview

    alerts = _alerts_for(settings, as_of, "alerts preview")
    messages = preview(alerts, as_of, settings, **_alert_options(settings, as_of, alerts))
    written = []
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, msg in enumerate(messages, start=1):
            path = out_dir / f"preview_{as_of.isoformat()}_{i:03d}.eml"
            path.write_bytes(bytes(msg))
            written.append(str(path))
    return {
        "as_of": as_of.isoformat(),
        "digests": [{"to": str(msg["To"]), "subject": str(msg["Subject"])} for msg in messages],
        "files": written,
    }
