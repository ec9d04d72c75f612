"""Suite for ``competitor_analysis``: one row per competitor, counts and rates in range."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "competitor_analysis"
KEY = "competitor"
BASELINE_SQL = None  # follows the competitors named in the CRM
COUNTS = [
    "opportunities_won_t12m",
    "opportunities_lost_t12m",
    "opportunities_won_prior_12m",
    "opportunities_lost_prior_12m",
    "open_opportunities",
    "key_accounts_present",
    "key_accounts_present_prior_12m",
]


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether the win rate is won / (won + lost) where there is a closed opportunity."""
    closed = frame["opportunities_won_t12m"] + frame["opportunities_lost_t12m"]
    rate = frame["opportunities_won_t12m"] / closed.where(closed > 0)
    same = (rate - frame["win_rate_t12m"]).abs().fillna(0) < 1e-9
    both_null = rate.isna() == frame["win_rate_t12m"].isna()
    return frame.assign(win_rate_consistent=(same & both_null).astype(bool))


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``competitor_analysis`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToNotBeNull(column=KEY),
        e.ExpectColumnValuesToBeUnique(column=KEY),
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in COUNTS],
        e.ExpectColumnValuesToBeBetween(column="win_rate_t12m", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="win_rate_prior_12m", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeInSet(column="win_rate_consistent", value_set=[True]),
    ):
        suite.add_expectation(expectation)
    return suite
