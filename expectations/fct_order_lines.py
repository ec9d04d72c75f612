"""Suite for ``fct_order_lines``: one row per line, every amount converted and sane."""

from __future__ import annotations

from typing import Any

from expectations._volume import grain, row_count_near

TABLE = "fct_order_lines"
KEY = "order_line_id"
BASELINE_SQL = "select count(*) as row_count from fct_order_lines"


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``fct_order_lines`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        *grain(gx, KEY),
        e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        e.ExpectColumnValuesToNotBeNull(column="revenue_base"),
        e.ExpectColumnValuesToNotBeNull(column="fx_rate_to_base"),
        e.ExpectColumnValuesToBeBetween(column="fx_rate_to_base", min_value=0, strict_min=True),
        e.ExpectColumnValuesToBeBetween(column="quantity", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="discount_pct", min_value=0, max_value=1),
        # stale fx rates: warned per rate by data_quality_issues, blocking above this share
        e.ExpectColumnValuesToBeInSet(
            column="is_fx_rate_stale",
            value_set=[False],
            mostly=1 - float(config["tolerances"]["fx_stale_line_share"]),
        ),
        *row_count_near(gx, baseline, config),
    ):
        suite.add_expectation(expectation)
    return suite
