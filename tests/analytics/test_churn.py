"""Churn risk: hand-computed features at a cutoff, labels from the days after it, a time
split without leakage, the AUCs reported beside the baselines, factors, model files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from memberops.analytics import churn
from memberops.errors import ValidationFailed
from tests.insight_helpers import AS_OF, ago, store, synthetic_store

H = churn.DEFAULT_HORIZON_DAYS


def _hand_store(**extra_orders):
    members = [(1, ago(100)), (2, ago(10)), (3, ago(-1))]
    orders = [
        (1, ago(60), 1_000, {"wallet_paid": 400, "coupon_discount": 50,
                             "channel": "mini_program", "tier": "silver"}),
        (1, ago(20), 3_000, {"points_value": 300, "channel": "store", "tier": "gold"}),
        (1, ago(5), 2_000, {"channel": "store", "tier": "silver"}),
        *extra_orders.get("orders", []),
    ]
    refunds = [(2, ago(10), 1_000), (3, ago(3), 2_000), (2, ago(-5), 500)]
    recharges = pl.DataFrame({"member_id": [1, 1, 1], "day": [ago(30), ago(400), ago(-1)],
                              "amount": [5_000, 9_999, 7]})
    coupons = pl.DataFrame({
        "member_id": [1, 1, 1, 1, 1],
        "issued_on": [ago(50), ago(10), ago(10), ago(100), ago(-1)],
        "used_on": [ago(40), None, ago(-2), None, None],
        "valid_until": [ago(-30), ago(-20), ago(-20), ago(1), ago(-30)]})
    plus = pl.DataFrame({"member_id": [1, 2], "starts_on": [ago(30), ago(400)],
                         "ends_on": [ago(-300), ago(35)]})
    return store(members, orders, refunds, recharges=recharges, coupons=coupons, plus=plus)


def test_features_at_the_cutoff_by_hand() -> None:
    # when
    found = churn.features(_hand_store(), AS_OF)
    rows = {r["member_id"]: r for r in found.iter_rows(named=True)}
    # then: member 3 joined after the cutoff; order 3 was refunded in full (no purchase),
    # order 2 in part before the cutoff (its later refund is not known yet)
    assert sorted(rows) == [1, 2]
    one = rows[1]
    expected = {
        "recency_days": 20, "never_bought": 0, "purchases_30d": 1, "purchases_90d": 2,
        "purchases_365d": 2, "purchases_total": 2, "spend_365d": 3_000,
        "average_order_value": 1_500, "tenure_days": 100, "mean_days_between": 40,
        "overdue_ratio": 0.5, "refund_share": 3_000 / 6_000, "wallet_share": 400 / 6_000,
        "points_share": 300 / 6_000, "coupon_order_share": 1 / 3, "online_share": 1 / 3,
        "recharge_365d": 5_000, "coupons_used_365d": 1, "coupons_open": 2,
        "tier_level": 1, "plus_active": 1}
    assert {k: one[k] for k in expected} == pytest.approx(expected)
    assert one["bgnbd_expected"] >= 0
    # and a member who never bought
    two = rows[2]
    assert (two["recency_days"], two["never_bought"], two["tenure_days"]) == (10, 1, 10)
    assert all(two[k] == 0 for k in churn.FEATURE_NAMES
               if k not in ("recency_days", "never_bought", "tenure_days"))
    assert list(found.columns) == ["member_id", *churn.FEATURE_NAMES]


def test_tier_levels_follow_the_ladder_given() -> None:
    found = churn.features(_hand_store(), AS_OF, tier_levels={"silver": 5})
    assert found.filter(pl.col("member_id") == 1)["tier_level"].item() == 5


def test_a_later_purchase_changes_the_label_not_the_features() -> None:
    # given the store, then the same with a purchase the day after the cutoff
    before = _hand_store()
    after = _hand_store(orders=[(1, ago(-1), 700, {})])
    # when
    x_before, x_after = churn.dataset(before, AS_OF, H), churn.dataset(after, AS_OF, H)
    # then
    cols = list(churn.FEATURE_NAMES)
    assert x_before.select(cols).equals(x_after.select(cols))
    assert x_before.filter(pl.col("member_id") == 1)["churned"].item() is True
    assert x_after.filter(pl.col("member_id") == 1)["churned"].item() is False


def test_the_label_window_is_the_horizon_after_the_cutoff() -> None:
    members = [(1, ago(100)), (2, ago(100)), (3, ago(100)), (4, ago(100))]
    orders = [(1, ago(-H), 100),        # the horizon's last day: bought
              (2, ago(-H - 1), 100),    # the day after it: churned
              (3, ago(0), 100),         # on the cutoff itself: a feature, not the label
              (4, ago(-10), 100)]
    refunds = [(4, ago(-9), 100)]       # bought, then refunded in full: churned
    found = churn.labels(store(members, orders, refunds), AS_OF, H)
    assert dict(zip(found["member_id"], found["churned"], strict=True)) == {
        1: False, 2: True, 3: True, 4: True}


def test_evaluation_on_synthetic_behaviour() -> None:
    # given a programme where members stop buying for good at random times
    data = synthetic_store(600)
    # when
    found, models = churn.evaluate(data, AS_OF, H)
    # then the split is C₁ = C₂ − N, C₂ = as-of − N
    assert found.test_cutoff == AS_OF - timedelta(days=H)
    assert found.train_cutoff == found.test_cutoff - timedelta(days=H)
    test_set = churn.dataset(data, found.test_cutoff, H)
    assert found.test_members == test_set.height
    assert found.train_members == churn.dataset(data, found.train_cutoff, H).height
    y = test_set["churned"].to_numpy()
    assert found.test_churn_rate == pytest.approx(y.mean())
    assert 0.2 < y.mean() < 0.9
    # and the reported AUCs are the ones computed here from the same scores
    for kind, model in models.items():
        assert model.cutoff == found.train_cutoff
        expected = roc_auc_score(y, model.probabilities(test_set))
        assert found.auc[kind] == pytest.approx(expected)
    assert found.auc["recency"] == pytest.approx(
        roc_auc_score(y, test_set["recency_days"].to_numpy()))
    # and churn driven by recency and frequency is well predicted
    assert found.auc[found.chosen] > 0.8
    assert found.auc[found.chosen] == max(found.auc[k] for k in churn.KINDS)
    assert found.auc["bgnbd"] is not None and found.auc["bgnbd"] > 0.6
    assert found.recent_buyers == int((test_set["purchases_365d"] > 0).sum())


def test_the_bgnbd_baseline_is_fitted_on_data_up_to_the_cutoff_only() -> None:
    data = synthetic_store(300)
    ids = np.arange(1, 301)
    cutoff = AS_OF - timedelta(days=H)
    before = churn.bgnbd_expected(data, cutoff, H, ids)
    # a burst of purchases after the cutoff changes nothing
    extra = pl.DataFrame({"order_id": np.arange(100_000, 100_300), "member_id": ids,
                          "day": [ago(5)] * 300, "paid": [1_000] * 300})
    more = type(data).of(data.members, pl.concat([data.orders.select(extra.columns), extra],
                                                 how="vertical_relaxed"))
    np.testing.assert_allclose(churn.bgnbd_expected(more, cutoff, H, ids), before)
    assert (before >= 0).all()


def test_too_late_a_cutoff_and_one_class_are_refused() -> None:
    data = synthetic_store(200)
    with pytest.raises(ValidationFailed) as late:
        churn.evaluate(data, AS_OF, H, cutoff=AS_OF - timedelta(days=H - 1))
    assert late.value.code == "cutoff_too_late"
    # given nobody bought after the training cutoff: everyone churned
    members = [(k, ago(400)) for k in range(1, 5)]
    quiet = store(members, [(k, ago(300), 100) for k in range(1, 5)])
    with pytest.raises(ValidationFailed) as one_class:
        churn.train(quiet, AS_OF, H)
    assert one_class.value.code == "one_class_labels"
    with pytest.raises(ValidationFailed, match="horizon"):
        churn.train(quiet, AS_OF, 0)
    with pytest.raises(ValidationFailed, match="expected one of"):
        churn.train(data, AS_OF, H, kind="forest")


def test_logistic_factors_are_coefficient_times_standardised_value() -> None:
    data = synthetic_store(300)
    model = churn.train(data, AS_OF, H, churn.LOGISTIC)
    found = churn.features(data, AS_OF)
    # when
    factors = churn.explain(model, found.head(5))
    # then three per member, largest first, as the model's own terms
    assert factors.height == 15
    scaler, regression = model.estimator[0], model.estimator[-1]
    effect = scaler.transform(churn.matrix(found.head(5))) * regression.coef_[0]
    for i, member in enumerate(found.head(5)["member_id"]):
        mine = factors.filter(pl.col("member_id") == member)
        order = np.argsort(-np.abs(effect[i]), kind="stable")[:3]
        assert mine["feature"].to_list() == [churn.FEATURE_NAMES[j] for j in order]
        np.testing.assert_allclose(mine["contribution"].to_numpy(), effect[i, order])
        assert mine["rank"].to_list() == [1, 2, 3]
        assert all((d == "raises") == (c > 0) for d, c in
                   zip(mine["direction"], mine["contribution"], strict=True))
        assert mine["value"].to_list() == [found.row(i, named=True)[f]
                                           for f in mine["feature"]]


def test_tree_factors_compare_with_the_median_member() -> None:
    data = synthetic_store(300)
    model = churn.train(data, AS_OF, H, churn.BOOSTED)
    row = churn.features(data, AS_OF).head(1)
    top = churn.explain(model, row).row(0, named=True)
    # when the top feature is set to its training median
    j = churn.FEATURE_NAMES.index(top["feature"])
    x = churn.matrix(row)
    typical = x.copy()
    typical[0, j] = model.medians[j]
    # then the probability moves by the reported contribution
    change = model.estimator.predict_proba(x)[0, 1] - model.estimator.predict_proba(
        typical)[0, 1]
    assert top["contribution"] == pytest.approx(change)


def test_scores_cover_every_member_and_fall_in_bands() -> None:
    data = synthetic_store(300)
    model = churn.train(data, AS_OF, H)
    scored = churn.score(model, data, AS_OF)
    assert scored["member_id"].to_list() == list(range(1, 301))
    p = scored["churn_probability"]
    assert p.min() >= 0 and p.max() <= 1
    bands = churn.risk_bands(scored)
    assert bands["members"].sum() == 300
    assert bands.filter(pl.col("band") == "80–100%")["members"].item() == int((p >= 0.8).sum())


def test_model_files_are_versioned_with_a_sidecar(tmp_path) -> None:
    data = synthetic_store(200)
    found, models = churn.evaluate(data, AS_OF, H, kinds=(churn.LOGISTIC,))
    model = models[churn.LOGISTIC]
    at = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    first = churn.save_model(model, found, tmp_path / "models", trained_at=at)
    second = churn.save_model(model, None, tmp_path / "models", trained_at=at)
    assert (first.name, second.name) == ("churn-v1.joblib", "churn-v2.joblib")
    assert churn.latest_model(tmp_path / "models") == second
    sidecar = json.loads(first.with_suffix(".json").read_text())
    assert sidecar["kind"] == "logistic_regression"
    assert sidecar["cutoff"] == model.cutoff.isoformat()
    assert sidecar["features"] == list(churn.FEATURE_NAMES)
    assert sidecar["evaluation"]["auc"]["logistic_regression"] == found.auc[churn.LOGISTIC]
    assert sidecar["trained_at"] == at.isoformat()
    loaded = churn.load_model(first)
    x = churn.features(data, AS_OF)
    np.testing.assert_allclose(loaded.probabilities(x), model.probabilities(x))
    # a file that is not a model, and nothing in an empty folder
    (tmp_path / "bad.joblib").write_text("no")
    with pytest.raises(ValidationFailed, match="not a churn model"):
        churn.load_model(tmp_path / "bad.joblib")
    assert churn.latest_model(tmp_path / "nothing") is None
