"""Suite for ``lifecycle_input_output``: one row per stage and month of life."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "lifecycle_input_output"
KEY = "stage_month"
BASELINE_SQL = None  # a handful of rows that move with the stages: no volume check
STAGES = ["exploration", "formation", "stability", "decline", "churned", "prospect", "unknown"]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The grain as one column (lifecycle_stage|month_of_life)."""
    return frame.assign(
        stage_month=frame["lifecycle_stage"].astype(str) + "|" + frame["month_of_life"].astype(str)
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``lifecycle_input_output`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=STAGES),
        e.ExpectColumnValuesToBeBetween(column="customer_count", min_value=1),
        e.ExpectColumnValuesToBeBetween(column="input_cost_total", min_value=0),
    ):
        suite.add_expectation(expectation)
    return suite
