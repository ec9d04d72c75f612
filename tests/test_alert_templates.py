"""Alert texts from the catalogue: every rule in en and zh-CN from real warehouse rows,
locale formats, no English sentence in a zh-CN digest, missing templates fail, next-step
overrides, and the README's digest screenshots (headless Chromium).

The warehouse rows are those of the session build (tests/dbt_build.py, 400 demo customers).
Two rules do not fire on it: ``health_band_drop`` needs a previous run and ``low_p_alive``
a key account below the P(alive) threshold; they render from typed evidence with the values
of their dbt unit tests (``_alerts__unit_tests.yml``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import json
import os
import re
import shutil
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alert_fixtures import alert_frame, alert_row, alert_settings, typed
from dbt_build import AS_OF, DBT_PROJECT_DIR, Build

from kam_transforms.alerts import preview_alerts
from kam_transforms.alerts import reasons as reasons_module
from kam_transforms.alerts.catalogue import RULES
from kam_transforms.alerts.localise import (
    format_days,
    format_iso_date,
    format_money,
    format_month,
    format_share,
)
from kam_transforms.alerts.reasons import (
    EvidenceError,
    MissingTemplateError,
    catalogue_problems,
    evidence_table,
    load_next_steps,
    next_step,
    parse_evidence,
    reason_for,
    rule_name,
)
from kam_transforms.alerts.vocabulary import CODES, LABELS

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "docs" / "images"
ALERT_SQL = sorted((DBT_PROJECT_DIR / "models" / "intermediate" / "alerts").glob("*.sql"))

#: Rules the session build raises (the demo data's planted scenarios and its ordinary data).
FIRING = {
    "account_manager_change", "key_contact_left", "no_touchpoint", "competitor_loss",
    "revenue_decline", "order_cadence_gap", "complaint_past_sla", "overdue_invoices",
    "entered_decline", "dropped_out_of_class_a", "promoted_to_class_a", "potential_toward_core",
    "squeeze_score_high", "whitespace_opportunity", "plan_behind_pace",
    "competitor_in_key_accounts",
}  # fmt: skip
#: The other two, with the values of their dbt unit tests.
UNIT_TEST_EVIDENCE = {
    "health_band_drop": typed(
        health_band=("yellow", "code", "health_band"),
        previous_health_band=("green", "code", "health_band"),
        health_score=(74.5, "score"), previous_health_score=(75.5, "score"),
    ),
    "low_p_alive": typed(
        p_alive=(0.44, "share"), repeat_purchases=(3, "count"), threshold=(0.5, "share"),
        model_version=("bgnbd-1", "id"),
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- the checker

_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t]*[,;:.]?[ \t]+[A-Za-z][A-Za-z'’-]*){2,}")


def latin_sentences(text: str, allowed: set[str]) -> list[str]:
    """Runs of three or more Latin words in ``text`` once the ``allowed`` values (names,
    ids, text from the sources) are taken out: an English sentence in a Chinese digest."""
    for value in sorted((v for v in allowed if v), key=len, reverse=True):
        text = text.replace(value, " \u3000 ")
    return _LATIN_RUN.findall(text)


def test_the_checker_finds_english_and_spares_names() -> None:
    assert latin_sentences("客户 Acme Corp Holdings 逾期", {"Acme Corp Holdings"}) == []
    assert latin_sentences("客户经理：王芳。CRM 客户编号：A-1，US$1,234", set()) == []
    assert latin_sentences("依据：No touchpoint for 95 days.", set()) == ["No touchpoint for"]
    assert latin_sentences("high, medium and low", set()) == ["high, medium and low"]
    assert latin_sentences("BG/NBD 模型 P(alive)", set()) == []


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"title", "style", "script"}
        self.parts += [v or "" for k, v in attrs if k in {"alt", "title"}]

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in {"title", "style", "script"}

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return "\n".join(parser.parts)


def data_values(frame: pd.DataFrame) -> set[str]:
    """Names, ids and source texts of the rows: what a digest may show untranslated."""
    allowed = set()
    for column in ("customer_name", "customer_id", "account_id", "owner_name"):
        allowed |= {str(v) for v in frame[column].dropna()}
    for evidence in frame["evidence"]:
        for item in parse_evidence(evidence).values():
            if item.unit in {"text", "id"} and item.value is not None:
                allowed.add(str(item.value))
    return allowed


# --------------------------------------------------------------------------- the catalogue


def sql_rule_ids() -> set[str]:
    return {m for f in ALERT_SQL for m in re.findall(r"'(\w+)' as rule_id", f.read_text())}


def sql_evidence() -> tuple[set[str], set[str], set[str]]:
    """(evidence keys, units, code domains) of every evidence_json call in the rule SQL."""
    keys, units, domains = set(), set(), set()
    for f in ALERT_SQL:
        for block in re.findall(r"evidence_json\(\[(.*?)\]\)", f.read_text(), re.S):
            for key, unit, rest in re.findall(r"\('(\w+)',.*?, '(\w+)'(.*?)\),?\n", block):
                keys.add(key)
                units.add(unit)
                if unit == "code":
                    domains |= set(re.findall(r"\"'(\w+)'\"", rest))
    return keys, units, domains


def test_every_rule_of_the_models_has_its_templates() -> None:
    rules = sql_rule_ids()
    assert len(rules) == 18 and rules == set(RULES), rules ^ set(RULES)
    assert catalogue_problems(sorted(rules)) == []
    keys, units, domains = sql_evidence()
    assert len(keys) > 60 and keys - set(LABELS) == set()
    assert units <= reasons_module.UNITS and "money" in units and "code" in units
    assert domains and domains - set(CODES) == set()


def test_a_missing_template_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    evidence = UNIT_TEST_EVIDENCE["health_band_drop"]
    with pytest.raises(MissingTemplateError, match="no templates for rule 'new_rule'"):
        reason_for("new_rule", evidence, "en")
    broken = {**RULES, "health_band_drop": {**RULES["health_band_drop"]}}
    broken["health_band_drop"]["reason"] = [{"en": "Dropped to {health_band}."}]
    broken["health_band_drop"]["name"] = {"en": "Health band dropped"}
    monkeypatch.setattr(reasons_module, "RULES", broken)
    assert reason_for("health_band_drop", evidence, "en") == "Dropped to yellow."
    with pytest.raises(MissingTemplateError, match="no zh-CN text for the reason"):
        reason_for("health_band_drop", evidence, "zh-CN")
    with pytest.raises(MissingTemplateError, match="no zh-CN text for the name"):
        rule_name("health_band_drop", "zh-CN")
    assert catalogue_problems() == [
        "health_band_drop.name: no zh-CN", "health_band_drop.reason[0]: no zh-CN"
    ]
    with pytest.raises(MissingTemplateError, match="no label for the evidence key 'mood'"):
        evidence_table("health_band_drop", typed(mood=("calm", "text")), "en")
    with pytest.raises(MissingTemplateError, match="code domain 'weather'"):
        evidence_table("health_band_drop", typed(health_band=("x", "code", "weather")), "en")


def test_a_missing_template_fails_the_digest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = alert_settings(tmp_path)
    frame = alert_frame(alert_row(owner_locale="zh-CN"))
    no_zh = {**RULES, "no_touchpoint": {**RULES["no_touchpoint"], "next_step": {"en": "Call."}}}
    monkeypatch.setattr(reasons_module, "RULES", no_zh)
    with pytest.raises(MissingTemplateError, match="no zh-CN text for the next step of no_touch"):
        preview_alerts(frame, AS_OF, settings, tmp_path / "s.sqlite", crm_base_url="")


def test_evidence_that_is_not_typed_or_lacks_a_value_is_an_error() -> None:
    with pytest.raises(EvidenceError, match="'days_since_last_touchpoint' is not a typed value"):
        reason_for("no_touchpoint", '{"days_since_last_touchpoint": 95}', "en")
    with pytest.raises(EvidenceError, match="uses {max_days}, which the evidence lacks"):
        reason_for("no_touchpoint", typed(abc_class=("A", "id")), "en")
    with pytest.raises(EvidenceError, match="money value 'amount' has no currency"):
        parse_evidence('{"amount": {"value": 1, "unit": "money"}}')


# --------------------------------------------------------------------------- formats


def test_numbers_money_and_dates_follow_the_locale() -> None:
    day = dt.date(2026, 10, 2)
    assert (format_iso_date(day, "en"), format_iso_date(day, "zh-CN")) == (
        "Oct 2, 2026", "2026年10月2日"
    )  # fmt: skip
    assert (format_month(day, "en"), format_month(day, "zh-CN")) == ("Oct 2026", "2026年10月")
    assert format_money(1234567.8, "USD", "en") == "$1,234,568"
    assert format_money(1234567.8, "USD", "zh-CN") == "US$1,234,568"
    assert format_money(926100, "CNY", "en") == "CN¥926,100"
    assert format_money(926100, "CNY", "zh-CN") == "¥926,100"
    assert format_money(-50.4, "EUR", "en") == "-€50"
    assert (format_share(0.283, "en"), format_share(0.283, "zh-CN", 0)) == ("28.3%", "28%")
    assert format_share(0.0526, "en", 1) == "5.3%"
    assert (format_days(1, "en"), format_days(30.5, "en"), format_days(95, "zh-CN")) == (
        "1 day", "30.5 days", "95 天"
    )  # fmt: skip


# --------------------------------------------------------------------------- warehouse rows


@pytest.fixture(scope="module")
def warehouse_alerts(build: Build) -> pd.DataFrame:
    return build.query("select * from key_account_alerts order by severity, dedup_key")


def _en_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day:%b} {day.day}, {day.year}"


def _zh_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def test_every_rule_renders_in_both_locales_from_warehouse_rows(
    warehouse_alerts: pd.DataFrame,
) -> None:
    rows = warehouse_alerts
    assert set(rows["rule_id"]) == FIRING  # the rest: UNIT_TEST_EVIDENCE
    samples = [(r.rule_id, r.evidence, {r.customer_name}) for r in rows.itertuples()]
    samples += [(rule, evidence, set()) for rule, evidence in UNIT_TEST_EVIDENCE.items()]
    assert {rule for rule, _, _ in samples} == set(RULES)
    for rule_id, evidence, names in samples:
        values = parse_evidence(evidence, rule_id)
        allowed = names | {str(v.value) for v in values.values() if v.unit in {"text", "id"}}
        for locale in ("en", "zh-CN"):
            texts = [rule_name(rule_id, locale), reason_for(rule_id, evidence, locale),
                     next_step(rule_id, evidence, locale)]  # fmt: skip
            table = evidence_table(rule_id, evidence, locale)
            assert [label for label, _ in table] == [LABELS[k][locale] for k in values]
            texts += [f"{label} {value}" for label, value in table]
            assert all(t and "{" not in t and "None" not in t for t in texts), texts
            if locale == "zh-CN":
                assert latin_sentences("\n".join(texts), allowed) == [], (rule_id, texts)
        # dates and money in the reason: recomputed here without Babel
        reason_en, reason_zh = (reason_for(rule_id, evidence, loc) for loc in ("en", "zh-CN"))
        for item in values.values():
            if item.unit == "date" and item.value and f"{{{item.key}}}" in str(RULES[rule_id]):
                assert _en_date(item.value) in reason_en and _zh_date(item.value) in reason_zh
            if item.unit == "money" and item.currency == "USD" and item.value is not None:
                if f"{{{item.key}}}" in RULES[rule_id]["reason"][0]["en"]:
                    assert f"${round(item.value):,}" in reason_en, (item, reason_en)
                    assert f"US${round(item.value):,}" in reason_zh, (item, reason_zh)


def test_planted_overdue_invoices_read_right_in_both_locales(
    build: Build, warehouse_alerts: pd.DataFrame
) -> None:
    planted = build.manifest["scenarios"]["overdue_invoices"]["customer_id"]
    (row,) = warehouse_alerts[
        (warehouse_alerts["customer_id"] == planted)
        & (warehouse_alerts["rule_id"] == "overdue_invoices")
    ].itertuples()
    facts = build.query(
        "select overdue_amount_base, overdue_invoice_count, max_days_overdue "
        f"from customer_facts where customer_id = '{planted}'"
    ).iloc[0]
    amount, count = round(float(facts["overdue_amount_base"])), int(facts["overdue_invoice_count"])
    days = int(facts["max_days_overdue"])
    assert reason_for("overdue_invoices", row.evidence, "en") == (
        f"${amount:,} overdue on {count} invoice(s); the oldest is {days:,} days past due "
        "(limits $50,000 or 90 days)."
    )
    assert reason_for("overdue_invoices", row.evidence, "zh-CN") == (
        f"{count} 张发票逾期未付，共 US${amount:,}；最早一张已逾期 {days:,} 天"
        "（阈值 US$50,000 或 90 天）。"
    )
    assert evidence_table("overdue_invoices", row.evidence, "zh-CN")[:3] == [
        ("逾期金额", f"US${amount:,}"), ("逾期发票", str(count)), ("最长逾期", f"{days:,} 天")
    ]  # fmt: skip


def test_tier_texts_name_the_abc_measure_of_the_build() -> None:
    measures = (("gross_margin", "gross margin", "毛利"), ("revenue", "revenue", "收入"))
    for measure, en, zh in measures:
        evidence = typed(
            previous_abc_class=("A", "id"), abc_class=("B", "id"),
            abc_measure=(measure, "code", "abc_measure"),
            measure_value=(20000.0, "money", "USD"), measure_rank=(9, "number"),
            cumulative_share=(0.86, "share"),
        )  # fmt: skip
        assert reason_for("dropped_out_of_class_a", evidence, "en") == (
            f"Dropped out of class A to class B: trailing 12-month {en} $20,000, rank 9."
        )
        assert reason_for("dropped_out_of_class_a", evidence, "zh-CN") == (
            f"已从 A 类降为 B 类：近 12 个月{zh} US$20,000，排名第 9。"
        )


# --------------------------------------------------------------------------- whole digests


def _history(build: Build, customer_ids: list[str]) -> dict[str, list[float]]:
    """12 monthly revenues up to October 2026 (0 for a month without orders)."""
    months = [dt.date(2025 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(12)]
    monthly = build.query(
        "select customer_id, month_start_date, revenue_base from fct_customer_monthly "
        "where month_start_date >= date '2025-11-01' and month_start_date <= date '2026-10-31'"
    )
    history: dict[str, dict[dt.date, float]] = {c: {} for c in customer_ids}
    for r in monthly[monthly["customer_id"].isin(customer_ids)].itertuples():
        history[r.customer_id][pd.Timestamp(r.month_start_date).date()] = float(r.revenue_base)
    return {c: [values.get(m, 0.0) for m in months] for c, values in history.items()}


def digest_of(
    build: Build, rows: pd.DataFrame, locale: str, tmp_path: Path, **kwargs: Any
) -> EmailMessage:
    """One digest of ``rows`` to one owner in ``locale``, as a mail client receives it."""
    name = "王芳" if locale == "zh-CN" else "Ann Lee"
    mine = rows.assign(owner_name=name, owner_email="owner@example.com", owner_locale=locale,
                       owner_is_active=True, manager_email=None)  # fmt: skip
    ids = sorted(set(mine["customer_id"]))
    margins = build.query("select customer_id, gross_margin_t12m from customer_tiers")
    settings = alert_settings(tmp_path / locale)
    kwargs.setdefault("crm_base_url", "")
    [msg] = preview_alerts(
        mine, AS_OF, settings, tmp_path / f"{locale}.sqlite", revenue_history=_history(build, ids),
        margins=dict(zip(margins["customer_id"], margins["gross_margin_t12m"], strict=True)),
        **kwargs,
    )  # fmt: skip
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(msg: EmailMessage) -> tuple[str, str]:
    plain, page = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and page is not None
    return str(plain.get_content()), str(page.get_content())


def test_a_zh_cn_digest_of_every_warehouse_alert_has_no_english_sentence(
    build: Build, warehouse_alerts: pd.DataFrame, tmp_path: Path
) -> None:
    rows = warehouse_alerts
    msg = digest_of(build, rows, "zh-CN", tmp_path, max_accounts=1000)
    text, page = _bodies(msg)
    allowed = data_values(rows)
    for part in (text, visible_text(page), str(msg["Subject"])):
        assert latin_sentences(part, allowed) == []
    accounts = rows["customer_id"].nunique()
    assert text.count("\n== ") == accounts and text.count("下一步：") == len(rows)
    assert text.count("月度收入，2025年11月 – 2026年10月：最近（2026年10月）") == accounts
    for rule_id in set(rows["rule_id"]):
        assert rule_name(rule_id, "zh-CN") in text and f"({rule_id})" not in text
    # the same rows in English are full of English sentences: the checker can fail
    en_text, _ = _bodies(digest_of(build, rows, "en", tmp_path, max_accounts=1000))
    assert len(latin_sentences(en_text, allowed)) > 5 * len(rows)


def test_next_steps_can_be_overridden_by_a_file(
    build: Build, warehouse_alerts: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = tmp_path / "next_steps.json"
    steps.write_text(json.dumps({
        "overdue_invoices": {"en": "Ask finance for {overdue_amount_base} by Friday.",
                             "zh-CN": "请财务在周五前催收 {overdue_amount_base}。"},
        "no_touchpoint": "Book a review meeting.",
    }), encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("KAM_ALERT_NEXT_STEPS", str(steps))
    rows = warehouse_alerts[warehouse_alerts["rule_id"].isin(["overdue_invoices", "no_touchpoint"])]
    text, _ = _bodies(digest_of(build, rows, "en", tmp_path, max_accounts=1000))
    touchpoints = (rows["rule_id"] == "no_touchpoint").sum()
    assert touchpoints > 0 and text.count("Next step: Book a review meeting.") == touchpoints
    assert len(re.findall(r"Next step: Ask finance for \$[\d,]+ by Friday\.", text)) == (
        rows["rule_id"] == "overdue_invoices"
    ).sum()
    zh, _ = _bodies(digest_of(build, rows, "zh-CN", tmp_path, max_accounts=1000))
    assert re.search(r"下一步：请财务在周五前催收 US\$[\d,]+。", zh)
    assert "下一步：Book a review meeting." in zh  # one text for every locale, as configured
    for bad, message in (
        ({"nope": "x"}, "unknown rule 'nope'"),
        ({"no_touchpoint": {"fr": "x"}}, "unknown locale 'fr'"),
        ({"no_touchpoint": {"en": " "}}, "no_touchpoint.en: empty text"),
    ):
        steps.write_text(json.dumps(bad), encoding="utf-8")
        where = re.escape(str(steps))
        with pytest.raises(ValueError, match=f"next steps file {where}: .*{message}"):
            load_next_steps()


# --------------------------------------------------------------------------- screenshots

SHOWCASE = ["overdue_invoices", "competitor_loss", "complaint_past_sla", "revenue_decline",
            "key_contact_left", "whitespace_opportunity"]  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_readme_digest_screenshots(
    build: Build, warehouse_alerts: pd.DataFrame, tmp_path: Path, locale: str
) -> None:
    """The README's digest screenshots: six warehouse accounts, four shown. Written to
    docs/images/ with KAM_UPDATE_SCREENSHOTS=1; else only compared in size."""
    from browser import dump_dom, ink, inline_images, screenshot
    from PIL import Image

    rows = warehouse_alerts
    picked = [rows[rows["rule_id"] == rule].iloc[0]["customer_id"] for rule in SHOWCASE]
    mine = rows[rows["customer_id"].isin(picked)]
    msg = digest_of(build, mine, locale, tmp_path, max_accounts=4,
                    crm_base_url="https://crm.example.com/accounts")  # fmt: skip
    page = tmp_path / f"digest-{locale}.html"
    page.write_text(inline_images(msg), encoding="utf-8")
    png = screenshot(page.as_uri(), tmp_path / f"digest-{locale}.png", width=760, height=2000)
    colours, share = ink(png)
    assert colours > 100 and 0.05 < share < 0.95
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert image.size == (760, 2000) and rgb.getpixel((380, 40)) == (11, 61, 145)
    dom = dump_dom(page.as_uri())
    next_label = "Next step" if locale == "en" else "下一步"
    assert dom.count(next_label) >= 4 and dom.count("data:image/png;base64,") == 4
    assert ("Revenue by month" if locale == "en" else "月度收入") in dom
    target = SCREENSHOTS / f"digest-{locale}.png"
    if os.environ.get("KAM_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, target)
    with Image.open(target) as committed:
        assert committed.size == (760, 2000)



def test_a_missing_template_sends_nothing_and_a_fixed_rerun_delivers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kam_transforms.alerts import publish_alerts

    settings = alert_settings(tmp_path)
    frame = alert_frame(alert_row(), alert_row(customer_id="C2", rule_id="overdue_invoices"))
    state = tmp_path / "state.sqlite"
    no_name = {**RULES, "overdue_invoices": {**RULES["overdue_invoices"], "name": {}}}
    with monkeypatch.context() as patch:
        patch.setattr(reasons_module, "RULES", no_name)
        with pytest.raises(MissingTemplateError, match="no en text for the name of overdue_inv"):
            publish_alerts(frame, AS_OF, settings, state, crm_base_url="")
    assert not settings.outbox_dir.exists() or list(settings.outbox_dir.iterdir()) == []
    summary = publish_alerts(frame, AS_OF, settings, state, crm_base_url="")
    assert summary["alerts_to_notify"] == 2 and summary["digests_written"] == 1
    (written,) = summary["files_written"]
    text = Path(written).read_text(encoding="utf-8")
    assert "Overdue invoices" in text and "No recent touchpoint" in text


def test_the_sparkline_series_is_the_twelve_months_up_to_the_run_date(tmp_path: Path) -> None:
    import duckdb

    from kam_transforms.alert_step import _revenue_history
    from kam_transforms.config import Settings

    serving = tmp_path / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        con.execute(
            "create table fct_customer_monthly as select * from (values "
            "('C1', date '2025-10-01', 999.0), ('C1', date '2025-11-01', 10.0), "
            "('C1', date '2026-03-01', 30.0), ('C1', date '2026-10-01', 120.0), "
            "('C1', date '2026-11-01', 5.0), ('C2', date '2026-01-01', null)"
            ") as t(customer_id, month_start_date, revenue_base)"
        )
    settings = Settings.from_env()
    history = _revenue_history(
        dataclasses.replace(settings, serving_db=serving), AS_OF, ["C1", "C2", "C3"]
    )
    # Nov 2025 .. Oct 2026: months without a row are 0, October 2025 and November 2026 left out
    assert history == {
        "C1": [10.0, 0, 0, 0, 30.0, 0, 0, 0, 0, 0, 0, 120.0],
        "C2": [0.0] * 12,
    }
