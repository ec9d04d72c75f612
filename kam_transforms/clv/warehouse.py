"""The CLV model as the warehouse runs it: what the dbt-duckdb Python models call.

``int_customer_clv_scored`` and ``clv_model_runs`` both call :func:`score_for_warehouse`
with the same dbt config, so the deterministic run id ties every customer row to the run
record (parameters, log-likelihood, holdout check) that produced it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from kam_transforms.clv.predict import score_customers

__all__ = ["score_for_warehouse"]


def score_for_warehouse(
    purchases: pd.DataFrame, config: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score ``purchases`` (customer_id, order_date, margin) with the dbt vars in ``config``.

    ``config`` holds ``as_of_date``, ``clv_horizon_months``, ``clv_annual_discount_rate`` and
    ``clv_holdout_weeks`` (0 disables the calibration/holdout check).
    """
    as_of = dt.date.fromisoformat(str(config["as_of_date"]))
    holdout_weeks = int(config.get("clv_holdout_weeks") or 0)
    cutoff = as_of - dt.timedelta(weeks=holdout_weeks) if holdout_weeks > 0 else None
    return score_customers(
        purchases,
        as_of,
        horizon_months=int(config["clv_horizon_months"]),
        annual_discount_rate=float(config["clv_annual_discount_rate"]),
        calibration_cutoff=cutoff,
    )
