"""Suite for ``customer_tiers``: one row per customer, classes in their set, shares in range."""

from __future__ import annotations

from typing import Any

TABLE = "customer_tiers"
KEY = "customer_id"


def build(gx: Any) -> Any:
    """Return the expectation suite for the ``customer_tiers`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToBeUnique(column="customer_id"),
        e.ExpectColumnValuesToNotBeNull(column="abc_class"),
        e.ExpectColumnValuesToBeInSet(column="abc_class", value_set=["A", "B", "C"]),
        e.ExpectColumnValuesToBeInSet(
            column="previous_abc_class", value_set=["A", "B", "C"], mostly=1.0
        ),
        e.ExpectColumnValuesToBeBetween(column="cumulative_share", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="revenue_t12m", min_value=0),
        e.ExpectColumnDistinctValuesToContainSet(column="abc_class", value_set=["A"]),
    ):
        suite.add_expectation(expectation)
    return suite
