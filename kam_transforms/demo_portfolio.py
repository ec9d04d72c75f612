"""The planted scenario of the account-manager scorecards: an owner's class A account lost.

``lost_a_account``: a long-standing class A customer moves its business elsewhere: every order
it places from ``LOST_DAYS`` days before the anchor is cut to a twentieth of its quantities
(order, invoice and payment amounts follow). It is the free customer whose margin over the year
before the anchor (as the world has it, before the cut) puts the cumulative share of the
customers above it nearest ``TARGET_SHARE_BEFORE``: well inside class A (cut-off 0.80) before
the cut, so it stays A for months, and its trailing margin then falls month by month until it
drops out of class A about two months before the anchor, while the prior 12 months still make
it one of last year's A accounts: its owner's scorecard counts a key account lost and retains
fewer of last year's A accounts. Placed relative to the anchor, so every export of one world
agrees on it; drawn without a random generator, so it moves no other scenario's rows.
"""

from __future__ import annotations

import numpy as np

from kam_transforms.demo_economics import _old_and_alive, _settle_amounts
from kam_transforms.demo_world import _World

__all__ = ["LOST_DAYS", "PORTFOLIO_SCENARIO_TEXT", "plant_lost_a_account"]

#: Days before the anchor from which the lost account buys a twentieth of what it used to.
LOST_DAYS = 240
#: The cumulative margin share of the customers above it, before the cut.
TARGET_SHARE_BEFORE = 0.66

PORTFOLIO_SCENARIO_TEXT: dict[str, str] = {
    "lost_a_account": (
        f"class A account buying a twentieth of its quantities from {LOST_DAYS} days before "
        "anchor: it drops out of class A about two months before anchor and its owner's "
        "scorecard loses a key account"
    ),
}


def plant_lost_a_account(world: _World) -> dict[str, int]:
    """Plant ``lost_a_account`` into ``world`` in place (after the other scenarios, none of
    whose customers it takes); return name -> customer index."""
    taken = {int(i) for i in world.scenarios.values()}
    n = world.n_customers
    year = (world.o_t > -365) & (world.o_t <= 0) & ~(world.o_cancel_t <= 0)
    lines_in_year = year[world.l_order]
    order = world.l_order[lines_in_year]
    unit = world.l_price[lines_in_year] * (1 - world.l_disc[lines_in_year])
    margin_usd = (
        world.l_qty[lines_in_year] * (unit - world.l_cost[lines_in_year])
        * world.rate(world.o_cur[order], world.o_t[order])
    )  # fmt: skip
    margin = np.bincount(world.o_cust[order], weights=margin_usd, minlength=n)[:n]
    ranked = np.argsort(-np.clip(margin, 0, None), kind="stable")
    before = np.cumsum(np.clip(margin[ranked], 0, None)) - np.clip(margin[ranked], 0, None)
    share = before / max(float(np.clip(margin, 0, None).sum()), 1.0)
    fits = [
        (abs(float(share[k]) - TARGET_SHARE_BEFORE), int(i))
        for k, i in enumerate(ranked)
        if int(i) not in taken and not world.is_scenario[i] and _old_and_alive(world, int(i))
    ]
    if not fits:
        raise RuntimeError("no demo customer fits the lost_a_account scenario")
    lost = min(fits)[1]
    orders = np.flatnonzero((world.o_cust == lost) & (world.o_t > -LOST_DAYS))
    lines = np.flatnonzero(np.isin(world.l_order, orders))
    world.l_qty[lines] = np.maximum(1, np.round(world.l_qty[lines] / 20)).astype(np.int64)
    _settle_amounts(world, [lost])
    return {"lost_a_account": lost}
