"""Expected purchases of a fitted CLV run over several horizons, without refitting.

The demand forecast (``customer_demand_forecast``) needs BG/NBD's conditional expected
purchases ``E[Y(t) | x, t_x, T]`` at 3, 6 and 12 months, while ``customer_clv`` holds it for
``clv_horizon_months`` only. This module evaluates the same closed form
(:func:`kam_transforms.clv.bgnbd.conditional_expected_purchases`) with the parameters the run
recorded in ``clv_model_runs`` and each customer's ``(frequency, recency, customer_age)`` from
``customer_clv``: the numbers of the run itself, so the horizon ``clv_horizon_months`` gives
back ``customer_clv.expected_purchases``. Customers the run did not model (``is_fallback``
without expected purchases, or a run without BG/NBD parameters) get nulls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kam_transforms.clv.bgnbd import BetaGeoParams, conditional_expected_purchases
from kam_transforms.clv.features import unit_length_days
from kam_transforms.clv.predict import DAYS_PER_MONTH

__all__ = [
    "HORIZON_COLUMNS",
    "expected_purchases_by_horizon",
    "expected_purchases_over_days",
    "parse_horizons",
]

#: Columns of the result, in order.
HORIZON_COLUMNS = ("customer_id", "model_run_id", "horizon_months", "expected_purchases")


def recorded_run(rows: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """The ``clv_model_runs`` row of the one CLV run that scored ``rows`` (their
    ``model_run_id``), or ``{}`` when no row was modelled.

    Raises
    ------
    RuntimeError
        When the rows mix runs, or their run is not in ``runs``.
    """
    run_ids = set(rows["model_run_id"].dropna())
    if len(run_ids) > 1:
        raise RuntimeError(f"customer_clv mixes CLV runs {sorted(run_ids)}")
    if not run_ids:
        return {}
    (run_id,) = run_ids
    recorded = runs[runs["model_run_id"] == run_id]
    if recorded.empty:
        raise RuntimeError(f"clv run {run_id} is not in clv_model_runs")
    return dict(recorded.iloc[0].to_dict())


def parse_horizons(value: Any) -> list[int]:
    """Horizons in months from a dbt var: a list, or its rendering ``"[3, 6, 12]"``."""
    if isinstance(value, str):
        items: Sequence[Any] = [v for v in value.strip().strip("[]").split(",") if v.strip()]
    elif isinstance(value, Sequence):
        items = value
    else:
        raise ValueError(f"demand forecast horizons must be a list of months, got {value!r}")
    horizons = sorted({int(str(v).strip()) for v in items})
    if not horizons or horizons[0] < 1:
        raise ValueError(f"demand forecast horizons must be positive months, got {value!r}")
    return horizons


def expected_purchases_by_horizon(
    customers: pd.DataFrame, run: Mapping[str, Any], horizons: Sequence[int]
) -> pd.DataFrame:
    """One row per customer and horizon: the run's expected purchases in the next h months.

    Parameters
    ----------
    customers
        ``customer_clv`` rows: ``customer_id``, ``model_run_id``, ``frequency``, ``recency``,
        ``customer_age`` (T) and ``expected_purchases`` (null where the run fell back).
    run
        The ``clv_model_runs`` row of that run: ``bgnbd_r``, ``bgnbd_alpha``, ``bgnbd_a``,
        ``bgnbd_b`` and ``time_unit``.
    horizons
        Months ahead, each >= 1.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HORIZON_COLUMNS`; ``expected_purchases`` is null for customers the run
        did not model.
    """
    n = len(customers)
    params = [run.get(f"bgnbd_{p}") for p in ("r", "alpha", "a", "b")]
    fitted = all(p is not None and not pd.isna(p) for p in params)
    modelled = customers["expected_purchases"].notna().to_numpy() if n else np.zeros(0, bool)
    frames = []
    for horizon in horizons:
        values = np.full(n, np.nan)
        if fitted and modelled.any():
            month = DAYS_PER_MONTH / unit_length_days(str(run["time_unit"]))
            subset = customers.loc[modelled]
            values[modelled] = conditional_expected_purchases(
                BetaGeoParams(*(float(p) for p in params)),  # type: ignore[arg-type]
                horizon * month,
                subset["frequency"].to_numpy(dtype=np.float64),
                subset["recency"].to_numpy(dtype=np.float64),
                subset["customer_age"].to_numpy(dtype=np.float64),
            )
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": customers["customer_id"].astype("string").to_numpy(),
                    "model_run_id": customers["model_run_id"].astype("string").to_numpy(),
                    "horizon_months": np.full(n, horizon, dtype=np.int64),
                    "expected_purchases": pd.array(values, dtype="Float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in HORIZON_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(HORIZON_COLUMNS)]


def expected_purchases_over_days(
    customers: pd.DataFrame, run: Mapping[str, Any], days: Any
) -> np.ndarray:
    """Per row, the run's expected purchases in the next ``days[i]`` days (account plans: the
    rest of a plan's period).

    ``customers`` has the ``customer_clv`` columns :func:`expected_purchases_by_horizon`
    reads; ``days`` is one non-negative number per row. NaN where the run did not model the
    customer, or ``days`` is null; 0 for 0 days.
    """
    n = len(customers)
    days = np.asarray(days, dtype=np.float64)
    if days.shape != (n,):
        raise ValueError(f"days must hold one value per customer row ({n}), got {days.shape}")
    out = np.full(n, np.nan)
    params = [run.get(f"bgnbd_{p}") for p in ("r", "alpha", "a", "b")]
    if not n or not all(p is not None and not pd.isna(p) for p in params):
        return out
    modelled = customers["expected_purchases"].notna().to_numpy() & ~np.isnan(days)
    unit = unit_length_days(str(run["time_unit"]))
    model = BetaGeoParams(*(float(p) for p in params))  # type: ignore[arg-type]
    for value in np.unique(days[modelled]):
        rows = modelled & (days == value)
        if value <= 0:
            out[rows] = 0.0
            continue
        subset = customers.loc[rows]
        out[rows] = conditional_expected_purchases(
            model,
            float(value) / unit,
            subset["frequency"].to_numpy(dtype=np.float64),
            subset["recency"].to_numpy(dtype=np.float64),
            subset["customer_age"].to_numpy(dtype=np.float64),
        )
    return out
