"""Suite for ``customer_tiers``: one row per customer, classes and scores in range, and
volume and drift against the previous published run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from expectations._volume import grain, row_count_near, within

TABLE = "customer_tiers"
KEY = "customer_id"
# Evaluated on the previous serving warehouse to compare this build against.
BASELINE_SQL = """
select
    count(*) as row_count,
    avg(case when abc_class = 'A' then 1.0 else 0.0 end) as class_a_share,
    sum(gross_margin_t12m) as total_margin
from customer_tiers
"""

CLASSES = ["A", "B", "C"]
QUADRANTS = ["core", "potential", "direct", "inferior"]
SCORES = [
    "revenue_volume_score",
    "revenue_potential_score",
    "lifetime_value_score",
    "product_fit_score",
    "strategic_value_score",
    "key_account_score",
]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Derived columns the drift expectations read."""
    return frame.assign(is_class_a=(frame["abc_class"] == "A").astype(float))


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_tiers`` mart."""
    e = gx.expectations
    expectations = [
        *grain(gx, KEY),
        e.ExpectColumnValuesToNotBeNull(column="abc_class"),
        e.ExpectColumnValuesToBeInSet(column="abc_class", value_set=CLASSES),
        e.ExpectColumnValuesToBeInSet(column="previous_abc_class", value_set=CLASSES),
        e.ExpectColumnDistinctValuesToContainSet(column="abc_class", value_set=["A"]),
        e.ExpectColumnValuesToBeBetween(column="cumulative_share", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="revenue_t12m", min_value=0),
        e.ExpectColumnValuesToBeInSet(column="value_quadrant", value_set=QUADRANTS),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in SCORES],
        *row_count_near(gx, baseline, config),
    ]
    if baseline and baseline.get("class_a_share") is not None:
        share, tol = float(baseline["class_a_share"]), config["tolerances"]["class_a_share_change"]
        expectations.append(
            e.ExpectColumnMeanToBeBetween(
                column="is_class_a",
                min_value=max(0.0, share - tol),
                max_value=min(1.0, share + tol),
            )
        )
    if baseline and baseline.get("total_margin"):
        low, high = within(
            float(baseline["total_margin"]), config["tolerances"]["total_margin_change"]
        )
        expectations.append(
            e.ExpectColumnSumToBeBetween(column="gross_margin_t12m", min_value=low, max_value=high)
        )
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite
