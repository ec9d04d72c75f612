"""The account-manager index and one page per manager (portfolio, key accounts at risk,
open alerts, plan attainment where ``account_plan_attainment`` is served, input/output)."""

from __future__ import annotations

from kam_transforms.alerts.reasons import EvidenceError, MissingTemplateError, reason_for
from kam_transforms.cockpit import charts
from kam_transforms.cockpit.html import Cell, Section, Table
from kam_transforms.cockpit.i18n import Labels
from kam_transforms.cockpit.pages import money, num
from kam_transforms.cockpit.portfolio import Manager

__all__ = ["manager_index", "manager_page"]


def _name(t: Labels, m: Manager) -> str:
    if m.owner_id is None:
        return t["unassigned"]
    return m.name or m.owner_id


def manager_index(t: Labels, people: list[Manager], currency: str) -> list[Section]:
    table = Table(
        [t["manager"], t["customers"], t["key_accounts"], t("margin", currency=currency),
         t["at_risk_title"], t["open_alerts"]],
        [
            [Cell(_name(t, m), data=True), num(m.customers), num(m.key_accounts), num(m.margin),
             num(m.at_risk_total), num(m.alerts_total)]
            for m in people
        ],
        numeric=[False, True, True, True, True, True],
    )  # fmt: skip
    links = [
        (m.page, _name(t, m),
         t("manager_summary", customers=m.customers, keys=m.key_accounts,
           alerts=m.alerts_total, high=m.alerts_high))
        for m in people
    ]  # fmt: skip
    return [
        Section(t["managers_title"], t["managers_caption"], links=links),
        Section(t["portfolio"], table=table, empty=t["no_rows"]),
    ]


def manager_page(
    t: Labels, m: Manager, currency: str, plan_columns: list[str]
) -> list[Section]:
    classes = sorted(m.classes)
    portfolio = Section(
        t["portfolio"], t["portfolio_caption"],
        kpis=[(t["customers"], f"{m.customers:,}", ""),
              (t["key_accounts"], f"{m.key_accounts:,}", ""),
              (t("margin", currency=currency), money(m.margin), ""),
              (t["open_alerts"], f"{m.alerts_total:,}", f"{t.term('high')} {m.alerts_high}")],
        charts=[
            charts.bars([t.term(c) for c in classes],
                        [(t["customers"], [m.classes[c][0] for c in classes])], t["customers"]),
            charts.bars([t.term(c) for c in classes],
                        [(t("margin", currency=currency), [m.classes[c][1] for c in classes])],
                        t("margin", currency=currency), money=True, colours=[charts.ORANGE]),
        ] if classes else [],
    )  # fmt: skip
    at_risk = Table(
        [t["customer"], t["abc_class"], t["key_account_score"], t["band"], t["stage"],
         t["high_alerts"], t("margin", currency=currency)],
        [
            [Cell(name, data=True), Cell(t.term(cls), cls), num(score, "{:.0f}"),
             Cell(t.term(band), css=band or ""), Cell(t.term(stage)), num(high), num(margin)]
            for name, cls, score, band, stage, high, margin in m.at_risk
        ],
        note=_note(t, len(m.at_risk), m.at_risk_total),
        numeric=[False, False, True, False, False, True, True],
    )  # fmt: skip
    alerts = Table(
        [t["customer"], t["severity"], t["alert_type"], t["reason"]],
        [
            [Cell(name, data=True), Cell(t.term(sev), css=sev or ""), Cell(t.term(kind)),
             Cell(_reason(rule, evidence, reason, t.locale), data=True)]
            for name, sev, kind, rule, reason, evidence in m.alerts
        ],
        note=_note(t, len(m.alerts), m.alerts_total),
    )  # fmt: skip
    sections = [
        portfolio,
        Section(t["at_risk_title"], t["at_risk_caption"], table=at_risk, empty=t["no_rows"]),
        Section(t["open_alerts"], t["alerts_caption"], table=alerts, empty=t["no_rows"]),
    ]
    if plan_columns:
        plans = Table(
            [t["customer"], *[t[f"col_{c}"] for c in plan_columns]],
            [[Cell(str(r[0]), data=True), *[_plan_cell(t, c, v) for c, v in
              zip(plan_columns, r[1:], strict=True)]] for r in m.plans],
        )  # fmt: skip
        sections.append(
            Section(t["plan_title"], t["plan_caption"], table=plans, empty=t["no_rows"])
        )
    if m.io_curve:
        months = [p[0] for p in m.io_curve]
        sections.append(
            Section(
                t["io_title"], t["io_caption"],
                chart=charts.lines(
                    months,
                    [(t["io_input"], [p[1] for p in m.io_curve]),
                     (t["io_output"], [p[2] for p in m.io_curve])],
                    t["io_title"], t["io_x"], t("io_y", currency=currency),
                ),
            )  # fmt: skip
        )
    return sections


def _reason(rule: str, evidence: str | None, reason: str | None, locale: str) -> str:
    """The alert's reason in ``locale`` from the catalogue (as the digests word it), else
    the row's own reason (a rule the catalogue lacks never stops the cockpit)."""
    try:
        return reason_for(rule, evidence, locale)
    except (MissingTemplateError, EvidenceError, KeyError):
        return reason or ""


def _plan_cell(t: Labels, column: str, value: object) -> Cell:
    if column == "attainment_status":
        return Cell(t.term(value), str(value), css="red" if value == "behind" else "")
    if isinstance(value, int | float) and column.endswith("_share"):
        return Cell(f"{value:.0%}", value)
    if isinstance(value, int | float):
        return num(value)
    return Cell("\u2014" if value is None else str(value), data=column == "plan_id")


def _note(t: Labels, shown: int, total: int) -> str:
    return t("shown_of", shown=shown, total=total) if total > shown else ""
