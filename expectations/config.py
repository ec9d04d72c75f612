"""Severity and tolerances of the suites: defaults here, overrides from a YAML file.

``KAM_EXPECTATIONS_CONFIG`` may name a YAML file with the same keys, for example::

    tolerances:
      row_count_change: 0.2        # a mart may shrink or grow 20% against the last publish
    severity:
      customer_tiers.expect_column_sum_to_be_between: blocking

A severity key is ``<suite>.<expectation type>`` or ``<suite>.<expectation type>.<column>``;
the more specific one wins. ``blocking`` stops publication; ``warning`` publishes and is
listed in the run summary.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

__all__ = ["BLOCKING", "WARNING", "DEFAULTS", "load", "severity_of"]

BLOCKING = "blocking"
WARNING = "warning"

DEFAULTS: dict[str, Any] = {
    "tolerances": {
        # volume: rows of a mart against the previous published run (share of change)
        "row_count_change": 0.5,
        # drift: share of customers in class A (absolute change of the share)
        "class_a_share_change": 0.10,
        # drift: total trailing gross margin (share of change)
        "total_margin_change": 0.30,
        # fct_order_lines: share of lines converted at a stale fx rate (older than the dbt var
        # fx_max_rate_age_days) above which publication is blocked; any stale line warns
        "fx_stale_line_share": 0.05,
    },
    "severity": {
        "customer_tiers.expect_column_mean_to_be_between.is_class_a": WARNING,
        "customer_tiers.expect_column_sum_to_be_between.gross_margin_t12m": WARNING,
        # a malformed owner e-mail: its alerts go to sales ops (alerts/routing.py)
        "dim_customers.expect_column_values_to_match_regex.owner_email": WARNING,
        # orphans, stale fx rates, malformed e-mails, broken CRM-ERP links, with their keys
        "data_quality_issues.expect_column_values_to_be_null": WARNING,
        # a source that never delivered an entity: the run is right, the data team is told
        "data_coverage.expect_column_values_to_be_null.inactive_reason": WARNING,
    },
}


def load() -> dict[str, Any]:
    """The defaults merged with the YAML file named by ``KAM_EXPECTATIONS_CONFIG``."""
    config = copy.deepcopy(DEFAULTS)
    path = os.environ.get("KAM_EXPECTATIONS_CONFIG")
    if path:
        import yaml

        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        unknown = set(loaded) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
        for section, values in loaded.items():
            config[section].update(values or {})
    for name, value in config["severity"].items():
        if value not in (BLOCKING, WARNING):
            raise ValueError(f"severity of {name} must be {BLOCKING} or {WARNING}, not {value!r}")
    return config


def severity_of(config: dict[str, Any], suite: str, expectation: str, column: str | None) -> str:
    table = config["severity"]
    if column and f"{suite}.{expectation}.{column}" in table:
        return str(table[f"{suite}.{expectation}.{column}"])
    return str(table.get(f"{suite}.{expectation}", BLOCKING))
