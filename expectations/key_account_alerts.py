"""Suite for ``key_account_alerts``: each alert well formed and deliverable."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain

TABLE = "key_account_alerts"
KEY = "alert_id"
BASELINE_SQL = None  # alerts come and go: no volume check against the last run

ALERT_TYPES = [
    "risk",
    "opportunity",
    "lifecycle",
    "tier_change",
    "payment",
    "service",
    "relationship",
]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``key_account_alerts`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    # An empty alert table is a good day, not a failure: drop the non-empty check.
    for expectation in (
        *grain(gx, KEY)[1:],
        e.ExpectColumnValuesToBeUnique(column="dedup_key"),
        e.ExpectColumnValuesToBeInSet(column="severity", value_set=["low", "medium", "high"]),
        e.ExpectColumnValuesToBeInSet(column="alert_type", value_set=ALERT_TYPES),
        e.ExpectColumnValuesToNotBeNull(column="reason"),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
    ):
        suite.add_expectation(expectation)
    return suite
