"""Suite for ``customer_demand_forecast_holdout``: shares between 0 and 1, one row per key
account and category."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "customer_demand_forecast_holdout"
KEY = "account_category"
BASELINE_SQL = None  # empty when clv_holdout_weeks is 0


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The grain as one column (customer_id|product_category)."""
    return frame.assign(
        account_category=frame["customer_id"].astype(str)
        + "|"
        + frame["product_category"].astype(str)
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_demand_forecast_holdout`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToBeBetween(column="predicted_share", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="actual_share", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="share_error", min_value=-1, max_value=1),
    ):
        suite.add_expectation(expectation)
    return suite
