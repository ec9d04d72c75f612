"""Suite for ``dim_customers``: one row per customer key, owners routable."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "dim_customers"
KEY = "customer_key"
BASELINE_SQL = "select count(*) as row_count from dim_customers"


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``dim_customers`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        e.ExpectColumnValuesToBeUnique(column="customer_id"),
        e.ExpectColumnValuesToBeUnique(column="account_id"),
        e.ExpectColumnValuesToNotBeNull(column="customer_name"),
        e.ExpectColumnValuesToBeInSet(column="owner_locale", value_set=["en", "zh-CN"]),
        e.ExpectColumnValuesToMatchRegex(column="owner_email", regex=r"^[^@\s]+@[^@\s]+$"),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
