"""The BG/NBD and Gamma-Gamma models on small cases worked by hand or by a second,
independent computation (a direct formula, finite differences, numerical integration)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate

from memberops.analytics import clv
from memberops.errors import ValidationFailed

CDNOW = clv.BgNbdParams(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, log_likelihood=0.0)
SPEND = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
# A few customers: (x, t_x, T), one repeated so that the fit's weights are exercised.
ROWS = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (2, 30.43, 38.86),
        (5, 20.0, 30.0), (12, 31.5, 32.0), (0, 0.0, 27.0)]


def columns(rows: list[tuple[int, float, float]]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(col, dtype=float) for col in zip(*rows, strict=True))


def direct_bgnbd_ll(p: clv.BgNbdParams, x: int, t_x: float, t: float) -> float:
    """FHL 2005 eq. 6 term by term, with B(a+1, b+x−1) as written in the paper."""
    def lbeta(u: float, v: float) -> float:
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)
    head = math.lgamma(p.r + x) - math.lgamma(p.r) + p.r * math.log(p.alpha)
    alive = math.exp(lbeta(p.a, p.b + x) - lbeta(p.a, p.b) + head
                     - (p.r + x) * math.log(p.alpha + t))
    gone = 0.0 if x == 0 else math.exp(lbeta(p.a + 1, p.b + x - 1) - lbeta(p.a, p.b) + head
                                       - (p.r + x) * math.log(p.alpha + t_x))
    return math.log(alive + gone)


def test_the_likelihood_matches_the_papers_formula_row_by_row() -> None:
    x, t_x, t = columns(ROWS)
    ours = clv.bgnbd_log_likelihood(CDNOW, x, t_x, t)
    for i, (xi, txi, ti) in enumerate(ROWS):
        assert ours[i] == pytest.approx(direct_bgnbd_ll(CDNOW, xi, txi, ti), rel=1e-12)


def test_the_fit_objective_is_the_mean_likelihood_and_its_gradient_is_exact() -> None:
    # Given the rows aggregated with weights (the duplicate row counted twice)
    x, t_x, t = columns(ROWS)
    data = clv._BgNbdData(x, t_x, t)
    assert data.w.sum() == len(ROWS) and data.w.size == len(ROWS) - 1
    theta = np.log([CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b])
    value, grad = data.objective(theta)
    # Then the value is minus the mean of the per-row likelihoods
    assert value == pytest.approx(-clv.bgnbd_log_likelihood(CDNOW, x, t_x, t).mean())
    # And the analytic gradient matches central finite differences
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6
        numeric = (data.objective(theta + step)[0] - data.objective(theta - step)[0]) / 2e-6
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_a_customer_without_repeat_purchases_is_alive() -> None:
    # x = 0: the customer cannot have dropped out, which happens only after a purchase
    alive = clv.probability_alive(CDNOW, [0, 0], [0.0, 0.0], [1.0, 500.0])
    assert alive.tolist() == [1.0, 1.0]


def test_probability_alive_by_hand() -> None:
    # Given r = α = a = b = 1, one repeat purchase at t_x = 1, observed to T = 3
    # P(alive) = 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)) = 1 / (1 + 1 · (4/2)²) = 1/5
    unit = clv.BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0, log_likelihood=0.0)
    assert clv.probability_alive(unit, [1], [1.0], [3.0])[0] == pytest.approx(0.2)


def test_expected_purchases_rise_with_frequency_for_a_customer_seen_just_now() -> None:
    x = np.arange(0, 30, dtype=float)
    recent = clv.expected_purchases(CDNOW, 39.0, x, np.where(x > 0, 38.0, 0.0),
                                    np.full(x.size, 38.0))
    assert (np.diff(recent) > 0).all()


def test_a_frequent_buyer_gone_quiet_is_expected_to_buy_less() -> None:
    # With the last purchase 33 weeks ago, the more purchases before it, the more telling
    # the silence since: the expectation falls with frequency instead of rising.
    x = np.arange(1, 10, dtype=float)
    quiet = clv.expected_purchases(CDNOW, 39.0, x, np.full(x.size, 5.0), np.full(x.size, 38.0))
    assert (np.diff(quiet) < 0).all()


def posterior_expectation(p: clv.BgNbdParams, x: int, t_x: float, t: float,
                          horizon: float) -> float:
    """E[Y(horizon) | x, t_x, T] integrated numerically over the dropout probability q.

    An alive customer with rate λ buys (1 − e^{−λqt})/q in expectation over the next t;
    the Gamma(r, α) prior on λ integrates out by hand, leaving one integral over
    q ~ Beta(a, b), done by quadrature with the Beta kernel as its weight."""
    k = p.r + x

    def alive_term(q: float) -> float:
        return float((1 - q) ** x * (p.alpha + t) ** -k)

    def top(q: float) -> float:
        if q == 0:  # the limit: the derivative of the bracket at q = 0
            return float(k * horizon * (p.alpha + t) ** (-k - 1))
        return float((1 - q) ** x * ((p.alpha + t) ** -k - (p.alpha + t + q * horizon) ** -k)
                     / q)

    def bottom(q: float) -> float:
        gone = q * (1 - q) ** (x - 1) * (p.alpha + t_x) ** -k if x else 0.0
        return alive_term(q) + gone

    def over_q(f: Callable[[float], float]) -> float:
        value, _ = integrate.quad(f, 0, 1, weight="alg", wvar=(p.a - 1, p.b - 1),
                                  epsabs=0, epsrel=1e-12, limit=200)
        return float(value)

    return over_q(top) / over_q(bottom)


@pytest.mark.parametrize(("x", "t_x", "t"), [(0, 0.0, 38.86), (2, 30.43, 38.86),
                                                (5, 20.0, 30.0), (12, 31.5, 32.0)])
def test_the_conditional_expectation_matches_numerical_integration(
        x: int, t_x: float, t: float) -> None:
    closed = clv.expected_purchases(CDNOW, 39.0, [x], [t_x], [t])[0]
    assert closed == pytest.approx(posterior_expectation(CDNOW, x, t_x, t, 39.0), rel=1e-6)


def test_a_new_customer_expects_what_the_conditional_form_gives_at_time_zero() -> None:
    # E[X(t)] for a customer just acquired equals E[Y(t) | x = 0, t_x = 0, T = 0]
    new = clv.expected_purchases_new(CDNOW, np.array([1.0, 39.0, 78.0]))
    assert new == pytest.approx(clv.expected_purchases(CDNOW, np.array([1.0, 39.0, 78.0]),
                                                       [0, 0, 0], [0, 0, 0], [0, 0, 0]))
    assert (np.diff(new) > 0).all() and new[0] > 0


def test_the_fit_recovers_the_parameters_it_simulated() -> None:
    # Given 20,000 customers simulated from BG/NBD, observed for 1 to 52 weeks
    rng = np.random.default_rng(20050101)
    n, truth = 20_000, (0.5, 6.0, 0.8, 2.5)
    observed = rng.uniform(1, 52, n)
    rate = rng.gamma(truth[0], 1 / truth[1], n)
    drop = rng.beta(truth[2], truth[3], n)
    x, last, clock, alive = np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n, bool)
    while alive.any():
        clock = clock + rng.exponential(1 / np.maximum(rate, 1e-12))
        alive &= clock <= observed
        x[alive] += 1
        last[alive] = clock[alive]
        alive &= rng.random(n) > drop
    # When fitted
    fitted = clv.fit_bgnbd(x, last, observed)
    # Then each parameter is within sampling error of the truth
    got = (fitted.r, fitted.alpha, fitted.a, fitted.b)
    assert got == pytest.approx(truth, rel=0.1)


def direct_gamma_gamma_ll(p: clv.GammaGammaParams, x: int, z: float) -> float:
    """Fader & Hardie (2013) eq. 4 as printed."""
    px = p.p * x
    return (math.lgamma(px + p.q) - math.lgamma(px) - math.lgamma(p.q) + p.q * math.log(p.gamma)
            + (px - 1) * math.log(z) + px * math.log(x) - (px + p.q) * math.log(p.gamma + x * z))


def test_gamma_gamma_likelihood_and_gradient() -> None:
    rows = [(1, 11.77), (2, 22.35), (2, 22.35), (7, 40.1), (3, 9.5)]
    x, z = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    ours = clv.gamma_gamma_log_likelihood(SPEND, x, z)
    for i, (xi, zi) in enumerate(rows):
        assert ours[i] == pytest.approx(direct_gamma_gamma_ll(SPEND, xi, zi), rel=1e-12)
    data = clv._GammaGammaData(x, z)
    theta = np.log([SPEND.p, SPEND.q, SPEND.gamma])
    value, grad = data.objective(theta)
    assert value == pytest.approx(-ours.mean())
    for k in range(3):
        step = np.zeros(3)
        step[k] = 1e-6
        numeric = (data.objective(theta + step)[0] - data.objective(theta - step)[0]) / 2e-6
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_expected_spend_by_hand() -> None:
    # p = 2, q = 3, γ = 10: the population mean is pγ/(q−1) = 10; a customer with two
    # repeat purchases averaging 20 gets p(γ + x z̄)/(px + q − 1) = 2·50/6
    params = clv.GammaGammaParams(p=2.0, q=3.0, gamma=10.0)
    spend = clv.expected_average_spend(params, [0, 2], [0.0, 20.0])
    assert spend.tolist() == pytest.approx([10.0, 100 / 6])


def test_clv_sums_discounted_expected_purchases_times_expected_spend() -> None:
    x, t_x, t = columns(ROWS)
    z = np.where(x > 0, 20.0, 0.0)
    spend = clv.expected_average_spend(SPEND, x, z)
    # Without discounting, the CLV over H periods is E[Y(H)] × E[M]
    flat = clv.customer_lifetime_value(CDNOW, SPEND, x, t_x, t, z, horizon=10, discount=0.0)
    assert flat == pytest.approx(clv.expected_purchases(CDNOW, 10.0, x, t_x, t) * spend)
    # Over one period it is E[Y(1)] × E[M] / (1 + d)
    one = clv.customer_lifetime_value(CDNOW, SPEND, x, t_x, t, z, horizon=1, discount=0.05)
    assert one == pytest.approx(clv.expected_purchases(CDNOW, 1.0, x, t_x, t) * spend / 1.05)
    # And discounting lowers it
    assert (clv.customer_lifetime_value(CDNOW, SPEND, x, t_x, t, z, horizon=10,
                                        discount=0.01) < flat).all()


def test_the_annual_rate_compounds_per_period() -> None:
    assert clv.period_discount(0.1, 365.25) == pytest.approx(0.1)
    weekly = clv.period_discount(0.1, 7)
    assert (1 + weekly) ** (365.25 / 7) == pytest.approx(1.1)


@pytest.mark.parametrize(("frequency", "recency", "T", "says"), [
    ([], [], [], "no customers"),
    ([1, 2], [1.0], [2.0, 3.0], "differ in length"),
    ([1.5], [1.0], [2.0], "whole numbers"),
    ([-1], [0.0], [2.0], "whole numbers"),
    ([1], [3.0], [2.0], "between 0 and T"),
    ([0], [1.0], [2.0], "recency must be 0"),
    ([1], [float("nan")], [2.0], "finite"),
    (["one"], [1.0], [2.0], "must be a number"),
])
def test_bad_summaries_are_refused(frequency: list[float], recency: list[float],
                                   T: list[float], says: str) -> None:
    with pytest.raises(ValidationFailed, match=says):
        clv.fit_bgnbd(frequency, recency, T)


def test_fits_need_repeat_purchases() -> None:
    with pytest.raises(ValidationFailed) as nobody:
        clv.fit_bgnbd([0, 0], [0.0, 0.0], [5.0, 9.0])
    assert nobody.value.code == "no_repeat_purchases"
    with pytest.raises(ValidationFailed) as one:
        clv.fit_gamma_gamma([0, 3], [0.0, 12.0])
    assert one.value.code == "too_few_repeat_customers"
    with pytest.raises(ValidationFailed, match="negative"):
        clv.fit_gamma_gamma([1, 3], [-1.0, 12.0])
