"""Great Expectations suites as code, one module per suite.

A mart suite module defines ``TABLE`` (the mart), ``KEY`` (its grain), ``BASELINE_SQL``
(metrics of the previous published table the suite compares against, or None), optionally
``prepare(frame)`` (derived columns), and ``build(gx, baseline, config) -> ExpectationSuite``.
Severities and tolerances live in :mod:`expectations.config`.
"""

from expectations import (
    account_manager_scorecards,
    account_plan_attainment,
    competitor_analysis,
    customer_clv,
    customer_competitors,
    customer_demand_forecast,
    customer_demand_forecast_holdout,
    customer_facts,
    customer_health,
    customer_input_output,
    customer_lifecycle,
    customer_loyalty,
    customer_price_tolerance,
    customer_tiers,
    customer_whitespace,
    data_coverage,
    data_quality_issues,
    dim_customers,
    fct_order_lines,
    key_account_alerts,
    lifecycle_input_output,
)

__all__ = ["MART_SUITES"]

MART_SUITES = (
    dim_customers,
    fct_order_lines,
    customer_facts,
    customer_clv,
    customer_tiers,
    customer_lifecycle,
    customer_health,
    key_account_alerts,
    customer_price_tolerance,
    customer_input_output,
    lifecycle_input_output,
    customer_loyalty,
    customer_demand_forecast,
    customer_demand_forecast_holdout,
    customer_whitespace,
    account_plan_attainment,
    competitor_analysis,
    customer_competitors,
    account_manager_scorecards,
    data_coverage,
    data_quality_issues,
)
