"""Customer lifetime value: the BG/NBD and Gamma-Gamma models, fitted by maximum likelihood.

BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while alive, a
customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each purchase they drop
out with probability p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV";
Fader & Hardie 2013): the value of each transaction is Gamma(p, ν) around a customer's
own mean, ν ~ Gamma(q, γ), independent of the purchase process.

Everything is vectorised over customers. The fits maximise the log-likelihood with
L-BFGS-B on the logarithms of the parameters (so they stay positive) and an analytic
gradient; identical rows are fitted once with a weight, and the terms that depend only on
the number of repeat purchases x are computed once per distinct x. The formulas, with the
reproduction of the published CDNOW estimates, are in docs/clv.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from memberops.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

# Log-parameters stay within e^±30: beyond that a fit has run off to a degenerate edge.
_LOG_BOUND = 30.0


@dataclass(frozen=True)
class BgNbdParams:
    """Purchase rate λ ~ Gamma(r, α) (α in the time unit); dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, γ)."""

    p: float
    q: float
    gamma: float


# ---------------------------------------------------------------------------- input


def _bad(detail: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(detail, code=code)


def _as_float(name: str, values: ArrayLike) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise _bad(f"{name}: every value must be a number") from None
    if not np.isfinite(arr).all():
        raise _bad(f"{name}: every value must be a finite number")
    return arr


def rfm_arrays(frequency: ArrayLike, recency: ArrayLike,
               T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check an RFM summary: same lengths, whole x ≥ 0, 0 ≤ t_x ≤ T, t_x = 0 when x = 0."""
    x, t_x, t = (_as_float("frequency", frequency), _as_float("recency", recency),
                 _as_float("T", T))
    if not x.size:
        raise _bad("no customers to fit", "empty_data")
    if not x.size == t_x.size == t.size:
        raise _bad(f"frequency, recency and T differ in length ({x.size}, {t_x.size}, "
                   f"{t.size})")
    if (x < 0).any() or (x != np.floor(x)).any():
        raise _bad("frequency: repeat purchases must be whole numbers ≥ 0")
    if (t_x < 0).any() or (t_x > t).any():
        raise _bad("recency must lie between 0 and T for every customer")
    if ((x == 0) & (t_x != 0)).any():
        raise _bad("recency must be 0 for a customer without repeat purchases")
    return x, t_x, t


def _aggregate(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Distinct rows of the given columns and how many times each occurs."""
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    new = np.zeros(order.size, dtype=bool)
    new[:1] = True
    for c in sorted_cols:
        new[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, order.size]).astype(np.float64)
    return [c[starts] for c in sorted_cols], counts


def _maximise(objective: Objective, start: FloatArray, model: str) -> FloatArray:
    """Minimise the mean negative log-likelihood over log-parameters.

    On one BLAS thread: the objective's dot products are over one vector per call, where
    OpenBLAS's threads cost more to start and join than they save (measured in
    bench/analytics on a 200,000-buyer summary: 1.71 s with its threads, 0.28 s without)."""
    with threadpool_limits(limits=1, user_api="blas"):
        found = minimize(objective, np.log(start), jac=True, method="L-BFGS-B",
                         bounds=[(-_LOG_BOUND, _LOG_BOUND)] * start.size,
                         options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
    # `found.success` is not required: at the optimum L-BFGS-B often ends with "abnormal
    # termination in line search", having no step left that lowers the objective by
    # ftol. A fit that ran off towards 0 or infinity is what must not pass as a result.
    theta = np.asarray(found.x, dtype=np.float64)
    at_edge = np.abs(theta) >= _LOG_BOUND - 1e-6
    if not np.isfinite(found.fun) or at_edge.any():
        raise _bad(f"the {model} fit did not converge to finite parameters (too little or "
                   "degenerate data)", "fit_did_not_converge")
    return np.exp(theta)


# ---------------------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike,
                         T: ArrayLike) -> FloatArray:
    """Each customer's log-likelihood under BG/NBD (FHL 2005, eq. 6)."""
    x, t_x, t = rfm_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    head = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + betaln(a, b + x) - betaln(a, b))
    alive = -(r + x) * np.log(alpha + t)
    gone = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    return np.asarray(head + np.where(x > 0, np.logaddexp(alive, gone), alive))


class _BgNbdData:
    """Distinct (x, t_x, T) rows with weights, and the distinct x with summed weights."""

    def __init__(self, x: FloatArray, t_x: FloatArray, t: FloatArray) -> None:
        (self.x, self.t_x, self.t), self.w = _aggregate(x, t_x, t)
        self.total = float(self.w.sum())
        self.ux, at = np.unique(self.x, return_inverse=True)
        self.wx = np.bincount(at.ravel(), weights=self.w).astype(np.float64)
        self.repeat = self.x > 0
        # log(b + x - 1) only matters where x > 0; x = 1 stands in elsewhere.
        self.x_minus_1 = np.maximum(self.x, 1.0) - 1.0

    def objective(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood and its gradient in log-parameters."""
        r, alpha, a, b = np.exp(theta)
        ux, wx, w, x = self.ux, self.wx, self.w, self.x
        ll = float(wx @ (gammaln(r + ux) + betaln(a, b + ux))) + self.total * (
            r * np.log(alpha) - gammaln(r) - betaln(a, b))
        log_t, log_tx = np.log(alpha + self.t), np.log(alpha + self.t_x)
        b_x1 = b + self.x_minus_1
        alive = -(r + x) * log_t
        gone = np.log(a) - np.log(b_x1) - (r + x) * log_tx
        mix = np.where(self.repeat, np.logaddexp(alive, gone), alive)
        ll += float(w @ mix)
        w_alive = np.exp(alive - mix)
        w_gone = np.where(self.repeat, 1.0 - w_alive, 0.0) * w
        w_alive *= w
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
        d_r = (wx @ (digamma(r + ux) - digamma(r)) + self.total * np.log(alpha)
               - w_alive @ log_t - w_gone @ log_tx)
        d_alpha = (self.total * r / alpha - w_alive @ ((r + x) / (alpha + self.t))
                   - w_gone @ ((r + x) / (alpha + self.t_x)))
        d_a = wx @ (psi_ab - psi_abx) + w_gone.sum() / a
        d_b = (wx @ (digamma(b + ux) - psi_abx + psi_ab - digamma(b))
               - float(np.sum(w_gone / b_x1)))
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -ll / self.total, -grad / self.total


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters of an RFM summary."""
    x, t_x, t = rfm_arrays(frequency, recency, T)
    if not (x > 0).any():
        raise _bad("nobody bought again in the calibration period: BG/NBD needs repeat "
                   "purchases", "no_repeat_purchases")
    data = _BgNbdData(x, t_x, t)
    # Start from one purchase per mean observed lifetime: α scales with the time unit.
    rate = (float(x.sum()) + 1.0) / max(float(t.sum()), 1e-9)
    r, alpha, a, b = _maximise(data.objective, np.array([1.0, 1.0 / rate, 1.0, 1.0]),
                               "BG/NBD")
    total = float(-data.objective(np.log([r, alpha, a, b]))[0] * data.total)
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b),
                       log_likelihood=total)


def probability_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike,
                      T: ArrayLike) -> FloatArray:
    """P(still alive at T | x, t_x, T) (FHL 2005, eq. 13); 1 for x = 0."""
    x, t_x, t = rfm_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds = (np.log(a) - np.log(b + np.maximum(x, 1) - 1)
                + (r + x) * (np.log(alpha + t) - np.log(alpha + t_x)))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def expected_purchases(params: BgNbdParams, t: ArrayLike, frequency: ArrayLike,
                       recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """E[purchases in (T, T + t] | x, t_x, T] for each customer (FHL 2005, eq. 10)."""
    x, t_x, big_t = rfm_arrays(frequency, recency, T)
    alive = probability_alive(params, x, t_x, big_t)
    return _expected_if_alive(params, np.asarray(t, dtype=np.float64), x, big_t) * alive


def _expected_if_alive(params: BgNbdParams, t: FloatArray | float, x: FloatArray,
                       big_t: FloatArray) -> FloatArray:
    # Eq. 10 without its P(alive) factor. 2F1(r+x, b+x; c; z) grows without bound with x;
    # Euler's transformation 2F1(A, B; C; z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z) turns
    # ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; c; z) into
    # ((α+T)/(α+T+t))^(a−1) · 2F1(a+b−1−r, a−1; c; z), whose first two arguments stay put.
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a_ = _away_from_one(a)
    c = a_ + b + x - 1.0
    ahead = alpha + big_t + t
    # Where a fit on very little data sits far out, the product is inf · 0 and the result
    # NaN: callers check for numbers that are not finite (insight, churn), so NumPy need
    # not warn of it.
    with np.errstate(invalid="ignore", over="ignore"):
        tail = np.exp((a_ - 1.0) * (np.log(alpha + big_t) - np.log(ahead))) * hyp2f1(
            a_ + b - 1.0 - r, a_ - 1.0, c, t / ahead)
        return np.asarray(c / (a_ - 1.0) * (1.0 - tail))


def expected_purchases_new(params: BgNbdParams, t: ArrayLike) -> FloatArray:
    """E[X(t)]: repeat purchases in the first t after a customer's first purchase (eq. 9)."""
    span = np.asarray(t, dtype=np.float64)
    return _expected_if_alive(params, span, np.zeros_like(span), np.zeros_like(span))


def _away_from_one(a: float) -> float:
    # The closed forms divide by a − 1; the limit at a = 1 is met from a hair's breadth.
    return a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7


# ---------------------------------------------------------------------------- Gamma-Gamma


def spend_arrays(frequency: ArrayLike, monetary: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check frequency and mean repeat spend: same lengths, x ≥ 0 whole, spend ≥ 0."""
    x, m = _as_float("frequency", frequency), _as_float("monetary", monetary)
    if x.size != m.size:
        raise _bad(f"frequency and monetary differ in length ({x.size}, {m.size})")
    if (x < 0).any() or (x != np.floor(x)).any():
        raise _bad("frequency: repeat purchases must be whole numbers ≥ 0")
    if (m < 0).any():
        raise _bad("monetary: mean spend must not be negative", "negative_amount")
    return x, m


def gamma_gamma_log_likelihood(params: GammaGammaParams, frequency: ArrayLike,
                               monetary: ArrayLike) -> FloatArray:
    """Log-density of each mean repeat spend z̄ given x > 0 (Fader & Hardie 2013, eq. 4)."""
    x, z = spend_arrays(frequency, monetary)
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return np.asarray(gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
                      + (px - 1.0) * np.log(z) + px * np.log(x) - (px + q) * np.log(g + x * z))


class _GammaGammaData:
    def __init__(self, x: FloatArray, z: FloatArray) -> None:
        (self.x, self.z), self.w = _aggregate(x, z)
        self.total = float(self.w.sum())
        self.log_xz = np.log(self.x) + np.log(self.z)

    def objective(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood and its gradient in log-parameters."""
        p, q, g = np.exp(theta)
        x, w = self.x, self.w
        px = p * x
        log_gxz = np.log(g + x * self.z)
        ll = float(w @ (gammaln(px + q) - gammaln(px) + px * self.log_xz - self.log_xz
                        - (px + q) * log_gxz + np.log(x))) \
            + self.total * (q * np.log(g) - gammaln(q))
        psi = digamma(px + q)
        d_p = w @ (x * (psi - digamma(px) + self.log_xz - log_gxz))
        d_q = w @ (psi - log_gxz) + self.total * (np.log(g) - digamma(q))
        d_g = self.total * q / g - w @ ((px + q) / (g + x * self.z))
        grad = np.array([d_p * p, d_q * q, d_g * g])
        return -ll / self.total, -grad / self.total


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the customers with x > 0 and a
    positive mean spend (the others carry no information on spend)."""
    x, z = spend_arrays(frequency, monetary)
    use = (x > 0) & (z > 0)
    if np.count_nonzero(use) < 2 or np.ptp(z[use]) == 0:
        raise _bad("the Gamma-Gamma model needs repeat purchases with differing amounts "
                   "from at least two customers", "too_few_repeat_customers")
    data = _GammaGammaData(x[use], z[use])
    # Start where the population mean spend p·γ/(q − 1) is the observed mean.
    p, q, g = _maximise(data.objective, np.array([1.0, 2.0, float(z[use].mean())]),
                        "Gamma-Gamma")
    return GammaGammaParams(p=float(p), q=float(q), gamma=float(g))


def expected_average_spend(params: GammaGammaParams, frequency: ArrayLike,
                           monetary: ArrayLike) -> FloatArray:
    """E[mean spend per transaction | x, z̄] = p(γ + x z̄) / (p x + q − 1); x = 0 gives the
    population mean p γ / (q − 1) (finite only for q > 1)."""
    x, z = spend_arrays(frequency, monetary)
    p, q, g = params.p, params.q, params.gamma
    return np.asarray(p * (g + x * z) / (p * x + q - 1.0))


# ---------------------------------------------------------------------------- CLV


def period_discount(annual_rate: float, days_per_period: float) -> float:
    """The discount rate of one period that compounds to `annual_rate` over 365.25 days."""
    if not annual_rate > -1.0:
        raise _bad(f"discount rate {annual_rate}: must be above -1")
    return float((1.0 + annual_rate) ** (days_per_period / 365.25) - 1.0)


def customer_lifetime_value(bgnbd: BgNbdParams, gamma_gamma: GammaGammaParams,
                            frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
                            monetary: ArrayLike, *, horizon: int,
                            discount: float) -> FloatArray:
    """Discounted expected spend over the next `horizon` periods, per customer:

        CLV = Σ_{k=1..H} (E[Y(k) | x, t_x, T] − E[Y(k−1) | x, t_x, T]) · E[M | x, z̄] / (1 + d)^k

    with E[Y(t) | …] the BG/NBD conditional expectation, E[M | …] the Gamma-Gamma mean
    spend, and d the rate per period (see `period_discount`); purchases in period k are
    discounted to the end of that period. Revenue: multiply by a margin for profit.
    """
    if horizon < 0:
        raise _bad(f"horizon {horizon}: must be 0 or more periods")
    if not discount > -1.0:
        raise _bad(f"discount {discount}: must be above -1")
    x, t_x, t = rfm_arrays(frequency, recency, T)
    spend = expected_average_spend(gamma_gamma, x, monetary)
    alive = probability_alive(bgnbd, x, t_x, t)
    value = np.zeros_like(x)
    before = np.zeros_like(x)
    for k in range(1, horizon + 1):
        upto = _expected_if_alive(bgnbd, float(k), x, t)
        value += (upto - before) / (1.0 + discount) ** k
        before = upto
    return np.asarray(value * alive * spend)
