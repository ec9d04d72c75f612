"""A competitor entering several key accounts, planted into the demo world.

``competitor_in_key_accounts``: a new competitor, :data:`ENTRANT`, named on no deal before, is
the competitor that the latest won deal closed in the year before the anchor was up against,
in the four most valuable accounts (free of other scenarios) that have such a deal: key
accounts. Only the ``competitor`` of those four deals changes (no deal is added, none changes
its outcome), so no other table, alert or score moves; ``competitor_analysis`` shows it
present in four key accounts with no presence the year before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kam_transforms.demo_world import _World

__all__ = ["ENTRANT", "ENTRANT_ACCOUNTS", "ENTRANT_SCENARIO_TEXT", "plant_competitor_entry"]

ENTRANT = "Umbrella Components"
ENTRANT_ACCOUNTS = 4
ENTRANT_SCENARIO_TEXT = {
    "competitor_in_key_accounts": (
        f"new competitor {ENTRANT} on the latest won deal of this and three more key accounts "
        "within the year before anchor"
    ),
}


def plant_competitor_entry(world: _World) -> dict[str, int]:
    """Name :data:`ENTRANT` on four key accounts' latest recent won deal; return the first."""
    taken = set(world.scenarios.values())
    recent_won = world.op_won & (world.op_close > -365.0) & (world.op_close < -1.0)
    world.op_comp = world.op_comp.astype(object)  # room for a name of any length
    picked: list[int] = []
    for i in world.rank:  # by value: the top accounts first
        i = int(i)
        if i in taken:
            continue
        deals = np.flatnonzero(recent_won & (world.op_acc == i))
        if deals.size:
            world.op_comp[deals[np.argmax(world.op_close[deals])]] = ENTRANT
            picked.append(i)
        if len(picked) == ENTRANT_ACCOUNTS:
            break
    if not picked:
        raise RuntimeError("no key account with a recent won deal for competitor_in_key_accounts")
    return {"competitor_in_key_accounts": picked[0]}
