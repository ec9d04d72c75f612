"""The BG/NBD purchase model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
after each repeat purchase they drop out with probability ``p ~ Beta(a, b)``. The
individual likelihood of ``(x, t_x, T)`` (frequency, recency, age) is

    L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x)

which is evaluated in log space with a log-sum-exp of the two terms. Identical
``(x, t_x, T)`` rows are aggregated into one row with a weight before the likelihood, and
the terms that depend only on ``x`` are computed once per distinct ``x``; together with an
analytic gradient this fits a million customers in a second or two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from kam_transforms.clv._arrays import FloatArray, IntArray, as_float_array, unique_rows
from kam_transforms.clv.errors import InsufficientDataError, ModelFitError

__all__ = [
    "BetaGeoFit",
    "BetaGeoParams",
    "conditional_expected_purchases",
    "expected_purchases",
    "fit_bgnbd",
    "log_likelihood",
    "probability_alive",
    "validate_rfm",
]

#: Bounds on the log of each parameter during the fit (exp(+-20) is 2e-9 .. 5e8).
_LOG_BOUND = 20.0
#: ``a`` this close to 1 makes (a+b+x-1)/(a-1) a 0/0 limit; evaluate just beside it.
_A_ONE_GUARD = 1e-7
#: Sum 2F1 as a plain series where C - A - B is at least this (the tail then decays like
#: k^-(C-A-B+1), so a few hundred terms reach machine precision even at z -> 1); scipy's
#: hyp2f1 returns inf or nan there for large C and z near 1.
_SERIES_MIN_EXCESS = 12.0
_SERIES_MAX_TERMS = 20_000


@dataclass(frozen=True)
class BetaGeoParams:
    """BG/NBD parameters: ``r``, ``alpha`` (purchase rate Gamma), ``a``, ``b`` (dropout Beta)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as a plain dict."""
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class BetaGeoFit:
    """Result of :func:`fit_bgnbd`.

    Attributes
    ----------
    params : BetaGeoParams
        Maximum-likelihood estimates.
    log_likelihood : float
        Total log-likelihood at ``params`` (sum over customers).
    converged : bool
        Whether the optimiser met its tolerance.
    n_iterations : int
        L-BFGS-B iterations.
    message : str
        The optimiser's message.
    n_customers : int
        Customers in the fit (total weight).
    n_repeat_customers : int
        Customers with at least one repeat purchase.
    n_unique_rows : int
        Distinct ``(x, t_x, T)`` rows the likelihood was evaluated on.
    parameters_at_bound : tuple of str
        Parameters that ended on the optimiser's bound (``exp(+-20)``): the likelihood
        is maximised in a limit of the model, e.g. ``a -> 0`` when no customer seems to
        drop out, or ``r, alpha -> inf`` when purchase rates do not vary. The estimates
        still give finite predictions of that limit model; empty for an interior optimum.
    """

    params: BetaGeoParams
    log_likelihood: float
    converged: bool
    n_iterations: int
    message: str
    n_customers: int
    n_repeat_customers: int
    n_unique_rows: int
    parameters_at_bound: tuple[str, ...] = ()


def validate_rfm(frequency: Any, recency: Any, T: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check and return ``(x, t_x, T)`` as float arrays.

    Raises ``ValueError`` unless lengths match, ``x`` is a non-negative integer,
    ``0 <= t_x <= T`` and ``t_x == 0`` where ``x == 0``.
    """
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    t_cal = as_float_array(T, "T")
    if not (len(x) == len(t_x) == len(t_cal)):
        raise ValueError("frequency, recency and T must have the same length")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must hold non-negative whole numbers")
    if (t_x < 0).any() or (t_x > t_cal + 1e-9).any():
        raise ValueError("recency must satisfy 0 <= recency <= T")
    if (t_x[x == 0] != 0).any():
        raise ValueError("recency must be 0 for customers with frequency 0")
    return x, t_x, t_cal


class _Data:
    """Aggregated fit data: distinct rows with weights, and an index to distinct ``x``."""

    def __init__(
        self, x: FloatArray, t_x: FloatArray, t_cal: FloatArray, weights: FloatArray
    ) -> None:
        self.t_x = t_x
        self.T = t_cal
        self.w = weights
        self.ux, inv = np.unique(x, return_inverse=True)
        self.xi: IntArray = inv.astype(np.int64)
        self.x = x
        self.n = float(weights.sum())
        self.w_x = np.bincount(self.xi, weights=weights, minlength=len(self.ux))
        zero = x == 0
        self.T0 = t_cal[zero]
        self.w0 = weights[zero]
        self.n0 = float(self.w0.sum())
        rep = ~zero
        self.x1 = x[rep]
        self.t_x1 = t_x[rep]
        self.T1 = t_cal[rep]
        self.w1 = weights[rep]
        self.xi1: IntArray = self.xi[rep]


def _nll_and_grad(theta: FloatArray, d: _Data) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its gradient with respect to log-parameters."""
    r, alpha, a, b = np.exp(theta)
    ux = d.ux
    rx = r + ux
    lb1 = betaln(a, b + ux)
    pos = ux > 0
    b_x1 = np.where(pos, b + ux - 1.0, 1.0)
    lb2 = np.where(pos, betaln(a + 1.0, b_x1), -np.inf)

    # Rows with x == 0 have only the first term (the customer cannot have dropped out).
    l_t0 = np.log(alpha + d.T0)
    # Rows with x > 0: log-sum-exp of the two terms, with weights w1 + w2 = 1 of each term.
    rx_row = d.x1 + r
    l_t = np.log(alpha + d.T1)
    l_tx = np.log(alpha + d.t_x1)
    c1 = lb1[d.xi1]
    c1 -= rx_row * l_t
    c2 = lb2[d.xi1]
    c2 -= rx_row * l_tx
    m = np.maximum(c1, c2)
    c1 -= m
    c2 -= m
    e1 = np.exp(c1, out=c1)
    e2 = np.exp(c2, out=c2)
    total = e1 + e2
    lse = np.log(total)
    lse += m
    w1 = np.divide(e1, total, out=e1)

    const = -gammaln(r) + r * np.log(alpha) - betaln(a, b)
    ll = float(
        np.dot(d.w_x, gammaln(rx))
        + d.n * const
        + d.n0 * lb1[0] * (ux[0] == 0)
        - r * np.dot(d.w0, l_t0)
        + np.dot(d.w1, lse)
    )

    ww1 = d.w1 * w1
    ww2 = d.w1 - ww1
    # Per-distinct-x sums of the weights w*w1 and w*w2 (x == 0 rows: w1 = 1, w2 = 0).
    sw1 = np.bincount(d.xi1, weights=ww1, minlength=len(ux))
    sw2 = np.bincount(d.xi1, weights=ww2, minlength=len(ux))
    if d.n0:
        sw1[0] += d.n0

    inv_t = np.divide(1.0, alpha + d.T1)
    inv_tx = np.divide(1.0, alpha + d.t_x1)
    inv_t *= ww1
    inv_tx *= ww2
    inv_t += inv_tx
    g_r = (
        np.dot(d.w_x, digamma(rx))
        + d.n * (np.log(alpha) - digamma(r))
        - np.dot(d.w0, l_t0)
        - np.dot(ww1, l_t)
        - np.dot(ww2, l_tx)
    )
    g_alpha = d.n * r / alpha - r * np.dot(d.w0, 1.0 / (alpha + d.T0)) - np.dot(rx_row, inv_t)
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + ux)
    g_a = (
        -d.n * (digamma(a) - psi_ab)
        + np.dot(sw1, digamma(a) - psi_abx)
        + np.dot(sw2, digamma(a + 1.0) - psi_abx)
    )
    psi_bx1 = np.where(pos, digamma(b_x1), 0.0)
    g_b = (
        -d.n * (digamma(b) - psi_ab)
        + np.dot(sw1, digamma(b + ux) - psi_abx)
        + np.dot(sw2, psi_bx1 - psi_abx)
    )
    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    if not np.isfinite(ll):
        return float("inf"), np.zeros(4)
    return -ll / d.n, -grad / d.n


def log_likelihood(
    params: BetaGeoParams, frequency: Any, recency: Any, T: Any, weights: Any | None = None
) -> float:
    """Total BG/NBD log-likelihood of customers ``(frequency, recency, T)``.

    ``weights`` (optional) counts how many customers each row stands for.
    """
    x, t_x, t_cal = validate_rfm(frequency, recency, T)
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    theta = np.log([params.r, params.alpha, params.a, params.b])
    d = _Data(x, t_x, t_cal, w)
    nll, _ = _nll_and_grad(theta, d)
    return -nll * d.n


def _initial_theta(d: _Data) -> FloatArray:
    """A data-scaled, deterministic starting point: r=1, alpha ~ mean age / mean frequency."""
    mean_t = float(np.dot(d.w, d.T) / d.n)
    mean_x = float(np.dot(d.w, d.x) / d.n)
    alpha0 = max(mean_t, 1e-3) / max(mean_x, 0.1)
    return np.log(np.array([1.0, alpha0, 1.0, 1.0]))


def fit_bgnbd(
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    weights: Any | None = None,
    min_customers: int = 30,
    min_repeat_customers: int = 10,
    max_iterations: int = 2000,
) -> BetaGeoFit:
    """Fit BG/NBD by maximum likelihood (L-BFGS-B on log-parameters, analytic gradient).

    Parameters
    ----------
    frequency, recency, T : array-like
        Per-customer repeat purchase periods ``x``, recency ``t_x`` and age ``T`` (same
        time unit), e.g. the columns of :func:`kam_transforms.clv.features.summarise_orders`.
    weights : array-like, optional
        Number of customers each row stands for (rows are aggregated further anyway).
    min_customers, min_repeat_customers : int
        Below these the data cannot identify four parameters and
        :class:`InsufficientDataError` is raised.
    max_iterations : int
        L-BFGS-B iteration cap.

    Returns
    -------
    BetaGeoFit

    Raises
    ------
    InsufficientDataError
        Too few customers (``too_few_customers``), too few repeat buyers
        (``too_few_repeat_customers``; includes ``all_one_time_buyers``) or no customer
        with positive age (``no_observation_time``).
    ModelFitError
        The optimiser ended at a non-finite likelihood (``bgnbd_not_finite``). A parameter
        on its bound is not an error: see ``BetaGeoFit.parameters_at_bound``.
    """
    x, t_x, t_cal = validate_rfm(frequency, recency, T)
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    if len(w) != len(x) or (w < 0).any():
        raise ValueError("weights must be non-negative and as long as frequency")
    n_customers = int(round(w.sum()))
    n_repeat = int(round(w[x > 0].sum()))
    if n_customers < min_customers:
        raise InsufficientDataError(
            "too_few_customers", f"{n_customers} customers, need {min_customers}"
        )
    if n_repeat == 0:
        raise InsufficientDataError(
            "all_one_time_buyers", f"none of {n_customers} customers bought twice"
        )
    if n_repeat < min_repeat_customers:
        raise InsufficientDataError(
            "too_few_repeat_customers", f"{n_repeat} repeat customers, need {min_repeat_customers}"
        )
    if float(np.dot(w, t_cal)) <= 0:
        raise InsufficientDataError(
            "no_observation_time", "every customer's first order is on the as-of date"
        )

    (ux, ut_x, ut), uw, _ = unique_rows(x, t_x, t_cal)
    keep = uw > 0
    d = _Data(ux[keep], ut_x[keep], ut[keep], uw[keep])
    theta0 = _initial_theta(d)
    res = minimize(
        _nll_and_grad,
        theta0,
        args=(d,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
        options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    nll = float(res.fun)
    if not np.isfinite(nll) or not np.isfinite(res.x).all():
        raise ModelFitError(
            "bgnbd_not_finite", f"optimiser ended at a non-finite likelihood: {res.message}"
        )
    at_bound = tuple(
        name
        for name, value in zip(("r", "alpha", "a", "b"), res.x, strict=True)
        if abs(value) >= _LOG_BOUND - 1e-6
    )
    _, grad = _nll_and_grad(res.x, d)
    # L-BFGS-B can stop on "ABNORMAL" line-search termination at the optimum itself, when the
    # objective is flat to machine precision; a vanishing gradient is then still convergence.
    converged = bool(res.success) or float(np.max(np.abs(grad))) < 1e-6
    r, alpha, a, b = (float(v) for v in np.exp(res.x))
    return BetaGeoFit(
        params=BetaGeoParams(r=r, alpha=alpha, a=a, b=b),
        log_likelihood=-nll * d.n,
        converged=converged,
        n_iterations=int(res.nit),
        message=str(res.message),
        n_customers=n_customers,
        n_repeat_customers=n_repeat,
        n_unique_rows=len(d.w),
        parameters_at_bound=at_bound,
    )


def _log_odds_dead(
    params: BetaGeoParams, x: FloatArray, t_x: FloatArray, t_cal: FloatArray
) -> FloatArray:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0; -inf for x == 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    pos = x > 0
    out = np.full(x.shape, -np.inf)
    xp = x[pos]
    out[pos] = (
        np.log(a)
        - np.log(b + xp - 1.0)
        + (r + xp) * np.log1p((t_cal[pos] - t_x[pos]) / (alpha + t_x[pos]))
    )
    return out


def _hyp2f1_series(A: float, B: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """Gauss series sum_k (A)_k (B)_k / ((C)_k k!) z^k, vectorised over ``C`` and ``z``."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    active = np.ones(z.shape, dtype=bool)
    for k in range(_SERIES_MAX_TERMS):
        if not active.any():
            break
        term = np.where(active, term * ((A + k) * (B + k) / ((C + k) * (k + 1.0))) * z, 0.0)
        total += term
        active &= np.abs(term) > 1e-17 * np.abs(total)
    return total


def _hyp2f1_guarded(A: float, B: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """2F1(A, B; C; z) for 0 <= z < 1: scipy, or the series where scipy is unreliable."""
    use_series = (C - A - B) >= _SERIES_MIN_EXCESS
    out = np.empty_like(z)
    rest = ~use_series
    if rest.any():
        with np.errstate(all="ignore"):
            out[rest] = hyp2f1(A, B, C[rest], z[rest])
    use_series |= ~np.isfinite(out)
    if use_series.any():
        out[use_series] = _hyp2f1_series(A, B, C[use_series], z[use_series])
    return out


def probability_alive(params: BetaGeoParams, frequency: Any, recency: Any, T: Any) -> FloatArray:
    """P(customer still alive at T | x, t_x, T) under BG/NBD (1 for customers with x == 0).

    Computed as ``expit(-log_odds)``, so it stays in [0, 1] without overflow.
    """
    x, t_x, t_cal = validate_rfm(frequency, recency, T)
    return np.asarray(expit(-_log_odds_dead(params, x, t_x, t_cal)), dtype=np.float64)


def _bracket_euler(
    r: float, a: float, b: float, x: FloatArray, z: FloatArray, log_one_minus_z: FloatArray
) -> FloatArray:
    """1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the Euler-transformed form."""
    f = _hyp2f1_guarded(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    scale = (a - 1.0) * log_one_minus_z
    return np.asarray(-np.expm1(scale) - np.exp(scale) * (f - 1.0), dtype=np.float64)


def _positive_series_tail(
    big_a: FloatArray,
    big_b: FloatArray,
    big_c: FloatArray,
    z: FloatArray,
    log_first: FloatArray,
    *,
    linear: bool,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Sum terms k >= 1 of (1-z)^A 2F1(A, B; C; z) (all positive), given log of term 0.

    ``linear`` multiplies the terms by their ratio (fast; needs term 0 >= e^-700), otherwise
    the recurrence runs in log space. Finished rows leave the working set. Returns the sums
    and which rows converged within the term cap.
    """
    n = len(z)
    idx = np.arange(n)
    a_k, b_k, c_k, z_k = big_a.copy(), big_b.copy(), big_c.copy(), z.copy()
    state = np.exp(log_first) if linear else log_first.copy()
    total = np.exp(log_first)
    tail = np.zeros(n)
    sums = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    log_z = np.zeros(n) if linear else np.log(z_k)
    for k in range(_SERIES_MAX_TERMS):
        if len(idx) == 0:
            break
        if linear:
            state *= (a_k + k) * (b_k + k) * z_k / ((c_k + k) * (k + 1.0))
            value = state
        else:
            state += np.log(a_k + k) + np.log(b_k + k) + log_z - np.log(c_k + k) - np.log(k + 1.0)
            value = np.exp(state)
        total += value
        tail += value
        past_peak = (a_k + k + 1.0) * (b_k + k + 1.0) * z_k < (c_k + k + 1.0) * (k + 2.0)
        finished = past_peak & (value <= 1e-17 * total)
        if finished.any():
            sums[idx[finished]] = tail[finished]
            done[idx[finished]] = True
            keep = ~finished
            idx, a_k, b_k, c_k, z_k = idx[keep], a_k[keep], b_k[keep], c_k[keep], z_k[keep]
            state, total, tail, log_z = state[keep], total[keep], tail[keep], log_z[keep]
    return sums, done


def _bracket_positive_series(
    r: float, a: float, b: float, x: FloatArray, z: FloatArray, log_one_minus_z: FloatArray
) -> FloatArray:
    """1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z), summing the paper's own series.

    Every term is positive (needs a+b+x-1 > 0), so there is no cancellation inside the sum;
    with the prefactor folded into the first term no term overflows, and 1 - P is formed as
    ``-expm1(log term 0) - (terms k >= 1)``. Used when r is large (homogeneous purchase
    rates), where the Euler form's first parameter a+b-1-r is very negative and its series
    alternates with terms far larger than the result. Rows that do not converge within the
    term cap come back as NaN.
    """
    big_a = r + x
    log_first = big_a * log_one_minus_z
    out = np.full(len(x), np.nan)
    zero_t = z <= 0
    out[zero_t] = 0.0
    for linear in (True, False):
        rows = np.flatnonzero(~zero_t & ((log_first >= -700.0) == linear))
        if len(rows) == 0:
            continue
        tail, done = _positive_series_tail(
            big_a[rows],
            b + x[rows],
            a + b + x[rows] - 1.0,
            z[rows],
            log_first[rows],
            linear=linear,
        )
        value = -np.expm1(log_first[rows]) - tail
        out[rows] = np.where(done, value, np.nan)
    return out


def conditional_expected_purchases(
    params: BetaGeoParams, t: float | FloatArray, frequency: Any, recency: Any, T: Any
) -> FloatArray:
    """Expected purchases in ``(T, T + t]`` given ``(x, t_x, T)`` (Fader, Hardie & Lee, eq. 10).

    ``E = (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
    * P(alive)`` with ``z = t/(alpha+T+t)``. The bracket is evaluated in whichever of two
    exact forms is stable:

    - usually, Euler's transformation ``2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``:
      ``1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose first two parameters do not
      grow with ``x`` (the paper's form overflows for heavy buyers); scipy's ``hyp2f1``, or
      the plain Gauss series where scipy returns inf/nan for large ``x`` and ``z -> 1``;
    - when ``r > a + b`` (a fairly homogeneous base of regular buyers) the Euler series
      alternates with huge terms, and when ``a`` is large (nearly everyone has the same
      dropout probability) it overflows; there the paper's own series, whose terms are all
      positive, is summed instead (term ratios, in log space if the first term underflows).
      Rows the Euler form cannot evaluate also fall back to it.

    The division by ``1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)`` is a multiplication by
    P(alive), computed in log-odds form.
    """
    x, t_x, t_cal = validate_rfm(frequency, recency, T)
    t_arr = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
    if (t_arr < 0).any():
        raise ValueError("t must be non-negative")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < _A_ONE_GUARD:
        a = 1.0 + _A_ONE_GUARD
    z = t_arr / (alpha + t_cal + t_arr)
    log_one_minus_z = -np.log1p(t_arr / (alpha + t_cal))
    # The positive series needs about (r+x) z/(1-z) terms (the posterior expected count).
    with np.errstate(divide="ignore", over="ignore"):
        terms_needed = (r + x) * t_arr / (alpha + t_cal)
    # The Euler series misbehaves when its parameters a+b-1-r (large r) or a-1 (large a:
    # nearly everyone has the same dropout probability) are large; the positive series
    # does not, but needs about (r+x) z/(1-z) terms.
    can_sum_positive = a + b + x - 1.0 > 0
    positive = (
        ((a + b - 1.0 - r < -1.0) | (a - 1.0 > _SERIES_MIN_EXCESS))
        & can_sum_positive
        & (terms_needed < _SERIES_MAX_TERMS / 4)
    )
    bracket = np.full_like(z, np.nan)
    if positive.any():
        bracket[positive] = _bracket_positive_series(
            r, a, b, x[positive], z[positive], log_one_minus_z[positive]
        )
    # Everything else, and any row the positive series did not finish, takes the Euler form.
    rest = ~np.isfinite(bracket)
    if rest.any():
        with np.errstate(over="ignore", invalid="ignore"):
            bracket[rest] = _bracket_euler(r, a, b, x[rest], z[rest], log_one_minus_z[rest])
    # Last resort for rows the Euler form could not evaluate: the positive series without
    # the estimate's limit (still at most _SERIES_MAX_TERMS terms; NaN if that is not enough).
    retry = ~np.isfinite(bracket) & can_sum_positive & ~positive
    if retry.any():
        bracket[retry] = _bracket_positive_series(
            r, a, b, x[retry], z[retry], log_one_minus_z[retry]
        )
    p_alive = expit(-_log_odds_dead(params, x, t_x, t_cal))
    out = (a + b + x - 1.0) / (a - 1.0) * bracket * p_alive
    return np.asarray(np.where(t_arr == 0, 0.0, out), dtype=np.float64)


def expected_purchases(params: BetaGeoParams, t: float | FloatArray) -> FloatArray:
    """Unconditional E[X(t)]: expected repeat purchases by a new customer in ``(0, t]``."""
    t_arr = np.atleast_1d(np.asarray(t, dtype=np.float64))
    zeros = np.zeros_like(t_arr)
    return conditional_expected_purchases(params, t_arr, zeros, zeros, zeros)
