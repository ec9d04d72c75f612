"""Suite for ``customer_facts``: one row per customer, RFM scores and shares in range."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "customer_facts"
KEY = "customer_key"
BASELINE_SQL = "select count(*) as row_count from customer_facts"


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``customer_facts`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        e.ExpectColumnValuesToBeUnique(column="customer_id"),
        *[
            e.ExpectColumnValuesToBeInSet(column=c, value_set=[1, 2, 3, 4, 5])
            for c in ("recency_score", "frequency_score", "monetary_score")
        ],
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
            for c in ("category_share_t12m", "invoices_late_share_t12m")
        ],
        *[
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0)
            for c in (
                "recency_days",
                "tenure_days",
                "revenue_t12m",
                "overdue_amount_base",
                "cost_to_serve_t12m",
                "weighted_open_pipeline_base",
                "open_ticket_count",
            )
        ],
        e.ExpectColumnValuesToBeBetween(column="latest_nps_score", min_value=0, max_value=10),
        e.ExpectColumnValuesToBeBetween(column="latest_csat_score", min_value=1, max_value=5),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
