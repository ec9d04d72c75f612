"""The cockpit's run-wide pages as sections (overview, Pareto, value matrix, lifecycle,
health, CLV), from the bounded figures of :mod:`.queries` and :mod:`.signals`."""

from __future__ import annotations

from typing import Any

from kam_transforms.cockpit import charts
from kam_transforms.cockpit.html import Cell, Section, Table
from kam_transforms.cockpit.i18n import Labels
from kam_transforms.cockpit.queries import Capped, Overview
from kam_transforms.cockpit.signals import BANDS, STAGES

__all__ = [
    "PAGES",
    "clv_page",
    "health_page",
    "lifecycle_page",
    "money",
    "overview_page",
    "pareto_page",
    "pct",
    "value_page",
]

#: (file, nav label key) of the run-wide pages, in nav order; managers/index.html follows.
PAGES = (
    ("index.html", "nav_overview"),
    ("pareto.html", "nav_pareto"),
    ("value.html", "nav_value"),
    ("lifecycle.html", "nav_lifecycle"),
    ("health.html", "nav_health"),
    ("clv.html", "nav_clv"),
)


def money(value: float | None) -> str:
    return "\u2014" if value is None else f"{value:,.0f}"


def pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "\u2014"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def num(value: Any, fmt: str = "{:,.0f}") -> Cell:
    if value is None:
        return Cell("\u2014", -1e300)
    return Cell(fmt.format(value), value)


def capped_note(t: Labels, capped: Capped) -> str:
    return t("shown_of", shown=len(capped.rows), total=capped.total) if capped.total > len(
        capped.rows
    ) else ""


def overview_page(
    t: Labels, ov: Overview, currency: str, fresh: list[tuple[Any, ...]]
) -> list[Section]:
    severities = ("high", "medium", "low")
    kpis = [
        (t["kpi_customers"], f"{ov.customers:,}", ""),
        (t["kpi_key_accounts"], f"{ov.key_accounts:,}", ""),
        (t("kpi_margin", currency=currency), money(ov.margin_t12m),
         f'{t["kpi_margin_change"]}: {pct(ov.margin_change_share, signed=True)}'),
        (t["kpi_alerts"], f"{sum(ov.alerts.values()):,}",
         " · ".join(f"{t.term(s)} {ov.alerts.get(s, 0)}" for s in severities)),
    ]  # fmt: skip
    chart = charts.bars(
        [t.term(s) for s in severities],
        [(t["kpi_alerts"], [ov.alerts.get(s, 0) for s in severities])],
        t["alerts_by_severity"],
        colours=[charts.RED],
    )
    blocking = sum(v[3] for v in ov.validation)
    outcome = t["passed"] if ov.validation and not blocking else t["failed"]
    validation = Table(
        [t["suite"], t["checks"], t["checks_passed"], t["blocking_failed"], t["warnings_failed"]],
        [
            [Cell(s, data=True), num(n), num(ok), num(b, "{:,}"), num(w, "{:,}")]
            for s, n, ok, b, w in ov.validation
        ],
        numeric=[False, True, True, True, True],
    )
    freshness = Table(
        [t["source"], t["entity"], t["latest_batch"], t["loaded_at"], t["days_behind"]],
        [
            [Cell(t.term(src)), Cell(name, data=True), Cell(day or t["never_landed"]),
             Cell(str(loaded)[:19] if loaded else t["none"]), num(behind)]
            for src, name, day, loaded, behind in fresh
        ],  # fmt: skip
        numeric=[False, False, False, False, True],
    )
    return [
        Section(t["nav_overview"], t["overview_caption"], kpis=kpis),
        Section(t["alerts_by_severity"], t["alerts_by_severity_caption"], chart=chart),
        Section(
            t["validation"], t["validation_caption"],
            kpis=[(t["validation_outcome"], outcome, "")], table=validation, empty=t["no_rows"],
        ),
        Section(t["freshness"], t["freshness_caption"], table=freshness, empty=t["no_rows"]),
    ]  # fmt: skip


def pareto_page(t: Labels, p: dict[str, Any]) -> list[Section]:
    measure = t[f"measure_{p['measure']}"] if p["measure"] in ("gross_margin", "revenue") else (
        p["measure"]
    )
    by_class = {c["class"]: c for c in p["classes"]}
    cutoffs = [
        (t("cutoff_" + k.lower(), share=pct(by_class[k]["cum_share"])), by_class[k]["rank_share"],
         by_class[k]["cum_share"])
        for k in ("A", "B") if k in by_class
    ]  # fmt: skip
    chart = charts.pareto(
        p["curve"], cutoffs, t("pareto_title", measure=measure), t["pareto_x"],
        t("pareto_y", measure=measure),
    )  # fmt: skip
    classes = Table(
        [t["abc_class"], t["customers"], measure, t["share_of_measure"]],
        [
            [Cell(t.term(c["class"]), c["class"]), num(c["customers"]), num(c["value"]),
             Cell(pct(c["share"]), c["share"])]
            for c in p["classes"]
        ],  # fmt: skip
        numeric=[False, True, True, True],
    )
    letters = ("A", "B", "C")
    migration = Table(
        [t["migration_from"], *[t.term(c) for c in letters]],
        [
            [Cell(t.term(prev), prev),
             *[num(p["migration"].get((prev, now), 0)) for now in letters]]
            for prev in letters
        ],
        numeric=[False, True, True, True],
    )
    return [
        Section(t("pareto_title", measure=measure), t("pareto_caption", measure=measure),
                chart=chart),
        Section(t("class_counts", measure=measure), table=classes, empty=t["no_rows"]),
        Section(t["migration_title"], t["migration_caption"], table=migration),
    ]  # fmt: skip


def value_page(t: Labels, v: dict[str, Any], currency: str) -> list[Section]:
    names = [t.term(q) for q in ("core", "potential", "direct", "inferior")]
    chart = charts.scatter(
        v["background"], v["keys"], t["value_title"], t("value_x", currency=currency),
        t("value_y", currency=currency), (v["current_threshold"], v["potential_threshold"]),
        names,
    )  # fmt: skip
    shown = len(v["background"]) + len(v["keys"])
    table = Table(
        [t["quadrant"], t["customers"], t["key_accounts"], t("margin", currency=currency)],
        [[Cell(t.term(q), q), num(n), num(k), num(m)] for q, n, k, m in v["quadrants"]],
        numeric=[False, True, True, True],
    )
    return [
        Section(t["value_title"], t["value_caption"], chart=chart),
        Section(t["quadrant"], t("value_sample", shown=shown, total=v["total"]), table=table),
    ]


def lifecycle_page(t: Labels, lc: dict[str, Any], currency: str) -> list[Section]:
    stages = [s for s in STAGES if s in lc["per_stage"]] + sorted(
        s for s in lc["per_stage"] if s not in STAGES
    )
    names = [t.term(s) for s in stages]
    left = charts.bars(names, [(t["customers"], [lc["per_stage"][s][0] for s in stages])],
                       t["customers"])  # fmt: skip
    right = charts.bars(
        names, [(t("margin", currency=currency), [lc["per_stage"][s][1] for s in stages])],
        t("margin", currency=currency), money=True, colours=[charts.ORANGE],
    )  # fmt: skip
    changed: Capped = lc["changed"]
    table = Table(
        [t["customer"], t["previous_stage"], t["stage"], t["stage_entered"]],
        [
            [Cell(name, data=True), Cell(t.term(prev)), Cell(t.term(now)), Cell(str(entered))]
            for name, prev, now, entered in changed.rows
        ],
        note=capped_note(t, changed),
    )
    return [
        Section(t["lifecycle_title"], t["lifecycle_caption"], charts=[left, right]),
        Section(t["transitions_title"], t["transitions_caption"], table=table,
                empty=t["no_rows"]),
    ]  # fmt: skip


def health_page(t: Labels, h: dict[str, Any]) -> list[Section]:
    bands = [b for b in BANDS if b in h["per_band"]]
    chart = charts.bars(
        [t.term(b) for b in bands],
        [(t["customers"], [h["per_band"][b][0] for b in bands]),
         (t["key_accounts"], [h["per_band"][b][1] for b in bands])],
        t["health_title"],
    )  # fmt: skip
    dropped: Capped = h["dropped"]
    table = Table(
        [t["customer"], t["key_accounts"], t["previous_band"], t["band"], t["previous_score"],
         t["health_score"]],
        [
            [Cell(name, data=True), Cell(t["yes"] if key else t["no"]),
             Cell(t.term(prev), css=prev or ""), Cell(t.term(band), css=band or ""),
             num(prev_score, "{:.0f}"), num(score, "{:.0f}")]
            for name, prev, band, prev_score, score, key in dropped.rows
        ],
        note=capped_note(t, dropped),
        numeric=[False, False, False, False, True, True],
    )  # fmt: skip
    return [
        Section(t["health_title"], t["health_caption"], chart=chart),
        Section(t["dropped_title"], t["dropped_caption"], table=table, empty=t["no_rows"]),
    ]


def clv_page(t: Labels, c: dict[str, Any], currency: str) -> list[Section]:
    keys = [(x, y, "") for x, y in c["keys"]]
    chart = charts.scatter(
        c["background"], keys, t["clv_title"], t("clv_x", currency=currency),
        t("clv_y", currency=currency), diagonal=True, named=0,
    )  # fmt: skip
    run = c["run"] or {}
    holdout = Section(t["holdout_title"], t["holdout_caption"])
    if run.get("predicted") is None:
        reason = run.get("fallback_reason") or t["none"]
        holdout.kpis = [(t["model_run"], str(run.get("model_run_id") or t["none"])[:12],
                         t("holdout_none", reason=reason))]  # fmt: skip
    else:
        holdout.kpis = [
            (t["holdout_cutoff"], str(run["cutoff"])[:10], ""),
            (t["holdout_customers"], f"{run['customers']:,}", ""),
            (t["holdout_predicted"], f"{run['predicted']:,.1f}", ""),
            (t["holdout_actual"], f"{run['actual']:,}", ""),
            (t["holdout_error_pct"], pct((run["error_pct"] or 0) / 100, signed=True), ""),
            (t["holdout_mae"], f"{run['mae']:,.2f}", ""),
        ]
        holdout.chart = charts.bars(
            [t["holdout_predicted"], t["holdout_actual"]],
            [(t["holdout_title"], [float(run["predicted"]), float(run["actual"])])],
            t["holdout_title"],
        )
    return [
        Section(t["clv_title"], t["clv_caption"] + " " + t(
            "value_sample", shown=len(c["keys"]) + len(c["background"]), total=c["total"]
        ), chart=chart),
        holdout,
    ]  # fmt: skip
