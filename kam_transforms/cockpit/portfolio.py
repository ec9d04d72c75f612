"""Per account manager: portfolio, key accounts at risk, open alerts, plan attainment and the
input/output curve over the lifecycle, each one grouped query over all managers (never one
query per manager), each list capped per manager at :data:`PER_MANAGER`."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from kam_transforms.cockpit.queries import has_table

__all__ = ["PER_MANAGER", "Manager", "managers", "page_name"]

PER_MANAGER = 100
UNASSIGNED = "_unassigned"


def page_name(owner_id: str | None) -> str:
    """The manager page's file name: the owner id with anything but ``[A-Za-z0-9_-]``
    replaced (owner ids come from the CRM)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", owner_id or UNASSIGNED) + ".html"


@dataclass
class Manager:
    owner_id: str | None
    name: str | None
    email: str | None
    customers: int = 0
    key_accounts: int = 0
    margin: float = 0.0
    classes: dict[str, tuple[int, float]] = field(default_factory=dict)
    at_risk: list[tuple[Any, ...]] = field(default_factory=list)
    at_risk_total: int = 0
    alerts: list[tuple[Any, ...]] = field(default_factory=list)
    alerts_total: int = 0
    alerts_high: int = 0
    plans: list[tuple[Any, ...]] = field(default_factory=list)
    io_curve: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def page(self) -> str:
        return page_name(self.owner_id)


def _capped(con: duckdb.DuckDBPyConnection, sql: str, order: str, params: list[Any]) -> dict:
    """``sql`` (its first column the owner id) cut to :data:`PER_MANAGER` rows per owner in
    ``order``; returns owner -> (rows without the owner, total rows of that owner)."""
    got = con.execute(
        f"select * from (select *, row_number() over (partition by _owner order by {order}) "  # noqa: S608
        f"as _n, count(*) over (partition by _owner) as _total from ({sql})) "
        f"where _n <= {PER_MANAGER} order by _owner, _n",
        params,
    ).fetchall()
    out: dict[Any, tuple[list[tuple[Any, ...]], int]] = {}
    for row in got:
        rows, _ = out.get(row[0], ([], 0))
        rows.append(tuple(row[1:-2]))
        out[row[0]] = (rows, int(row[-1]))
    return out


def managers(con: duckdb.DuckDBPyConnection, as_of: date) -> list[Manager]:
    """Every account manager owning a ranked customer, or an alert of ``as_of``."""
    people: dict[Any, Manager] = {}
    for owner, name, email, cls, n, keys, margin in con.execute(
        "select d.owner_id, any_value(d.owner_name), any_value(d.owner_email), t.abc_class, "
        "count(*), count(*) filter (where t.is_key_account), "
        "coalesce(sum(t.gross_margin_t12m), 0) from customer_tiers t "
        "join dim_customers d using (customer_id) group by d.owner_id, t.abc_class"
    ).fetchall():
        m = people.setdefault(owner, Manager(owner, name, email))
        m.classes[cls] = (int(n), float(margin))
        m.customers += int(n)
        m.key_accounts += int(keys)
        m.margin += float(margin)
    at_risk = _capped(
        con,
        "select d.owner_id as _owner, coalesce(d.customer_name, t.customer_id), t.abc_class, "
        "t.key_account_score, h.health_band, l.lifecycle_stage, "
        "count(a.alert_id) filter (where a.severity = 'high') as high_alerts, "
        "t.gross_margin_t12m as margin "
        "from customer_tiers t join dim_customers d using (customer_id) "
        "left join customer_health h using (customer_id) "
        "left join customer_lifecycle l using (customer_id) "
        "left join key_account_alerts a on a.customer_id = t.customer_id and a.as_of_date = ? "
        "where t.is_key_account group by all "
        "having h.health_band = 'red' or l.lifecycle_stage = 'decline' or high_alerts > 0",
        "margin desc nulls last, 1",
        [as_of],
    )
    alerts = _capped(
        con,
        "select owner_id as _owner, coalesce(customer_name, customer_id), severity, alert_type, "
        "rule_id, reason, evidence, case severity when 'high' then 0 when 'medium' then 1 "
        "else 2 end as _rank, alert_id from key_account_alerts where as_of_date = ?",
        "_rank, alert_id",
        [as_of],
    )
    high = dict(
        con.execute(
            "select owner_id, count(*) from key_account_alerts where as_of_date = ? "
            "and severity = 'high' group by 1",
            [as_of],
        ).fetchall()
    )
    for owner, (rows, total) in alerts.items():
        m = people.setdefault(owner, Manager(owner, None, None))
        m.alerts, m.alerts_total = [r[:-2] for r in rows], total
        m.alerts_high = int(high.get(owner, 0))
    for owner, (rows, total) in at_risk.items():
        people[owner].at_risk, people[owner].at_risk_total = rows, total
    for owner, curve in _io_curves(con).items():
        if owner in people:
            people[owner].io_curve = curve
    for owner, plan_rows in plan_attainment(con, as_of).items():
        if owner in people:
            people[owner].plans = plan_rows
    return sorted(people.values(), key=lambda m: (m.owner_id is None, m.name or "", m.owner_id))


def _io_curves(con: duckdb.DuckDBPyConnection) -> dict[Any, list[tuple[int, float, float]]]:
    """Per owner and month of life (first 120 months): the mean cumulative input cost and
    output margin of the owner's customers."""
    if not has_table(con, "customer_input_output"):
        return {}
    curves: dict[Any, list[tuple[int, float, float]]] = defaultdict(list)
    for owner, month, cost, margin in con.execute(
        "select d.owner_id, io.month_of_life, avg(io.cumulative_input_cost), "
        "avg(io.cumulative_output_margin) from customer_input_output io "
        "join dim_customers d using (customer_id) where io.month_of_life <= 120 "
        "group by all order by 1, 2"
    ).fetchall():
        curves[owner].append((int(month), float(cost or 0), float(margin or 0)))
    return dict(curves)


#: Columns of ``account_plan_attainment`` shown when present (in this order).
PLAN_COLUMNS = (
    "plan_id", "period_end", "revenue_target_base", "revenue_to_date_base",
    "revenue_attainment_share", "margin_target_base", "margin_to_date_base",
    "margin_attainment_share", "expected_attainment_share", "attainment_status",
)  # fmt: skip


def plan_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not has_table(con, "account_plan_attainment"):
        return []
    have = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'main' and table_name = 'account_plan_attainment'"
        ).fetchall()
    }
    return [c for c in PLAN_COLUMNS if c in have] if "customer_id" in have else []


def plan_attainment(
    con: duckdb.DuckDBPyConnection, as_of: date
) -> dict[Any, list[tuple[Any, ...]]]:
    """Rows of ``account_plan_attainment`` per owner (skipped when the mart is not served):
    customer name then :func:`plan_columns` (names from an allow-list)."""
    cols = plan_columns(con)
    if not cols:
        return {}
    picked = ", ".join(f'p."{c}"' for c in cols)
    got = _capped(
        con,
        f"select d.owner_id as _owner, coalesce(d.customer_name, p.customer_id) as _name, "  # noqa: S608
        f"{picked} "
        "from account_plan_attainment p join dim_customers d using (customer_id) "
        "where p.as_of_date = ?",
        "_name",
        [as_of],
    )
    return {owner: rows for owner, (rows, _) in got.items()}
