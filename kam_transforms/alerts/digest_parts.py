"""The parts of a digest that show one account and its alerts, as text lines and as HTML.

Per account: its name and id, the owner, a link to the account in the CRM (or its CRM id
when no link can be made) and a labelled 12-month revenue trend (period, last month, peak);
per alert: a severity badge, the rule's human name, why it is in this digest (new, severity
raised, reminder), the reason, the evidence as a small labelled table and the next step.
Every text comes from the catalogue in the recipient's locale
(:mod:`~kam_transforms.alerts.reasons`); every value is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kam_transforms.alerts.localise import format_money, format_month
from kam_transforms.alerts.model import clean_text
from kam_transforms.alerts.outbox import PlannedAlert
from kam_transforms.alerts.overview import SEVERITY_LABEL
from kam_transforms.alerts.reasons import evidence_table, next_step, reason_for, rule_name

__all__ = [
    "SEVERITY_COLOUR", "TEXTS", "AlertView", "Trend", "alert_html", "alert_lines", "trend_of",
]  # fmt: skip

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "locale": "en",
        "title": "Key account alerts",
        "greeting": "Hello {name},",
        "greeting_anonymous": "Hello,",
        "intro": "{accounts} {verb} attention as of {date}.",
        "sales_ops_intro": (
            "The accounts below have no active owner with a usable e-mail address in the CRM, "
            "so their alerts come to sales ops."
        ),
        "sep": ": ",
        "owner": "Owner",
        "no_owner": "no active owner",
        "crm": "Open in CRM",
        "evidence": "Evidence",
        "trend": "Revenue by month, {period}",
        "trend_last": "latest ({month}) {last}, peak month {peak}",
        "next_step": "Next step",
        "crm_id": "CRM account id",
        "new": "New",
        "escalated": "Severity raised",
        "reminder": "Reminder: open since {first_seen}",
        "footer": (
            "Sent automatically by the KAM alerts pipeline for {date}. An open alert is repeated "
            "after a while and at once when its severity rises; to silence one, "
            "ask sales ops to snooze it."
        ),
    },
    "zh-CN": {
        "locale": "zh-CN",
        "title": "关键客户预警",
        "greeting": "{name}，您好：",
        "greeting_anonymous": "您好：",
        "intro": "截至 {date}，有 {accounts}需要关注。",
        "sep": "：",
        "sales_ops_intro": (
            "以下客户在 CRM 中没有在职且邮箱有效的客户经理，因此预警发送给销售运营团队。"
        ),
        "owner": "客户经理",
        "no_owner": "无在职客户经理",
        "crm": "在 CRM 中查看",
        "evidence": "依据",
        "trend": "月度收入，{period}",
        "trend_last": "最近（{month}）{last}，月度峰值 {peak}",
        "next_step": "下一步",
        "crm_id": "CRM 客户编号",
        "new": "新预警",
        "escalated": "严重程度上升",
        "reminder": "提醒：自 {first_seen} 起未解决",
        "footer": (
            "本邮件由关键客户管理（KAM）预警系统自动发送，数据截至 {date}。"
            "预警未解决时会定期提醒，严重程度上升时立即再次通知；如需暂停提醒，请联系销售运营团队。"
        ),
    },
}

SEVERITY_COLOUR = {"high": "#c9372c", "medium": "#b86e00", "low": "#5e6c84"}


@dataclass(frozen=True)
class AlertView:
    """One alert's texts in the recipient's locale."""

    severity: str
    severity_label: str
    name: str
    notice: str
    reason: str
    evidence: list[tuple[str, str]]
    next_step: str

    @classmethod
    def of(
        cls,
        item: PlannedAlert,
        locale: str,
        notice: str,
        next_steps: Mapping[str, Mapping[str, str]] | None = None,
    ) -> AlertView:
        row = item.row
        return cls(
            severity=row.severity,
            severity_label=SEVERITY_LABEL[locale][row.severity],
            name=rule_name(row.rule_id, locale),
            notice=notice,
            reason=clean_text(reason_for(row.rule_id, row.evidence, locale), 600),
            evidence=[
                (clean_text(k, 80), clean_text(v, 200))
                for k, v in evidence_table(row.rule_id, row.evidence, locale)
            ],
            next_step=clean_text(next_step(row.rule_id, row.evidence, locale, next_steps), 300),
        )


@dataclass(frozen=True)
class Trend:
    """The caption of an account's revenue sparkline."""

    period: str  # "Nov 2025 – Oct 2026"
    month: str  # "Oct 2026"
    last: str  # "$12,345"
    peak: str  # "$20,000"

    def caption(self, texts: Mapping[str, str]) -> tuple[str, str]:
        """(the period line, the last-month-and-peak line) in the digest's locale."""
        return (
            texts["trend"].format(period=self.period),
            texts["trend_last"].format(month=self.month, last=self.last, peak=self.peak),
        )


def _month_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def trend_of(
    values: Sequence[float], as_of: dt.date, locale: str, currency: str
) -> Trend | None:
    """The caption of monthly revenues ``values`` (oldest first, the last being the month of
    ``as_of``), or None with fewer than two months."""
    if len(values) < 2:
        return None
    last_month = dt.date(as_of.year, as_of.month, 1)
    first_month = _month_back(last_month, len(values) - 1)
    known = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    last = float(values[-1]) if values[-1] is not None and math.isfinite(float(values[-1])) else 0.0
    return Trend(
        period=f"{format_month(first_month, locale)} – {format_month(last_month, locale)}",
        month=format_month(last_month, locale),
        last=format_money(last, currency, locale),
        peak=format_money(max(known) if known else 0.0, currency, locale),
    )


def alert_lines(view: AlertView, texts: Mapping[str, str]) -> list[str]:
    """The text/plain lines of one alert."""
    sep = texts["sep"]
    lines = [f"- [{view.severity_label}] {view.name} - {view.notice}", f"  {view.reason}"]
    if view.evidence:
        lines.append(f"  {texts['evidence']}{sep.rstrip()}")
        lines += [f"    {label}{sep}{value}" for label, value in view.evidence]
    lines.append(f"  {texts['next_step']}{sep}{view.next_step}")
    return lines


def alert_html(view: AlertView, texts: Mapping[str, str]) -> str:
    """The HTML table row of one alert (inline CSS only)."""
    e = html.escape
    colour = SEVERITY_COLOUR[view.severity]
    badge = (
        f'<span style="display:inline-block;padding:1px 6px;background-color:{colour};'
        'color:#ffffff;font-size:12px;font-weight:bold;">'
        f"{e(view.severity_label)}</span>"
    )
    cell = [
        f'{badge} <strong>{e(view.name)}</strong> <span style="color:#5e6c84;">&middot; '
        f"{e(view.notice)}</span>",
        f'<div style="margin-top:4px;">{e(view.reason)}</div>',
    ]
    if view.evidence:
        rows = "".join(
            '<tr><td style="padding:1px 12px 1px 0;color:#5e6c84;white-space:nowrap;'
            f'vertical-align:top;">{e(label)}</td>'
            f'<td style="padding:1px 0;">{e(value)}</td></tr>'
            for label, value in view.evidence
        )
        cell.append(
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            'style="margin-top:6px;font-size:12px;line-height:16px;">'
            f'<tr><td colspan="2" style="padding:0 0 2px 0;font-weight:bold;color:#5e6c84;">'
            f"{e(texts['evidence'])}</td></tr>{rows}</table>"
        )
    cell.append(
        '<div style="margin-top:6px;padding:4px 8px;background-color:#e9f2ff;'
        f'border-left:3px solid #0b5cad;"><strong>{e(texts["next_step"])}</strong>'
        f"{e(texts['sep'])}{e(view.next_step)}</div>"
    )
    return (
        '<tr><td style="padding:8px 12px;border-top:1px solid #ebecf0;">'
        f"{''.join(cell)}</td></tr>"
    )
