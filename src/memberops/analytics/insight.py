"""Member insight: RFM, lifecycle, the value pyramid, CLV and churn risk of every member in
one pass, and the same for one member with the factors behind their churn risk.

`compute` is a pure function of the prepared frames; `refresh` is `purchases.load` (the
live store, over ADBC) followed by `compute`. Both work on whole frames: the per-member
summary is computed once and shared by RFM, lifecycle and the pyramid; CLV is one
BG/NBD + Gamma-Gamma fit in months of 365.25/12 days; churn scores come from a given
model or one trained on demand (see `churn.train`). A part that cannot be computed (too
little history for a model) leaves its columns null and says why in `notes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import numpy as np
import polars as pl

from memberops.analytics import churn, clv, lifecycle, rfm
from memberops.analytics import purchases as buys
from memberops.errors import NotFound, ValidationFailed

DAYS_PER_MONTH = 365.25 / 12
T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """The knobs of a refresh; the defaults are the documented ones."""

    window_days: int = buys.SUMMARY_WINDOW_DAYS
    thresholds: lifecycle.Thresholds = field(default_factory=lifecycle.Thresholds)
    horizon_days: int = churn.DEFAULT_HORIZON_DAYS
    churn_kind: str = churn.LOGISTIC  # of a model trained on demand
    clv_months: int = 12
    discount_rate: float = 0.10  # a year, for the CLV
    tier_levels: Mapping[str, int] | None = None


@dataclass(frozen=True, eq=False)
class Refresh:
    """Every member's figures as of a date, and the tables over them."""

    as_of: date
    members: pl.DataFrame
    segments: pl.DataFrame
    stages: pl.DataFrame
    pyramid: pl.DataFrame
    model: churn.ChurnModel | None
    # The churn model's features of every member as of the date (None without a model).
    features: pl.DataFrame | None
    options: Options
    notes: tuple[str, ...]
    seconds: dict[str, float]


CLV_COLUMNS = {"expected_purchases_90d": pl.Float64, "probability_alive": pl.Float64,
               "clv_12m": pl.Float64}


def _timed(seconds: dict[str, float], name: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        return step()
    finally:
        seconds[name] = time.perf_counter() - started


def compute(store: buys.Store, as_of: date, *, model: churn.ChurnModel | None = None,
            options: Options = Options()) -> Refresh:
    """RFM, lifecycle, pyramid, CLV and churn probability of every member as of `as_of`."""
    as_of = buys.check_as_of(as_of)
    seconds: dict[str, float] = {}
    notes: list[str] = []
    bought = _timed(seconds, "purchases", lambda: buys.purchases_as_of(store, as_of))
    table = _timed(seconds, "rfm", lambda: rfm.scores(buys.summary(
        buys.members_as_of(store, as_of), bought, as_of, options.window_days)))
    table = _timed(seconds, "lifecycle", lambda: lifecycle.pyramid(
        lifecycle.stages(table, options.thresholds)))
    fitted = _timed(seconds, "bgnbd", lambda: _fit_bgnbd(bought, as_of, notes))
    values = _timed(seconds, "clv", lambda: _clv(fitted, options, notes))
    table = table.join(values, on="member_id", how="left", maintain_order="left")
    if model is None:
        model = _timed(seconds, "churn_train", lambda: _train(store, as_of, options, notes))
    found = None if model is None else _timed(seconds, "churn_features", lambda: churn.features(
        store, as_of, options.tier_levels, model.horizon_days, fitted))
    risk = None if model is None or found is None else _timed(
        seconds, "churn_score", lambda: model.probabilities(found))
    table = table.with_columns(pl.lit(None, dtype=pl.Float64).alias("churn_probability")) \
        if found is None else table.join(
            found.select("member_id").with_columns(pl.Series("churn_probability", risk)),
            on="member_id", how="left", maintain_order="left")
    return Refresh(as_of=as_of, members=table, segments=rfm.segment_counts(table),
                   stages=lifecycle.stage_counts(table),
                   pyramid=lifecycle.pyramid_layers(table), model=model, features=found,
                   options=options,
                   notes=tuple(notes), seconds=seconds)


def refresh(database_url: str, as_of: date, time_zone: str, *,
            model: churn.ChurnModel | None = None, options: Options = Options()) -> Refresh:
    """Read the live store and compute every member's insight (the timed full refresh)."""
    started = time.perf_counter()
    store = buys.load(database_url, time_zone)
    loading = time.perf_counter() - started
    done = compute(store, as_of, model=model, options=options)
    done.seconds["load"] = loading
    return done


def _train(store: buys.Store, as_of: date, options: Options,
           notes: list[str]) -> churn.ChurnModel | None:
    try:
        return churn.train(store, as_of, options.horizon_days, options.churn_kind,
                           options.tier_levels)
    except ValidationFailed as exc:
        notes.append(f"churn risk not available: {exc.detail}")
        return None


def _fit_bgnbd(bought: pl.DataFrame, as_of: date, notes: list[str]
               ) -> tuple[buys.ClvInput, clv.BgNbdParams] | None:
    """The purchases' CLV summary and BG/NBD parameters, in days (None: no fit)."""
    try:
        summary = buys.clv_input(bought, as_of, 1.0)
        return summary, buys.fit_bgnbd(summary)  # the same fit as churn.fit_bgnbd's
    except ValidationFailed as exc:
        notes.append(f"CLV not available: {exc.detail}")
        return None


def _clv(fitted: tuple[buys.ClvInput, clv.BgNbdParams] | None, options: Options,
         notes: list[str]) -> pl.DataFrame:
    """Expected purchases in the next 90 days, P(alive) and the CLV over `clv_months`
    (fen, discounted) per member who bought; no rows when BG/NBD could not be fitted."""
    if fitted is None:
        return pl.DataFrame(schema={"member_id": pl.Int64, **CLV_COLUMNS})
    s = buys.rescaled(fitted[0], DAYS_PER_MONTH)
    bg = buys.in_periods(fitted[1], DAYS_PER_MONTH)
    expected = clv.expected_purchases(bg, 90 / DAYS_PER_MONTH, s.frequency, s.recency, s.T)
    alive = clv.probability_alive(bg, s.frequency, s.recency, s.T)
    if not (np.isfinite(expected).all() and np.isfinite(alive).all()):
        notes.append("CLV not available: BG/NBD gives no finite expectation on so little "
                     "data")
        return pl.DataFrame(schema={"member_id": pl.Int64, **CLV_COLUMNS})
    try:
        gg = buys.fit_gamma_gamma(s)
        value = clv.customer_lifetime_value(
            bg, gg, s.frequency, s.recency, s.T, s.monetary, horizon=options.clv_months,
            discount=clv.period_discount(options.discount_rate, DAYS_PER_MONTH))
    except ValidationFailed as exc:
        notes.append(f"CLV value not available (expected purchases are): {exc.detail}")
        value = np.full(s.frequency.size, np.nan)
    return pl.DataFrame({"member_id": s.member_ids, "expected_purchases_90d": expected,
                         "probability_alive": alive, "clv_12m": value},
                        schema={"member_id": pl.Int64, **CLV_COLUMNS}).fill_nan(None)


# ---------------------------------------------------------------------------- one member


def member_insight(store: buys.Store, member_id: int, as_of: date, *,
                   model: churn.ChurnModel | None = None, options: Options = Options(),
                   done: Refresh | None = None) -> dict[str, Any]:
    """One member's RFM scores and segment, lifecycle stage, value layer, CLV and churn
    probability with its three main factors, as JSON-ready values. Scores are relative to
    the whole membership, so this computes (or takes, as `done`) the full refresh."""
    as_of = buys.check_as_of(as_of)
    known = store.members.filter(pl.col("member_id") == member_id)
    if not known.height:
        raise NotFound(f"no member {member_id}", code="member_not_found")
    joined = known["joined_on"].item()
    if joined > as_of:
        raise ValidationFailed(f"member {member_id} joined on {joined.isoformat()}, after "
                               f"{as_of.isoformat()}", code="joined_after_as_of")
    done = done or compute(store, as_of, model=model, options=options)
    row = done.members.filter(pl.col("member_id") == member_id).row(0, named=True)
    return {
        "member_id": member_id, "as_of": as_of.isoformat(),
        "rfm": {"window_days": options.window_days, "recency_days": row["recency_days"],
                "frequency": row["frequency"], "monetary": row["monetary"],
                "last_purchase": _iso(row["last_purchase"]),
                "r_score": row["r_score"], "f_score": row["f_score"],
                "m_score": row["m_score"], "segment": row["segment"],
                "segment_name": rfm.SEGMENTS[row["segment"]]},
        "lifecycle": {"stage": row["stage"], "days_since_joined": row["days_since_joined"],
                      "days_inactive": row["days_inactive"],
                      "purchases": row["purchases"]},
        "value_layer": row["layer"],
        "clv": _clv_json(row),
        "churn": _churn_json(done, member_id),
        "notes": list(done.notes),
    }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _clv_json(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["expected_purchases_90d"] is None:
        return None
    value = row["clv_12m"]
    return {"expected_purchases_90d": row["expected_purchases_90d"],
            "probability_alive": row["probability_alive"],
            "clv_12m": None if value is None else round(value)}  # fen


def _churn_json(done: Refresh, member_id: int) -> dict[str, Any] | None:
    model = done.model
    if model is None or done.features is None:
        return None
    found = done.features.filter(pl.col("member_id") == member_id)
    factors = churn.explain(model, found)
    probability = float(model.probabilities(found)[0])
    return {"probability": probability, "horizon_days": model.horizon_days,
            "model": model.kind, "trained_cutoff": model.cutoff.isoformat(),
            "factors": [{"feature": f["feature"], "meaning": churn.FEATURES[f["feature"]],
                         "value": f["value"], "contribution": f["contribution"],
                         "direction": f["direction"]}
                        for f in factors.iter_rows(named=True)]}
