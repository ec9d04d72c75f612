"""The CLV model as the warehouse runs it: what the dbt-duckdb Python models call.

The model is fitted **once per build**: ``int_clv_model_fit`` calls :func:`fit_for_warehouse`
and holds the run's one ``clv_model_runs`` row (parameters, log-likelihoods, holdout check);
``int_customer_clv_scored`` calls :func:`score_for_warehouse` with that row and scores every
customer from its parameters without fitting again. The customer rows and the run record
therefore always carry the same ``model_run_id``, whatever the input's read order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from kam_transforms.clv.predict import FittedModel, model_runs_to_frame, score_customers

__all__ = ["fit_for_warehouse", "score_for_warehouse"]


def _arguments(config: Mapping[str, Any]) -> dict[str, Any]:
    as_of = dt.date.fromisoformat(str(config["as_of_date"]))
    holdout_weeks = int(config.get("clv_holdout_weeks") or 0)
    return {
        "as_of": as_of,
        "horizon_months": int(config["clv_horizon_months"]),
        "annual_discount_rate": float(config["clv_annual_discount_rate"]),
        "calibration_cutoff": as_of - dt.timedelta(weeks=holdout_weeks)
        if holdout_weeks > 0
        else None,
    }


def fit_for_warehouse(purchases: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """Fit the model on ``purchases`` (customer_id, order_date, margin): one run row.

    ``config`` holds the dbt vars ``as_of_date``, ``clv_horizon_months``,
    ``clv_annual_discount_rate`` and ``clv_holdout_weeks`` (0 disables the holdout check).
    Returns the one-row ``clv_model_runs`` frame of :func:`model_runs_to_frame`.
    """
    _, run = score_customers(purchases, **_arguments(config))
    return model_runs_to_frame([run])


def score_for_warehouse(
    purchases: pd.DataFrame, config: Mapping[str, Any], run_row: Mapping[str, Any]
) -> pd.DataFrame:
    """Score every customer of ``purchases`` with the parameters of ``run_row`` (no fit).

    Raises
    ------
    ValueError
        If ``run_row`` was fitted for another as-of date, horizon or discount rate.
    """
    args = _arguments(config)
    expected = {
        "as_of_date": pd.Timestamp(args["as_of"]),
        "horizon_months": args["horizon_months"],
        "annual_discount_rate": args["annual_discount_rate"],
    }
    for key, want in expected.items():
        got = run_row.get(key)
        if got is not None and not pd.isna(got) and key == "as_of_date":
            got = pd.Timestamp(got)
        if got is None or pd.isna(got) or got != want:
            run_id = run_row.get("model_run_id")
            raise ValueError(f"clv run {run_id}: {key} is {got!r}, not {want!r}")
    scored, _ = score_customers(
        purchases, **{**args, "calibration_cutoff": None}, fitted=FittedModel.from_run_row(run_row)
    )
    return scored
