"""Suite for ``data_coverage``: every check is active, or the run says why not (a warning).

An inactive check (an alert rule or health component whose input entity never landed) does
not block publication: the run is right to raise no such alerts. It is listed as a warning
whose sample holds each ``inactive_reason``, so the validation report names the rules."""

from __future__ import annotations

from typing import Any

TABLE = "data_coverage"
KEY = "check_name"
BASELINE_SQL = None  # a handful of fixed checks: no volume against the last run


def build(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> Any:
    """Return the expectation suite for the ``data_coverage`` mart."""
    e = gx.expectations
    suite = gx.ExpectationSuite(name=TABLE)
    for expectation in (
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToNotBeNull(column="check_name"),
        e.ExpectColumnValuesToBeInSet(
            column="check_type", value_set=["alert_rule", "health_score"]
        ),
        e.ExpectColumnValuesToBeNull(column="inactive_reason"),
    ):
        suite.add_expectation(expectation)
    return suite
