"""Expectations shared by the mart suites: grain, and volume against the last publish."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["grain", "row_count_near", "within"]


def grain(gx: Any, key: str) -> list[Any]:
    """The table is not empty and ``key`` is unique and never null."""
    e = gx.expectations
    return [
        e.ExpectTableRowCountToBeBetween(min_value=1),
        e.ExpectColumnValuesToNotBeNull(column=key),
        e.ExpectColumnValuesToBeUnique(column=key),
    ]


def within(previous: float, tolerance: float) -> tuple[float, float]:
    """The band ``previous * (1 -/+ tolerance)`` (in the right order for negatives)."""
    low, high = previous * (1 - tolerance), previous * (1 + tolerance)
    return (min(low, high), max(low, high))


def row_count_near(gx: Any, baseline: dict[str, Any] | None, config: dict[str, Any]) -> list[Any]:
    """Row count within the configured share of the previous published run's."""
    if not baseline or not baseline.get("row_count"):
        return []
    low, high = within(float(baseline["row_count"]), config["tolerances"]["row_count_change"])
    return [
        gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=math.floor(low), max_value=math.ceil(high)
        )
    ]
