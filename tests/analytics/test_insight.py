"""The full refresh (every member's RFM, lifecycle, layer, CLV and churn risk), one member's
insight, and reading the live store (SQLite, or PostgreSQL when the suite runs there)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from sqlalchemy import insert

from memberops.analytics import churn, clv_summary, insight, purchases, rfm
from memberops.errors import NotFound, ValidationFailed
from memberops.members.models import Member
from memberops.orders.models import Order
from tests.insight_helpers import (
    AS_OF,
    ago,
    insert_history,
    order_row,
    store,
    synthetic,
    synthetic_store,
)


@pytest.fixture(scope="module")
def programme():
    data = synthetic_store(400)
    return data, insight.compute(data, AS_OF)


def test_every_member_gets_every_figure(programme) -> None:
    _, done = programme
    table = done.members
    # then one row per member who had joined, sorted by id
    assert table["member_id"].to_list() == list(range(1, 401))
    assert {"r_score", "segment", "stage", "layer", "expected_purchases_90d",
            "probability_alive", "clv_12m", "churn_probability"} <= set(table.columns)
    assert table["churn_probability"].null_count() == 0
    buyers = table.filter(pl.col("last_purchase").is_not_null())
    assert buyers["clv_12m"].null_count() == 0 and (buyers["clv_12m"] >= 0).all()
    assert table.filter(pl.col("last_purchase").is_null())["clv_12m"].null_count() == (
        table.height - buyers.height)
    # and the tables add up to the membership
    assert done.segments["members"].sum() == done.stages["members"].sum() == 400
    assert done.pyramid["members"].sum() == 400
    assert done.model is not None and done.model.kind == churn.LOGISTIC
    assert done.notes == ()
    assert {"purchases", "rfm", "lifecycle", "clv", "churn_train", "churn_score"} <= set(
        done.seconds)


def test_the_refresh_agrees_with_each_part(programme) -> None:
    data, done = programme
    scored = rfm.rfm(data, AS_OF)
    assert done.members.select(scored.columns).equals(scored)
    model = churn.train(data, AS_OF)
    np.testing.assert_allclose(done.members["churn_probability"].to_numpy(),
                               churn.score(model, data, AS_OF)["churn_probability"].to_numpy())


def test_a_given_model_is_used_rather_than_trained(programme) -> None:
    data, done = programme
    again = insight.compute(data, AS_OF, model=done.model)
    assert again.model is done.model and "churn_train" not in again.seconds
    assert again.members["churn_probability"].equals(done.members["churn_probability"])


def test_one_member(programme) -> None:
    data, done = programme
    member = int(done.members.filter(pl.col("last_purchase").is_not_null())["member_id"][0])
    # when
    found = insight.member_insight(data, member, AS_OF, done=done)
    # then
    row = done.members.filter(pl.col("member_id") == member).row(0, named=True)
    assert found["member_id"] == member and found["as_of"] == AS_OF.isoformat()
    assert found["rfm"]["segment"] == row["segment"]
    assert found["rfm"]["segment_name"] == rfm.SEGMENTS[row["segment"]]
    assert (found["rfm"]["r_score"], found["rfm"]["frequency"]) == (row["r_score"],
                                                                    row["frequency"])
    assert found["lifecycle"]["stage"] == row["stage"]
    assert found["value_layer"] == row["layer"]
    assert found["clv"]["clv_12m"] == round(row["clv_12m"])
    assert found["churn"]["probability"] == pytest.approx(row["churn_probability"])
    assert len(found["churn"]["factors"]) == 3
    assert found["churn"]["factors"][0]["meaning"] == churn.FEATURES[
        found["churn"]["factors"][0]["feature"]]
    # and computed afresh it is the same
    assert insight.member_insight(data, member, AS_OF) == found


def test_unknown_and_future_members_are_refused() -> None:
    data = store([(1, ago(10)), (2, ago(-3))], [(1, ago(2), 100)])
    with pytest.raises(NotFound):
        insight.member_insight(data, 99, AS_OF)
    with pytest.raises(ValidationFailed) as later:
        insight.member_insight(data, 2, AS_OF)
    assert later.value.code == "joined_after_as_of"


def test_too_little_history_leaves_clv_and_churn_empty_and_says_why() -> None:
    # given one member with one purchase
    data = store([(1, ago(10))], [(1, ago(2), 100)])
    # when
    done = insight.compute(data, AS_OF)
    found = insight.member_insight(data, 1, AS_OF, done=done)
    # then
    assert found["rfm"]["segment"] == "need_attention"
    assert found["clv"] is None and found["churn"] is None
    assert any(n.startswith("CLV not available") for n in done.notes)
    assert any(n.startswith("churn risk not available") for n in done.notes)
    assert found["notes"] == list(done.notes)


def test_an_empty_store_refreshes_to_empty_tables() -> None:
    done = insight.compute(store([]), AS_OF)
    assert done.members.height == 0
    assert done.segments["members"].sum() == 0 and done.stages["members"].sum() == 0


def test_the_clv_summary_is_summarise_s() -> None:
    # given the synthetic purchases with some on the same day
    _, orders = synthetic(300)
    orders = pl.concat([orders, orders.head(50).with_columns(pl.col("order_id") + 10**6)])
    bought = orders.with_columns(pl.col("paid").alias("net"))
    # when
    mine = purchases.clv_input(bought, AS_OF, 7.0)
    ids, codes = np.unique(bought["member_id"].to_numpy(), return_inverse=True)
    theirs = clv_summary.summarise(clv_summary.Transactions(
        customer_ids=ids.astype(str), customer=codes.ravel(),
        day=bought["day"].to_numpy().astype("datetime64[D]"),
        amount=bought["net"].to_numpy().astype(float)), calibration_end=AS_OF,
        time_unit="weeks")
    # then
    np.testing.assert_array_equal(mine.member_ids, theirs.customer_ids.astype(int))
    np.testing.assert_array_equal(mine.frequency, theirs.frequency)
    np.testing.assert_allclose(mine.recency, theirs.recency)
    np.testing.assert_allclose(mine.T, theirs.T)
    np.testing.assert_allclose(mine.monetary, theirs.monetary)


def test_the_live_store_reads_as_the_frames_say(db, database_url) -> None:
    # given a synthetic history written to the database, one order refunded in part
    members, orders = synthetic(120, seed=3)
    refunds = [(1, AS_OF, 500)]
    insert_history(db, members, orders, refunds)
    # when
    done = insight.refresh(database_url, AS_OF, "Asia/Shanghai")
    # then it is what the same frames give
    by_hand = insight.compute(
        store([(r["member_id"], r["joined_on"]) for r in members.iter_rows(named=True)],
              [(r["member_id"], r["day"], r["paid"]) for r in orders.iter_rows(named=True)],
              refunds), AS_OF)
    columns = [c for c in by_hand.members.columns if c != "churn_probability"]
    assert done.members.select(columns).equals(by_hand.members.select(columns))
    np.testing.assert_allclose(done.members["churn_probability"].to_numpy(),
                               by_hand.members["churn_probability"].to_numpy())
    assert "load" in done.seconds


def test_dates_are_business_dates_in_the_programme_time_zone(db, database_url) -> None:
    # given an order at 16:30 UTC on 29 June: 00:30 on 30 June in Shanghai
    joined = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    with db.session() as session:
        session.execute(insert(Member), [{
            "id": 1, "phone": "+8613900000001", "gender": "unknown", "channel": "store",
            "tier": "regular", "status": "active", "joined_at": joined, "created_at": joined,
            "updated_at": joined}])
        row = order_row({"order_id": 1, "member_id": 1, "day": date(2026, 6, 29),
                          "paid": 900}, 0)
        session.execute(insert(Order), [{**row, "created_at": datetime(
            2026, 6, 29, 16, 30, tzinfo=UTC)}])
        session.commit()
    # when
    loaded = purchases.load(database_url, "Asia/Shanghai")
    # then
    assert loaded.orders["day"].to_list() == [date(2026, 6, 30)]
    assert loaded.orders["paid"].to_list() == [900]
    assert purchases.load(database_url, "UTC").orders["day"].to_list() == [date(2026, 6, 29)]
