"""Draw customers and orders from known BG/NBD and Gamma-Gamma parameters (vectorised).

Used by the parameter-recovery tests and the benchmark; also handy for demo data. The
draws are exact for the continuous-time model: with ``K ~ Poisson(lambda T)`` arrivals in
``(0, T]`` and ``N ~ Geometric(p)`` repeat purchases before dropout, ``x = min(N, K)``, and
the ``x``-th of ``K`` uniform arrival times is ``T * Beta(x, K - x + 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_transforms.clv._arrays import FloatArray
from kam_transforms.clv.bgnbd import BetaGeoParams
from kam_transforms.clv.gamma_gamma import GammaGammaParams

__all__ = ["simulate_customers", "simulate_orders"]


def simulate_customers(
    n_customers: int,
    bgnbd_params: BetaGeoParams,
    gamma_gamma_params: GammaGammaParams,
    T: float | FloatArray,
    *,
    seed: int,
) -> pd.DataFrame:
    """Simulate per-customer summaries.

    Parameters
    ----------
    n_customers : int
        Number of customers.
    bgnbd_params, gamma_gamma_params
        True parameters (in the time unit of ``T``).
    T : float or array
        Age of each customer at the observation end.
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``T``, ``avg_margin_per_purchase`` (mean of the repeat
        purchases' margins; 0 without repeat purchase), ``first_purchase_margin``.
    """
    rng = np.random.default_rng(seed)
    t_cal = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
    bg, gg = bgnbd_params, gamma_gamma_params
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, n_customers)
    p = rng.beta(bg.a, bg.b, n_customers)
    k = rng.poisson(lam * t_cal)
    n_before_dropout = rng.geometric(p)
    x = np.minimum(n_before_dropout, k)
    t_x = np.zeros(n_customers)
    pos = x > 0
    t_x[pos] = t_cal[pos] * rng.beta(x[pos], k[pos] - x[pos] + 1)
    nu = rng.gamma(gg.q, 1.0 / gg.v, n_customers)
    zbar = np.zeros(n_customers)
    zbar[pos] = rng.gamma(gg.p * x[pos], 1.0 / (nu[pos] * x[pos]))
    first = rng.gamma(gg.p, 1.0 / nu)
    return pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": t_x,
            "T": t_cal,
            "avg_margin_per_purchase": zbar,
            "first_purchase_margin": first,
        }
    )


def simulate_orders(
    n_customers: int,
    bgnbd_params: BetaGeoParams,
    gamma_gamma_params: GammaGammaParams,
    *,
    as_of: str,
    max_age_days: int,
    time_unit_days: float = 7.0,
    seed: int,
) -> pd.DataFrame:
    """Simulate an orders table: ``customer_id``, ``order_date``, ``margin``.

    First purchases are spread uniformly over the ``max_age_days`` before ``as_of``;
    purchase times are continuous and floored to whole days (so a few same-day purchases
    merge, as they would in real data). ``bgnbd_params`` are in units of
    ``time_unit_days`` days.
    """
    rng = np.random.default_rng(seed)
    bg, gg = bgnbd_params, gamma_gamma_params
    age_days = rng.integers(0, max_age_days + 1, n_customers)
    t_cal = age_days / time_unit_days
    lam = rng.gamma(bg.r, 1.0 / bg.alpha, n_customers)
    p = rng.beta(bg.a, bg.b, n_customers)
    k = rng.poisson(lam * t_cal)
    x = np.minimum(rng.geometric(p), k)
    pos = x > 0
    t_x = np.zeros(n_customers)
    t_x[pos] = t_cal[pos] * rng.beta(x[pos], k[pos] - x[pos] + 1)
    nu = rng.gamma(gg.q, 1.0 / gg.v, n_customers)
    # Repeat purchases: the last at t_x, the others uniform on (0, t_x).
    owner = np.repeat(np.arange(n_customers), x)
    is_last = np.zeros(len(owner), dtype=bool)
    is_last[np.cumsum(x[pos]) - 1] = True
    times = np.where(is_last, t_x[owner], rng.uniform(0.0, 1.0, len(owner)) * t_x[owner])
    customer = np.concatenate([np.arange(n_customers), owner])
    offset_days = np.concatenate([np.zeros(n_customers), np.floor(times * time_unit_days)])
    margin = rng.gamma(gg.p, 1.0 / nu[customer])
    as_of_day = np.datetime64(as_of, "D")
    first_day = as_of_day - age_days.astype("timedelta64[D]")
    order_day = first_day[customer] + offset_days.astype(np.int64).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "customer_id": customer.astype(np.int64),
            "order_date": order_day.astype("datetime64[s]"),
            "margin": margin,
        }
    )
