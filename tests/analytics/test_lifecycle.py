"""Lifecycle stages at their thresholds and the value pyramid's layers, on hand-computed
stores."""

from __future__ import annotations

import pytest

from memberops.analytics import lifecycle
from memberops.errors import ValidationFailed
from tests.insight_helpers import AS_OF, ago, store


def _stages(members, orders=(), refunds=(), **kwargs) -> dict[int, str]:
    found = lifecycle.lifecycle(store(members, orders, refunds), AS_OF, **kwargs)
    return dict(zip(found["member_id"].to_list(), found["stage"].to_list(), strict=True))


def test_stages_at_their_thresholds() -> None:
    # given (member: joined, last purchase in days ago)
    members = [(1, ago(29)), (2, ago(30)), (3, ago(400)), (4, ago(400)), (5, ago(400)),
               (6, ago(400)), (7, ago(400)), (8, ago(100)), (9, ago(400)), (10, ago(29))]
    orders = [(2, ago(10), 100), (3, ago(89), 100), (4, ago(90), 100), (5, ago(179), 100),
              (6, ago(180), 100), (7, ago(0), 100)]
    # when
    found = _stages(members, orders)
    # then
    assert found == {
        1: "new",       # joined 29 days ago, never bought: new whatever they did
        2: "active",    # joined 30 days ago, bought 10 days ago
        3: "active",    # 89 days since the last purchase
        4: "silent",    # 90 days
        5: "silent",    # 179 days
        6: "churned",   # 180 days
        7: "active",    # bought today
        8: "silent",    # never bought, joined 100 days ago
        9: "churned",   # never bought, joined 400 days ago
        10: "new",
    }


def test_mature_members_buy_about_monthly() -> None:
    # given member 1 bought 12 times in the year (the last 5 days ago), member 2 eleven
    # times, member 3 twelve times but the last 95 days ago
    members = [(1, ago(500)), (2, ago(500)), (3, ago(500))]
    orders = ([(1, ago(5 + 25 * i), 100) for i in range(12)]
              + [(2, ago(5 + 25 * i), 100) for i in range(11)]
              + [(3, ago(95 + 20 * i), 100) for i in range(12)])
    # when / then
    assert _stages(members, orders) == {1: "mature", 2: "active", 3: "silent"}


def test_refunded_orders_are_not_activity() -> None:
    # given member 1's only recent order was refunded in full
    members = [(1, ago(300))]
    orders = [(1, ago(200), 500), (1, ago(10), 800)]
    refunds = [(2, ago(9), 800)]
    # when / then: the last purchase is 200 days ago
    assert _stages(members, orders, refunds) == {1: "churned"}


def test_thresholds_can_be_changed_and_are_checked() -> None:
    members = [(1, ago(400))]
    orders = [(1, ago(60), 100)]
    assert _stages(members, orders) == {1: "active"}
    custom = lifecycle.Thresholds(silent_days=30, churned_days=60)
    assert _stages(members, orders, thresholds=custom) == {1: "churned"}
    with pytest.raises(ValidationFailed, match="silent_days < churned_days"):
        lifecycle.Thresholds(silent_days=90, churned_days=90)
    with pytest.raises(ValidationFailed, match="mature_purchases"):
        lifecycle.Thresholds(mature_purchases=0)


def test_stage_counts_list_every_stage() -> None:
    members = [(1, ago(5)), (2, ago(400))]
    counts = lifecycle.stage_counts(lifecycle.lifecycle(store(members), AS_OF))
    assert counts["stage"].to_list() == list(lifecycle.STAGES)
    assert dict(zip(counts["stage"], counts["members"], strict=True)) == {
        "new": 1, "active": 0, "mature": 0, "silent": 0, "churned": 1}
    assert counts["share"].to_list() == [0.5, 0.0, 0.0, 0.0, 0.5]


def _pyramid(members, orders=(), refunds=()):
    staged = lifecycle.lifecycle(store(members, orders, refunds), AS_OF)
    return lifecycle.pyramid(staged)


def test_pyramid_of_two_hundred_spenders() -> None:
    # given member i spent 100 × i fen in the window (i = 1 … 200), and member 201 nothing
    members = [(i, ago(400)) for i in range(1, 202)]
    orders = [(i, ago(10), 100 * i) for i in range(1, 201)]
    # when
    layers = lifecycle.pyramid_layers(_pyramid(members, orders))
    found = {r["layer"]: r for r in layers.iter_rows(named=True)}
    # then: 2, 8, 30, 60 and 100 spenders; spend 399, 1,556, 5,265, 7,830 and 5,050 (×100)
    # of 20,100 (×100)
    assert layers["layer"].to_list() == ["top_1", "next_4", "next_15", "next_30", "rest_50",
                                         "no_spend"]
    assert [found[n]["members"] for n in layers["layer"]] == [2, 8, 30, 60, 100, 1]
    assert [found[n]["spend"] for n in layers["layer"]] == [
        39_900, 155_600, 526_500, 783_000, 505_000, 0]
    assert found["top_1"]["spend_share"] == pytest.approx(399 / 20_100)
    assert found["rest_50"]["spend_share"] == pytest.approx(5_050 / 20_100)
    assert (found["top_1"]["min_spend"], found["top_1"]["max_spend"]) == (19_900, 20_000)
    assert found["no_spend"]["member_share"] == pytest.approx(1 / 201)


def test_pyramid_of_three_and_ties() -> None:
    # given three spenders of 300, 200 and 100 fen: the one above nobody is in the top
    # 1 %; one of three above (33 %) is within 50 %; two above (67 %) is the rest
    members = [(1, ago(50)), (2, ago(50)), (3, ago(50))]
    layered = _pyramid(members, [(1, ago(1), 100), (2, ago(1), 300), (3, ago(1), 200)])
    assert dict(zip(layered["member_id"], layered["layer"], strict=True)) == {
        2: "top_1", 3: "next_30", 1: "rest_50"}
    # and with equal spend the lower member id ranks higher
    tied = _pyramid(members, [(k, ago(1), 100) for k in (3, 2, 1)])
    assert dict(zip(tied["member_id"], tied["layer"], strict=True)) == {
        1: "top_1", 2: "next_30", 3: "rest_50"}


def test_pyramid_without_spend() -> None:
    # given member 1 bought only before the window, member 2 had everything refunded,
    # member 3 never bought
    members = [(1, ago(900)), (2, ago(50)), (3, ago(50))]
    layered = _pyramid(members, [(1, ago(400), 100), (2, ago(5), 100)], [(2, ago(4), 100)])
    assert set(layered["layer"]) == {"no_spend"}
    layers = lifecycle.pyramid_layers(layered)
    assert layers["spend_share"].to_list() == [0.0] * 6
    assert layers.filter(layers["layer"] == "no_spend")["members"].item() == 3
    # and nobody at all
    empty = lifecycle.pyramid_layers(_pyramid([(1, ago(-1))]))
    assert empty["members"].sum() == 0
