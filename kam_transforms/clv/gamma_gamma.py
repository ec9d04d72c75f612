"""The Gamma-Gamma spend model (Fader & Hardie), here on margin per purchase period.

A customer's margins per transaction are ``Gamma(p, nu)`` around their own mean ``p/nu``,
with ``nu ~ Gamma(q, v)`` across customers. Given ``x`` repeat purchases with mean margin
``zbar``, the likelihood (up to a constant in the data) is

    G(px+q)/(G(px) G(q)) * v^q * zbar^(px-1) * x^(px) / (v + x zbar)^(px+q)

and the conditional expected average margin is ``p (v + x zbar) / (p x + q - 1)``, a
weighted mean of the population mean ``p v / (q - 1)`` and the customer's own ``zbar``.
The model needs positive margins; repeat buyers whose mean margin is zero or negative are
left out of the fit (and :mod:`kam_transforms.clv.predict` flags them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from kam_transforms.clv._arrays import FloatArray, as_float_array
from kam_transforms.clv.errors import InsufficientDataError, ModelFitError

__all__ = [
    "GammaGammaFit",
    "GammaGammaParams",
    "conditional_expected_average_margin",
    "fit_gamma_gamma",
    "log_likelihood",
]

_LOG_BOUND = 20.0


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters ``p``, ``q``, ``v``."""

    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as a plain dict."""
        return {k: float(val) for k, val in asdict(self).items()}

    @property
    def population_mean(self) -> float:
        """Expected margin per transaction of a new customer, ``p v / (q - 1)`` (inf if q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    """Result of :func:`fit_gamma_gamma`: parameters, total log-likelihood, convergence.

    ``parameters_at_bound`` names parameters that ended on the optimiser's bound
    (``exp(+-20)``), a limit of the model such as ``q, v -> inf`` when customers' mean
    margins do not vary; predictions remain finite.
    """

    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    n_iterations: int
    message: str
    n_customers: int
    parameters_at_bound: tuple[str, ...] = ()


def _validate(frequency: Any, avg_margin: Any) -> tuple[FloatArray, FloatArray]:
    x = as_float_array(frequency, "frequency")
    m = as_float_array(avg_margin, "avg_margin")
    if len(x) != len(m):
        raise ValueError("frequency and avg_margin must have the same length")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must hold non-negative whole numbers")
    return x, m


class _Data:
    """Fit data with the terms that depend only on ``x`` grouped per distinct ``x``."""

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.x = x
        self.m = m
        self.w = w
        self.n = float(w.sum())
        self.ux, inv = np.unique(x, return_inverse=True)
        self.xi = inv.astype(np.int64)
        self.w_x = np.bincount(self.xi, weights=w, minlength=len(self.ux))
        # Data-only sums: sum w x log(m), sum w x log(x), sum w log(m).
        self.wx_log_m = float(np.dot(w * x, np.log(m)))
        self.wx_log_x = float(np.dot(w * x, np.log(x)))
        self.w_log_m = float(np.dot(w, np.log(m)))
        self.wx = float(np.dot(w, x))


def _nll_and_grad(theta: FloatArray, d: _Data) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its gradient with respect to log-parameters."""
    p, q, v = np.exp(theta)
    ux = d.ux
    pux = p * ux
    vxm = v + d.x * d.m
    log_vxm = np.log(vxm)
    px_row = p * d.x
    ll = float(
        np.dot(d.w_x, gammaln(pux + q) - gammaln(pux))
        + d.n * (q * np.log(v) - gammaln(q))
        + p * d.wx_log_m
        - d.w_log_m
        + p * d.wx_log_x
        - np.dot(d.w * (px_row + q), log_vxm)
    )
    psi_pxq = digamma(pux + q)
    g_p = (
        np.dot(d.w_x * ux, psi_pxq - digamma(pux))
        + d.wx_log_m
        + d.wx_log_x
        - np.dot(d.w * d.x, log_vxm)
    )
    g_q = np.dot(d.w_x, psi_pxq) - d.n * digamma(q) + d.n * np.log(v) - np.dot(d.w, log_vxm)
    g_v = d.n * q / v - np.dot(d.w * (px_row + q), 1.0 / vxm)
    if not np.isfinite(ll):
        return float("inf"), np.zeros(3)
    return -ll / d.n, -np.array([g_p * p, g_q * q, g_v * v]) / d.n


def log_likelihood(params: GammaGammaParams, frequency: Any, avg_margin: Any) -> float:
    """Total Gamma-Gamma log-likelihood over customers with ``frequency > 0``."""
    x, m = _validate(frequency, avg_margin)
    keep = x > 0
    if (m[keep] <= 0).any():
        raise ValueError("avg_margin must be positive for customers with frequency > 0")
    theta = np.log([params.p, params.q, params.v])
    d = _Data(x[keep], m[keep], np.ones(int(keep.sum())))
    nll, _ = _nll_and_grad(theta, d)
    return -nll * d.n


def fit_gamma_gamma(
    frequency: Any,
    avg_margin: Any,
    *,
    min_customers: int = 10,
    max_iterations: int = 2000,
) -> GammaGammaFit:
    """Fit Gamma-Gamma by maximum likelihood on repeat buyers with a positive mean margin.

    Parameters
    ----------
    frequency : array-like
        Repeat purchase periods per customer (``x``); rows with ``x == 0`` are ignored.
    avg_margin : array-like
        Mean margin per repeat purchase period (``zbar``); rows with ``zbar <= 0`` are
        ignored (the model is for positive amounts).
    min_customers : int
        Fewest usable customers (``x > 0`` and ``zbar > 0``) to attempt a fit.
    max_iterations : int
        L-BFGS-B iteration cap.

    Returns
    -------
    GammaGammaFit

    Raises
    ------
    InsufficientDataError
        ``too_few_positive_margin_repeat_customers`` below ``min_customers``.
    ModelFitError
        Non-finite likelihood (``gamma_gamma_not_finite``) or ``q <= 1`` (population mean
        margin undefined: ``gamma_gamma_q_not_above_1``).
    """
    x, m = _validate(frequency, avg_margin)
    keep = (x > 0) & (m > 0)
    n_usable = int(keep.sum())
    if n_usable < min_customers:
        raise InsufficientDataError(
            "too_few_positive_margin_repeat_customers",
            f"{n_usable} repeat customers with positive margin, need {min_customers}",
        )
    # Margins are continuous, so identical (x, zbar) rows are rare: no aggregation here.
    d = _Data(x[keep], m[keep], np.ones(n_usable))
    # Start at p=1, q=2 (a finite population mean), v = mean(zbar).
    theta0 = np.log([1.0, 2.0, float(np.mean(d.m))])
    res = minimize(
        _nll_and_grad,
        theta0,
        args=(d,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
        options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    if not np.isfinite(res.fun) or not np.isfinite(res.x).all():
        raise ModelFitError(
            "gamma_gamma_not_finite", f"optimiser ended at a non-finite likelihood: {res.message}"
        )
    at_bound = tuple(
        name
        for name, value in zip(("p", "q", "v"), res.x, strict=True)
        if abs(value) >= _LOG_BOUND - 1e-6
    )
    p, q, v = (float(val) for val in np.exp(res.x))
    if q <= 1.0:
        raise ModelFitError(
            "gamma_gamma_q_not_above_1", f"q={q:.4g}: the population mean margin is undefined"
        )
    _, grad = _nll_and_grad(res.x, d)
    converged = bool(res.success) or float(np.max(np.abs(grad))) < 1e-6
    return GammaGammaFit(
        params=GammaGammaParams(p=p, q=q, v=v),
        log_likelihood=-float(res.fun) * d.n,
        converged=converged,
        n_iterations=int(res.nit),
        message=str(res.message),
        n_customers=n_usable,
        parameters_at_bound=at_bound,
    )


def conditional_expected_average_margin(
    params: GammaGammaParams, frequency: Any, avg_margin: Any
) -> FloatArray:
    """E[margin per purchase | x, zbar] = p (v + x zbar) / (p x + q - 1).

    For ``x == 0`` this is the population mean ``p v / (q - 1)``. Callers decide what to do
    with non-positive ``zbar`` (outside the model); the formula is applied as is.
    """
    x, m = _validate(frequency, avg_margin)
    p, q, v = params.p, params.q, params.v
    return np.asarray(p * (v + x * m) / (p * x + q - 1.0), dtype=np.float64)
