"""Suite for ``customer_lifecycle``: one stage per customer, from the accepted set."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_lifecycle"
KEY = "customer_key"
BASELINE_SQL = "select count(*) as row_count from customer_lifecycle"
STAGES = ["prospect", "exploration", "formation", "stability", "decline", "churned"]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_lifecycle`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        e.ExpectColumnValuesToNotBeNull(column="lifecycle_stage"),
        e.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=STAGES),
        e.ExpectColumnValuesToBeInSet(column="previous_stage", value_set=STAGES),
        e.ExpectColumnValuesToNotBeNull(column="stage_entered_date"),
        e.ExpectColumnValuesToBeBetween(column="order_interval_ratio", min_value=0),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
