"""What a digest shows before and instead of its accounts: the order of the accounts, the
summary at the top, the cap on long digests and the full list as a CSV attachment.

Accounts are ordered by their highest severity, then by the margin at stake (the customer's
trailing 12-month gross margin, when the caller knows it), then by name. A digest shows at
most ``max_accounts`` of them; the CSV attachment then holds every alert of every account,
one row per alert, so nothing of a long digest is lost.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kam_transforms.alerts.localise import format_money
from kam_transforms.alerts.model import SEVERITY_RANK, AlertRow, clean_text
from kam_transforms.alerts.outbox import PlannedAlert
from kam_transforms.alerts.reasons import reason_for, rule_name

__all__ = [
    "ALERT_TYPE_LABEL",
    "DEFAULT_MAX_ACCOUNTS",
    "SEVERITY_LABEL",
    "Customer",
    "csv_name",
    "full_list_csv",
    "more_line",
    "order_customers",
    "reason_text",
    "summary_lines",
]

#: Accounts shown in one digest before the rest go to the CSV attachment only.
DEFAULT_MAX_ACCOUNTS = 25
#: Accounts named in the summary's "most margin at stake" line.
TOP_ACCOUNTS = 3

SEVERITY_LABEL = {
    "en": {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"},
    "zh-CN": {"high": "高", "medium": "中", "low": "低"},
}

ALERT_TYPE_LABEL = {
    "en": {
        "risk": "Churn risk",
        "opportunity": "Opportunity",
        "lifecycle": "Lifecycle change",
        "tier_change": "Tier change",
        "payment": "Payment",
        "service": "Service and complaints",
        "relationship": "Relationship change",
    },
    "zh-CN": {
        "risk": "客户流失预警",
        "opportunity": "增长机会",
        "lifecycle": "生命周期变化",
        "tier_change": "客户等级变化",
        "payment": "付款预警",
        "service": "服务与投诉",
        "relationship": "关系变化",
    },
}

_TEXTS = {
    "en": {
        "severities": "Summary: {counts} alert(s) on {accounts} account(s).",
        "families": "By rule family: {counts}.",
        "top": "Most margin at stake (trailing 12 months): {accounts}.",
        "more": (
            "{shown} of {total} accounts are shown; {more} more are in the attached "
            "{file}, which lists every alert of every account."
        ),
        "list_sep": ", ",
        "count": "{count} {label}",
        "money": "{name} ({amount})",
    },
    "zh-CN": {
        "severities": "概要：共 {accounts} 个客户，预警 {counts}。",
        "families": "按预警类别：{counts}。",
        "top": "利润影响最大的客户（近 12 个月毛利）：{accounts}。",
        "more": (
            "本邮件列出 {total} 个客户中的 {shown} 个；其余 {more} 个见附件 {file}"
            "（含全部客户的全部预警）。"
        ),
        "list_sep": "、",
        "count": "{label} {count} 条",
        "money": "{name}（{amount}）",
    },
}


def reason_text(row: AlertRow, locale: str) -> str:
    """The row's reason in the recipient's locale, from its evidence and the catalogue
    (:func:`~kam_transforms.alerts.reasons.reason_for`; a missing template raises)."""
    return reason_for(row.rule_id, row.evidence, locale)


@dataclass(frozen=True)
class Customer:
    """One account of a digest with its alerts, highest severity first."""

    customer_id: str
    name: str
    account_id: str | None
    owner_name: str
    alerts: tuple[PlannedAlert, ...]
    margin: float | None

    @property
    def top_rank(self) -> int:
        return max(SEVERITY_RANK[a.row.severity] for a in self.alerts)


def _known(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def order_customers(
    alerts: Sequence[PlannedAlert], margins: Mapping[str, float] | None = None
) -> list[Customer]:
    """The digest's accounts: highest severity first, then most margin at stake, then name."""
    by_customer: dict[str, list[PlannedAlert]] = {}
    for item in alerts:
        by_customer.setdefault(item.row.customer_id, []).append(item)
    customers = []
    for customer_id, items in by_customer.items():
        items.sort(key=lambda a: (-SEVERITY_RANK[a.row.severity], a.row.rule_id, a.row.dedup_key))
        first = items[0].row
        customers.append(
            Customer(
                customer_id=customer_id,
                name=clean_text(first.customer_name, 150) or customer_id,
                account_id=next((a.row.account_id for a in items if a.row.account_id), None),
                owner_name=clean_text(first.owner_name, 100) if first.owner_is_active else "",
                alerts=tuple(items),
                margin=_known((margins or {}).get(customer_id)),
            )
        )
    customers.sort(
        key=lambda c: (-c.top_rank, -(c.margin or 0.0), c.name.casefold(), c.customer_id)
    )
    return customers


def _listing(locale: str, counts: Sequence[tuple[str, int]]) -> str:
    texts = _TEXTS[locale]
    return texts["list_sep"].join(
        texts["count"].format(count=count, label=label) for label, count in counts
    )


def summary_lines(locale: str, customers: Sequence[Customer], currency: str) -> list[str]:
    """The summary at the top: alerts by severity and by rule family, and the accounts with
    the most margin at stake (when margins are known)."""
    texts = _TEXTS[locale]
    alerts = [a.row for c in customers for a in c.alerts]
    by_severity = Counter(row.severity for row in alerts)
    severities = [
        (SEVERITY_LABEL[locale][s], by_severity[s]) for s in ("high", "medium", "low")
    ]
    labels = ALERT_TYPE_LABEL[locale]
    by_family = Counter(
        labels.get(row.alert_type, clean_text(row.alert_type, 40)) for row in alerts
    )
    lines = [
        texts["severities"].format(counts=_listing(locale, severities), accounts=len(customers)),
        texts["families"].format(
            counts=_listing(locale, sorted(by_family.items(), key=lambda kv: (-kv[1], kv[0])))
        ),
    ]
    at_stake = sorted(
        (c for c in customers if c.margin is not None and c.margin > 0),
        key=lambda c: (-(c.margin or 0.0), c.name.casefold()),
    )[:TOP_ACCOUNTS]
    if at_stake:
        lines.append(
            texts["top"].format(
                accounts=texts["list_sep"].join(
                    texts["money"].format(
                        name=c.name, amount=format_money(c.margin or 0.0, currency, locale)
                    )
                    for c in at_stake
                )
            )
        )
    return lines


def csv_name(as_of_iso: str) -> str:
    """The attachment's file name: ``kam-alerts-<date>.csv``."""
    return f"kam-alerts-{as_of_iso}.csv"


def more_line(locale: str, shown: int, total: int, file_name: str) -> str:
    """The line of a capped digest saying how many accounts are only in the CSV."""
    return _TEXTS[locale]["more"].format(
        shown=shown, total=total, more=total - shown, file=file_name
    )


_CSV_COLUMNS = (
    "customer_id",
    "customer_name",
    "account_id",
    "owner_name",
    "margin_at_stake",
    "severity",
    "alert_type",
    "rule_id",
    "rule_name",
    "notify_reason",
    "reason",
    "crm_url",
)


def _cell(value: str) -> str:
    # a spreadsheet runs a cell starting with = + - @ as a formula: quote it as text
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def full_list_csv(
    customers: Sequence[Customer], locale: str, links: Mapping[str, str | None]
) -> bytes:
    """Every alert of every account, one row each, in digest order; UTF-8 with a byte-order
    mark (so spreadsheet programs read Chinese names right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for customer in customers:
        for item in customer.alerts:
            row = item.row
            margin = "" if customer.margin is None else f"{customer.margin:.2f}"
            writer.writerow(
                [
                    _cell(customer.customer_id),
                    _cell(customer.name),
                    _cell(customer.account_id or ""),
                    _cell(customer.owner_name),
                    margin,
                    row.severity,
                    row.alert_type,
                    _cell(clean_text(row.rule_id, 80)),
                    _cell(rule_name(row.rule_id, locale)),
                    item.notify_reason,
                    _cell(clean_text(reason_text(row, locale), 500)),
                    links.get(customer.customer_id) or "",
                ]
            )
    return out.getvalue().encode("utf-8-sig")
