"""Suite for ``customer_health``: scores 0-100, bands and trends in their sets.

Components whose input may be missing (payment discipline without invoices; satisfaction,
open complaints and engagement when surveys, tickets or activities never landed) may be
null; the score, revenue trend and relationship changes never are."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_health"
KEY = "customer_id"
BASELINE_SQL = "select count(*) as row_count from customer_health"
SCORES = [
    "health_score",
    "revenue_trend_score",
    "payment_discipline_score",
    "satisfaction_score",
    "open_complaints_score",
    "engagement_recency_score",
    "relationship_changes_score",
]
ALWAYS_KNOWN = ["health_score", "revenue_trend_score", "relationship_changes_score"]


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_health`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in ALWAYS_KNOWN],
        *[e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100) for c in SCORES],
        e.ExpectColumnValuesToBeInSet(column="health_band", value_set=["green", "yellow", "red"]),
        e.ExpectColumnValuesToBeInSet(column="health_trend", value_set=["up", "down", "same"]),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
