"""One CLV run over a transaction table: summarise, fit both models, predict, and check the
predictions against a holdout period when one is given."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from memberops.analytics import clv
from memberops.analytics.clv_summary import (
    DAYS_PER_UNIT,
    RfmSummary,
    TimeUnit,
    Transactions,
    holdout_purchases,
    summarise,
)
from memberops.errors import ValidationFailed

# The holdout table groups customers by calibration repeat purchases 0, 1, …, 6 and 7+,
# as Figure 5 of Fader, Hardie & Lee (2005) does.
HOLDOUT_GROUPS = 8


@dataclass(frozen=True)
class HoldoutGroup:
    label: str
    customers: int
    actual: int
    predicted: float


@dataclass(frozen=True)
class Holdout:
    """Repeat transactions (distinct purchase days) in (calibration end, holdout end]."""

    end: date
    periods: float
    actual: int
    predicted: float
    # Σ E[X(T+t)] − E[X(T)]: what the model expects from each customer's first-purchase
    # date alone (the paper's cumulative tracking), beside the conditional `predicted`.
    predicted_unconditional: float
    groups: tuple[HoldoutGroup, ...]


@dataclass(frozen=True)
class Predictions:
    """Totals over the customers for the next `horizon` periods."""

    horizon: int
    discount_rate: float
    expected_purchases: float
    mean_probability_alive: float
    clv_total: float
    clv_mean: float


@dataclass(frozen=True)
class ClvReport:
    calibration_end: date
    time_unit: TimeUnit
    customers: int
    repeat_customers: int
    bgnbd: clv.BgNbdParams
    gamma_gamma: clv.GammaGammaParams
    predictions: Predictions
    holdout: Holdout | None
    fit_seconds: float


def build(tx: Transactions, *, calibration_end: date, time_unit: TimeUnit = "weeks",
          horizon: int = 39, discount_rate: float = 0.1,
          holdout_end: date | None = None) -> ClvReport:
    """Fit BG/NBD and Gamma-Gamma on the calibration period and predict from them."""
    if horizon < 1:
        raise ValidationFailed(f"horizon {horizon}: must be at least one period")
    if not discount_rate >= 0:
        raise ValidationFailed(f"discount rate {discount_rate}: must be 0 or more")
    if holdout_end is not None and holdout_end <= calibration_end:
        raise ValidationFailed(f"holdout end {holdout_end.isoformat()} is not after the "
                               f"calibration end {calibration_end.isoformat()}",
                               code="bad_holdout")
    rfm = summarise(tx, calibration_end=calibration_end, time_unit=time_unit)
    started = time.perf_counter()
    bgnbd = clv.fit_bgnbd(rfm.frequency, rfm.recency, rfm.T)
    gamma_gamma = clv.fit_gamma_gamma(rfm.frequency, rfm.monetary)
    fit_seconds = time.perf_counter() - started
    holdout = None if holdout_end is None else _holdout(
        tx, rfm, bgnbd, calibration_end=calibration_end, holdout_end=holdout_end)
    return ClvReport(
        calibration_end=calibration_end, time_unit=time_unit, customers=len(rfm),
        repeat_customers=int(np.count_nonzero(rfm.frequency)), bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        predictions=_predict(rfm, bgnbd, gamma_gamma, horizon, discount_rate),
        holdout=holdout, fit_seconds=fit_seconds)


def _predict(rfm: RfmSummary, bgnbd: clv.BgNbdParams, gamma_gamma: clv.GammaGammaParams,
             horizon: int, discount_rate: float) -> Predictions:
    per_period = clv.period_discount(discount_rate, DAYS_PER_UNIT[rfm.time_unit])
    value = clv.customer_lifetime_value(bgnbd, gamma_gamma, rfm.frequency, rfm.recency,
                                        rfm.T, rfm.monetary, horizon=horizon,
                                        discount=per_period)
    expected = clv.expected_purchases(bgnbd, float(horizon), rfm.frequency, rfm.recency, rfm.T)
    alive = clv.probability_alive(bgnbd, rfm.frequency, rfm.recency, rfm.T)
    return Predictions(horizon=horizon, discount_rate=discount_rate,
                       expected_purchases=float(expected.sum()),
                       mean_probability_alive=float(alive.mean()),
                       clv_total=float(value.sum()), clv_mean=float(value.mean()))


def _holdout(tx: Transactions, rfm: RfmSummary, bgnbd: clv.BgNbdParams, *,
             calibration_end: date, holdout_end: date) -> Holdout:
    actual = holdout_purchases(tx, calibration_end=calibration_end, holdout_end=holdout_end)
    periods = (holdout_end - calibration_end).days / DAYS_PER_UNIT[rfm.time_unit]
    predicted = clv.expected_purchases(bgnbd, periods, rfm.frequency, rfm.recency, rfm.T)
    group = np.minimum(rfm.frequency, HOLDOUT_GROUPS - 1)
    groups = tuple(
        HoldoutGroup(label=str(g) if g < HOLDOUT_GROUPS - 1 else f"{g}+",
                     customers=int(np.count_nonzero(group == g)),
                     actual=int(actual[group == g].sum()),
                     predicted=float(predicted[group == g].sum()))
        for g in range(HOLDOUT_GROUPS))
    unconditional = (clv.expected_purchases_new(bgnbd, rfm.T + periods)
                     - clv.expected_purchases_new(bgnbd, rfm.T))
    return Holdout(end=holdout_end, periods=periods, actual=int(actual.sum()),
                   predicted=float(predicted.sum()),
                   predicted_unconditional=float(unconditional.sum()), groups=groups)


def bgnbd_json(p: clv.BgNbdParams) -> dict[str, float]:
    return {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b,
            "log_likelihood": p.log_likelihood}


def gamma_gamma_json(p: clv.GammaGammaParams) -> dict[str, float]:
    return {"p": p.p, "q": p.q, "gamma": p.gamma}


def as_json(report: ClvReport) -> dict[str, Any]:
    """The machine-readable report: `bgnbd`, `gamma_gamma`, `customers`, …, `holdout`."""
    pred = report.predictions
    out: dict[str, Any] = {
        "bgnbd": bgnbd_json(report.bgnbd),
        "gamma_gamma": gamma_gamma_json(report.gamma_gamma),
        "customers": report.customers,
        "repeat_customers": report.repeat_customers,
        "calibration_end": report.calibration_end.isoformat(),
        "time_unit": report.time_unit,
        "predictions": {
            "horizon": pred.horizon, "discount_rate": pred.discount_rate,
            "expected_purchases": pred.expected_purchases,
            "mean_probability_alive": pred.mean_probability_alive,
            "clv_total": pred.clv_total, "clv_mean": pred.clv_mean},
        "fit_seconds": report.fit_seconds,
    }
    if report.holdout is not None:
        h = report.holdout
        out["holdout"] = {
            "end": h.end.isoformat(), "periods": h.periods, "actual": h.actual,
            "predicted": h.predicted, "predicted_unconditional": h.predicted_unconditional,
            "by_calibration_repeat_purchases": [
                {"repeat_purchases": g.label, "customers": g.customers, "actual": g.actual,
                 "predicted": g.predicted} for g in h.groups]}
    return out
