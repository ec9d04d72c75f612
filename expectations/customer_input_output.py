"""Suite for ``customer_input_output``: one row per customer and month, inputs not negative."""

from __future__ import annotations

from typing import Any

import pandas as pd

from expectations._volume import row_count_near

TABLE = "customer_input_output"
KEY = "customer_month"
BASELINE_SQL = "select count(*) as row_count from customer_input_output"
INPUTS = ["input_ticket_cost", "input_touchpoint_cost", "input_discount_cost", "input_cost"]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The grain as one column (customer_id|month_start_date)."""
    return frame.assign(
        customer_month=frame["customer_id"].astype(str)
        + "|"
        + frame["month_start_date"].astype(str)
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_input_output`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToBeBetween(column="month_of_life", min_value=0),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in INPUTS],
        e.ExpectColumnValuesToBeBetween(column="cumulative_input_cost", min_value=0),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
