"""Customer-economics scenarios planted into the demo world (:mod:`kam_transforms.demo_data`).

They are planted after the world is built, with a random generator of their own, on
ordinary customers picked by rank, and only rewrite those customers' rows (plus appended
tickets and touchpoints), so every other customer's data stays exactly what it was:

``squeezing_large_account``
    a top-revenue account given 28% off list on every line (quantities raised so revenue
    holds), paying every invoice 35 days late and asking for heavy service (tickets and
    visits several times a week over the last year): a large account that squeezes (客大欺店).
``loyal_cross_buyer``
    a long-standing customer that buys across every product category, at 1% discount, pays
    early and answers NPS surveys with 10.
``price_rise_quantity_drop``
    a USD customer buying three consumables in every order; 330 and 170 days before the
    anchor its prices rise 15% and each time its quantities fall by 40%.
``key_account_missing_category``
    a top account that never buys Software (its Software lines become other products of the
    same value), which its class-A peers of the same industry do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kam_transforms.demo_world import _PRODUCT_CATEGORIES, _day_time, _round_money

if TYPE_CHECKING:
    from kam_transforms.demo_world import _World

__all__ = ["ECONOMICS_SCENARIO_TEXT", "plant_customer_economics"]

ECONOMICS_SCENARIO_TEXT: dict[str, str] = {
    "squeezing_large_account": (
        "top-revenue account with 28% discounts, invoices paid 35 days late and tickets "
        "and visits several times a week: a large account that squeezes"
    ),
    "loyal_cross_buyer": (
        "long-standing customer buying every product category, low discount, early payment, NPS 10"
    ),
    "price_rise_quantity_drop": (
        "customer whose prices rose 15% 330 and 170 days before anchor and whose quantities fell "
        "40% after each rise"
    ),
    "key_account_missing_category": (
        "top account that never buys Software, which its class-A peers in its industry buy"
    ),
}
_MISSING_CATEGORY = "Software"
_RISE_DAYS = (-330.0, -170.0)


def _pick(world: _World, taken: set[int], from_rank: int, condition: Any) -> int:
    """The first customer by descending value from ``from_rank`` that is free and fits."""
    for position in range(from_rank, world.n_customers):
        i = int(world.rank[position])
        if i not in taken and not world.is_scenario[i] and bool(condition(i)):
            taken.add(i)
            return i
    raise RuntimeError("no demo customer fits a customer-economics scenario")


def _old_and_alive(world: _World, i: int) -> bool:
    return bool(world.order_start[i] < -3 * 365 + 30 and np.isnan(world.churn_t[i]))


def _reprice(world: _World, lines: np.ndarray) -> None:
    """List price and cost of ``lines`` for their (new) products on their order dates."""
    order = world.l_order[lines]
    cust = world.o_cust[order]
    cur = world.o_cur[order]
    rate = world.rate(cur, world.o_t[order])
    prod = world.l_prod[lines]
    world.l_price[lines] = _round_money(
        world.list_price_usd[prod] * world.price_factor[cust] / rate, cur
    )
    world.l_cost[lines] = _round_money(world.unit_cost_usd[prod] / rate, cur)


def _keep_value(world: _World, lines: np.ndarray, old_net: np.ndarray) -> None:
    """Quantities so that each line's net amount stays about ``old_net``."""
    unit = world.l_price[lines] * (1 - world.l_disc[lines])
    world.l_qty[lines] = np.maximum(1, np.round(old_net / unit)).astype(np.int64)


def _net(world: _World, lines: np.ndarray) -> np.ndarray:
    return np.asarray(world.l_qty[lines] * world.l_price[lines] * (1 - world.l_disc[lines]))


def _settle_amounts(world: _World, customers: list[int]) -> None:
    """Order, invoice and payment amounts of ``customers`` after their lines changed."""
    orders = np.flatnonzero(np.isin(world.o_cust, customers))
    lines = np.flatnonzero(np.isin(world.l_order, orders))
    net = world.l_qty[lines] * world.l_price[lines] * (1 - world.l_disc[lines])
    totals = np.bincount(world.l_order[lines], weights=net, minlength=world.n_orders)
    world.o_amount[orders] = _round_money(totals[orders], world.o_cur[orders])
    for k in np.flatnonzero(np.isin(world.i_cust, customers)):
        amount = world.o_amount[world.i_order[k]]
        world.i_amount[k] = amount
        pays = np.flatnonzero(world.p_inv == k)
        if pays.size:
            last = pays[np.argmax(world.p_t[pays])]
            others = float(world.p_amount[pays].sum() - world.p_amount[last])
            if others >= amount:  # a partial instalment larger than the new amount
                world.p_amount[pays] = 0.0
                others = 0.0
            world.p_amount[last] = _round_money(
                np.array([amount - others]), np.array([world.i_cur[k]])
            )[0]


def _append_service(
    world: _World, rng: np.random.Generator, account: int, tickets: int, visits: int
) -> None:
    """Tickets and visits spread over the last year of ``account``."""
    opened = _day_time(rng, rng.uniform(-360, -5, tickets))
    resolved = opened + rng.uniform(1, 4, tickets)
    world.t_acc = np.append(world.t_acc, np.full(tickets, account))
    world.t_opened = np.append(world.t_opened, opened)
    world.t_inprog = np.append(world.t_inprog, opened + 0.2)
    world.t_resolved = np.append(world.t_resolved, resolved)
    world.t_closed = np.append(world.t_closed, resolved + 1.0)
    world.t_cat = np.append(world.t_cat, rng.choice(3, size=tickets))
    world.t_pri = np.append(world.t_pri, rng.choice(4, size=tickets))
    t = _day_time(rng, rng.uniform(-360, -2, visits))
    world.a_acc = np.append(world.a_acc, np.full(visits, account))
    world.a_t = np.append(world.a_t, t)
    world.a_type = np.append(world.a_type, np.full(visits, 3))  # visit
    world.a_owner = np.append(world.a_owner, world.owner_at(np.full(visits, account), t))


def plant_customer_economics(world: _World) -> dict[str, int]:
    """Plant the four scenarios into ``world`` in place; return name -> customer index."""
    rng = np.random.default_rng([world.seed, 14])
    taken: set[int] = set()
    n = world.n_customers
    has_nps = np.zeros(world.n_accounts, dtype=bool)
    has_nps[world.s_acc[world.s_type == 0]] = True
    usd = 0
    top = max(8, n // 40)
    squeezer = _pick(world, taken, top // 2, lambda i: _old_and_alive(world, i))
    missing = _pick(world, taken, top // 2, lambda i: _old_and_alive(world, i))
    riser = _pick(
        world, taken, n // 10,
        lambda i: _old_and_alive(world, i) and world.currency[i] == usd,
    )  # fmt: skip
    loyal = _pick(world, taken, n // 8, lambda i: _old_and_alive(world, i) and bool(has_nps[i]))
    category = np.asarray(world.product_category)

    def lines_of(customer: int) -> np.ndarray:
        return np.flatnonzero(world.o_cust[world.l_order] == customer)

    # squeezing large account: deep discounts, late payment, heavy service
    lines = lines_of(squeezer)
    old = _net(world, lines)
    world.l_disc[lines] = 0.28
    _keep_value(world, lines, old)
    _append_service(world, rng, squeezer, tickets=100, visits=150)

    # key account missing a category: its Software lines become other products
    lines = lines_of(missing)
    old = _net(world, lines)
    drop = lines[category[world.l_prod[lines]] == _MISSING_CATEGORY]
    others = np.flatnonzero(category != _MISSING_CATEGORY)
    world.l_prod[drop] = others[np.searchsorted(others, world.l_prod[drop]) % others.size]
    _reprice(world, drop)
    _keep_value(world, lines, old)

    # price rise, then fewer units: three consumables in every order
    lines = lines_of(riser)
    consumables = np.flatnonzero(category == "Consumables")[:3]
    if consumables.size < 3:
        consumables = np.resize(np.flatnonzero(category == category[0]), 3)
    first = np.r_[True, world.l_order[lines][1:] != world.l_order[lines][:-1]]
    position = np.arange(lines.size) - np.maximum.accumulate(
        np.where(first, np.arange(lines.size), 0)
    )
    world.l_prod[lines] = consumables[position % 3]
    world.l_disc[lines] = np.round(world.base_discount[riser], 3)
    _reprice(world, lines)
    world.l_qty[lines] = 600  # a steady order of each item, so the response is the plant's
    for rise_day in _RISE_DAYS:
        after = lines[world.o_t[world.l_order[lines]] > rise_day]
        world.l_price[after] = _round_money(world.l_price[after] * 1.15, np.zeros(after.size, int))
        world.l_qty[after] = np.maximum(1, np.round(world.l_qty[after] * 0.6)).astype(np.int64)

    # loyal cross-buyer: every category, low discount, early payment, promoter
    lines = lines_of(loyal)
    old = _net(world, lines)
    by_category = [np.flatnonzero(category == c[0]) for c in _PRODUCT_CATEGORIES]
    by_category = [p for p in by_category if p.size]
    pick = []
    for j in range(lines.size):
        products = by_category[j % len(by_category)]
        pick.append(products[j // len(by_category) % products.size])
    world.l_prod[lines] = np.asarray(pick, dtype=world.l_prod.dtype)
    world.l_disc[lines] = 0.01
    _reprice(world, lines)
    _keep_value(world, lines, old)
    world.s_score[(world.s_acc == loyal) & (world.s_type == 0)] = 10

    _settle_amounts(world, [squeezer, missing, riser, loyal])
    # payment behaviour after the amounts: squeezer 35 days late, loyal buyer early
    for customer, delay in ((squeezer, 35.0), (loyal, -3.0)):
        invoices = np.flatnonzero(world.i_cust == customer)
        pays = np.isin(world.p_inv, invoices)
        due = world.i_due_day[world.p_inv[pays]]
        world.p_t[pays] = np.maximum(due + delay + 0.5, world.i_t[world.p_inv[pays]] + 1.0)
    return {
        "squeezing_large_account": squeezer,
        "loyal_cross_buyer": loyal,
        "price_rise_quantity_drop": riser,
        "key_account_missing_category": missing,
    }
