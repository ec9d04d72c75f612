"""Suite for ``customer_whitespace``: one row per key account and category not bought."""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "customer_whitespace"
KEY = "account_category"
BASELINE_SQL = None  # follows the key accounts: their count is checked on customer_tiers


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The grain as one column, and whether the buyers fit in the similar accounts."""
    return frame.assign(
        account_category=frame["customer_id"].astype(str)
        + "|"
        + frame["product_category"].astype(str),
        buyers_within_similar=frame["buying_account_count"] <= frame["similar_account_count"],
    )


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_whitespace`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectColumnValuesToBeUnique(column=KEY),
        e.ExpectColumnValuesToBeBetween(column="buying_share", min_value=0, max_value=1),
        e.ExpectColumnValuesToBeBetween(column="opportunity_value", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="opportunity_rank", min_value=1),
        e.ExpectColumnValuesToBeInSet(column="buyers_within_similar", value_set=[True]),
    ):
        suite.add_expectation(expectation)
    return suite
