"""Suite for ``customer_price_tolerance``: one row per customer, scores 0-100, labels in set."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_price_tolerance"
KEY = "customer_id"
BASELINE_SQL = "select count(*) as row_count from customer_price_tolerance"
COMPONENTS = [
    "squeeze_score",
    "discount_depth_component",
    "payment_lateness_component",
    "cost_to_serve_component",
]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_price_tolerance`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in COMPONENTS],
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100)
            for c in COMPONENTS
        ],
        e.ExpectColumnValuesToBeInSet(
            column="price_response", value_set=["tolerant", "sensitive", "unknown"]
        ),
        e.ExpectColumnValuesToBeBetween(column="discount_depth_t12m", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="price_index_t12m", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="revenue_percentile", min_value=0, max_value=1),
        e.ExpectColumnValuesToNotBeNull(column="is_large_account_squeezing"),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
