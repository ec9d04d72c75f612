"""Suite for ``account_plan_attainment``: one row per plan (or key account without a plan)."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "account_plan_attainment"
KEY = "plan_key"
BASELINE_SQL = None  # follows the plans landed and the key accounts (checked on customer_tiers)
STATUSES = ["on_track", "at_risk", "behind", "not_started", "no_target", "no_plan"]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether a row without a plan is exactly a no_plan row, and the period adds up."""
    has_plan = frame["plan_id"].notna()
    days_add_up = (frame["elapsed_days"] + frame["remaining_days"] == frame["period_days"]).astype(
        "boolean"
    )
    return frame.assign(
        no_plan_consistent=(~has_plan) == frame["attainment_status"].eq("no_plan"),
        period_days_add_up=days_add_up.where(has_plan, True).fillna(False).astype(bool),
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``account_plan_attainment`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column=KEY),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToNotBeNull(column="attainment_status"),
        e.ExpectColumnValuesToBeInSet(column="attainment_status", value_set=STATUSES),
        e.ExpectColumnValuesToBeInSet(column="pace_method", value_set=["seasonal", "linear"]),
        e.ExpectColumnValuesToBeInSet(
            column="plan_status", value_set=["draft", "active", "closed"]
        ),
        e.ExpectColumnValuesToBeBetween(
            column="expected_attainment_share", min_value=0, max_value=1
        ),
        e.ExpectColumnValuesToBeBetween(column="revenue_target_base", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="margin_target_base", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="revenue_to_date_base", min_value=0),
        e.ExpectColumnValuesToBeInSet(column="no_plan_consistent", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="period_days_add_up", value_set=[True]),
    ):
        suite.add_expectation(expectation)
    return suite
