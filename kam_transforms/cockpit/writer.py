"""Write the cockpit of one published run: ``<reports>/cockpit/<as-of>/index.html`` and its
pages, one self-contained folder (inline CSS, SVG and script; no network).

What it guarantees: the folder is written under a temporary name beside its final one and
renamed into place only when every page is written, so a reader sees the previous complete
cockpit of that date or the new complete one, never a half-written folder; a failure leaves
the previous one where it was and removes the temporary folder. It reads the serving
warehouse read-only and only one published as of the date asked for.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from kam_transforms import duck
from kam_transforms.builds import require_serving_of
from kam_transforms.cockpit import manager_pages, pages, portfolio, queries, signals
from kam_transforms.cockpit.html import Section, render_page
from kam_transforms.cockpit.i18n import Labels, resolve_locale
from kam_transforms.config import Settings

__all__ = ["cockpit_dir", "write_cockpit"]

log = logging.getLogger(__name__)


def cockpit_dir(settings: Settings, as_of: date) -> Path:
    return settings.reports_dir / "cockpit" / as_of.isoformat()


def _render_all(settings: Settings, as_of: date, t: Labels) -> dict[str, str]:
    """Page path (relative to the folder) -> HTML."""
    cur = settings.base_currency
    with duck.connect(settings.serving_db, read_only=True) as con:
        ov = queries.overview(con, as_of)
        run_wide: dict[str, list[Section]] = {
            "index.html": pages.overview_page(
                t, ov, cur, signals.freshness(settings.lake_dir, as_of)
            ),
            "pareto.html": pages.pareto_page(t, queries.pareto(con)),
            "value.html": pages.value_page(t, queries.value_matrix(con), cur),
            "lifecycle.html": pages.lifecycle_page(t, signals.lifecycle(con), cur),
            "health.html": pages.health_page(t, signals.health(con)),
            "clv.html": pages.clv_page(t, signals.clv(con), cur),
        }
        people = portfolio.managers(con, as_of)
        plan_columns = portfolio.plan_columns(con)
    nav_items = [*pages.PAGES, ("managers/index.html", "nav_managers")]
    common = {
        "lang": t.locale,
        "title": t["title"],
        "subtitle": t("as_of", date=as_of.isoformat()),
        "footer": t("footer", date=as_of.isoformat()),
        "build": ov.build_id or t["none"],
        "sort_hint": t["sort_hint"],
    }

    def page(path: str, title: str, sections: list[Section], here: str, subject: str = "") -> str:
        nav = [(href, t[key], href == here) for href, key in nav_items]
        root = "../" if "/" in path else ""
        return render_page(
            page_title=title, nav=nav, sections=sections, root=root, subject=subject, **common
        )

    out = {
        path: page(path, t[key], run_wide[path], path) for path, key in pages.PAGES
    }
    out["managers/index.html"] = page(
        "managers/index.html", t["managers_title"],
        manager_pages.manager_index(t, people, cur), "managers/index.html",
    )  # fmt: skip
    for m in people:
        sections = manager_pages.manager_page(t, m, cur, plan_columns)
        name = m.name or m.owner_id or t["unassigned"]
        out[f"managers/{m.page}"] = page(
            f"managers/{m.page}", t["manager"], sections, "managers/index.html", name
        )
    return out


def write_cockpit(
    settings: Settings, as_of: date, locale: str | None = None, out_dir: Path | None = None
) -> dict[str, Any]:
    """Write the cockpit of the serving warehouse published as of ``as_of`` into
    ``out_dir`` (default :func:`cockpit_dir`) in ``locale`` (default ``KAM_REPORT_LOCALE``,
    else ``en``). Returns its index path, locale and pages.

    Raises
    ------
    BuildRefused
        When serving is missing or was published as of another date.
    """
    t = Labels(resolve_locale(locale))
    require_serving_of(settings.serving_db, as_of, "report")
    target = out_dir or cockpit_dir(settings, as_of)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        for rel, html in _render_all(settings, as_of, t).items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*.html"))
    return {"cockpit": str(target / "index.html"), "locale": t.locale, "pages": len(written)}
