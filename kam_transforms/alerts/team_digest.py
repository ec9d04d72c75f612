"""The monthly manager digest: one e-mail per manager and month-end with the team's scorecard.

It shows one row per account manager (0-100 scorecard score, key accounts, trailing 12-month
gross margin and its growth, plan attainment), the team's plan attainment and its key accounts
at risk (:mod:`~kam_transforms.alerts.team_source`), in the manager's locale (``en`` or
``zh-CN``, values formatted with Babel by :mod:`~kam_transforms.alerts.localise`, alert rule
names from the catalogue). It travels the alert digests' path: a
:class:`~kam_transforms.alerts.deliver.PlannedDelivery` in the run's delivery plan, recorded in
the alert state before it is sent (:func:`~kam_transforms.alerts.deliver.deliver`).

Its delivery id, ``team.<YYYYMMDD>.<manager>.<12 hex>``, depends on the manager and the
month-end only, so a rerun of the date (even over a rebuilt warehouse) finds it ``sent`` and
sends nothing; an unsent one stays owed and is retried by the next runs, never superseded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from kam_transforms.alerts.deliver import PlannedDelivery
from kam_transforms.alerts.localise import format_iso_date, format_money, format_month, format_share
from kam_transforms.alerts.model import clean_text
from kam_transforms.alerts.reasons import rule_name
from kam_transforms.alerts.render import MESSAGE_ID_DOMAIN, sender_address
from kam_transforms.alerts.team_source import AtRiskAccount, TeamScorecard
from kam_transforms.textsafe import strip_bidi_controls

__all__ = ["TEAM_DELIVERY_PREFIX", "render_team_digest", "team_deliveries", "team_delivery_id"]

#: Delivery ids (and ``.eml`` names) of manager digests start with this.
TEAM_DELIVERY_PREFIX = "team."

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "KAM team {month}: {managers}, {at_risk} at risk",
        "title": "Team scorecard",
        "greeting": "Hello {name},",
        "greeting_anonymous": "Hello,",
        "intro": "The scorecard of your team{team} as of {date}.",
        "team_name": " ({team})",
        "team_line": "Team score {score} · {keys} key accounts · margin (12 months) {margin}, "
        "growth {growth}",
        "plan_line": "Plan attainment {attainment} of the margin target {target} "
        "({to_date} to date), {pace} of the pace expected by now; plans on track {on_track}, "
        "at risk {at_risk}, behind {behind}; key accounts without a plan {without}.",
        "no_plans": "No account plan of the team is measured yet.",
        "members": "Account managers",
        "cols": "Account manager|Score|Key accounts|Margin (12 months)|Growth|Plan attainment",
        "at_risk": "Key accounts at risk",
        "risk_cols": "Account|Account manager|Margin (12 months)|Why",
        "none_at_risk": "No key account of the team is at risk.",
        "more": "…and {count} more key accounts at risk (see the cockpit).",
        "red_health": "health red",
        "plan_behind": "plan behind",
        "high_alert": "high alert: {rules}",
        "footer": "Sent automatically once a month by the KAM pipeline for {date}; the table "
        "account_manager_scorecards holds every figure.",
        "na": "n/a",
        "managers_one": "1 account manager",
        "managers": "{count} account managers",
        "accounts_one": "1 key account",
        "accounts": "{count} key accounts",
        "sep": ", ",
    },
    "zh-CN": {
        "subject": "关键客户团队月度考核 {month}：{managers}，{at_risk}有风险",
        "title": "团队考核",
        "greeting": "{name}，您好：",
        "greeting_anonymous": "您好：",
        "intro": "以下是您的团队{team}截至 {date} 的考核结果。",
        "team_name": "（{team}）",
        "team_line": "团队得分 {score} · 重点客户 {keys} 个 · 近 12 个月毛利 {margin}，"
        "增长 {growth}",
        "plan_line": "计划完成率：毛利目标 {target} 已完成 {attainment}（迄今 {to_date}），"
        "为当前应达进度的 {pace}；按计划 {on_track} 个，有风险 {at_risk} 个，落后 {behind} 个；"
        "无计划的重点客户 {without} 个。",
        "no_plans": "团队尚无可衡量的客户计划。",
        "members": "客户经理",
        "cols": "客户经理|得分|重点客户|近 12 个月毛利|增长|计划完成率",
        "at_risk": "有风险的重点客户",
        "risk_cols": "客户|客户经理|近 12 个月毛利|原因",
        "none_at_risk": "团队没有有风险的重点客户。",
        "more": "……另有 {count} 个有风险的重点客户（请查看驾驶舱）。",
        "red_health": "健康等级红色",
        "plan_behind": "计划落后",
        "high_alert": "高级别预警：{rules}",
        "footer": "本邮件由关键客户管理（KAM）系统每月自动发送，数据截至 {date}；所有数据见 "
        "account_manager_scorecards 表。",
        "na": "无",
        "managers_one": "1 位客户经理",
        "managers": "{count} 位客户经理",
        "accounts_one": "1 个重点客户",
        "accounts": "{count} 个重点客户",
        "sep": "；",
    },
}


def team_delivery_id(manager_email: str, as_of: dt.date) -> str:
    """``team.<YYYYMMDD>.<manager>.<12 hex>``: one per manager and month-end (the
    manager part cut to 16 characters so the Message-ID header is never folded)."""
    address = manager_email.strip().lower()
    slug = re.sub(r"[^a-z0-9._-]", "-", address.replace("@", "_at_"))[:16].strip("._-") or "x"
    digest = hashlib.sha256(f"team\n{address}\n{as_of.isoformat()}".encode()).hexdigest()[:12]
    return f"{TEAM_DELIVERY_PREFIX}{as_of:%Y%m%d}.{slug}.{digest}"


def _count(texts: dict[str, str], kind: str, count: int) -> str:
    return texts[f"{kind}_one"] if count == 1 else texts[kind].format(count=count)


def _share(value: float | None, texts: dict[str, str], locale: str) -> str:
    return texts["na"] if value is None else format_share(value, locale)


def _score(value: float | None, texts: dict[str, str]) -> str:
    return texts["na"] if value is None else f"{value:.1f}"


def _why(account: AtRiskAccount, texts: dict[str, str], locale: str) -> str:
    parts = []
    if account.health_band == "red":
        parts.append(texts["red_health"])
    if account.plans_behind:
        parts.append(texts["plan_behind"])
    if account.high_alert_rules:
        names = "、" if locale == "zh-CN" else ", "
        rules = names.join(rule_name(r, locale) for r in account.high_alert_rules)
        parts.append(texts["high_alert"].format(rules=rules))
    return texts["sep"].join(parts)


def _tables(
    team: TeamScorecard, texts: dict[str, str], locale: str, currency: str
) -> tuple[list[list[str]], list[list[str]]]:
    def money(value: float | None) -> str:
        return texts["na"] if value is None else format_money(value, currency, locale)

    members = [
        [
            clean_text(m.name, 100),
            _score(m.scorecard_score, texts),
            str(m.key_account_count),
            money(m.gross_margin_t12m),
            _share(m.gross_margin_growth_share, texts, locale),
            _share(m.plan_margin_attainment_share, texts, locale),
        ]
        for m in team.members
    ]
    risks = [
        [
            f"{clean_text(a.customer_name, 100)} ({a.customer_id})",
            clean_text(a.owner_name, 100),
            money(a.gross_margin_t12m),
            _why(a, texts, locale),
        ]
        for a in team.at_risk
    ]
    return members, risks


def _summary(team: TeamScorecard, texts: dict[str, str], locale: str, currency: str) -> list[str]:
    lines = [
        texts["team_line"].format(
            score=_score(team.scorecard_score, texts),
            keys=team.key_account_count,
            margin=format_money(team.gross_margin_t12m, currency, locale),
            growth=_share(team.gross_margin_growth_share, texts, locale),
        )
    ]
    if team.plan_margin_target_base:
        lines.append(
            texts["plan_line"].format(
                attainment=_share(team.plan_margin_attainment_share, texts, locale),
                target=format_money(team.plan_margin_target_base, currency, locale),
                to_date=format_money(team.plan_margin_to_date_base or 0.0, currency, locale),
                pace=_share(team.plan_margin_pace_share, texts, locale),
                on_track=team.plans_on_track,
                at_risk=team.plans_at_risk,
                behind=team.plans_behind,
                without=team.key_accounts_without_plan,
            )
        )
    else:
        lines.append(texts["no_plans"])
    return lines


def _text_table(head: str, rows: Sequence[Sequence[str]]) -> list[str]:
    return [" | ".join(head.split("|")), *(" | ".join(row) for row in rows)]


def _html_table(head: str, rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    cell = 'style="padding:4px 8px;border-bottom:1px solid #dfe1e6;text-align:left;"'
    out = ['<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
           'style="border-collapse:collapse;width:100%;font-size:13px;">', "<tr>"]  # fmt: skip
    out += [f'<th {cell}>{e(h)}</th>' for h in head.split("|")]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td {cell}>{e(v)}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_team_digest(
    team: TeamScorecard, *, as_of: dt.date, mail_from: str, currency: str = "USD"
) -> EmailMessage:
    """The manager digest of ``team`` for the month-end ``as_of`` (text/plain + HTML)."""
    locale = team.locale if team.locale in TEXTS else "en"
    texts = TEXTS[locale]
    delivery_id = team_delivery_id(team.manager_email, as_of)
    date = format_iso_date(as_of, locale)
    name = clean_text(team.manager_name, 100)
    greeting = texts["greeting"].format(name=name) if name else texts["greeting_anonymous"]
    team_name = texts["team_name"].format(team=clean_text(team.team, 60)) if team.team else ""
    intro = texts["intro"].format(team=team_name, date=date)
    subject = texts["subject"].format(
        month=format_month(as_of, locale),
        managers=_count(texts, "managers", len(team.members)),
        at_risk=_count(texts, "accounts", team.at_risk_total),
    )
    summary = _summary(team, texts, locale, currency)
    members, risks = _tables(team, texts, locale, currency)
    more = team.at_risk_total - len(team.at_risk)
    footer = texts["footer"].format(date=date)

    lines = [greeting, "", intro, "", *summary, "", f"== {texts['members']} =="]
    lines += _text_table(texts["cols"], members)
    lines += ["", f"== {texts['at_risk']} =="]
    lines += _text_table(texts["risk_cols"], risks) if risks else [texts["none_at_risk"]]
    if more > 0:
        lines.append(texts["more"].format(count=more))
    lines += ["", "--", footer, ""]
    text = strip_bidi_controls("\n".join(lines))

    e = html.escape
    section = '<h3 style="font-size:15px;margin:16px 0 6px 0;">{}</h3>'
    body = [
        "<!DOCTYPE html>",
        f'<html lang="{e(locale)}"><head><meta charset="utf-8"><title>{e(subject)}</title>'
        "</head>",
        '<body style="margin:0;padding:16px;background-color:#f4f5f7;font-family:Arial,'
        "Helvetica,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
        'font-size:14px;line-height:20px;color:#172b4d;">',
        '<div style="max-width:760px;margin:0 auto;background-color:#ffffff;'
        'border:1px solid #dfe1e6;padding:16px 24px;">',
        f'<div style="font-size:18px;font-weight:bold;">{e(texts["title"])} {e(date)}</div>',
        f"<p>{e(greeting)}<br>{e(intro)}</p>",
        "<p>" + "<br>".join(e(line) for line in summary) + "</p>",
        section.format(e(texts["members"])),
        _html_table(texts["cols"], members),
        section.format(e(texts["at_risk"])),
        _html_table(texts["risk_cols"], risks) if risks else f"<p>{e(texts['none_at_risk'])}</p>",
    ]
    if more > 0:
        body.append(f"<p>{e(texts['more'].format(count=more))}</p>")
    body += [f'<p style="color:#5e6c84;font-size:12px;">{e(footer)}</p>', "</div></body></html>"]
    html_text = strip_bidi_controls("\n".join(body) + "\n")

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender_address(mail_from)
    msg["To"] = Address(display_name=name, addr_spec=team.manager_email)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC))
    msg["Message-ID"] = f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    for part, subtype in ((text, "plain"), (html_text, "html")):
        add = msg.set_content if subtype == "plain" else msg.add_alternative
        add(part, subtype=subtype, charset="utf-8", cte=None if part.isascii() else "base64")
    msg.set_boundary(f"=_alternative_{delivery_id}")  # fixed: the same run renders the same bytes
    msg["Content-Language"] = locale
    return msg


def team_deliveries(
    teams: Sequence[TeamScorecard], *, as_of: dt.date, mail_from: str, currency: str = "USD"
) -> list[PlannedDelivery]:
    """One planned delivery per team (no alerts attached: sending it notifies no alert)."""
    return [
        PlannedDelivery(
            delivery_id=team_delivery_id(team.manager_email, as_of),
            recipient=team.manager_email,
            cc=(),
            locale=team.locale,
            message=render_team_digest(team, as_of=as_of, mail_from=mail_from, currency=currency),
            alert_severities={},
        )
        for team in teams
    ]
