"""Render one digest e-mail per recipient: text/plain + HTML, English or Simplified Chinese.

The message is a ``multipart/alternative`` :class:`email.message.EmailMessage` (policy
``SMTP``): a text/plain part and an HTML part made of tables with inline CSS only (no
external assets, no scripts), optionally ``multipart/related`` with small PNG sparklines
referenced by ``cid:``. Every value from the warehouse is HTML-escaped in the HTML part;
every header value is built from validated addresses (``email.headerregistry.Address``) and
one-line text with control characters removed, so no value can add a header. Non-ASCII
subjects and names are RFC 2047 encoded by the email package.

``Message-ID`` is ``<delivery_id@kam-alerts>`` and ``Date`` is midnight UTC of the as-of
date, so the same run renders the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlsplit

from kam_transforms.alerts.digest_parts import (
    SEVERITY_COLOUR,
    TEXTS,
    AlertView,
    Trend,
    alert_html,
    alert_lines,
    trend_of,
)
from kam_transforms.alerts.localise import format_iso_date, supported_locale
from kam_transforms.alerts.model import clean_text
from kam_transforms.alerts.outbox import PlannedAlert
from kam_transforms.alerts.overview import (
    DEFAULT_MAX_ACCOUNTS,
    Customer,
    csv_name,
    full_list_csv,
    more_line,
    order_customers,
    summary_lines,
)
from kam_transforms.alerts.routing import Digest, normalise_address
from kam_transforms.alerts.sparkline import sparkline_png
from kam_transforms.textsafe import strip_bidi_controls

__all__ = [
    "CRM_BASE_URL_ENV",
    "MESSAGE_ID_DOMAIN",
    "crm_url",
    "delivery_id_for",
    "render_digest",
    "resolve_crm_base_url",
    "sender_address",
    "subject_for",
]

CRM_BASE_URL_ENV = "KAM_CRM_BASE_URL"
MESSAGE_ID_DOMAIN = "kam-alerts"

def _locale(locale: str) -> str:
    return supported_locale(locale)


def _accounts(locale: str, count: int) -> str:
    if locale == "zh-CN":
        return f"{count} 个客户"
    return f"{count} account" if count == 1 else f"{count} accounts"


def _intro(texts: Mapping[str, str], locale: str, as_of: dt.date, count: int) -> str:
    return texts["intro"].format(
        date=format_iso_date(as_of, locale),
        accounts=_accounts(locale, count),
        verb="needs" if count == 1 else "need",
    )


def subject_for(locale: str, as_of: dt.date, customer_count: int) -> str:
    """``KAM alerts 2026-10-31: 3 accounts need attention`` or
    ``关键客户预警 2026-10-31：3 个客户需要关注``."""
    if _locale(locale) == "zh-CN":
        return f"关键客户预警 {as_of.isoformat()}：{customer_count} 个客户需要关注"
    verb = "needs" if customer_count == 1 else "need"
    return f"KAM alerts {as_of.isoformat()}: {_accounts('en', customer_count)} {verb} attention"


def delivery_id_for(recipient: str, as_of: dt.date, alert_keys: Iterable[str]) -> str:
    """Stable id of a digest, ``kam.<YYYYMMDD>.<recipient>.<12 hex>``: the same recipient,
    date and set of alert keys give the same id.

    Used as the ``.eml`` file name and as the local part of the Message-ID; the recipient
    part is the address in lower case with ``@`` as ``_at_`` and any other character outside
    ``[a-z0-9._-]`` as ``-``, cut to 24 characters so the ``Message-ID`` header stays within
    78 characters and is never folded (the hash covers the whole address).
    """
    address = recipient.strip().lower()
    material = "\n".join([address, as_of.isoformat(), *sorted(set(alert_keys))])
    slug = re.sub(r"[^a-z0-9._-]", "-", address.replace("@", "_at_"))[:24].strip("._-") or "x"
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:12]
    return f"kam.{as_of:%Y%m%d}.{slug}.{digest}"


def resolve_crm_base_url(crm_base_url: str | None = None) -> str | None:
    """The CRM base URL from the argument, else ``KAM_CRM_BASE_URL``, else None.

    Raises
    ------
    ValueError
        When the URL is not an absolute http(s) URL.
    """
    value = crm_base_url if crm_base_url is not None else os.environ.get(CRM_BASE_URL_ENV)
    if not value or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(ord(c) < 33 for c in value):
        raise ValueError(f"CRM base URL must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/")


def crm_url(base_url: str | None, account_id: str | None) -> str | None:
    """The account's CRM record: ``<base>/<account_id>``, or the base with ``{account_id}``
    replaced where it has one (``https://app.hubspot.com/contacts/123/record/0-2/{account_id}``);
    the id percent-encoded. None without a base URL or an account id."""
    if not base_url or not account_id:
        return None
    encoded = quote(account_id, safe="")
    if "{account_id}" in base_url:
        return base_url.replace("{account_id}", encoded)
    return f"{base_url}/{encoded}"


def _notice(texts: Mapping[str, str], item: PlannedAlert) -> str:
    if item.notify_reason == "reminder":
        first_seen = format_iso_date(item.first_seen, texts["locale"])
        return texts["reminder"].format(first_seen=first_seen)
    return texts.get(item.notify_reason, texts["new"])


def sender_address(value: str, default_name: str = "KAM alerts") -> Address:
    """Parse ``addr@domain`` or ``Name <addr@domain>`` into a header-safe Address."""
    name, addr = parseaddr(clean_text(value, 300))
    spec = normalise_address(addr)
    if spec is None:
        raise ValueError(f"sender address {value!r} is not a valid e-mail address")
    return Address(display_name=clean_text(name, 100) or default_name, addr_spec=spec)


def _sparkline_cid(customer_id: str) -> str:
    return (
        f"trend.{hashlib.sha256(customer_id.encode('utf-8')).hexdigest()[:16]}@{MESSAGE_ID_DOMAIN}"
    )


@dataclass(frozen=True)
class _Account:
    """One account of the digest with its texts in the recipient's locale."""

    customer: Customer
    link: str | None
    trend: Trend | None
    sparkline_cid: str | None
    alerts: list[AlertView]


def _text_body(
    texts: Mapping[str, str], digest: Digest, accounts: Sequence[_Account], as_of: dt.date,
    overview: Sequence[str], total: int,
) -> str:  # fmt: skip
    locale = _locale(digest.locale)
    sep = texts["sep"]
    name = clean_text(digest.recipient_name, 100)
    lines = [texts["greeting"].format(name=name) if name else texts["greeting_anonymous"], ""]
    lines.append(_intro(texts, locale, as_of, total))
    if digest.to_sales_ops:
        lines.append(texts["sales_ops_intro"])
    lines += ["", *overview]
    for account in accounts:
        customer = account.customer
        lines += ["", f"== {customer.name} ({customer.customer_id}) =="]
        lines.append(f"{texts['owner']}{sep}{customer.owner_name or texts['no_owner']}")
        if account.link:
            lines.append(f"{texts['crm']}{sep}{account.link}")
        elif customer.account_id:
            lines.append(f"{texts['crm_id']}{sep}{clean_text(customer.account_id, 80)}")
        if account.trend:
            period, last = account.trend.caption(texts)
            lines.append(f"{period}{sep}{last}")
        for view in account.alerts:
            lines += alert_lines(view, texts)
    lines += ["", "--", texts["footer"].format(date=format_iso_date(as_of, locale)), ""]
    return "\n".join(lines)


def _account_head(texts: Mapping[str, str], account: _Account) -> str:
    e = html.escape
    customer = account.customer
    head = [
        f'<strong style="font-size:15px;">{e(customer.name)}</strong> '
        f'<span style="color:#5e6c84;">{e(customer.customer_id)}</span>',
        f'<br><span style="color:#5e6c84;">{e(texts["owner"] + texts["sep"])}'
        f"{e(customer.owner_name or texts['no_owner'])}</span>",
    ]
    if account.link:
        head.append(
            f' &middot; <a href="{e(account.link, quote=True)}" '
            'style="color:#0b5cad;text-decoration:underline;">'
            f"{e(texts['crm'])}</a>"
        )
    elif customer.account_id:
        head.append(
            f' &middot; <span style="color:#5e6c84;">{e(texts["crm_id"] + texts["sep"])}'
            f"{e(clean_text(customer.account_id, 80))}</span>"
        )
    if account.trend and account.sparkline_cid:
        caption, last = account.trend.caption(texts)
        head.append(
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            'style="margin-top:6px;"><tr>'
            f'<td style="vertical-align:middle;padding-right:8px;">'
            f'<img src="cid:{e(account.sparkline_cid, quote=True)}" width="120" height="28" '
            f'alt="{e(caption, quote=True)}" style="display:block;border:0;"></td>'
            '<td style="vertical-align:middle;font-size:12px;line-height:15px;color:#5e6c84;">'
            f"{e(caption)}<br>"
            f"{e(last)}</td>"
            "</tr></table>"
        )
    return f'<tr><td style="padding:8px 12px;background-color:#f7f8fa;">{"".join(head)}</td></tr>'


def _html_body(
    texts: Mapping[str, str], digest: Digest, accounts: Sequence[_Account], as_of: dt.date,
    subject: str, overview: Sequence[str], total: int,
) -> str:  # fmt: skip
    locale = _locale(digest.locale)
    e = html.escape
    font = "Arial,Helvetica,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif"
    name = clean_text(digest.recipient_name, 100)
    greeting = texts["greeting"].format(name=name) if name else texts["greeting_anonymous"]
    intro = _intro(texts, locale, as_of, total)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{e(locale)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(subject)}</title></head>",
        '<body style="margin:0;padding:0;background-color:#f4f5f7;">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background-color:#f4f5f7;"><tr><td align="center" style="padding:16px 8px;">',
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #dfe1e6;'
        f'font-family:{font};font-size:14px;line-height:20px;color:#172b4d;">',
        '<tr><td style="padding:16px 24px;background-color:#0b3d91;color:#ffffff;font-size:18px;'
        f'font-weight:bold;">{e(texts["title"])} {e(format_iso_date(as_of, locale))}</td></tr>',
        f'<tr><td style="padding:16px 24px 8px 24px;">{e(greeting)}<br>{e(intro)}',
    ]
    if digest.to_sales_ops:
        out.append(f'<br><span style="color:#5e6c84;">{e(texts["sales_ops_intro"])}</span>')
    out.append("</td></tr>")
    out.append(
        '<tr><td style="padding:0 24px 8px 24px;"><div style="padding:8px 12px;'
        'background-color:#f7f8fa;border:1px solid #dfe1e6;">'
        + "<br>".join(e(line) for line in overview)
        + "</div></td></tr>"
    )
    for account in accounts:
        colour = SEVERITY_COLOUR[account.customer.alerts[0].row.severity]
        out.append('<tr><td style="padding:8px 24px;">')
        out.append(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            f'style="border:1px solid #dfe1e6;border-left:4px solid {colour};">'
        )
        out.append(_account_head(texts, account))
        out += [alert_html(view, texts) for view in account.alerts]
        out.append("</table></td></tr>")
    out.append(
        '<tr><td style="padding:16px 24px;color:#5e6c84;font-size:12px;line-height:16px;">'
        f"{e(texts['footer'].format(date=format_iso_date(as_of, locale)))}</td></tr>"
    )
    out.append("</table></td></tr></table></body></html>")
    return "\n".join(out) + "\n"


def _cte(text: str) -> str | None:
    # ASCII bodies may go 7bit (the email package decides); anything else base64, so the
    # message never needs 8BITMIME from the server.
    return None if text.isascii() else "base64"


def render_digest(
    digest: Digest,
    *,
    as_of: dt.date,
    mail_from: str,
    delivery_id: str | None = None,
    crm_base_url: str | None = None,
    revenue_history: Mapping[str, Sequence[float]] | None = None,
    margins: Mapping[str, float] | None = None,
    currency: str = "USD",
    max_accounts: int = DEFAULT_MAX_ACCOUNTS,
    next_steps: Mapping[str, Mapping[str, str]] | None = None,
    cockpit_url: str | None = None,
) -> EmailMessage:
    """Render one digest.

    Parameters
    ----------
    digest
        The recipient, cc, locale and alerts
        (from :func:`~kam_transforms.alerts.routing.group_by_recipient`).
    as_of
        The run date: shown in the subject and body and used for the ``Date`` header.
    mail_from
        ``addr@domain`` or ``Name <addr@domain>``.
    delivery_id
        Local part of the Message-ID; computed with :func:`delivery_id_for` when omitted.
    crm_base_url
        Links each customer to ``<base>/<account_id>``; not resolved from the environment
        here (see :func:`resolve_crm_base_url`).
    revenue_history
        Optional ``customer_id -> monthly revenue, oldest first``; customers with at least
        two values get an inline PNG sparkline (``multipart/related``, ``cid:``).
    margins, currency
        Optional ``customer_id -> trailing 12-month gross margin`` in ``currency``: orders
        accounts of one severity and names the most at stake in the summary.
    max_accounts
        Accounts shown (highest severity and margin first); with more, a line says how many
        more and a CSV attachment (:func:`~kam_transforms.alerts.overview.full_list_csv`)
        lists every alert of every account.
    next_steps
        ``rule_id -> locale -> text`` replacing the catalogue's next steps
        (:func:`~kam_transforms.alerts.reasons.load_next_steps`).
    cockpit_url
        The recipient's page of the KAM cockpit
        (:func:`~kam_transforms.alerts.cockpit_link.cockpit_url`): a line of the summary.

    Raises
    ------
    MissingTemplateError, EvidenceError
        When the catalogue lacks a text of a rule in the digest, or a row's evidence is not
        typed or lacks a value its template uses (:mod:`~kam_transforms.alerts.reasons`).
    """
    if max_accounts < 1:
        raise ValueError(f"max_accounts must be >= 1, got {max_accounts}")
    locale = _locale(digest.locale)
    texts = TEXTS[locale]
    if delivery_id is None:
        delivery_id = delivery_id_for(
            digest.recipient, as_of, (a.row.dedup_key for a in digest.alerts)
        )
    customers = order_customers(digest.alerts, margins)
    subject = subject_for(locale, as_of, len(customers))
    shown = customers[:max_accounts]
    overview = summary_lines(locale, customers, currency)
    attachment = csv_name(as_of.isoformat()) if len(customers) > len(shown) else None
    if attachment:
        overview.append(more_line(locale, len(shown), len(customers), attachment))
    if cockpit_url:
        from kam_transforms.alerts.cockpit_link import COCKPIT_LINE

        overview.append(COCKPIT_LINE[locale].format(url=cockpit_url))

    images: list[tuple[str, bytes]] = []
    accounts = []
    for customer in shown:
        history = (revenue_history or {}).get(customer.customer_id)
        trend = trend_of(history, as_of, locale, currency) if history is not None else None
        cid = _sparkline_cid(customer.customer_id) if trend and history is not None else None
        if cid and history is not None:
            images.append((cid, sparkline_png(history)))
        views = [
            AlertView.of(item, locale, _notice(texts, item), next_steps) for item in customer.alerts
        ]
        link = crm_url(crm_base_url, customer.account_id)
        accounts.append(_Account(customer, link, trend, cid, views))

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender_address(mail_from)
    msg["To"] = Address(
        display_name=clean_text(digest.recipient_name, 100), addr_spec=digest.recipient
    )
    if digest.cc:
        msg["Cc"] = [Address(addr_spec=address) for address in digest.cc]
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC))
    msg["Message-ID"] = f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"

    total = len(customers)
    text = strip_bidi_controls(_text_body(texts, digest, accounts, as_of, overview, total))
    body = strip_bidi_controls(
        _html_body(texts, digest, accounts, as_of, subject, overview, total)
    )
    msg.set_content(text, subtype="plain", charset="utf-8", cte=_cte(text))
    msg.add_alternative(body, subtype="html", charset="utf-8", cte=_cte(body))
    if images:
        html_part = list(msg.iter_parts())[1]
        assert isinstance(html_part, EmailMessage)  # noqa: S101 - built just above
        for cid, png in images:
            html_part.add_related(
                png, "image", "png", cid=f"<{cid}>", disposition="inline", filename="trend.png"
            )
        html_part.set_boundary(f"=_related_{delivery_id}")
    # Fixed boundaries (the email package picks random ones) keep the bytes reproducible.
    msg.set_boundary(f"=_alternative_{delivery_id}")
    if attachment:
        links = {c.customer_id: crm_url(crm_base_url, c.account_id) for c in customers}
        msg.add_attachment(
            full_list_csv(customers, locale, links),
            maintype="text",
            subtype="csv",
            filename=attachment,
        )  # the message becomes multipart/mixed: alternative + the CSV
        msg.set_boundary(f"=_mixed_{delivery_id}")
    msg["Content-Language"] = locale  # last: set_content and add_attachment move Content-*
    return msg
