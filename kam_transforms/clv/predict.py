"""Per-customer CLV scoring: features, BG/NBD + Gamma-Gamma fits, predictions, holdout check.

:func:`score_customers` is the entry point a dbt-duckdb Python model calls: orders in,
one row per customer and one model-run record out. :func:`model_runs_to_frame` turns
run records into rows of the ``clv_model_runs`` table.

Fallbacks (defined behaviour instead of a crash; ``is_fallback`` and ``fallback_reason``
say which applied to each customer, and the run record says why):

- BG/NBD cannot be fitted (``bgnbd_too_few_customers``, ``bgnbd_all_one_time_buyers``,
  ``bgnbd_too_few_repeat_customers``, ``bgnbd_no_observation_time``,
  ``bgnbd_not_finite``): every customer gets the *historical CLV*:
  ``predicted_clv = historical_margin``, ``expected_avg_margin`` = the customer's
  historical mean margin per purchase, and ``p_alive`` / ``expected_purchases`` are null
  (not modelled; pandas ``<NA>``, SQL NULL).
- BG/NBD fitted but Gamma-Gamma cannot be
  (``gamma_gamma_too_few_positive_margin_repeat_customers``,
  ``gamma_gamma_q_not_above_1``, ``gamma_gamma_not_finite``): purchases are still
  modelled, and ``expected_avg_margin`` is the customer's historical mean margin per
  purchase.
- Both fitted, but a repeat buyer's mean repeat margin is zero or negative (outside the
  Gamma-Gamma model): ``expected_avg_margin`` is that historical mean
  (``non_positive_margin``), so the predicted CLV of a loss-making customer is <= 0.
- Defensive: a customer whose prediction is not finite (never seen in testing) gets the
  historical CLV (``non_finite_prediction``).

A fit whose optimum lies on the boundary of the parameter space (for example no visible
dropout, ``a -> 0``) is a limit of the model, not a failure: it is used, and the run record
lists ``parameters_at_bound``.

A customer whose only order is on the as-of date (``T == 0``) is modelled like any other:
P(alive) is 1 and expected purchases are those of a brand-new customer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kam_transforms.clv import bgnbd, gamma_gamma
from kam_transforms.clv._arrays import FloatArray, unique_rows
from kam_transforms.clv.errors import InsufficientDataError, ModelFitError
from kam_transforms.clv.features import (
    PurchasePeriods,
    collapse_to_purchase_periods,
    summarise_purchase_periods,
    to_day_number,
    unit_length_days,
)

__all__ = [
    "CLV_COLUMNS",
    "MODEL_RUN_COLUMNS",
    "MODEL_VERSION",
    "FittedModel",
    "discounted_clv",
    "model_runs_to_frame",
    "score_customers",
]

#: Bumped when a change to the model would change its numbers; part of the run id.
MODEL_VERSION = "bgnbd-gg-1"

#: Average month length in days, for monthly discounting.
DAYS_PER_MONTH = 365.25 / 12.0



@dataclass(frozen=True)
class FittedModel:
    """The fitted parameters of one model run, to score with again without refitting.

    Built from a ``clv_model_runs`` row by :meth:`from_run_row`: the warehouse fits once per
    build (``int_clv_model_fit``) and scores every customer from that row, so the customer
    rows and the run record can never disagree.
    """

    model_run_id: str
    bgnbd: bgnbd.BetaGeoParams | None
    gamma_gamma: gamma_gamma.GammaGammaParams | None
    fallback_reason: str | None

    @classmethod
    def from_run_row(cls, row: Mapping[str, Any]) -> FittedModel:
        """Read the parameters from a ``clv_model_runs`` row (a mapping of its columns)."""

        def present(*names: str) -> bool:
            return all(row.get(n) is not None and not pd.isna(row.get(n)) for n in names)

        bg = (
            bgnbd.BetaGeoParams(*(float(row[f"bgnbd_{n}"]) for n in ("r", "alpha", "a", "b")))
            if present("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b")
            else None
        )
        gg = (
            gamma_gamma.GammaGammaParams(
                *(float(row[f"gamma_gamma_{n}"]) for n in ("p", "q", "v"))
            )
            if present("gamma_gamma_p", "gamma_gamma_q", "gamma_gamma_v")
            else None
        )
        reason = row.get("fallback_reason")
        reason = None if reason is None or pd.isna(reason) else str(reason)
        if (bg is None or gg is None) and reason is None:
            raise ValueError(
                f"clv run {row.get('model_run_id')}: a model without parameters must say why "
                "(fallback_reason)"
            )
        return cls(str(row["model_run_id"]), bg, gg, reason)


#: Columns of the per-customer output, after the customer id column.
CLV_COLUMNS = [
    "frequency",
    "recency",
    "T",
    "historical_margin",
    "avg_margin_per_purchase",
    "p_alive",
    "expected_purchases",
    "expected_avg_margin",
    "predicted_clv",
    "model_run_id",
    "is_fallback",
    "fallback_reason",
]

#: Columns of the ``clv_model_runs`` table and their pandas dtypes.
MODEL_RUN_COLUMNS: dict[str, str] = {
    "model_run_id": "string",
    "model_version": "string",
    "as_of_date": "datetime64[s]",
    "time_unit": "string",
    "horizon_months": "Int64",
    "annual_discount_rate": "Float64",
    "input_fingerprint": "string",
    "n_customers": "Int64",
    "n_repeat_customers": "Int64",
    "bgnbd_r": "Float64",
    "bgnbd_alpha": "Float64",
    "bgnbd_a": "Float64",
    "bgnbd_b": "Float64",
    "bgnbd_log_likelihood": "Float64",
    "bgnbd_converged": "boolean",
    "bgnbd_iterations": "Int64",
    "bgnbd_parameters_at_bound": "string",
    "gamma_gamma_p": "Float64",
    "gamma_gamma_q": "Float64",
    "gamma_gamma_v": "Float64",
    "gamma_gamma_log_likelihood": "Float64",
    "gamma_gamma_converged": "boolean",
    "gamma_gamma_n_customers": "Int64",
    "gamma_gamma_parameters_at_bound": "string",
    "is_fallback": "boolean",
    "fallback_reason": "string",
    "n_fallback_customers": "Int64",
    "total_historical_margin": "Float64",
    "total_predicted_clv": "Float64",
    "calibration_cutoff_date": "datetime64[s]",
    "holdout_length": "Float64",
    "holdout_n_customers": "Int64",
    "holdout_bgnbd_r": "Float64",
    "holdout_bgnbd_alpha": "Float64",
    "holdout_bgnbd_a": "Float64",
    "holdout_bgnbd_b": "Float64",
    "holdout_bgnbd_log_likelihood": "Float64",
    "holdout_bgnbd_converged": "boolean",
    "holdout_predicted_purchases": "Float64",
    "holdout_actual_purchases": "Int64",
    "holdout_total_error": "Float64",
    "holdout_total_error_pct": "Float64",
    "holdout_mean_absolute_error": "Float64",
    "holdout_rmse": "Float64",
    "holdout_fallback_reason": "string",
}


def discounted_clv(
    params: bgnbd.BetaGeoParams,
    frequency: Any,
    recency: Any,
    T: Any,
    margin_per_purchase: Any,
    *,
    horizon_months: int,
    annual_discount_rate: float,
    time_unit: str,
) -> tuple[FloatArray, FloatArray]:
    """Discounted expected margin over ``horizon_months`` months, and expected purchases.

    Month ``m`` (1-based) contributes ``margin * (E[Y(m L)] - E[Y((m-1) L)]) / (1+d)^(m/12)``,
    where ``L`` is one average month (365.25/12 days) in ``time_unit``, ``E[Y(t)]`` the
    conditional expected purchases and ``d`` the annual discount rate: monthly discounting
    at the equivalent monthly rate ``(1+d)^(1/12) - 1``.

    Returns
    -------
    (clv, expected_purchases)
        Arrays aligned with the inputs; ``expected_purchases`` is ``E[Y(horizon)]``.
    """
    x, t_x, t_cal = bgnbd.validate_rfm(frequency, recency, T)
    margin = np.asarray(margin_per_purchase, dtype=np.float64)
    (ux, ut_x, ut), _, inverse = unique_rows(x, t_x, t_cal)
    month = DAYS_PER_MONTH / unit_length_days(time_unit)
    previous = np.zeros_like(ux)
    value_per_margin = np.zeros_like(ux)
    for m in range(1, horizon_months + 1):
        cumulative = bgnbd.conditional_expected_purchases(params, m * month, ux, ut_x, ut)
        value_per_margin += (cumulative - previous) * (1.0 + annual_discount_rate) ** (-m / 12.0)
        previous = cumulative
    return value_per_margin[inverse] * margin, previous[inverse]


def _iso(day: int | None) -> str | None:
    if day is None:
        return None
    return str(np.datetime64(day, "D"))


def _run_id(periods: PurchasePeriods, config: Mapping[str, Any]) -> tuple[str, str]:
    fingerprint = periods.fingerprint()
    payload = json.dumps({"data": fingerprint, "config": dict(config)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32], fingerprint


def _fit_bgnbd(
    summary: pd.DataFrame, min_customers: int, min_repeat: int
) -> tuple[bgnbd.BetaGeoFit | None, str | None]:
    try:
        fit = bgnbd.fit_bgnbd(
            summary["frequency"],
            summary["recency"],
            summary["T"],
            min_customers=min_customers,
            min_repeat_customers=min_repeat,
        )
    except (InsufficientDataError, ModelFitError) as exc:
        return None, f"bgnbd_{exc.reason}" if not exc.reason.startswith("bgnbd") else exc.reason
    return fit, None


def _fit_gamma_gamma(
    summary: pd.DataFrame, min_customers: int
) -> tuple[gamma_gamma.GammaGammaFit | None, str | None]:
    try:
        fit = gamma_gamma.fit_gamma_gamma(
            summary["frequency"], summary["avg_margin_per_purchase"], min_customers=min_customers
        )
    except (InsufficientDataError, ModelFitError) as exc:
        reason = exc.reason if exc.reason.startswith("gamma_gamma") else f"gamma_gamma_{exc.reason}"
        return None, reason
    return fit, None


def _fit_record(
    fit: bgnbd.BetaGeoFit | gamma_gamma.GammaGammaFit | None,
) -> dict[str, Any] | None:
    """A fit's parameters, log-likelihood, convergence and counts for the run record."""
    if fit is None:
        return None
    record: dict[str, Any] = {
        **fit.params.as_dict(),
        "log_likelihood": fit.log_likelihood,
        "converged": fit.converged,
        "n_iterations": fit.n_iterations,
        "message": fit.message,
        "n_customers": fit.n_customers,
        "parameters_at_bound": list(fit.parameters_at_bound),
    }
    if isinstance(fit, bgnbd.BetaGeoFit):
        record["n_repeat_customers"] = fit.n_repeat_customers
        record["n_unique_rows"] = fit.n_unique_rows
    return record


def _params_record(
    params: bgnbd.BetaGeoParams | gamma_gamma.GammaGammaParams | None,
) -> dict[str, Any] | None:
    """The parameters of a fit made earlier (scoring with :class:`FittedModel`)."""
    return None if params is None else params.as_dict()


def _holdout(
    periods: PurchasePeriods,
    cutoff_day: int,
    as_of_day: int,
    *,
    time_unit: str,
    customer_col: str,
    min_customers: int,
    min_repeat: int,
) -> dict[str, Any]:
    """Fit on purchases up to ``cutoff_day``; predict and count repeat purchases after it."""
    calibration = summarise_purchase_periods(
        periods, cutoff_day, time_unit=time_unit, customer_col=customer_col
    )
    holdout_length = (as_of_day - cutoff_day) / unit_length_days(time_unit)
    record: dict[str, Any] = {
        "calibration_cutoff": _iso(cutoff_day),
        "holdout_end": _iso(as_of_day),
        "holdout_length": holdout_length,
        "time_unit": time_unit,
        "n_customers": len(calibration),
        "bgnbd": None,
        "predicted_purchases": None,
        "actual_purchases": None,
        "total_error": None,
        "total_error_pct": None,
        "mean_absolute_error": None,
        "rmse": None,
        "fallback_reason": None,
    }
    fit, reason = _fit_bgnbd(calibration, min_customers, min_repeat)
    record["bgnbd"] = _fit_record(fit)
    if fit is None:
        record["fallback_reason"] = reason
        return record
    later = periods.between(cutoff_day, as_of_day)
    in_calibration = np.zeros(len(periods.customer_ids), dtype=bool)
    in_calibration[periods.between(None, cutoff_day).customer_code] = True
    counts = np.bincount(later.customer_code, minlength=len(periods.customer_ids))
    ids_in_order = np.flatnonzero(in_calibration)
    actual = counts[ids_in_order].astype(np.float64)
    predicted = bgnbd.conditional_expected_purchases(
        fit.params,
        holdout_length,
        calibration["frequency"],
        calibration["recency"],
        calibration["T"],
    )
    total_actual = int(actual.sum())
    total_predicted = float(predicted.sum())
    error = predicted - actual
    record.update(
        {
            "predicted_purchases": total_predicted,
            "actual_purchases": total_actual,
            "total_error": total_predicted - total_actual,
            "total_error_pct": (100.0 * (total_predicted - total_actual) / total_actual)
            if total_actual
            else None,
            "mean_absolute_error": float(np.mean(np.abs(error))) if len(error) else None,
            "rmse": float(np.sqrt(np.mean(error**2))) if len(error) else None,
        }
    )
    return record


def score_customers(
    orders: pd.DataFrame,
    as_of: dt.date | dt.datetime | str | pd.Timestamp,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    margin_col: str = "margin",
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    time_unit: str = "weeks",
    calibration_cutoff: dt.date | dt.datetime | str | pd.Timestamp | None = None,
    min_customers: int = 30,
    min_repeat_customers: int = 10,
    min_gamma_gamma_customers: int = 10,
    fitted: FittedModel | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score every customer's predicted CLV as of ``as_of``.

    Parameters
    ----------
    orders : pandas.DataFrame
        One row per order (or order line) with ``customer_col``, ``date_col`` (date,
        datetime or ISO string; aware values taken in UTC) and ``margin_col`` (margin in the
        base currency, may be zero or negative). Several orders on one day count as one
        purchase period; rows after ``as_of`` are ignored.
    as_of : date-like
        Observation end, inclusive: the DAG run's data interval end. Never "now".
    customer_col, date_col, margin_col : str
        Input column names; the output's id column is named ``customer_col``.
    horizon_months : int
        Prediction horizon in months.
    annual_discount_rate : float
        Annual discount rate, applied monthly (see :func:`discounted_clv`).
    time_unit : {"weeks", "days"}
        Unit of ``recency``, ``T`` and the fitted ``alpha``.
    calibration_cutoff : date-like, optional
        If given, a second BG/NBD fit on purchases up to this date predicts the repeat
        purchases in ``(calibration_cutoff, as_of]`` for the customers known at the cutoff;
        predicted against actual totals and per-customer errors go to ``model_run["holdout"]``.
    min_customers, min_repeat_customers, min_gamma_gamma_customers : int
        Below these a model is not fitted and the fallback applies (see module docs).
    fitted : FittedModel, optional
        Score with these parameters instead of fitting (no holdout fit either): the run
        record then carries ``fitted.model_run_id`` and its parameters.

    Returns
    -------
    (customer_clv, model_run)
        ``customer_clv`` has one row per customer with an order on or before ``as_of``,
        sorted by id: ``customer_col``, ``frequency``, ``recency``, ``T``,
        ``historical_margin`` (all margin to date), ``avg_margin_per_purchase`` (mean margin
        per repeat purchase period; 0 without a repeat purchase), ``p_alive``,
        ``expected_purchases`` (over the horizon), ``expected_avg_margin``,
        ``predicted_clv`` (discounted margin over the horizon), ``model_run_id``,
        ``is_fallback``, ``fallback_reason``. ``model_run`` is a JSON-serialisable dict:
        run id, configuration, fitted parameters, log-likelihoods, convergence, counts and
        holdout metrics; :func:`model_runs_to_frame` flattens it.

    Raises
    ------
    ValueError
        For bad arguments or input columns (missing, null, non-finite margins), or a
        ``calibration_cutoff`` not before ``as_of``.
    """
    unit = unit_length_days(time_unit)
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, int | np.integer)
        or horizon_months < 0
    ):
        raise ValueError(f"horizon_months must be a non-negative integer, got {horizon_months!r}")
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1.0:
        raise ValueError(
            f"annual_discount_rate must be a finite number above -1, got {annual_discount_rate!r}"
        )
    as_of_day = to_day_number(as_of)
    cutoff_day = None if calibration_cutoff is None else to_day_number(calibration_cutoff)
    if cutoff_day is not None and cutoff_day >= as_of_day:
        raise ValueError(
            f"calibration_cutoff {_iso(cutoff_day)} must be before as_of {_iso(as_of_day)}"
        )

    periods = collapse_to_purchase_periods(
        orders, customer_col=customer_col, date_col=date_col, margin_col=margin_col
    ).between(None, as_of_day)
    summary = summarise_purchase_periods(
        periods, as_of_day, time_unit=time_unit, customer_col=customer_col
    )
    config = {
        "model_version": MODEL_VERSION,
        "as_of": _iso(as_of_day),
        "calibration_cutoff": _iso(cutoff_day),
        "time_unit": time_unit,
        "horizon_months": int(horizon_months),
        "annual_discount_rate": float(annual_discount_rate),
        "min_customers": min_customers,
        "min_repeat_customers": min_repeat_customers,
        "min_gamma_gamma_customers": min_gamma_gamma_customers,
    }
    run_id, fingerprint = _run_id(periods, config)
    if fitted is not None:
        run_id, cutoff_day = fitted.model_run_id, None

    n = len(summary)
    x = summary["frequency"].to_numpy(dtype=np.float64)
    zbar = summary["avg_margin_per_purchase"].to_numpy(dtype=np.float64)
    historical = summary["historical_margin"].to_numpy(dtype=np.float64)
    mean_margin_all = historical / np.maximum(
        summary["n_purchase_periods"].to_numpy(dtype=np.float64), 1.0
    )

    bg_fit: bgnbd.BetaGeoFit | None = None
    gg_fit: gamma_gamma.GammaGammaFit | None = None
    gg_reason: str | None = None
    if fitted is None:
        bg_fit, bg_reason = _fit_bgnbd(summary, min_customers, min_repeat_customers)
        bg_params = None if bg_fit is None else bg_fit.params
    else:
        bg_params = fitted.bgnbd
        bg_reason = fitted.fallback_reason if bg_params is None else None
    reasons = np.full(n, None, dtype=object)
    p_alive = pd.array(np.full(n, np.nan), dtype="Float64")
    expected = pd.array(np.full(n, np.nan), dtype="Float64")

    if bg_params is None:
        expected_margin = mean_margin_all
        clv = historical.copy()
        reasons[:] = bg_reason
    else:
        if fitted is None:
            gg_fit, gg_reason = _fit_gamma_gamma(summary, min_gamma_gamma_customers)
            gg_params = None if gg_fit is None else gg_fit.params
        else:
            gg_params = fitted.gamma_gamma
            gg_reason = fitted.fallback_reason if gg_params is None else None
        if gg_params is None:
            expected_margin = mean_margin_all
            reasons[:] = gg_reason
        else:
            expected_margin = gamma_gamma.conditional_expected_average_margin(
                gg_params, x, zbar
            )
            bad = (x > 0) & (zbar <= 0)
            expected_margin = np.where(bad, zbar, expected_margin)
            reasons[bad] = "non_positive_margin"
        p_alive_np = bgnbd.probability_alive(bg_params, x, summary["recency"], summary["T"])
        clv, expected_np = discounted_clv(
            bg_params,
            x,
            summary["recency"],
            summary["T"],
            expected_margin,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            time_unit=time_unit,
        )
        # Defensive: should the numerics ever fail for a customer, that customer gets the
        # historical fallback rather than a NaN in the warehouse.
        broken = ~(
            np.isfinite(p_alive_np)
            & np.isfinite(expected_np)
            & np.isfinite(clv)
            & np.isfinite(expected_margin)
        )
        if broken.any():
            p_alive_np = np.where(broken, np.nan, p_alive_np)
            expected_np = np.where(broken, np.nan, expected_np)
            expected_margin = np.where(broken, mean_margin_all, expected_margin)
            clv = np.where(broken, historical, clv)
            reasons[broken] = "non_finite_prediction"
        p_alive = pd.array(p_alive_np, dtype="Float64")
        expected = pd.array(expected_np, dtype="Float64")

    is_fallback = np.array([r is not None for r in reasons], dtype=bool)
    out = pd.DataFrame(
        {
            customer_col: summary[customer_col].to_numpy(),
            "frequency": summary["frequency"].to_numpy(dtype=np.int64),
            "recency": summary["recency"].to_numpy(dtype=np.float64),
            "T": summary["T"].to_numpy(dtype=np.float64),
            "historical_margin": historical,
            "avg_margin_per_purchase": zbar,
            "p_alive": p_alive,
            "expected_purchases": expected,
            "expected_avg_margin": np.asarray(expected_margin, dtype=np.float64),
            "predicted_clv": np.asarray(clv, dtype=np.float64),
            "model_run_id": pd.array([run_id] * n, dtype="string"),
            "is_fallback": is_fallback,
            "fallback_reason": pd.array(reasons, dtype="string"),
        }
    )

    model_fallback_reason = bg_reason or gg_reason
    if fitted is None:
        bg_record, gg_record = _fit_record(bg_fit), _fit_record(gg_fit)
    else:
        bg_record, gg_record = _params_record(fitted.bgnbd), _params_record(fitted.gamma_gamma)
    run: dict[str, Any] = {
        "model_run_id": run_id,
        "input_fingerprint": fingerprint,
        **config,
        "n_customers": n,
        "n_repeat_customers": int((x > 0).sum()),
        "n_purchase_periods": len(periods.day),
        "time_unit_days": unit,
        "bgnbd": bg_record,
        "gamma_gamma": gg_record,
        "is_fallback": model_fallback_reason is not None,
        "fallback_reason": model_fallback_reason,
        "n_fallback_customers": int(is_fallback.sum()),
        "total_historical_margin": float(historical.sum()),
        "total_predicted_clv": float(np.sum(clv)),
        "holdout": None,
    }
    if cutoff_day is not None:
        run["holdout"] = _holdout(
            periods,
            cutoff_day,
            as_of_day,
            time_unit=time_unit,
            customer_col=customer_col,
            min_customers=min_customers,
            min_repeat=min_repeat_customers,
        )
    return out, run


def _join(names: list[str] | None) -> str | None:
    """Comma-join parameter names for a table cell; None when the list is absent."""
    return None if names is None else ",".join(names)


def model_runs_to_frame(runs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten run records from :func:`score_customers` into ``clv_model_runs`` rows.

    Returns
    -------
    pandas.DataFrame
        One row per run with the columns and dtypes of :data:`MODEL_RUN_COLUMNS`
        (nullable where a model was not fitted or no holdout was asked for).
    """
    rows = []
    for run in runs:
        bg = run.get("bgnbd") or {}
        gg = run.get("gamma_gamma") or {}
        ho = run.get("holdout") or {}
        ho_bg = ho.get("bgnbd") or {}
        rows.append(
            {
                "model_run_id": run["model_run_id"],
                "model_version": run.get("model_version"),
                "as_of_date": run.get("as_of"),
                "time_unit": run.get("time_unit"),
                "horizon_months": run.get("horizon_months"),
                "annual_discount_rate": run.get("annual_discount_rate"),
                "input_fingerprint": run.get("input_fingerprint"),
                "n_customers": run.get("n_customers"),
                "n_repeat_customers": run.get("n_repeat_customers"),
                "bgnbd_r": bg.get("r"),
                "bgnbd_alpha": bg.get("alpha"),
                "bgnbd_a": bg.get("a"),
                "bgnbd_b": bg.get("b"),
                "bgnbd_log_likelihood": bg.get("log_likelihood"),
                "bgnbd_converged": bg.get("converged"),
                "bgnbd_iterations": bg.get("n_iterations"),
                "bgnbd_parameters_at_bound": _join(bg.get("parameters_at_bound")),
                "gamma_gamma_p": gg.get("p"),
                "gamma_gamma_q": gg.get("q"),
                "gamma_gamma_v": gg.get("v"),
                "gamma_gamma_log_likelihood": gg.get("log_likelihood"),
                "gamma_gamma_converged": gg.get("converged"),
                "gamma_gamma_n_customers": gg.get("n_customers"),
                "gamma_gamma_parameters_at_bound": _join(gg.get("parameters_at_bound")),
                "is_fallback": run.get("is_fallback"),
                "fallback_reason": run.get("fallback_reason"),
                "n_fallback_customers": run.get("n_fallback_customers"),
                "total_historical_margin": run.get("total_historical_margin"),
                "total_predicted_clv": run.get("total_predicted_clv"),
                "calibration_cutoff_date": ho.get("calibration_cutoff"),
                "holdout_length": ho.get("holdout_length"),
                "holdout_n_customers": ho.get("n_customers"),
                "holdout_bgnbd_r": ho_bg.get("r"),
                "holdout_bgnbd_alpha": ho_bg.get("alpha"),
                "holdout_bgnbd_a": ho_bg.get("a"),
                "holdout_bgnbd_b": ho_bg.get("b"),
                "holdout_bgnbd_log_likelihood": ho_bg.get("log_likelihood"),
                "holdout_bgnbd_converged": ho_bg.get("converged"),
                "holdout_predicted_purchases": ho.get("predicted_purchases"),
                "holdout_actual_purchases": ho.get("actual_purchases"),
                "holdout_total_error": ho.get("total_error"),
                "holdout_total_error_pct": ho.get("total_error_pct"),
                "holdout_mean_absolute_error": ho.get("mean_absolute_error"),
                "holdout_rmse": ho.get("rmse"),
                "holdout_fallback_reason": ho.get("fallback_reason"),
            }
        )
    frame = pd.DataFrame(rows, columns=list(MODEL_RUN_COLUMNS))
    for col, dtype in MODEL_RUN_COLUMNS.items():
        if dtype.startswith("datetime64"):
            frame[col] = pd.to_datetime(frame[col]).astype(pd.api.types.pandas_dtype(dtype))
        else:
            frame[col] = frame[col].astype(pd.api.types.pandas_dtype(dtype))
    return frame
