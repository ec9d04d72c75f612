"""Great Expectations suites as code, one module per suite.

Each suite module defines ``TABLE`` (the mart it validates), ``KEY`` (its grain) and
``build(gx) -> ExpectationSuite``. ``MART_SUITES`` lists the modules the pipeline runs
against the build warehouse before publishing.
"""

from expectations import customer_tiers

__all__ = ["MART_SUITES"]

MART_SUITES = (customer_tiers,)
