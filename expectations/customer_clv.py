"""Suite for ``customer_clv``: one row per customer, probabilities in range, CLV not negative
where the model predicted it (a fallback's historical margin may be a loss)."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_clv"
KEY = "customer_id"
BASELINE_SQL = "select count(*) as row_count from customer_clv"


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_clv`` mart."""
    e = gx.expectations
    modelled = {"row_condition": "is_fallback == False", "condition_parser": "pandas"}
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        e.ExpectColumnValuesToNotBeNull(column="predicted_clv"),
        e.ExpectColumnValuesToNotBeNull(column="model_run_id"),
        e.ExpectColumnValuesToBeBetween(column="p_alive", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="expected_purchases", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="predicted_clv", min_value=0, **modelled),
        e.ExpectColumnValuesToBeBetween(column="frequency", min_value=0),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
