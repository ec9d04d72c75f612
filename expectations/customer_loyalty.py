"""Suite for ``customer_loyalty``: one row per customer, index 0-100, bands in their set."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_loyalty"
KEY = "customer_id"
BASELINE_SQL = "select count(*) as row_count from customer_loyalty"
SCORES = [
    "loyalty_index",
    "repeat_purchase_score",
    "cross_purchase_score",
    "tenure_score",
    "promoter_score",
    "price_tolerance_score",
]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_loyalty`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in SCORES],
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in SCORES],
        e.ExpectColumnValuesToBeInSet(column="loyalty_band", value_set=["high", "medium", "low"]),
        e.ExpectColumnValuesToBeInSet(
            column="promoter_status", value_set=["promoter", "passive", "detractor", "unknown"]
        ),
        e.ExpectColumnValuesToBeBetween(column="repeat_purchase_rate", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="category_share_t12m", min_value=0, max_value=1),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
