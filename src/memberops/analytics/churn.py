"""Churn risk (流失预警): features at a cutoff, a label from the days after it, a model
checked on a later period beside two baselines (docs/insight.md).

- **Features at cutoff C** use only what is dated on or before C (orders, refunds,
  recharges, coupons, PLUS periods, all by their own dates): see `FEATURES`.
- **Label**: `churned` = no purchase (net spend as of C + N above zero) dated in
  (C, C + N], N = `horizon_days` (90 by default). Population: the members who joined on
  or before C.
- **Time split**: the model is trained at C₁ = C₂ − N (labels from (C₁, C₂]) and tested
  at C₂ (features up to C₂, labels from (C₂, C₂ + N]). Training sees nothing after C₂,
  and the test features nothing after C₂ either; the test labels are the only data
  after C₂. C₂ defaults to as-of − N, the last cutoff whose N days are all observed.
- **Models**: a logistic regression (L2, C = 1) on standardised features, and a
  histogram gradient-boosted tree ensemble; both see the same matrix (money, counts and
  days as log(1 + x)). The one with the higher test AUC is `chosen`.
- **Baselines** on the same test rows: recency alone (score = days since the last
  purchase, or since joining), and BG/NBD (score = − expected purchases in the next N
  days, fitted on the purchases up to C₂ only; a member who never bought expects 0).
- **Scoring** uses a model trained at as-of − N (labels up to as-of) on the features at
  as-of: the probability of no purchase in the next N days.
- **Factors**: for the logistic regression, coefficient × standardised value (the
  member's log-odds against an average member); for the trees, the change in
  probability when a feature is set back to its training median. The three largest in
  absolute value are reported, with their direction.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import polars.selectors as cs

from memberops.analytics import clv
from memberops.analytics import purchases as buys
from memberops.errors import ValidationFailed
from memberops.programme.schemas import TierLadder

FloatArray = npt.NDArray[np.float64]
Fitted = tuple[buys.ClvInput, clv.BgNbdParams]
DEFAULT_HORIZON_DAYS = 90
LOGISTIC = "logistic_regression"
BOOSTED = "gradient_boosting"
KINDS = (LOGISTIC, BOOSTED)
RECENCY = "recency"
# A larger programme trains on this many of its members, drawn with a fixed seed: 22
# features need far fewer rows, and training time grows with them.
MAX_TRAIN_ROWS = 250_000
BGNBD = "bgnbd"

# name: what it measures, as of the cutoff C.
FEATURES: dict[str, str] = {
    "recency_days": "days since the last purchase (since joining if none)",
    "never_bought": "1 when the member has not bought yet",
    "purchases_30d": "purchases in the last 30 days",
    "purchases_90d": "purchases in the last 90 days",
    "purchases_365d": "purchases in the last 365 days",
    "purchases_total": "purchases since joining",
    "spend_365d": "net spend in the last 365 days (fen)",
    "average_order_value": "net spend per purchase since joining (fen)",
    "tenure_days": "days since joining",
    "mean_days_between": "mean days between purchases (0 with fewer than two)",
    "overdue_ratio": "days since the last purchase over the mean days between purchases "
                     "(0 with fewer than two purchases)",
    "refund_share": "refunded over paid, orders since joining",
    "wallet_share": "paid from the stored-value wallet over paid",
    "points_share": "paid with points over paid",
    "coupon_order_share": "orders with a coupon over orders",
    "online_share": "orders not placed in a store over orders",
    "recharge_365d": "stored value recharged in the last 365 days (fen)",
    "coupons_used_365d": "coupons used in the last 365 days",
    "coupons_open": "coupons issued, unused and valid at the cutoff",
    "tier_level": "tier of the latest order (0 = the base tier)",
    "plus_active": "1 when a PLUS period covers the cutoff",
    "bgnbd_expected": "BG/NBD expected purchases in the horizon after the cutoff",
}
FEATURE_NAMES = tuple(FEATURES)
# Heavy-tailed, non-negative: the models see log(1 + x).
LOGGED = frozenset({"recency_days", "purchases_30d", "purchases_90d", "purchases_365d",
                    "purchases_total", "spend_365d", "average_order_value", "tenure_days",
                    "mean_days_between", "overdue_ratio", "recharge_365d",
                    "coupons_used_365d", "coupons_open", "bgnbd_expected"})


def _since(cutoff: date, days: int) -> date:
    """The first date of the last `days` days up to `cutoff`."""
    return cutoff - timedelta(days=days - 1)


def _share(part: str, whole: str) -> pl.Expr:
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole)).otherwise(0.0)


def default_tier_levels() -> dict[str, int]:
    """Tier code → level in the reference ladder (pass the ladder in force instead)."""
    return {tier.code: level for level, tier in enumerate(TierLadder().tiers)}


def features(store: buys.Store, cutoff: date,
             tier_levels: Mapping[str, int] | None = None,
             horizon_days: int = DEFAULT_HORIZON_DAYS,
             bgnbd: Fitted | None = None) -> pl.DataFrame:
    """`member_id` and `FEATURES` for every member who joined on or before `cutoff`,
    from data dated on or before it only. `horizon_days` is the BG/NBD feature's;
    `bgnbd`, when given, must be the summary and fit (in days) of the purchases up to
    `cutoff` (it saves computing them again)."""
    cutoff = buys.check_as_of(cutoff)
    levels = dict(tier_levels) if tier_levels is not None else default_tier_levels()
    members = buys.members_as_of(store, cutoff).select("member_id", "joined_on")
    day, bought = pl.col("day"), pl.col("net") > 0
    # One pass over the orders, every aggregate at once (the costly part on millions).
    per_order = buys.orders_as_of(store, cutoff).lazy().group_by("member_id").agg(
        day.filter(bought).min().alias("first"), day.filter(bought).max().alias("last"),
        bought.sum().cast(pl.Int64).alias("purchases_total"),
        *[(bought & (day >= _since(cutoff, d))).sum().cast(pl.Int64)
          .alias(f"purchases_{d}d") for d in (30, 90, 365)],
        pl.col("net").filter(bought & (day >= _since(cutoff, 365))).sum().alias("spend_365d"),
        pl.col("net").filter(bought).sum().alias("spend_total"),
        pl.col("tier").sort_by("day", "order_id").last(),
        pl.len().cast(pl.Int64).alias("orders"), pl.col("paid").sum(),
        pl.col("refunded").sum(), pl.col("wallet_paid").sum(), pl.col("points_value").sum(),
        (pl.col("coupon_discount") > 0).sum().alias("coupon_orders"),
        (pl.col("channel").fill_null("store") != "store").sum().alias("online_orders"))
    recharged = store.recharges.lazy().filter(day.is_between(_since(cutoff, 365), cutoff)) \
        .group_by("member_id").agg(pl.col("amount").sum().alias("recharge_365d"))
    coupons = store.coupons.lazy().filter(pl.col("issued_on") <= cutoff) \
        .group_by("member_id").agg(
            pl.col("used_on").is_between(_since(cutoff, 365), cutoff).sum()
            .alias("coupons_used_365d"),
            ((pl.col("used_on").is_null() | (pl.col("used_on") > cutoff))
             & (pl.col("valid_until") > cutoff)).sum().alias("coupons_open"))
    plus = store.plus.lazy().filter((pl.col("starts_on") <= cutoff)
                                    & (pl.col("ends_on") > cutoff)) \
        .select("member_id").unique().with_columns(pl.lit(1).alias("plus_active"))
    joined = members.lazy()
    for part in (per_order, recharged, coupons, plus):
        joined = joined.join(part, on="member_id", how="left", maintain_order="left")
    table = _derive(joined.with_columns(cs.numeric().fill_null(0)), cutoff, levels).collect()
    return table.with_columns(pl.Series(
        "bgnbd_expected",
        _bgnbd_feature(store, cutoff, horizon_days, table["member_id"], bgnbd),
        dtype=pl.Float64)).select("member_id", *FEATURE_NAMES)


def _derive(table: pl.LazyFrame, cutoff: date, levels: dict[str, int]) -> pl.LazyFrame:
    tenure = buys.days_before(cutoff, "joined_on")
    span = (pl.col("last") - pl.col("first")).dt.total_days()
    gap = (pl.when(pl.col("purchases_total") >= 2)
           .then(span / (pl.col("purchases_total") - 1)).otherwise(0.0))
    out = table.with_columns(
        pl.coalesce(buys.days_before(cutoff, "last"), tenure).alias("recency_days"),
        pl.col("last").is_null().cast(pl.Int64).alias("never_bought"),
        _share("spend_total", "purchases_total").alias("average_order_value"),
        tenure.alias("tenure_days"),
        gap.alias("mean_days_between"),
        _share("refunded", "paid").alias("refund_share"),
        _share("wallet_paid", "paid").alias("wallet_share"),
        _share("points_value", "paid").alias("points_share"),
        _share("coupon_orders", "orders").alias("coupon_order_share"),
        _share("online_orders", "orders").alias("online_share"),
        pl.col("tier").replace_strict(levels, default=0, return_dtype=pl.Int64)
        .fill_null(0).alias("tier_level"))
    out = out.with_columns(
        pl.when(pl.col("purchases_total") >= 2)
        .then(pl.col("recency_days") / pl.max_horizontal(pl.col("mean_days_between"), 1.0))
        .otherwise(0.0).alias("overdue_ratio"))
    return out.select("member_id", *[pl.col(f).cast(pl.Float64) for f in FEATURE_NAMES
                                     if f != "bgnbd_expected"])


def labels(store: buys.Store, cutoff: date, horizon_days: int) -> pl.DataFrame:
    """`member_id`, `churned` for the members who joined on or before `cutoff`: true when
    they made no purchase dated in (cutoff, cutoff + horizon]."""
    end = cutoff + timedelta(days=horizon_days)
    later = buys.purchases_as_of(store, end).filter(pl.col("day") > cutoff) \
        .select("member_id").unique().with_columns(pl.lit(False).alias("churned"))
    return (buys.members_as_of(store, cutoff).select("member_id")
            .join(later, on="member_id", how="left", maintain_order="left")
            .with_columns(pl.col("churned").fill_null(True)))


def dataset(store: buys.Store, cutoff: date, horizon_days: int,
            tier_levels: Mapping[str, int] | None = None) -> pl.DataFrame:
    """Features at `cutoff` beside the label from the `horizon_days` after it."""
    return features(store, cutoff, tier_levels, horizon_days).join(
        labels(store, cutoff, horizon_days), on="member_id", how="left",
        maintain_order="left")


def matrix(frame: pl.DataFrame) -> FloatArray:
    """The models' input: `FEATURES` in order, heavy-tailed ones as log(1 + x)."""
    return frame.select(
        pl.col(f).log1p() if f in LOGGED else pl.col(f) for f in FEATURE_NAMES
    ).to_numpy().astype(np.float64)


# ---------------------------------------------------------------------------- models


@dataclass(frozen=True, eq=False)
class ChurnModel:
    """A fitted model with what it was trained on."""

    kind: str
    estimator: Any
    cutoff: date
    horizon_days: int
    train_members: int
    train_churn_rate: float
    medians: FloatArray
    features: tuple[str, ...] = FEATURE_NAMES

    def probabilities(self, frame: pl.DataFrame) -> FloatArray:
        """P(churned) for each row of a features frame."""
        if not frame.height:
            return np.zeros(0)
        return np.asarray(self.estimator.predict_proba(matrix(frame))[:, 1], dtype=np.float64)


def _estimator(kind: str) -> Any:
    # sklearn is imported here: it takes about a second to load, which only churn pays.
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == LOGISTIC:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if kind == BOOSTED:
        # Shallow trees, shrinkage and L2 keep it from memorising small programmes;
        # no early stopping, so that a fit is the same every time.
        return HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=False, random_state=0)
    raise ValidationFailed(f"model {kind!r}: expected one of {', '.join(KINDS)}",
                           code="bad_model_kind")


def fit(kind: str, data: pl.DataFrame, cutoff: date, horizon_days: int) -> ChurnModel:
    """Fit a model of `kind` on a `dataset` frame."""
    estimator = _estimator(kind)
    y = data["churned"].to_numpy().astype(np.int64)
    if data.height < 2 or y.min() == y.max():
        raise ValidationFailed(
            f"cannot train the churn model at {cutoff.isoformat()}: it needs members who "
            "churned and members who bought again in the next "
            f"{horizon_days} days", code="one_class_labels")
    x = matrix(data)
    at = np.arange(y.size)
    if y.size > MAX_TRAIN_ROWS:
        at = np.sort(np.random.default_rng(0).choice(y.size, MAX_TRAIN_ROWS, replace=False))
    estimator.fit(x[at], y[at])
    return ChurnModel(kind=kind, estimator=estimator, cutoff=cutoff,
                      horizon_days=horizon_days, train_members=int(at.size),
                      train_churn_rate=float(y[at].mean()), medians=np.median(x[at], axis=0))


def train(store: buys.Store, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS,
          kind: str = LOGISTIC, tier_levels: Mapping[str, int] | None = None) -> ChurnModel:
    """The model for scoring on `as_of`: trained at as-of − N with labels up to as-of."""
    _check_horizon(horizon_days)
    cutoff = buys.check_as_of(as_of) - timedelta(days=horizon_days)
    return fit(kind, dataset(store, cutoff, horizon_days, tier_levels), cutoff, horizon_days)


def score(model: ChurnModel, store: buys.Store, as_of: date,
          tier_levels: Mapping[str, int] | None = None) -> pl.DataFrame:
    """`member_id`, `churn_probability` for every member as of `as_of`."""
    found = features(store, as_of, tier_levels, model.horizon_days)
    return found.select("member_id").with_columns(
        pl.Series("churn_probability", model.probabilities(found), dtype=pl.Float64))


def explain(model: ChurnModel, frame: pl.DataFrame, top: int = 3) -> pl.DataFrame:
    """The `top` factors of each row of a features frame: `member_id`, `rank`, `feature`,
    `value` (as of the cutoff), `contribution` (log-odds for the logistic regression,
    probability for the trees) and `direction` (raises | lowers the risk)."""
    x = matrix(frame)
    if model.kind == LOGISTIC:
        scaler, regression = model.estimator[0], model.estimator[-1]
        effect = scaler.transform(x) * regression.coef_[0]
    else:
        base = model.estimator.predict_proba(x)[:, 1]
        effect = np.empty_like(x)
        for j in range(x.shape[1]):  # one prediction per feature, over every row at once
            typical = x.copy()
            typical[:, j] = model.medians[j]
            effect[:, j] = base - model.estimator.predict_proba(typical)[:, 1]
    top = min(top, x.shape[1])
    order = np.argsort(-np.abs(effect), axis=1, kind="stable")[:, :top]
    rows = np.repeat(np.arange(x.shape[0]), top)
    cols = order.ravel()
    raw = frame.select(FEATURE_NAMES).to_numpy().astype(np.float64)
    contribution = effect[rows, cols]
    return pl.DataFrame({
        "member_id": frame["member_id"].to_numpy()[rows],
        "rank": np.tile(np.arange(1, top + 1), x.shape[0]),
        "feature": np.asarray(FEATURE_NAMES)[cols],
        "value": raw[rows, cols],
        "contribution": contribution,
        "direction": np.where(contribution > 0, "raises", "lowers"),
    })


# ---------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """AUCs on the test period of each model and baseline; None where not computable."""

    as_of: date
    train_cutoff: date
    test_cutoff: date
    horizon_days: int
    train_members: int
    test_members: int
    train_churn_rate: float
    test_churn_rate: float
    auc: dict[str, float | None]
    # The same, among the members who bought in the 365 days before the test cutoff
    # (those a win-back campaign is for; the long lapsed are easy to call).
    auc_recent_buyers: dict[str, float | None]
    recent_buyers: int
    chosen: str
    notes: tuple[str, ...] = field(default=())


def _check_horizon(horizon_days: int) -> None:
    if not 1 <= horizon_days <= 730:
        raise ValidationFailed(f"horizon of {horizon_days} days: expected 1 to 730",
                               code="bad_horizon")


def auc(labels_: npt.ArrayLike, scores_: npt.ArrayLike) -> float | None:
    """ROC AUC of scores for `churned`; None when the labels hold one class only."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels_, dtype=np.int64)
    if y.size == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, np.asarray(scores_, dtype=np.float64)))


def fit_bgnbd(store: buys.Store, cutoff: date) -> Fitted:
    """The CLV summary (in days) of the purchases up to `cutoff` and BG/NBD fitted on it."""
    summary = buys.clv_input(buys.purchases_as_of(store, cutoff), cutoff, 1.0)
    return summary, buys.fit_bgnbd(summary)


def bgnbd_expected(store: buys.Store, cutoff: date, horizon_days: int,
                   member_ids: npt.NDArray[np.int64],
                   fitted: Fitted | None = None) -> FloatArray:
    """BG/NBD expected purchases in (cutoff, cutoff + horizon] for each member id, fitted
    (unless given) on the purchases up to `cutoff` only; 0 for a member who had not
    bought."""
    summary, params = fitted or fit_bgnbd(store, cutoff)
    expected = clv.expected_purchases(params, float(horizon_days), summary.frequency,
                                      summary.recency, summary.T)
    if not np.isfinite(expected).all():
        raise ValidationFailed("BG/NBD gives no finite expectation on so little data",
                               code="fit_did_not_converge")
    at = np.searchsorted(summary.member_ids, member_ids)
    at = np.minimum(at, max(summary.member_ids.size - 1, 0))
    found = summary.member_ids[at] == member_ids
    return np.where(found, expected[at], 0.0)


def _or_lowest(value: float | None) -> float:
    return -math.inf if value is None else value


def _bgnbd_feature(store: buys.Store, cutoff: date, horizon_days: int,
                   member_ids: pl.Series, fitted: Fitted | None) -> FloatArray:
    # Too little history for a fit (a new programme): the feature is 0 for everyone, which
    # the models then ignore.
    try:
        return bgnbd_expected(store, cutoff, horizon_days,
                              member_ids.to_numpy().astype(np.int64), fitted)
    except ValidationFailed:
        return np.zeros(member_ids.len())


def evaluate(store: buys.Store, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS,
             cutoff: date | None = None, tier_levels: Mapping[str, int] | None = None,
             kinds: Sequence[str] = KINDS) -> tuple[Evaluation, dict[str, ChurnModel]]:
    """Train each model kind at cutoff − N, test at `cutoff` (default as-of − N) beside
    the baselines; returns the evaluation and the models trained at cutoff − N."""
    _check_horizon(horizon_days)
    as_of = buys.check_as_of(as_of)
    horizon = timedelta(days=horizon_days)
    test_cutoff = cutoff if cutoff is not None else as_of - horizon
    if test_cutoff + horizon > as_of:
        raise ValidationFailed(
            f"cutoff {test_cutoff.isoformat()}: its {horizon_days} days of labels end after "
            f"{as_of.isoformat()}, the last day of data", code="cutoff_too_late")
    train_cutoff = test_cutoff - horizon
    train_set = dataset(store, train_cutoff, horizon_days, tier_levels)
    test_set = dataset(store, test_cutoff, horizon_days, tier_levels)
    models = {kind: fit(kind, train_set, train_cutoff, horizon_days) for kind in kinds}
    y = test_set["churned"].to_numpy()
    scores_: dict[str, FloatArray | None] = {
        kind: model.probabilities(test_set) for kind, model in models.items()}
    scores_[RECENCY] = test_set["recency_days"].to_numpy()
    notes: list[str] = []
    try:
        ids = test_set["member_id"].to_numpy().astype(np.int64)
        scores_[BGNBD] = -bgnbd_expected(store, test_cutoff, horizon_days, ids)
    except ValidationFailed as exc:
        scores_[BGNBD] = None
        notes.append(f"BG/NBD baseline not available: {exc.detail}")
    recent = (test_set["purchases_365d"] > 0).to_numpy()
    aucs = {name: None if s is None else auc(y, s) for name, s in scores_.items()}
    recent_aucs = {name: None if s is None else auc(y[recent], s[recent])
                   for name, s in scores_.items()}
    if aucs[next(iter(kinds))] is None:
        notes.append("the test period holds one class only: no AUC")
    chosen = max(kinds, key=lambda kind: _or_lowest(aucs[kind]))
    return Evaluation(
        as_of=as_of, train_cutoff=train_cutoff, test_cutoff=test_cutoff,
        horizon_days=horizon_days, train_members=train_set.height,
        test_members=test_set.height, train_churn_rate=models[chosen].train_churn_rate,
        test_churn_rate=float(y.mean()) if y.size else 0.0, auc=aucs,
        auc_recent_buyers=recent_aucs, recent_buyers=int(recent.sum()), chosen=chosen,
        notes=tuple(notes)), models


def evaluation_json(found: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready values."""
    return {
        "as_of": found.as_of.isoformat(), "train_cutoff": found.train_cutoff.isoformat(),
        "test_cutoff": found.test_cutoff.isoformat(), "horizon_days": found.horizon_days,
        "train_members": found.train_members, "test_members": found.test_members,
        "train_churn_rate": found.train_churn_rate, "test_churn_rate": found.test_churn_rate,
        "auc": found.auc, "recent_buyers": found.recent_buyers,
        "auc_recent_buyers": found.auc_recent_buyers, "chosen": found.chosen,
        "notes": list(found.notes)}


def risk_bands(scored: pl.DataFrame) -> pl.DataFrame:
    """Members per band of churn probability (0–20 %, …, 80–100 %), lowest first."""
    edges = [0.2, 0.4, 0.6, 0.8]
    names = ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"]
    p = pl.col("churn_probability")
    band: pl.Expr = pl.lit(names[-1])
    for edge, name in reversed(list(zip(edges, names, strict=False))):
        band = pl.when(p < edge).then(pl.lit(name)).otherwise(band)
    counts = scored.group_by(band.alias("band")).agg(pl.len().cast(pl.Int64).alias("members"))
    return (pl.DataFrame({"band": names}).join(counts, on="band", how="left",
                                               maintain_order="left")
            .with_columns(pl.col("members").fill_null(0))
            .with_columns((pl.col("members") / max(scored.height, 1)).alias("share")))


# ---------------------------------------------------------------------------- model files
#
# A trained model is `churn-v<N>.joblib` (the fitted scikit-learn objects, pickled: load
# only files you wrote) beside `churn-v<N>.json`, which says what it is: kind, cutoff,
# horizon, features, when it was trained and the evaluation that chose it.

_MODEL_FILE = re.compile(r"^churn-v(\d+)\.joblib$")


def _versions(directory: Path) -> list[tuple[int, Path]]:
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _MODEL_FILE.match(p.name))]
    return sorted(found)


def save_model(model: ChurnModel, evaluation: Evaluation | None, directory: Path, *,
               trained_at: datetime) -> Path:
    """Write the model as the next version in `directory` (created if missing)."""
    import joblib
    import sklearn

    directory.mkdir(parents=True, exist_ok=True)
    version = (_versions(directory)[-1][0] + 1) if _versions(directory) else 1
    path = directory / f"churn-v{version}.joblib"
    sidecar = {
        "version": version, "kind": model.kind, "cutoff": model.cutoff.isoformat(),
        "horizon_days": model.horizon_days, "features": list(model.features),
        "train_members": model.train_members, "train_churn_rate": model.train_churn_rate,
        "trained_at": trained_at.isoformat(), "scikit_learn": sklearn.__version__,
        "evaluation": None if evaluation is None else evaluation_json(evaluation)}
    joblib.dump(model, path)
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n",
                                         encoding="utf-8")
    return path


def latest_model(directory: Path) -> Path | None:
    """The highest version in `directory`, if any."""
    found = _versions(directory)
    return found[-1][1] if found else None


def load_model(path: Path) -> ChurnModel:
    """A model written by `save_model`; refused when its features are not this version's."""
    import joblib

    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling garbage fails in many ways; all mean the same
        raise ValidationFailed(f"{path}: not a churn model file ({exc})",
                               code="bad_model_file") from None
    if not isinstance(model, ChurnModel):
        raise ValidationFailed(f"{path}: not a churn model file", code="bad_model_file")
    if tuple(model.features) != FEATURE_NAMES:
        raise ValidationFailed(f"{path}: trained on other features than this version "
                               "computes; train it again", code="stale_model")
    return model
