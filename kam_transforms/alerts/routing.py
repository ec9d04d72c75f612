"""Who receives which alert: the account owner when reachable, else sales ops.

Rules
-----
- recipient: ``owner_email`` when ``owner_is_active`` is true and the address is a valid
  plain (ASCII) address; otherwise the sales-ops address from ``Settings.sales_ops_email``;
- cc: the ``manager_email`` of every high-severity alert in the digest (switch off with
  ``cc_manager_on_high=False``), never the recipient itself;
- locale: the owner's ``owner_locale`` (``zh-CN`` and its spellings ``zh``, ``zh_CN``,
  ``zh-Hans``...; anything else is ``en``); sales-ops digests are always ``en``.

Where ``manager_email`` and ``owner_locale`` come from: the warehouse (``dim_customers``,
``key_account_alerts``) takes them from the owner directory (file drop
``crm/owner_directory``) when it has a value for the owner, else from the CRM's owner record
(file-drop ``crm/owners``; HubSpot's owners API has neither, so on HubSpot the directory is
the only source). ``owner_attributes_source`` on the alert row says which one applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from kam_transforms.addresses import LOCALES, normalise_address, normalise_locale
from kam_transforms.alerts.model import AlertRow, clean_text
from kam_transforms.alerts.outbox import PlannedAlert

__all__ = [
    "LOCALES",
    "Digest",
    "Route",
    "group_by_recipient",
    "normalise_address",
    "normalise_locale",
    "route_alert",
]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Route:
    """Where one alert goes."""

    recipient: str
    recipient_name: str
    locale: str
    to_sales_ops: bool
    cc: tuple[str, ...] = ()


def route_alert(row: AlertRow, sales_ops_email: str, *, cc_manager_on_high: bool = True) -> Route:
    """Route one alert row (see the module docstring for the rules)."""
    sales_ops = normalise_address(sales_ops_email)
    if sales_ops is None:
        raise ValueError(f"sales-ops address {sales_ops_email!r} is not a valid e-mail address")
    owner = normalise_address(row.owner_email) if row.owner_is_active else None
    if row.owner_is_active and owner is None and row.owner_email:
        log.warning(
            "alert %s: owner e-mail is not a usable address; routed to sales ops", row.dedup_key
        )
    cc: tuple[str, ...] = ()
    if cc_manager_on_high and row.severity == "high":
        manager = normalise_address(row.manager_email)
        recipient = owner or sales_ops
        if manager and manager != recipient:
            cc = (manager,)
    if owner is not None:
        return Route(
            owner, clean_text(row.owner_name, 100), normalise_locale(row.owner_locale), False, cc
        )
    return Route(sales_ops, "", "en", True, cc)


@dataclass
class Digest:
    """The alerts for one recipient in one run."""

    recipient: str
    recipient_name: str
    locale: str
    to_sales_ops: bool
    cc: tuple[str, ...] = ()
    alerts: list[PlannedAlert] = field(default_factory=list)

    @property
    def customer_count(self) -> int:
        return len({a.row.customer_id for a in self.alerts})


def group_by_recipient(
    planned: Sequence[PlannedAlert], sales_ops_email: str, *, cc_manager_on_high: bool = True
) -> list[Digest]:
    """One :class:`Digest` per recipient, in recipient order; deterministic for a given input.

    A recipient's name and locale come from the first of its alerts in dedup_key order.
    """
    digests: dict[str, Digest] = {}
    ccs: dict[str, set[str]] = {}
    for item in sorted(planned, key=lambda p: p.row.dedup_key):
        route = route_alert(item.row, sales_ops_email, cc_manager_on_high=cc_manager_on_high)
        digest = digests.get(route.recipient)
        if digest is None:
            digest = digests[route.recipient] = Digest(
                route.recipient, route.recipient_name, route.locale, route.to_sales_ops
            )
            ccs[route.recipient] = set()
        digest.alerts.append(item)
        ccs[route.recipient].update(route.cc)
    for recipient, digest in digests.items():
        digest.cc = tuple(sorted(ccs[recipient] - {recipient}))
    return [digests[r] for r in sorted(digests)]
