"""Suite for ``account_manager_scorecards``: one row per owner and per manager, counts that add
up, shares and scores in range, and the score as the weighted mean of its components."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "account_manager_scorecards"
KEY = "scorecard_key"
BASELINE_SQL = None  # follows the owners in the CRM
COUNTS = [
    "customer_count",
    "class_a_count",
    "key_account_count",
    "prior_class_a_count",
    "retained_class_a_count",
    "key_accounts_touched",
    "plan_count",
    "alerts_raised",
    "complaints_past_sla",
    "alerts_raised_in_month",
    "alerts_closed_in_month",
    "median_days_to_close",
]
SHARES = ["class_a_retention_share", "touchpoint_coverage_share"]
SCORES = [
    "margin_growth_score",
    "plan_pace_score",
    "touchpoint_coverage_score",
    "key_account_health_score",
    "a_account_retention_score",
    "scorecard_score",
]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether the classes add up to the portfolio, and the score lies between the smallest and
    largest of its non-null components (a weighted mean does, whatever the weights)."""
    classes = frame["class_a_count"] + frame["class_b_count"] + frame["class_c_count"]
    components = frame[SCORES[:-1]].astype(float)
    score = frame["scorecard_score"].astype(float)
    within = (score >= components.min(axis=1) - 0.01) & (score <= components.max(axis=1) + 0.01)
    return frame.assign(
        classes_add_up=(classes == frame["customer_count"]).astype(bool),
        score_within_components=(within | (score.isna() & components.isna().all(axis=1))).astype(
            bool
        ),
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``account_manager_scorecards`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column=KEY),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToBeInSet(column="grain", value_set=["owner", "manager"]),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNTS],
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in SHARES],
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in SCORES],
        e.ExpectColumnValuesToBeInSet(column="classes_add_up", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="score_within_components", value_set=[True]),
    ):
        suite.add_expectation(expectation)
    return suite
