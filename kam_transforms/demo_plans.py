"""Account plans (KAM plans with revenue and margin targets) for the demo world.

Planned after the world is built (:mod:`kam_transforms.demo_data`), with a random generator
of their own, from the world's own orders; they change no other table. The key accounts
(the top quarter of customers by value) get one plan per calendar year of the three years of
history: drafted 10-40 days before the year starts, active from its first two weeks, closed
5-30 days after it ends. Each target is the account's revenue of the 365 days before the
period times a factor drawn per plan: ahead of it (0.75-0.90), on track (0.95-1.08) or
behind it (1.25-1.60); the margin target applies the account's margin share of those days.
One key account in seven has no plan at all. Targets are in the account's currency.

An export as of ``D`` holds the plans drafted by ``D``, with the status and ``updated_at``
of ``D``: one world, consistent across as-of dates.

``plan_behind_pace`` (planted): a key account whose only plan runs twelve months from the
first day of the month at least 180 days before the anchor, with a target of 3 times its
revenue of the year before: far behind its pace as of the anchor.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from kam_transforms.demo_world import AccountPlans

if TYPE_CHECKING:
    from kam_transforms.demo_world import _World

__all__ = ["PLAN_SCENARIO_TEXT", "AccountPlans", "plan_accounts"]

PLAN_SCENARIO_TEXT = {
    "plan_behind_pace": (
        "key account whose current plan's revenue target is 3 times its revenue of the "
        "year before: far behind pace"
    ),
}
_OBJECTIVES = (
    "Grow share of wallet",
    "Retain volume and extend the contract",
    "Cross-sell a second product line",
    "Recover volume lost last year",
)
_OBJECTIVES_ZH = (
    "提升客户钱包份额",
    "保持销量并续签合同",
    "交叉销售第二条产品线",
    "恢复去年流失的销量",
)
_FACTORS = ((0.75, 0.90), (0.95, 1.08), (1.25, 1.60))
_FACTOR_P = (0.35, 0.35, 0.30)


def _day(d: date, anchor: date) -> float:
    return float((d - anchor).days)


def _revenue_before(world: _World, start: np.ndarray, cust: np.ndarray) -> tuple[Any, Any]:
    """Net revenue and margin (order currency) of ``cust`` in the 365 days before ``start``
    (one pass over the orders per distinct start date)."""
    net = world.l_qty * world.l_price * (1 - world.l_disc)
    margin = net - world.l_qty * world.l_cost
    o_net = np.bincount(world.l_order, weights=net, minlength=world.n_orders)
    o_margin = np.bincount(world.l_order, weights=margin, minlength=world.n_orders)
    live = np.isnan(world.o_cancel_t)
    revenue, gross = np.zeros(cust.size), np.zeros(cust.size)
    for s in np.unique(start):
        inside = live & (world.o_t >= s - 365.0) & (world.o_t < s)
        by_rev = np.bincount(world.o_cust[inside], o_net[inside], minlength=world.n_customers)
        by_mar = np.bincount(world.o_cust[inside], o_margin[inside], minlength=world.n_customers)
        at = start == s
        revenue[at], gross[at] = by_rev[cust[at]], by_mar[cust[at]]
    return revenue, gross


def _round_target(x: np.ndarray, currency_idx: np.ndarray) -> np.ndarray:
    from kam_transforms.demo_world import CURRENCIES

    step = np.where(currency_idx == CURRENCIES.index("JPY"), 100_000.0, 1_000.0)
    return np.maximum(step, np.round(x / step) * step)


def plan_accounts(world: _World) -> tuple[AccountPlans, dict[str, int]]:
    """The plans of ``world`` and the planted scenario's account."""
    from kam_transforms.demo_world import _CN

    rng = np.random.default_rng([world.seed, 15])
    n, anchor = world.n_customers, world.anchor
    top = world.rank[: max(10, n // 4)]
    planted_ids = set(world.scenarios.values())
    alive = np.isnan(world.churn_t) & (world.order_start < -400.0)
    candidates = [int(i) for i in top if alive[i] and int(i) not in planted_ids]
    if not candidates:  # a small world: the key accounts are all planted with something
        candidates = [int(i) for i in world.rank if alive[i] and int(i) not in planted_ids]
    behind = candidates[len(candidates) // 3]  # a mid-ranked key account, free of scenarios
    without = rng.random(top.size) < 1 / 7

    accounts, starts, ends = [], [], []
    for year in (anchor.year - 2, anchor.year - 1, anchor.year):
        ys, ye = _day(date(year, 1, 1), anchor), _day(date(year, 12, 31), anchor)
        for i, skip in zip(top, without, strict=True):
            i = int(i)
            if skip or i == behind or world.order_start[i] >= ys - 30:
                continue
            if not np.isnan(world.churn_t[i]) and world.order_end[i] < ys:
                continue
            accounts.append(i)
            starts.append(ys)
            ends.append(ye)
    month = date(anchor.year, anchor.month, 1)
    while (anchor - month).days < 180:
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    planted_end = date(month.year + 1, month.month, 1)
    accounts.append(behind)
    starts.append(_day(month, anchor))
    ends.append(_day(planted_end, anchor) - 1.0)

    acc = np.array(accounts, dtype=np.int64)
    start, end = np.array(starts), np.array(ends)
    k = acc.size
    base, base_margin = _revenue_before(world, start, acc)
    kind = rng.choice(len(_FACTORS), size=k, p=_FACTOR_P)
    lo = np.array([f[0] for f in _FACTORS])[kind]
    hi = np.array([f[1] for f in _FACTORS])[kind]
    factor = rng.uniform(lo, hi)
    factor[-1] = 3.0
    currency = world.currency[acc]
    revenue_target = _round_target(np.maximum(base, 1.0) * factor, currency)
    share = np.where(base > 0, base_margin / np.where(base > 0, base, 1.0), 0.3)
    margin_target = _round_target(revenue_target * np.clip(share, 0.05, 0.9), currency)

    created = start - rng.uniform(10.0, 40.0, k)
    activated = start + rng.uniform(0.0, 14.0, k)
    closed = end + 1.0 + rng.uniform(5.0, 30.0, k)
    created[-1], activated[-1] = start[-1] - 12.0 + 0.37, start[-1] + 2.0 + 0.41
    zh = world.country[acc] == _CN
    pick = rng.integers(len(_OBJECTIVES), size=k)
    objective = np.where(zh, np.array(_OBJECTIVES_ZH)[pick], np.array(_OBJECTIVES)[pick])

    order = np.lexsort((acc, start))
    plans = AccountPlans(
        acc=acc[order],
        start=start[order],
        end=end[order],
        revenue=revenue_target[order],
        margin=margin_target[order],
        currency=currency[order],
        objective=objective[order],
        created=created[order],
        activated=activated[order],
        closed=closed[order],
        owner=world.owner_at(acc[order], created[order]),
    )
    return plans, {"plan_behind_pace": behind}
