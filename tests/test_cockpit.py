"""The KAM cockpit of the demo run: written by publish, offline in headless Chromium, its
overview equal to the serving warehouse, zh-CN with no English label, bounded figures.

One module fixture: the session's demo build validated and published once (publish writes
the cockpit); the zh-CN cockpit is written once more through ``kam report``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from browser import ink, screenshot, visit_offline
from dbt_build import AS_OF, Build, install_build

from kam_transforms.config import Settings

REPO = Path(__file__).resolve().parent.parent
#: ``KAM_UPDATE_SCREENSHOTS=1`` copies the two screenshots into docs/ for the README (read
#: at import: the fixture clears every KAM_ variable).
DOCS = REPO / "docs" if os.environ.get("KAM_UPDATE_SCREENSHOTS") == "1" else None


@pytest.fixture(scope="module")
def published(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from kam_transforms.pipeline import publish_marts, validate_build

    home = tmp_path_factory.mktemp("kam-cockpit")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("KAM_")]:
            patch.delenv(key)
        patch.setenv("KAM_HOME", str(home))
        settings = Settings.from_env()
        install_build(build, settings, with_lake=True)
        validation = validate_build(settings, AS_OF, "run-1")
        result = publish_marts(settings, AS_OF, "run-1")
        yield {"settings": settings, "publish": result, "validation": validation,
               "patch": patch}  # fmt: skip


def serving(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def cockpit_pages(index: Path) -> list[Path]:
    return sorted(index.parent.rglob("*.html"))


def test_publish_writes_the_cockpit_and_the_summary_prints_it(published: dict) -> None:
    from kam_transforms.pipeline import summarize

    settings = published["settings"]
    index = settings.reports_dir / "cockpit" / AS_OF.isoformat() / "index.html"
    assert published["publish"]["cockpit"] == str(index)
    assert summarize(settings, AS_OF)["cockpit"] == str(index)
    owners = serving(settings, "select count(distinct owner_id) from dim_customers "
                     "join customer_tiers using (customer_id)")[0][0]  # fmt: skip
    pages = {str(p.relative_to(index.parent)) for p in cockpit_pages(index)}
    run_wide = {"index.html", "pareto.html", "value.html", "lifecycle.html", "health.html",
                "clv.html", "managers/index.html"}  # fmt: skip
    assert run_wide <= pages
    assert len(pages) == len(run_wide) + owners
    assert not list(index.parent.parent.glob(".*")), "a temporary folder was left behind"


#: For each page: its charts (count, drawn elements of each, drawn width) and its title.
PROBE = """JSON.stringify({
  title: document.title,
  charts: Array.from(document.querySelectorAll("svg.chart")).map(function (s) {
    var box = s.getBoundingClientRect();
    return {marks: s.querySelectorAll("path, use, rect, text").length, width: box.width};
  }),
  tables: document.querySelectorAll("table.sortable tbody tr").length,
  text: document.body.innerText.length
})"""


def test_cockpit_opens_offline_every_page_and_chart_drawn_no_request_leaves(
    published: dict, tmp_path: Path
) -> None:
    index = Path(published["publish"]["cockpit"])
    pages = cockpit_pages(index)
    control = tmp_path / "control.html"  # proves the request log sees a remote request
    control.write_text('<html><body><img src="https://cdn.example.com/x.png"></body></html>')
    values, requests = visit_offline([p.as_uri() for p in pages] + [control.as_uri()], PROBE)
    assert "https://cdn.example.com/x.png" in requests
    requests.remove("https://cdn.example.com/x.png")
    assert requests and all(url.startswith("file://") for url in requests), requests
    assert {url for url in requests} == {p.as_uri() for p in pages} | {control.as_uri()}
    for page, raw in zip(pages, values[:-1], strict=True):
        probe = json.loads(raw)
        assert probe["title"].endswith("KAM cockpit"), page
        assert probe["charts"] or page.name == "index.html" and page.parent.name == "managers"
        for chart in probe["charts"]:
            assert chart["marks"] >= 10 and chart["width"] > 200, (page, chart)
        assert probe["text"] > 200, page
    for page in pages:  # nothing on any page points off the machine
        text = page.read_text("utf-8")
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), page
    # screenshots of the overview and one manager page are not blank
    manager = next(p for p in pages if p.parent.name == "managers" and p.name != "index.html")
    for name, page in (("cockpit_overview.png", index), ("cockpit_manager.png", manager)):
        png = screenshot(page.as_uri(), tmp_path / name, 1280, 1400)
        colours, share = ink(png)
        assert colours > 50 and share > 0.15, (name, colours, share)
        if DOCS is not None:
            shutil.copy(png, DOCS / name)


def _kpis(page: Path) -> list[str]:
    return re.findall(r'data-kpi="\d+">([^<]*)<', page.read_text("utf-8"))


def test_overview_numbers_equal_the_serving_warehouse(published: dict) -> None:
    settings = published["settings"]
    index = Path(published["publish"]["cockpit"])
    customers, keys, margin = serving(
        settings,
        "select count(*), sum(case when is_key_account then 1 else 0 end), "
        "sum(gross_margin_t12m) from customer_tiers",
    )[0]
    # trailing margin recomputed from the order lines: (as_of - 12 months, as_of]
    (lines_margin,) = serving(
        settings,
        "select sum(gross_margin_base) from fct_order_lines where order_date > ? "
        "and order_date <= ? and customer_id in (select customer_id from customer_tiers)",
        [date(AS_OF.year - 1, AS_OF.month, AS_OF.day), AS_OF],
    )[0]
    assert abs(lines_margin - margin) < 1, (lines_margin, margin)
    (prior,) = serving(
        settings, "select sum(gross_margin_prior_12m) from customer_facts "
        "where customer_id in (select customer_id from customer_tiers)",
    )[0]
    alerts = dict(serving(settings, "select severity, count(*) from key_account_alerts "
                          "where as_of_date = ? group by 1", [AS_OF]))  # fmt: skip
    kpis = _kpis(index)
    assert kpis[:4] == [f"{customers:,}", f"{keys:,}", f"{lines_margin:,.0f}",
                        f"{sum(alerts.values()):,}"]  # fmt: skip
    text = index.read_text("utf-8")
    assert f"{(margin - prior) / abs(prior):+.1%}" in text
    for severity in ("high", "medium", "low"):
        assert f"{severity.upper()} {alerts.get(severity, 0)}" in text
    # the validation block: the run's outcome and each suite's checks as validation_runs has
    assert kpis[4] == "passed"
    suites = serving(settings, "select suite, count(*), count(*) filter (where success) "
                     "from validation_runs where run_id = 'run-1' group by 1")  # fmt: skip
    assert len(suites) > 5
    for suite, checks, passed in suites:
        row = re.search(rf'<td data-sort="{suite}" class="d ">{suite}</td>'
                        rf'<td data-sort="{checks}"[^>]*>{checks:,}</td>'
                        rf'<td data-sort="{passed}"[^>]*>{passed:,}</td>', text)  # fmt: skip
        assert row, suite
    # freshness: each entity's newest partition on or before the run date, from the lake
    from kam_transforms.extract import ordered_entities

    for ent in ordered_entities():
        days = sorted(p.name[6:] for p in (settings.lake_dir / "raw" / ent.source / ent.name)
                      .glob("as_of=*") if p.name[6:] <= AS_OF.isoformat())  # fmt: skip
        shown = days[-1] if days else "never landed"
        behind = (AS_OF - date.fromisoformat(days[-1])).days if days else None
        row = re.search(
            rf'class="d ">{ent.name}</td><td data-sort="{shown}" class="">{shown}</td>'
            r'<td[^>]*>[^<]*</td><td data-sort="([^"]*)"', text,
        )
        assert row, ent.name
        assert row.group(1) == (str(behind) if behind is not None else "-1e+300"), ent.name


#: Latin words allowed on a zh-CN page outside data: class letters and the currency code.
ALLOWED_LATIN = {"ABC", "USD"}


def _labels_only(page_html: str) -> str:
    """The visible text of a page without its data: scripts, styles, elements of class
    ``d`` (names, reasons, suite and entity names), chart data labels (``data-*`` groups)
    and number tokens."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    text = re.sub(r'<g id="data-[^"]*">.*?</g>', " ", text, flags=re.S)
    text = re.sub(r'<(td|span|a)\b[^>]*class="d\b[^"]*"[^>]*>.*?</\1>', " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    return re.sub(r"[-+]?\d[\d,.]*[kMG%]?", " ", text)


def test_zh_cn_cockpit_has_no_english_label(published: dict, tmp_path: Path) -> None:
    from kam_transforms.cli import main

    out = tmp_path / "zh"
    assert main(["report", "--as-of", AS_OF.isoformat(), "--locale", "zh-CN",
                 "--out", str(out)]) == 0  # fmt: skip
    pages = cockpit_pages(out / "index.html")
    assert len(pages) == len(cockpit_pages(Path(published["publish"]["cockpit"])))
    for page in pages:
        raw = page.read_text("utf-8")
        assert '<html lang="zh-CN">' in raw
        labels = _labels_only(raw)
        latin = set(re.findall(r"[A-Za-z]{2,}", labels)) - ALLOWED_LATIN
        assert not latin, (page.name, sorted(latin)[:20])
        assert re.search(r"[\u4e00-\u9fff]", labels), page.name
    # and the English cockpit's own words are on the zh-CN pages none of them
    en = _labels_only(Path(published["publish"]["cockpit"]).read_text("utf-8"))
    assert {"Overview", "Customers", "Key", "accounts"} <= set(en.split())


def test_both_locales_carry_every_label() -> None:
    from kam_transforms.cockpit.i18n import Labels

    assert Labels.keys("en") == Labels.keys("zh-CN")
    zh = Labels("zh-CN")
    for key in Labels.keys("zh-CN") - {"none"}:
        assert re.search(r"[\u4e00-\u9fff]", zh[key]), key
    assert set(Labels.terms("en")) == set(Labels.terms("zh-CN"))
    with pytest.raises(ValueError, match="KAM_REPORT_LOCALE='fr'"):
        Labels("fr")


def test_a_failing_cockpit_never_undoes_the_publish(published: dict) -> None:
    from kam_transforms.builds import serving_stamp
    from kam_transforms.pipeline import publish_marts

    settings = published["settings"]
    index = Path(published["publish"]["cockpit"])
    before = index.read_text("utf-8")
    patch: pytest.MonkeyPatch = published["patch"]
    patch.setenv("KAM_REPORT_LOCALE", "fr")  # the cockpit refuses it
    try:
        result = publish_marts(settings, AS_OF, "run-2")
    finally:
        patch.delenv("KAM_REPORT_LOCALE")
    assert result["cockpit"] is None
    stamp = serving_stamp(settings.serving_db)
    assert stamp is not None and stamp.run_id == "run-2" and stamp.as_of == AS_OF
    assert index.read_text("utf-8") == before  # the previous cockpit of the date stands
    assert not list(index.parent.parent.glob(".*"))


def test_figures_stay_bounded_at_any_size() -> None:
    """20,000 synthetic customers: the Pareto curve keeps at most 500 points (+ the class
    starts) and ends at (1, 1); the value matrix draws every key account and a sample."""
    from kam_transforms.cockpit import queries

    n = 20_000
    with duckdb.connect() as con:
        con.execute(
            "create table customer_tiers as select 'C' || lpad(i::varchar, 6, '0') as "
            "customer_id, 'gross_margin' as abc_measure, (?::double - i + 1) as measure_value, "
            "i as measure_rank, sum(? - i + 1) over (order by i) / (? * (? + 1) / 2.0) as "
            "cumulative_share, case when i <= 3000 then 'A' when i <= 9000 then 'B' else 'C' "
            "end as abc_class, 'C' as previous_abc_class, (? - i)::double as current_value, "
            "(i % 977)::double as potential_value, i <= 300 as is_key_account, "
            "(? - i)::double as key_account_score, i <= 5000 as is_high_current_value, "
            "i % 977 > 500 as is_high_potential_value, 'core' as value_quadrant, "
            "1.0 as gross_margin_t12m from range(1, ? + 1) t(i)",
            [n] * 7,
        )
        con.execute("create table dim_customers as select customer_id, customer_id as "
                    "customer_name from customer_tiers")  # fmt: skip
        p = queries.pareto(con)
        v = queries.value_matrix(con)
    assert len(p["curve"]) <= queries.CURVE_POINTS + 3
    assert p["curve"][-1] == pytest.approx((1.0, 1.0))
    assert [c["customers"] for c in p["classes"]] == [3000, 6000, 11000]
    assert len(v["keys"]) == 300 and len(v["background"]) == queries.BACKGROUND_POINTS
    assert v["current_threshold"] == n - 5000 and v["total"] == n


#: Each row of the Data Docs index (pagination of bootstrap-table switched off first, so
#: every row is drawn): its status icon's classes and its cells' texts.
DOCS_PROBE = """(function () {
  if (window.jQuery && jQuery.fn.bootstrapTable) {
    jQuery("table").each(function () {
      var options = jQuery(this).bootstrapTable("getOptions");
      if (options && options.pagination) { jQuery(this).bootstrapTable("togglePagination"); }
    });
  }
  return 0;
})() || JSON.stringify(Array.from(document.querySelectorAll("table tbody tr")).map(
  function (row) {
    var icon = row.querySelector("i.fas");
    return {status: icon ? icon.className : "",
            cells: Array.from(row.cells).map(function (c) { return c.innerText.trim(); })};
  }))"""


def test_data_docs_index_lists_every_validation_with_its_status_offline(
    published: dict,
) -> None:
    from kam_transforms.validate import data_docs_index

    settings = published["settings"]
    index = data_docs_index(settings.gx_root)
    pages = [index, *sorted((index.parent / "validations").rglob("*.html"))]
    values, requests = visit_offline([p.as_uri() for p in pages], DOCS_PROBE)
    remote = sorted({u for u in requests if not u.startswith(("file://", "data:"))})
    assert not remote, remote
    rows = json.loads(values[0])
    outcome = dict(serving(settings, "select suite, bool_and(success) from validation_runs "
                           "where run_id = 'run-1' group by 1"))  # fmt: skip
    assert len(outcome) > 5
    listed = {}
    for row in rows:
        suite = next((c for c in row["cells"] if c in outcome), None)
        if suite is not None and "kam-" + AS_OF.isoformat() in row["cells"]:
            listed[suite] = row["status"]
    assert set(listed) == set(outcome), set(outcome) ^ set(listed)
    for suite, status in listed.items():
        expected = "fa-check-circle" if outcome[suite] else "fa-times"
        assert expected in status, (suite, status)
    assert all(json.loads(v) is not None for v in values[1:])  # every validation page loads


def _bodies(msg) -> tuple[str, str]:  # noqa: ANN001 - an EmailMessage
    parts = {p.get_content_type(): p.get_content() for p in msg.walk() if p.get_filename() is None
             and p.get_content_type() in ("text/plain", "text/html")}  # fmt: skip
    return parts["text/plain"], parts["text/html"]


def test_each_digest_links_its_recipients_cockpit_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alert_fixtures import alert_frame, alert_row, alert_settings

    from kam_transforms.alerts import preview_alerts
    from kam_transforms.cockpit.portfolio import page_name

    frame = alert_frame(
        alert_row(),  # Ann (O1), English
        alert_row(customer_id="C002", account_id="A002", customer_name="北方机械",
                  owner_id="O/2", owner_name="王伟", owner_email="wang@example.com",
                  owner_locale="zh-CN"),
        alert_row(customer_id="C003", account_id="A003", owner_id=None, owner_name=None,
                  owner_email=None, owner_is_active=False),  # to sales ops
    )  # fmt: skip
    settings = alert_settings(tmp_path)
    monkeypatch.delenv("KAM_REPORTS_BASE_URL", raising=False)
    unlinked = preview_alerts(frame, AS_OF, settings, tmp_path / "s.sqlite")
    assert all("cockpit" not in _bodies(m)[0] for m in unlinked)
    monkeypatch.setenv("KAM_REPORTS_BASE_URL", "https://reports.example.com/kam/")
    base = f"https://reports.example.com/kam/cockpit/{AS_OF.isoformat()}/managers/"
    expected = {
        "ann@example.com": ("Your page in the KAM cockpit: ", base + "O1.html"),
        "wang@example.com": ("您在关键客户管理驾驶舱中的页面：", base + page_name("O/2")),
        settings.sales_ops_email: ("Your page in the KAM cockpit: ", base + "index.html"),
    }
    messages = preview_alerts(frame, AS_OF, settings, tmp_path / "s.sqlite")
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(expected)
    for msg in messages:
        line, url = expected[msg["To"].addresses[0].addr_spec]
        text, body = _bodies(msg)
        assert line + url in text
        assert url in body
    assert page_name("O/2") == "O_2.html"
    monkeypatch.setenv("KAM_REPORTS_BASE_URL", "reports.example.com")
    with pytest.raises(ValueError, match="KAM_REPORTS_BASE_URL must be an absolute"):
        preview_alerts(frame, AS_OF, settings, tmp_path / "s.sqlite")


def test_manager_pages_show_plan_attainment_from_the_mart(published: dict) -> None:
    from kam_transforms.cockpit.portfolio import PER_MANAGER, page_name

    settings = published["settings"]
    index = Path(published["publish"]["cockpit"])
    (served,) = serving(settings, "select count(*) from information_schema.tables "
                        "where table_name = 'account_plan_attainment'")[0]  # fmt: skip
    model = REPO / "dbt_project" / "models" / "marts" / "account_plan_attainment.sql"
    assert bool(served) == model.exists()
    if not served:  # the block is skipped without the mart
        assert "Plan attainment" not in "".join(p.read_text("utf-8") for p in
                                                 cockpit_pages(index))  # fmt: skip
        return
    per_owner = serving(settings, "select d.owner_id, count(*), count(*) filter "
                        "(where p.attainment_status = 'behind') from account_plan_attainment p "
                        "join dim_customers d using (customer_id) where p.as_of_date = ? "
                        "group by 1", [AS_OF])  # fmt: skip
    assert per_owner, "the demo plans reached no manager"
    for owner, plans, behind in per_owner:
        page = (index.parent / "managers" / page_name(owner)).read_text("utf-8")
        block = page.split("<h2>Plan attainment</h2>", 1)[1].split("</section>", 1)[0]
        assert block.count("<tr>") - 1 == min(plans, PER_MANAGER), owner  # minus the header
        assert block.count(">behind</td>") == behind, owner
