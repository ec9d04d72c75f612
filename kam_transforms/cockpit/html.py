"""The cockpit's page template (Jinja2, autoescaped), its stylesheet and its sort script.

A page is a list of :class:`Section` objects: a heading, a caption saying how to read it,
then KPIs, an inline SVG chart and/or a table. Tables sort on a header click with the small
inline script below (no library, no network). Cells holding data (names, reasons) carry
class ``d``; everything else on a page is a label of :mod:`kam_transforms.cockpit.i18n`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

__all__ = ["CSS", "SORT_JS", "Cell", "Section", "Table", "render_page"]


@dataclass
class Cell:
    text: str
    sort: Any = None
    data: bool = False
    css: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Section:
    heading: str
    caption: str = ""
    kpis: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, note
    chart: str | None = None
    charts: list[str] = field(default_factory=list)
    table: Table | None = None
    links: list[tuple[str, str, str]] = field(default_factory=list)  # href, text, note
    empty: str = ""


CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","DejaVu Sans",sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#1f5fa8;color:#fff;padding:12px 24px}
header h1{margin:0;font-size:20px} header p{margin:2px 0 0;font-size:13px;opacity:.9}
nav{background:#fff;border-bottom:1px solid #d9dee4;padding:6px 24px}
nav a{margin-right:16px;color:#1f5fa8;text-decoration:none;font-size:14px}
nav a.here{font-weight:bold;border-bottom:2px solid #1f5fa8}
main{padding:12px 24px;max-width:1200px}
section{background:#fff;border:1px solid #d9dee4;border-radius:6px;margin:12px 0;padding:12px 16px}
section h2{font-size:16px;margin:0 0 4px} .caption{font-size:13px;color:#4a5663;margin:0 0 8px}
.kpis{display:flex;flex-wrap:wrap;gap:12px}
.kpi{border:1px solid #d9dee4;border-radius:6px;padding:8px 12px;min-width:170px}
.kpi .v{font-size:22px;font-weight:bold} .kpi .l{font-size:12px;color:#4a5663}
.kpi .n{font-size:12px;color:#4a5663}
svg.chart{width:100%;max-width:820px;height:auto;display:block}
.charts{display:flex;flex-wrap:wrap;gap:8px} .charts svg.chart{max-width:560px;width:49%}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e3e7eb;padding:4px 8px;text-align:left}
th{cursor:pointer;background:#eef2f6;user-select:none} th.num,td.num{text-align:right}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
.note{font-size:12px;color:#4a5663} .pass{color:#1e7d32;font-weight:bold} .fail{color:#c0392b;font-weight:bold}
.high{color:#c0392b;font-weight:bold} .medium{color:#e07b00} .red{color:#c0392b} .yellow{color:#b58900} .green{color:#1e7d32}
footer{font-size:12px;color:#4a5663;padding:12px 24px}
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = String(x).localeCompare(String(y)); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page_title }} · {{ title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header><h1>{{ title }} · {{ page_title }}{% if subject %}: <span class="d">{{ subject }}</span>{% endif %}</h1><p>{{ subtitle }}</p></header>
<nav>{% for href, text, here in nav %}<a href="{{ root }}{{ href }}"{% if here %} class="here"{% endif %}>{{ text }}</a>{% endfor %}</nav>
<main>
{% for s in sections %}<section>
<h2>{{ s.heading }}</h2>
{% if s.caption %}<p class="caption">{{ s.caption }}</p>{% endif %}
{% if s.kpis %}<div class="kpis">{% for label, value, note in s.kpis %}<div class="kpi"><div class="l">{{ label }}</div><div class="v" data-kpi="{{ loop.index0 }}">{{ value }}</div>{% if note %}<div class="n">{{ note }}</div>{% endif %}</div>{% endfor %}</div>{% endif %}
{% if s.chart %}{{ s.chart }}{% endif %}
{% if s.charts %}<div class="charts">{% for c in s.charts %}{{ c }}{% endfor %}</div>{% endif %}
{% if s.links %}<ul>{% for href, text, note in s.links %}<li><a class="d" href="{{ href }}">{{ text }}</a> <span class="note">{{ note }}</span></li>{% endfor %}</ul>{% endif %}
{% if s.table %}{% if s.table.rows %}<table class="sortable"><thead><tr>{% for h in s.table.headers %}<th{% if s.table.numeric and s.table.numeric[loop.index0] %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in s.table.rows %}<tr>{% for c in row %}<td data-sort="{{ c.sort if c.sort is not none else c.text }}" class="{{ 'd ' if c.data }}{{ c.css }}{{ ' num' if s.table.numeric and s.table.numeric[loop.index0] }}">{{ c.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% if s.table.note %}<p class="note">{{ s.table.note }}</p>{% endif %}{% else %}<p class="note">{{ s.empty }}</p>{% endif %}{% endif %}
</section>
{% endfor %}</main>
<footer>{{ footer }} <span class="d">{{ build }}</span>. {{ sort_hint }}</footer>
<script>{{ sort_js }}</script>
</body>
</html>
"""

_ENV = Environment(autoescape=True, keep_trailing_newline=True)  # noqa: S701 - autoescape on
_PAGE = _ENV.from_string(_TEMPLATE)


def render_page(
    *,
    lang: str,
    title: str,
    page_title: str,
    subtitle: str,
    nav: list[tuple[str, str, bool]],
    sections: list[Section],
    footer: str,
    sort_hint: str,
    build: str = "",
    root: str = "",
    subject: str = "",
) -> str:
    """One HTML page; chart SVGs are trusted markup (made by :mod:`.charts`)."""
    for s in sections:
        s.chart = Markup(s.chart) if s.chart else None  # noqa: S704 - our own SVG
        s.charts = [Markup(c) for c in s.charts]  # noqa: S704 - our own SVG
    return _PAGE.render(
        lang=lang, title=title, page_title=page_title, subtitle=subtitle, nav=nav,
        sections=sections, footer=footer, sort_hint=sort_hint, build=build, root=root, subject=subject,
        sort_js=Markup(SORT_JS),  # noqa: S704 - constant script
        css=Markup(CSS),  # noqa: S704 - constant stylesheet
    )
