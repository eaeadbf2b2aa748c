"""RFM on small hand-computed stores: recency, frequency, monetary, quintile scores with
their tie rule, segments, and the members who never bought, refunded everything or joined
later."""

from __future__ import annotations

import polars as pl
import pytest

from memberops.analytics import purchases as buys
from memberops.analytics import rfm
from memberops.errors import ValidationFailed
from tests.insight_helpers import AS_OF, ago, store


def _by_id(frame: pl.DataFrame) -> dict[int, dict]:
    return {row["member_id"]: row for row in frame.iter_rows(named=True)}


def test_five_buyers_take_one_quintile_each() -> None:
    # given member k bought k times (100 fen each) in the window, the last time
    # (6 − k) × 10 days ago: member 5 is the most recent, frequent and valuable
    members = [(k, ago(500)) for k in range(1, 6)]
    orders = [(k, ago((6 - k) * 10 + i), 100) for k in range(1, 6) for i in range(k)]
    # when
    found = _by_id(rfm.rfm(store(members, orders), AS_OF))
    # then: ranks 1…5 among 5 fall in bins ⌈5(r−1)/4⌉ = 1, 2, 3, 4, 5
    assert [found[k]["recency_days"] for k in range(1, 6)] == [50, 40, 30, 20, 10]
    assert [found[k]["frequency"] for k in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [found[k]["monetary"] for k in range(1, 6)] == [100, 200, 300, 400, 500]
    for k in range(1, 6):
        assert (found[k]["r_score"], found[k]["f_score"], found[k]["m_score"]) == (k, k, k)
    assert [found[k]["segment"] for k in range(1, 6)] == [
        "lost", "hibernating", "need_attention", "loyal", "champions"]


def test_ties_are_broken_by_member_id_whatever_the_row_order() -> None:
    # given four members with identical purchases (one of 500 fen, 7 days ago)
    members = [(k, ago(100)) for k in (4, 2, 3, 1)]  # rows not in id order
    orders = [(k, ago(7), 500) for k in (3, 1, 4, 2)]
    # when
    found = _by_id(rfm.rfm(store(members, orders), AS_OF))
    # then: ordinal ranks follow member ids; bins ⌈5(r−1)/3⌉ of r = 1…4 are 1, 2, 4, 5;
    # R is 6 − the bin of recency
    assert [found[k]["f_score"] for k in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [found[k]["m_score"] for k in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [found[k]["r_score"] for k in (1, 2, 3, 4)] == [5, 4, 2, 1]
    assert [found[k]["segment"] for k in (1, 2, 3, 4)] == [
        "new", "potential_loyalists", "at_risk", "cant_lose_them"]
    # and the output is sorted by member id
    assert rfm.rfm(store(members, orders), AS_OF)["member_id"].to_list() == [1, 2, 3, 4]


def test_quintiles_match_qcut_of_ordinal_ranks_for_seven() -> None:
    # given seven buyers with frequencies 3, 1, 3, 2, 2, 5, 4 (members 1…7)
    frequencies = [3, 1, 3, 2, 2, 5, 4]
    members = [(k, ago(400)) for k in range(1, 8)]
    orders = [(k, ago(1 + i), 100) for k, f in enumerate(frequencies, start=1)
              for i in range(f)]
    # when
    found = _by_id(rfm.rfm(store(members, orders), AS_OF))
    # then: ordinal ranks 4, 1, 5, 2, 3, 7, 6; qcut's edges on 1…7 are 1, 2.2, 3.4, 4.6,
    # 5.8, 7, so the bins are 3, 1, 4, 1, 2, 5, 5
    assert [found[k]["f_score"] for k in range(1, 8)] == [3, 1, 4, 1, 2, 5, 5]


def test_members_without_purchases_have_no_scores() -> None:
    # given member 1 never ordered; member 2's only order was refunded in full before
    # the as-of date; member 3 bought
    members = [(1, ago(50)), (2, ago(50)), (3, ago(50))]
    orders = [(2, ago(20), 800), (3, ago(5), 300)]
    refunds = [(1, ago(19), 800)]
    # when
    found = _by_id(rfm.rfm(store(members, orders, refunds), AS_OF))
    # then
    for k in (1, 2):
        row = found[k]
        assert row["segment"] == "no_purchases"
        assert (row["r_score"], row["f_score"], row["m_score"]) == (None, None, None)
        assert (row["recency_days"], row["frequency"], row["monetary"]) == (None, 0, 0)
    # and the one buyer is the middle of a population of one
    assert (found[3]["r_score"], found[3]["f_score"], found[3]["m_score"]) == (3, 3, 3)
    assert found[3]["segment"] == "need_attention"


def test_refunds_count_by_their_own_date() -> None:
    # given an order of 1,000 fen 10 days ago, 300 refunded 5 days ago and the rest
    # after the as-of date
    members = [(1, ago(100))]
    orders = [(1, ago(10), 1_000)]
    refunds = [(1, ago(5), 300), (1, ago(-3), 700)]
    # when
    found = _by_id(rfm.rfm(store(members, orders, refunds), AS_OF))
    # then as of today it is a purchase of 700 net; three days later it is no purchase
    assert (found[1]["frequency"], found[1]["monetary"]) == (1, 700)
    later = _by_id(rfm.rfm(store(members, orders, refunds), ago(-3)))
    assert later[1]["segment"] == "no_purchases"


def test_members_who_joined_after_the_date_are_left_out() -> None:
    members = [(1, ago(10)), (2, ago(0)), (3, ago(-1))]
    orders = [(1, ago(2), 100), (3, ago(-1), 100)]
    found = rfm.rfm(store(members, orders), AS_OF)
    assert found["member_id"].to_list() == [1, 2]


def test_the_window_holds_the_last_365_days_and_recency_looks_further() -> None:
    # given purchases 364 and 365 days ago (the second is outside a 365-day window)
    members = [(1, ago(800))]
    orders = [(1, ago(364), 100), (1, ago(365), 200), (1, ago(700), 400)]
    # when
    row = _by_id(rfm.rfm(store(members, orders), AS_OF))[1]
    # then
    assert (row["frequency"], row["monetary"], row["recency_days"]) == (1, 100, 364)
    assert row["purchases"] == 3
    # and a shorter window sees nothing, but recency is the same
    short = _by_id(rfm.rfm(store(members, orders), AS_OF, window_days=30))[1]
    assert (short["frequency"], short["monetary"], short["recency_days"]) == (0, 0, 364)


def test_same_day_orders_are_separate_purchases() -> None:
    members = [(1, ago(30))]
    orders = [(1, ago(3), 100), (1, ago(3), 250)]
    row = _by_id(rfm.rfm(store(members, orders), AS_OF))[1]
    assert (row["frequency"], row["monetary"]) == (2, 350)


def test_segment_counts_list_every_segment_in_order() -> None:
    # given the five buyers of the first test, one member without orders
    members = [(k, ago(500)) for k in range(1, 7)]
    orders = [(k, ago((6 - k) * 10 + i), 100) for k in range(1, 6) for i in range(k)]
    # when
    counts = rfm.segment_counts(rfm.rfm(store(members, orders), AS_OF))
    # then
    assert counts["segment"].to_list() == list(rfm.SEGMENTS)
    found = {r["segment"]: r for r in counts.iter_rows(named=True)}
    assert found["champions"]["members"] == 1 and found["champions"]["monetary"] == 500
    assert found["no_purchases"]["members"] == 1
    assert found["promising"]["members"] == 0
    assert counts["members"].sum() == 6
    assert found["lost"]["share"] == pytest.approx(1 / 6)


def test_nobody_yet_gives_empty_figures() -> None:
    # given the as-of date is before anyone joined (an empty selection)
    members = [(1, ago(-5))]
    # when
    scored = rfm.rfm(store(members), AS_OF)
    counts = rfm.segment_counts(scored)
    # then
    assert scored.height == 0
    assert counts["members"].sum() == 0 and counts["share"].sum() == 0


def test_the_segment_map_covers_every_cell() -> None:
    assert len(rfm.SEGMENT_MAP) == 25
    assert set(rfm.SEGMENT_MAP.values()) == set(rfm.SEGMENTS) - {"no_purchases"}
    assert rfm.SEGMENT_MAP[(5, 5)] == "champions" and rfm.SEGMENT_MAP[(1, 1)] == "lost"
    assert rfm.SEGMENT_MAP[(1, 5)] == "cant_lose_them"


def test_bad_inputs_are_refused() -> None:
    members = [(1, ago(10))]
    with pytest.raises(ValidationFailed, match="window"):
        rfm.rfm(store(members), AS_OF, window_days=0)
    with pytest.raises(ValidationFailed, match="expected a date"):
        rfm.rfm(store(members), "2026-06-30")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="column 'joined_on'"):
        buys.Store.of(pl.DataFrame({"member_id": [1]}))
