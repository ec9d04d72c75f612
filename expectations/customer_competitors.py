"""Suite for ``customer_competitors``: one row per key account and competitor."""

from __future__ import annotations

from typing import Any

TABLE = "customer_competitors"
KEY = "customer_competitor_key"
BASELINE_SQL = None  # follows the key accounts (checked on customer_tiers)
COUNTS = [
    "opportunities_won_t12m",
    "opportunities_lost_t12m",
    "opportunities_won",
    "opportunities_lost",
    "open_opportunities",
]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_competitors`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column=KEY),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToNotBeNull(column="competitor"),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNTS],
        e.ExpectColumnValuesToNotBeNull(column="is_present"),
    ):
        suite.add_expectation(expectation)
    return suite
