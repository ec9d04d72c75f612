"""Suite for ``customer_demand_forecast``: one row per key account, category and horizon;
weights are shares, expectations not negative, the basis and horizons in their sets."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "customer_demand_forecast"
KEY = "account_category_horizon"
BASELINE_SQL = None  # follows the key accounts: their count is checked on customer_tiers


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The grain as one column (customer_id|product_category|horizon_months)."""
    return frame.assign(
        account_category_horizon=frame["customer_id"].astype(str)
        + "|"
        + frame["product_category"].astype(str)
        + "|"
        + frame["horizon_months"].astype(str)
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_demand_forecast`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToBeInSet(column="forecast_basis", value_set=["clv", "run_rate"]),
        e.ExpectColumnValuesToBeBetween(column="category_weight", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="expected_orders", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="horizon_months", min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="is_clv_fallback"),
    ):
        suite.add_expectation(expectation)
    return suite
