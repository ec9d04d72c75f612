"""Key-account alerts: state and deduplication, routing, digest rendering and delivery.

Plain Python (Airflow is imported only inside :func:`transport_from_airflow`). Typical use in
a task (the transport is the one ``KAM_ALERTS_DELIVERY`` names, see :func:`transport_for`)::

    summary = publish_alerts(alerts_df, as_of, settings, state_path=None)
"""

from kam_transforms.alerts.deliver import (
    DeliveryError,
    DeliveryPlan,
    DeliveryReport,
    EmlOutbox,
    PlannedDelivery,
    SendResult,
    SmtpTransport,
    Transport,
    UnusableConnection,
    deliver,
    smtp_transport,
    transport_for,
    transport_from_airflow,
)
from kam_transforms.alerts.model import ALERT_COLUMNS, AlertRow
from kam_transforms.alerts.outbox import AlertPlan, OutboxState, PlannedAlert, Snooze, load_snoozes
from kam_transforms.alerts.publish import (
    build_delivery_plan,
    default_state_path,
    preview_alerts,
    publish_alerts,
)
from kam_transforms.alerts.render import delivery_id_for, render_digest, subject_for
from kam_transforms.alerts.routing import Digest, Route, group_by_recipient, route_alert
from kam_transforms.alerts.source import read_alerts

__all__ = [
    "ALERT_COLUMNS",
    "AlertPlan",
    "AlertRow",
    "DeliveryError",
    "DeliveryPlan",
    "DeliveryReport",
    "Digest",
    "EmlOutbox",
    "OutboxState",
    "PlannedAlert",
    "PlannedDelivery",
    "Route",
    "SendResult",
    "SmtpTransport",
    "Snooze",
    "Transport",
    "UnusableConnection",
    "build_delivery_plan",
    "default_state_path",
    "deliver",
    "delivery_id_for",
    "group_by_recipient",
    "load_snoozes",
    "preview_alerts",
    "publish_alerts",
    "read_alerts",
    "render_digest",
    "route_alert",
    "smtp_transport",
    "subject_for",
    "transport_for",
    "transport_from_airflow",
]
