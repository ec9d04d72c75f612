"""Suite for ``data_quality_issues``: one warning per kind of issue, naming its keys.

``prepare`` turns each issue type into a column holding the entity keys of its rows (null
elsewhere); the suite expects each such column to be null, so a failure counts that kind's
rows and samples their keys (the order, line, rate, owner or account). The severity of
these expectations is ``warning`` (:mod:`expectations.config`): the build that found them is
published and the alerts sent, and the report lists them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

TABLE = "data_quality_issues"
KEY = "issue_id"
BASELINE_SQL = None
ISSUE_TYPES = (
    "order_customer_missing",
    "order_line_order_missing",
    "fx_rate_stale",
    "owner_email_malformed",
    "crm_erp_customer_missing",
    "crm_erp_link_duplicate",
)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """One column per issue type: the entity key on that type's rows, else null."""
    frame = frame.copy()
    for issue_type in ISSUE_TYPES:
        frame[issue_type] = frame["entity_key"].where(frame["issue_type"] == issue_type)
    return frame


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``data_quality_issues`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    suite.add_expectation(e.ExpectColumnValuesToBeUnique(column=KEY))
    suite.add_expectation(
        e.ExpectColumnValuesToBeInSet(column="issue_type", value_set=list(ISSUE_TYPES))
    )
    for issue_type in ISSUE_TYPES:
        suite.add_expectation(e.ExpectColumnValuesToBeNull(column=issue_type))
    return suite
