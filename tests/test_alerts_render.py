"""Digest rendering and routing: content, ordering, locales, escaping and header safety."""

from __future__ import annotations

import datetime as dt
import email
import re
import struct
import zlib
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alert_fixtures import alert_frame, alert_row, alert_settings, typed

from kam_transforms.alerts import (
    OutboxState,
    delivery_id_for,
    group_by_recipient,
    preview_alerts,
    route_alert,
)
from kam_transforms.alerts.model import clean_text, iter_alert_rows
from kam_transforms.config import Settings

AS_OF = dt.date(2026, 10, 31)


def alert(**overrides: Any) -> dict[str, Any]:
    customer_id = overrides.get("customer_id", "C001")
    rule_id = overrides.get("rule_id", "no_touchpoint")
    return alert_row(
        **{
            "alert_id": f"id-{customer_id}-{rule_id}",
            "account_id": f"A-{customer_id}",
            **overrides,
        }
    )


frame = alert_frame


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alert_settings(tmp_path)


def render(settings: Settings, df: pd.DataFrame, **kwargs: Any) -> list[EmailMessage]:
    kwargs.setdefault("crm_base_url", "")
    return preview_alerts(df, AS_OF, settings, settings.home / "state.sqlite", **kwargs)


def parse(msg: EmailMessage) -> EmailMessage:
    """Round-trip through bytes, as a receiving client sees it."""
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    assert plain is not None and html_part is not None
    # canonical MIME text has CRLF line breaks; compare with \n
    return plain.get_content().replace("\r\n", "\n"), html_part.get_content().replace("\r\n", "\n")


def test_en_digest_groups_customers_by_severity_then_name(settings: Settings) -> None:
    df = frame(
        alert(
            customer_id="C3", customer_name="Zeta Corp", rule_id="no_touchpoint", severity="high"
        ),
        alert(
            customer_id="C1",
            customer_name="Alpha Inc",
            rule_id="revenue_decline",
            alert_type="risk",
            severity="low",
        ),
        alert(
            customer_id="C1",
            customer_name="Alpha Inc",
            rule_id="overdue_invoices",
            alert_type="payment",
            severity="medium",
        ),
        alert(
            customer_id="C2",
            customer_name="beta Ltd",
            rule_id="competitor_loss",
            alert_type="risk",
            severity="high",
        ),
    )
    [msg] = render(settings, df, crm_base_url="https://crm.example.com/accounts/")
    msg = parse(msg)
    assert msg["Subject"] == "KAM alerts 2026-10-31: 3 accounts need attention"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text, body = parts(msg)

    # customers: high first (beta before Zeta, case-insensitive name), then Alpha (medium)
    headings = [line for line in text.splitlines() if line.startswith("== ")]
    assert headings == ["== beta Ltd (C2) ==", "== Zeta Corp (C3) ==", "== Alpha Inc (C1) =="]
    assert body.index("beta Ltd") < body.index("Zeta Corp") < body.index("Alpha Inc")
    # within a customer: severity order
    assert text.index("[MEDIUM] Overdue invoices - New") < text.index(
        "[LOW] Revenue decline - New"
    )
    assert text.startswith("Hello Ann Lee,\n\n3 accounts need attention as of Oct 31, 2026.\n")
    # reasons rendered from the typed evidence (alert_fixtures.SAMPLE_EVIDENCE), en formats
    for reason in (
        "No touchpoint for 95 days (last on Jul 28, 2026); class A accounts need one every "
        "60 days.",
        "$12,400 overdue on 2 invoice(s); the oldest is 45 days past due (limits $50,000 or "
        "90 days).",
        "Opportunity OPP-1 (€50,000) was lost to Globex on Sep 30, 2026, 31 days ago.",
        "Trailing 12-month revenue fell 62% ($1,234,567 → $469,135).",
    ):
        assert reason in text and reason in body
    # evidence: a labelled table, not a key/value dump; a next step per alert
    assert (
        "  Evidence:\n    Since the last touchpoint: 95 days\n    Last touchpoint: Jul 28, 2026\n"
        in text
    )
    assert re.search(r">Overdue amount</td><td[^>]*>\$12,400</td>", body)
    assert "  Next step: Agree on a payment date with the customer's finance contact.\n" in text
    assert text.count("Next step: ") == 4
    for rule_id in ("no_touchpoint", "overdue_invoices", "competitor_loss", "revenue_decline"):
        assert rule_id not in text and rule_id not in body  # human names, not ids
    assert "Owner: Ann Lee" in text
    # CRM links, trailing slash of the base removed
    assert "Open in CRM: https://crm.example.com/accounts/A-C2" in text
    assert 'href="https://crm.example.com/accounts/A-C1"' in body
    # inline CSS only, no external assets or scripts
    lowered = body.lower()
    assert "<style" not in lowered and "<link" not in lowered and "<script" not in lowered
    assert 'src="http' not in lowered and "url(" not in lowered
    assert "<table" in lowered and 'style="' in lowered
    # the manager is copied on high severity
    assert msg["To"] == "Ann Lee <ann@example.com>"
    assert msg["Cc"] == "boss@example.com"


def test_no_crm_link_without_base_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAM_CRM_BASE_URL", raising=False)
    [msg] = preview_alerts(frame(alert()), AS_OF, settings, settings.home / "s.sqlite")
    text, body = parts(parse(msg))
    assert "Open in CRM" not in text and "href=" not in body
    # without a link the account's CRM id is shown, to look it up
    assert "CRM account id: A-C001" in text and "CRM account id: </span>" not in body
    assert "A-C001" in body


def test_crm_link_from_a_record_url_pattern(settings: Settings) -> None:
    pattern = "https://app.hubspot.com/contacts/123/record/0-2/{account_id}"
    [msg] = render(settings, frame(alert(account_id="9 01")), crm_base_url=pattern)
    text, body = parts(parse(msg))
    assert "Open in CRM: https://app.hubspot.com/contacts/123/record/0-2/9%2001\n" in text
    assert 'href="https://app.hubspot.com/contacts/123/record/0-2/9%2001"' in body


def test_crm_base_url_from_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAM_CRM_BASE_URL", "https://crm.example.com/r")
    df = frame(alert(account_id="ACC 7/x"))
    [msg] = preview_alerts(df, AS_OF, settings, settings.home / "s.sqlite")
    text, body = parts(parse(msg))
    assert "Open in CRM: https://crm.example.com/r/ACC%207%2Fx" in text
    assert 'href="https://crm.example.com/r/ACC%207%2Fx"' in body


def test_crm_base_url_must_be_http(settings: Settings) -> None:
    with pytest.raises(ValueError, match="http"):
        render(settings, frame(alert()), crm_base_url="javascript:alert(1)//")


def test_every_value_is_html_escaped(settings: Settings) -> None:
    df = frame(
        alert(
            customer_name='<script>alert("x")</script> & Co',
            owner_name="Ann <img src=x onerror=alert(1)>",
            rule_id="competitor_loss",
            evidence=typed(
                opportunity_id=("O<1>", "id"), competitor=("<b>Globex</b> & Co", "text"),
                closed_date=("2026-09-30", "date"), days_since_lost=(31, "days"),
                amount=(1.0, "money", "USD"), amount_base=(1.0, "money", "USD"),
                revenue_t12m=(1.0, "money", "USD"),
            ),
        )
    )
    [msg] = render(settings, df, crm_base_url="https://crm.example.com/a?x=1&y=2")
    _, body = parts(parse(msg))
    assert "<script>" not in body and "<b>Globex" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in body
    assert "was lost to &lt;b&gt;Globex&lt;/b&gt; &amp; Co on" in body  # reason
    assert "&lt;b&gt;Globex&lt;/b&gt; &amp; Co</td>" in body  # evidence table
    assert "O&lt;1&gt;" in body
    assert 'href="https://crm.example.com/a?x=1&amp;y=2/A-C001"' in body


def test_zh_cn_digest_text(settings: Settings) -> None:
    df = frame(
        alert(
            customer_id="C8",
            customer_name="北京华信科技有限公司",
            owner_name="王芳",
            owner_email="wang.fang@example.cn",
            owner_locale="zh_CN",
            manager_email=None,
        ),
        alert(
            customer_id="C9",
            customer_name="上海远东贸易",
            owner_name="王芳",
            owner_email="wang.fang@example.cn",
            owner_locale="zh-CN",
            rule_id="overdue_invoices",
            alert_type="payment",
            severity="medium",
        ),
    )
    [msg] = render(settings, df, crm_base_url="https://crm.example.com/accounts")
    raw = msg.as_bytes()
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert subject_line.isascii() and b"=?utf-8?" in subject_line  # RFC 2047 encoded
    msg = parse(msg)
    assert msg["Subject"] == "关键客户预警 2026-10-31：2 个客户需要关注"
    assert msg["To"].addresses[0].display_name == "王芳"
    assert msg["Content-Language"] == "zh-CN"
    text, body = parts(msg)
    intro = "截至 2026年10月31日，有 2 个客户需要关注。"
    assert text.splitlines()[:3] == ["王芳，您好：", "", intro]
    assert (
        "== 北京华信科技有限公司 (C8) ==\n客户经理：王芳\n在 CRM 中查看：https://crm.example.com/accounts/A-C8\n"
        in text
    )
    assert (
        "- [高] 长期未接触 - 新预警\n"
        "  已 95 天未接触（最近一次在 2026年7月28日）；A 类客户至少每 60 天需接触一次。\n" in text
    )
    assert (
        "- [中] 发票逾期 - 新预警\n"
        "  2 张发票逾期未付，共 US$12,400；最早一张已逾期 45 天（阈值 US$50,000 或 90 天）。\n"
        "  依据：\n"
        "    逾期金额：US$12,400\n"
        "    逾期发票：2\n"
        "    最长逾期：45 天\n"
        "    金额阈值：US$50,000\n"
        "    逾期天数阈值：90 天\n"
        "  下一步：与客户财务联系人确认付款日期。\n" in text
    )
    assert text.index("北京华信科技有限公司") < text.index("上海远东贸易")
    assert "本邮件由关键客户管理（KAM）预警系统自动发送，数据截至 2026年10月31日。" in text
    assert '<html lang="zh-CN">' in body
    assert (
        "关键客户预警 2026年10月31日" in body
        and "北京华信科技有限公司" in body
        and "在 CRM 中查看" in body
    )


def test_header_injection_is_impossible(settings: Settings) -> None:
    df = frame(alert(owner_name="Evil\r\nBcc: x@y", customer_name="Acme\r\nBcc: z@y"))
    [msg] = render(settings, df)
    raw = msg.as_bytes()
    assert b"\r\nBcc:" not in raw and b"\nBcc:" not in raw
    parsed = parse(msg)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ann@example.com"]
    assert parsed["To"].addresses[0].display_name == "Evil Bcc: x@y"
    text, _ = parts(parsed)
    assert "Hello Evil Bcc: x@y," in text


def test_long_and_non_ascii_names_are_encoded(settings: Settings) -> None:
    long_name = "Žofia Nováková-Dvořáková " * 12
    df = frame(alert(owner_name=long_name))
    [msg] = render(settings, df)
    raw = msg.as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()
    assert max(len(line) for line in header_block.split(b"\r\n")) <= 78
    assert parse(msg)["To"].addresses[0].addr_spec == "ann@example.com"
    # Decode the folded RFC 2047 words as mail clients do (whitespace between adjacent
    # encoded-words is ignored). policy.default's address parser inserts a space at each
    # fold, a CPython quirk, so use the classic decoder here.
    classic = email.message_from_bytes(raw, policy=policy.compat32)
    decoded = str(make_header(decode_header(classic["To"])))
    expected_name = clean_text(long_name, 100)
    assert decoded == f"{expected_name} <ann@example.com>"
    assert expected_name.startswith("Žofia Nováková-Dvořáková Žofia") and len(expected_name) == 100


def test_stable_message_id_and_date_from_as_of(settings: Settings) -> None:
    df = frame(alert(), alert(customer_id="C2", customer_name="Beta"))
    [first] = render(settings, df)
    [second] = render(settings, df)
    assert first.as_bytes() == second.as_bytes()  # no clock, no random boundary
    expected = delivery_id_for("ann@example.com", AS_OF, ["C001|no_touchpoint", "C2|no_touchpoint"])
    assert first["Message-ID"] == f"<{expected}@kam-alerts>"
    assert first["Date"] == "Sat, 31 Oct 2026 00:00:00 +0000"
    assert first["From"] == "KAM Alerts <kam-alerts@example.com>"
    # the id depends on recipient, date and the set of alerts, not their order
    assert expected == delivery_id_for(
        "ANN@example.com", AS_OF, ["C2|no_touchpoint", "C001|no_touchpoint"]
    )
    assert expected != delivery_id_for(
        "ann@example.com", AS_OF + dt.timedelta(days=1), ["C2|no_touchpoint"]
    )


def test_sparkline_is_an_inline_related_png(settings: Settings) -> None:
    df = frame(alert(), alert(customer_id="C2", customer_name="Beta"))
    [msg] = render(
        settings, df, revenue_history={"C001": [120.0, 118.5, 90.0, 70.0, 40.0], "C2": [5.0]}
    )
    parsed = parse(msg)
    related = list(parsed.iter_parts())[1]
    assert related.get_content_type() == "multipart/related"
    html_part, image = list(related.iter_parts())
    assert image.get_content_type() == "image/png"
    cid = image["Content-ID"].strip("<>")
    body = html_part.get_content()
    assert f'src="cid:{cid}"' in body
    assert body.count('src="cid:') == 1  # C2 has a single point: no chart
    png = image.get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    ihdr = png[16 : 16 + length]
    width, height, depth, colour = struct.unpack(">IIBB", ihdr[:10])
    assert (kind, width, height, depth, colour) == (b"IHDR", 120, 28, 8, 6)
    assert struct.unpack(">I", png[16 + length : 20 + length])[0] == zlib.crc32(kind + ihdr)
    idat_at = png.index(b"IDAT")
    idat_len = struct.unpack(">I", png[idat_at - 4 : idat_at])[0]
    pixels = zlib.decompress(png[idat_at + 4 : idat_at + 4 + idat_len])
    assert len(pixels) == height * (1 + width * 4)


# --------------------------------------------------------------------------- routing


def rows(*dicts: dict[str, Any]) -> list[Any]:
    return list(iter_alert_rows(frame(*dicts), AS_OF))


def test_inactive_owner_goes_to_sales_ops() -> None:
    [row] = rows(alert(owner_is_active=False, owner_locale="zh-CN", severity="low"))
    route = route_alert(row, "Sales-Ops@Example.com")
    assert route.recipient == "sales-ops@example.com"
    assert route.to_sales_ops and route.locale == "en" and route.cc == ()


@pytest.mark.parametrize(
    "email_value", [None, "", "not an address", "ann@localhost", "an\nn@example.com"]
)
def test_missing_or_bad_owner_email_goes_to_sales_ops(email_value: str | None) -> None:
    [row] = rows(alert(owner_email=email_value, severity="low"))
    assert route_alert(row, "sales-ops@example.com").recipient == "sales-ops@example.com"


def test_high_severity_copies_the_manager() -> None:
    high, medium = rows(alert(severity="high"), alert(customer_id="C2", severity="medium"))
    assert route_alert(high, "ops@example.com").cc == ("boss@example.com",)
    assert route_alert(medium, "ops@example.com").cc == ()
    assert route_alert(high, "ops@example.com", cc_manager_on_high=False).cc == ()


def test_sales_ops_digest_is_english_and_copies_managers(settings: Settings) -> None:
    df = frame(
        alert(owner_is_active=False, owner_locale="zh-CN", manager_email="mgr1@example.com"),
        alert(customer_id="C2", owner_email=None, severity="low", manager_email="mgr2@example.com"),
        alert(customer_id="C3", owner_name="Bob", owner_email="bob@example.com", severity="low"),
    )
    messages = {str(m["To"]): parse(m) for m in render(settings, df)}
    assert set(messages) == {"sales-ops@example.com", "Bob <bob@example.com>"}
    ops = messages["sales-ops@example.com"]
    assert ops["Subject"] == "KAM alerts 2026-10-31: 2 accounts need attention"
    assert ops["Cc"] == "mgr1@example.com"
    text, _ = parts(ops)
    assert text.startswith("Hello,\n") and "no active owner with a usable e-mail address" in text
    assert "Owner: no active owner" in text


def test_group_by_recipient_merges_alerts_of_one_owner() -> None:
    from kam_transforms.alerts.outbox import PlannedAlert

    planned = [
        PlannedAlert(r, "new", AS_OF, None)
        for r in rows(
            alert(customer_id="C1"),
            alert(
                customer_id="C2", owner_email="ANN@example.com", manager_email="other@example.com"
            ),
            alert(
                customer_id="C3",
                owner_email="bob@example.com",
                owner_locale="zh-CN",
                severity="low",
            ),
        )
    ]
    digests = group_by_recipient(planned, "ops@example.com")
    assert [(d.recipient, d.locale, d.cc, d.customer_count) for d in digests] == [
        ("ann@example.com", "en", ("boss@example.com", "other@example.com"), 2),
        ("bob@example.com", "zh-CN", (), 1),
    ]


def test_preview_does_not_create_state(settings: Settings) -> None:
    state_path = settings.home / "state.sqlite"
    assert len(render(settings, frame(alert()))) == 1
    assert not state_path.exists() and not settings.outbox_dir.exists()
    with OutboxState(state_path, read_only=True) as state:
        assert state.alerts() == []


# --------------------------------------------------------------------------- long digests


def many(count: int) -> pd.DataFrame:
    """``count`` accounts of one owner: every 10th high, every 3rd of the rest medium."""
    rows = []
    for i in range(count):
        severity = "high" if i % 10 == 0 else "medium" if i % 3 == 0 else "low"
        alert_type, rule_id = (
            ("payment", "overdue_invoices") if i % 2 else ("relationship", "no_touchpoint")
        )
        rows.append(
            alert(customer_id=f"C{i:03d}", customer_name=f"Customer {i:03d}", severity=severity,
                  alert_type=alert_type, rule_id=rule_id, reason=f"Reason {i:03d}.")
        )  # fmt: skip
    rows[7]["customer_name"] = "=HYPERLINK(\"http://evil.example\")"
    return frame(*rows)


def attachment_of(msg: EmailMessage) -> tuple[str, bytes]:
    (part,) = list(msg.iter_attachments())
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_filename()), payload


def test_a_500_account_digest_is_capped_with_every_alert_in_the_csv(settings: Settings) -> None:
    import csv
    import io

    df = many(500)
    margins = {f"C{i:03d}": 100.0 * i for i in range(500)}
    [msg] = render(settings, df, margins=margins, max_accounts=25)
    msg = parse(msg)
    assert msg["Subject"] == "KAM alerts 2026-10-31: 500 accounts need attention"
    assert msg.get_content_type() == "multipart/mixed"
    text, body = parts(msg)

    # the 25 shown: high first, most margin at stake first (C490, C480, ... C250)
    headings = [line for line in text.splitlines() if line.startswith("== ")]
    assert headings == [f"== Customer {i:03d} (C{i:03d}) ==" for i in range(490, 249, -10)]
    assert body.count("<strong style=\"font-size:15px;\">") == 25
    assert text.splitlines()[2:7] == [
        "500 accounts need attention as of Oct 31, 2026.",
        "",
        "Summary: 50 HIGH, 150 MEDIUM, 300 LOW alert(s) on 500 account(s).",
        "By rule family: 250 Payment, 250 Relationship change.",
        "Most margin at stake (trailing 12 months): Customer 499 ($49,900), "
        "Customer 498 ($49,800), Customer 497 ($49,700).",
    ]
    more = (
        "25 of 500 accounts are shown; 475 more are in the attached "
        "kam-alerts-2026-10-31.csv, which lists every alert of every account."
    )
    assert more in text and more in body

    name, data = attachment_of(msg)
    assert name == "kam-alerts-2026-10-31.csv" and data.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(table) == 500 and {r["customer_id"] for r in table} == set(margins)
    assert [r["customer_id"] for r in table[:3]] == ["C490", "C480", "C470"]  # digest order
    c007 = next(r for r in table if r["customer_id"] == "C007")
    assert c007["customer_name"] == "'=HYPERLINK(\"http://evil.example\")"  # not a formula
    assert (c007["severity"], c007["rule_id"], c007["rule_name"], c007["reason"]) == (
        "low", "overdue_invoices", "Overdue invoices",
        "$12,400 overdue on 2 invoice(s); the oldest is 45 days past due (limits $50,000 or "
        "90 days).",
    )  # fmt: skip
    assert c007["margin_at_stake"] == "700.00" and c007["notify_reason"] == "new"


def test_a_digest_within_the_cap_has_no_attachment(settings: Settings) -> None:
    [msg] = render(settings, many(25), max_accounts=25)
    msg = parse(msg)
    assert msg.get_content_type() == "multipart/alternative"
    assert list(msg.iter_attachments()) == []
    text, _ = parts(msg)
    assert "more are in the attached" not in text
    assert "Summary: 3 HIGH, 8 MEDIUM, 14 LOW alert(s) on 25 account(s)." in text
    assert "Most margin at stake" not in text  # no margins known


def test_capped_zh_cn_digest_says_how_many_more_in_chinese(settings: Settings) -> None:
    df = many(30).assign(owner_locale="zh-CN", owner_name="王芳")
    [msg] = render(settings, df, margins={"C010": 2_500_000.0}, max_accounts=10)
    text, _ = parts(parse(msg))
    assert "概要：共 30 个客户，预警 高 3 条、中 9 条、低 18 条。" in text
    assert "按预警类别：付款预警 15 条、关系变化 15 条。" in text
    assert "利润影响最大的客户（近 12 个月毛利）：Customer 010（US$2,500,000）。" in text
    assert "本邮件列出 30 个客户中的 10 个；其余 20 个见附件 kam-alerts-2026-10-31.csv" in text


def test_digest_ids_and_eml_files_are_named_by_date_recipient_and_a_short_id(
    settings: Settings,
) -> None:
    import re

    from kam_transforms.alerts import publish_alerts

    delivery_id = delivery_id_for("Ann+kam@Example.com", AS_OF, ["C001|no_touchpoint"])
    assert re.fullmatch(r"kam\.20261031\.ann-kam_at_example\.com\.[0-9a-f]{12}", delivery_id)
    # a long address is cut, so the Message-ID header is never folded onto a second line
    long_id = delivery_id_for("daniel.fischer@kam-demo.example.com", AS_OF, ["C1|x"])
    assert re.fullmatch(r"kam\.20261031\.daniel\.fischer_at_kam-de\.[0-9a-f]{12}", long_id)
    [msg] = render(settings, frame(alert(owner_email="daniel.fischer@kam-demo.example.com")))
    assert b"\r\nMessage-ID: <kam.20261031.daniel.fischer_at_kam-de." in msg.as_bytes()
    assert parse(msg)["Message-ID"].startswith("<kam.20261031.daniel.fischer_at_kam-de.")
    summary = publish_alerts(frame(alert()), AS_OF, settings, settings.home / "s.sqlite")
    (written,) = summary["files_written"]
    assert re.fullmatch(r"kam\.20261031\.ann_at_example\.com\.[0-9a-f]{12}\.eml",
                        Path(written).name)  # fmt: skip


def test_the_capped_digest_renders_in_chromium(settings: Settings, tmp_path: Path) -> None:
    from browser import dump_dom, ink, screenshot
    from PIL import Image

    margins = {f"C{i:03d}": 100.0 * i for i in range(500)}
    [msg] = render(settings, many(500), margins=margins, max_accounts=25)
    _, body = parts(parse(msg))
    page = tmp_path / "digest.html"
    page.write_text(body, encoding="utf-8")
    png = screenshot(page.as_uri(), tmp_path / "digest.png", width=900, height=1400)
    colours, share = ink(png)
    assert colours > 50 and 0.05 < share < 0.95  # text, badges, title bar: neither blank nor solid
    with Image.open(png) as image:
        assert image.size == (900, 1400)
        assert image.convert("RGB").getpixel((450, 40)) == (11, 61, 145)  # the title bar
    dom = dump_dom(page.as_uri())
    shown = [f"Customer {i:03d}" for i in range(490, 249, -10)]
    assert all(name in dom for name in shown) and "Customer 489" not in dom
    assert "475 more are in the attached kam-alerts-2026-10-31.csv" in dom
    assert "Summary: 50 HIGH, 150 MEDIUM, 300 LOW alert(s) on 500 account(s)." in dom
