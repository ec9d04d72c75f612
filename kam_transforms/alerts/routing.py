"""Who receives which alert: the account owner when reachable, else sales ops.

Rules
-----
- recipient: ``owner_email`` when ``owner_is_active`` is true and the address is a valid
  plain (ASCII) address; otherwise the sales-ops address from ``Settings.sales_ops_email``;
- cc: the ``manager_email`` of every high-severity alert in the digest (switch off with
  ``cc_manager_on_high=False``), never the recipient itself;
- locale: the owner's ``owner_locale`` (``zh-CN`` and its spellings ``zh``, ``zh_CN``,
  ``zh-Hans``...; anything else is ``en``); sales-ops digests are always ``en``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address

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

LOCALES: tuple[str, ...] = ("en", "zh-CN")


def normalise_locale(value: str | None) -> str:
    """``zh-CN`` for any Chinese (mainland/simplified) locale spelling, else ``en``."""
    if not value:
        return "en"
    tag = value.strip().replace("_", "-").lower()
    if tag in {"zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "cn"}:
        return "zh-CN"
    return "en"


def normalise_address(value: str | None) -> str | None:
    """A lower-cased ``local@domain`` if ``value`` is one plain ASCII address, else None."""
    if not value:
        return None
    text = value.strip()
    if (
        not text
        or not text.isascii()
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text)
    ):
        return None
    try:
        address = Address(addr_spec=text)
    except (ValueError, HeaderParseError, IndexError):
        return None
    if not address.username or not address.domain or "." not in address.domain:
        return None
    return address.addr_spec.lower()


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
