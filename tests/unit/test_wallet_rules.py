"""Pure stored-value rules: bonus rows and extras, campaigns, referral and campaign points,
the proportional split, pro-rata refunds, cashback and its clawback."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.programme.schemas import BonusRow, RechargeCampaign, RechargeScheme
from memberops.wallet import rules
from memberops.wallet.rules import Split

SCHEME = RechargeScheme()  # the reference programme
TODAY = date(2026, 6, 15)
Y = 100  # fen per yuan


def bonus(amount: int, *, total: int = 0, count: int = 1,
          campaigns: tuple[RechargeCampaign, ...] = (), today: date = TODAY,
          scheme: RechargeScheme = SCHEME) -> tuple[int, dict[str, int]]:
    return rules.bonus_for(amount, scheme, settled_before_total=total,
                           settled_before_count=count, campaigns_active=list(campaigns),
                           today=today)


@pytest.mark.parametrize(("yuan", "want"), [
    (1, 0), (99, 0), (100, 10), (499, 10), (500, 80), (999, 80), (1_000, 200), (4_999, 200),
])
def test_highest_matching_row_applies(yuan: int, want: int) -> None:
    assert bonus(yuan * Y)[0] == want * Y


def test_first_recharge_adds_five_percent_rounded_down_to_the_fen() -> None:
    assert bonus(1_000 * Y, count=0) == (250 * Y, {"row": 20_000, "first_recharge": 5_000,
                                                   "loyal": 0})
    assert bonus(10_019, count=0)[1]["first_recharge"] == 500  # 500.95 fen → 500


def test_loyal_extra_starts_when_settled_before_reaches_3000_yuan() -> None:
    assert bonus(100 * Y, total=2_999_99)[1]["loyal"] == 0
    assert bonus(100 * Y, total=3_000 * Y)[1]["loyal"] == 5 * Y
    assert bonus(100 * Y, total=3_500 * Y) == (15 * Y, {"row": 1_000, "first_recharge": 0,
                                                        "loyal": 500})


def test_worked_example_of_the_programme() -> None:
    total, count, bonuses = 0, 0, []
    for yuan in (1_000, 500, 1_000, 1_000, 100):
        got, _ = bonus(yuan * Y, total=total, count=count)
        bonuses.append(got // Y)
        total, count = total + yuan * Y, count + 1
    assert bonuses == [250, 80, 200, 200, 15]
    assert (total, sum(bonuses)) == (3_600 * Y, 745)


def campaign(**fields: object) -> RechargeCampaign:
    base: dict[str, object] = {"code": "summer", "starts_on": date(2026, 6, 1),
                               "ends_on": date(2026, 6, 30)}
    return RechargeCampaign(**{**base, **fields})


def test_campaign_rows_raise_the_bonus_only_inside_their_dates() -> None:
    summer = campaign(bonus_rows=[BonusRow(min_amount=1_000 * Y, bonus=300 * Y)])
    assert bonus(1_000 * Y, campaigns=(summer,)) == (300 * Y, {"campaign:summer": 30_000,
                                                              "first_recharge": 0, "loyal": 0})
    assert bonus(500 * Y, campaigns=(summer,))[0] == 80 * Y  # below its row: scheme row
    for day in (date(2026, 5, 31), date(2026, 7, 1)):
        assert bonus(1_000 * Y, campaigns=(summer,), today=day)[0] == 200 * Y
    for day in (date(2026, 6, 1), date(2026, 6, 30)):  # both ends included
        assert bonus(1_000 * Y, campaigns=(summer,), today=day)[0] == 300 * Y


def test_a_campaign_row_below_the_scheme_does_not_lower_the_bonus() -> None:
    stingy = campaign(bonus_rows=[BonusRow(min_amount=100 * Y, bonus=1 * Y)])
    assert bonus(1_000 * Y, campaigns=(stingy,)) == (200 * Y, {"row": 20_000,
                                                              "first_recharge": 0, "loyal": 0})


def test_campaigns_for_filters_dates_and_segment_tag() -> None:
    scheme = RechargeScheme(campaigns=[campaign(code="all"),
                                       campaign(code="vip", segment_tag="vip"),
                                       campaign(code="old", starts_on=date(2025, 1, 1),
                                                ends_on=date(2025, 1, 31))])
    assert [c.code for c in rules.campaigns_for(scheme, today=TODAY, tags=[])] == ["all"]
    assert [c.code for c in rules.campaigns_for(scheme, today=TODAY, tags=["vip"])] == [
        "all", "vip"]


def test_referral_points_are_ten_percent_of_the_yuan_rounded_down() -> None:
    assert rules.referral_points(1_000 * Y, SCHEME) == 100
    assert rules.referral_points(1_005_50, SCHEME) == 100
    assert rules.referral_points(9 * Y + 99, SCHEME) == 0


def test_campaign_points_take_the_best_rate_and_the_best_multiplier() -> None:
    per_yuan = campaign(code="points", points_per_yuan=1)
    double = campaign(code="double", points_multiplier_pct=200, starts_on=date(2026, 6, 13),
                      ends_on=date(2026, 6, 19))
    assert rules.campaign_points(1_000 * Y, [per_yuan], TODAY) == 1_000
    assert rules.campaign_points(1_000 * Y, [per_yuan, double], TODAY) == 2_000
    assert rules.campaign_points(1_000 * Y, [per_yuan, double], date(2026, 6, 20)) == 1_000
    assert rules.campaign_points(1_000 * Y, [], TODAY) == 0
    assert rules.campaign_points(150, [per_yuan], TODAY) == 1  # ¥1.50 → 1 point


def test_zero_or_negative_amount_is_refused() -> None:
    for amount in (0, -100):
        with pytest.raises(ValueError):
            bonus(amount)


def test_split_is_proportional_with_the_odd_fen_from_principal() -> None:
    assert rules.split_payment(1_000, principal=3_000, bonus=1_000) == Split(750, 250)
    assert rules.split_payment(100, principal=200, bonus=100) == Split(67, 33)  # 33.3 → 33
    assert rules.split_payment(500, principal=500, bonus=0) == Split(500, 0)
    assert rules.split_payment(500, principal=0, bonus=700) == Split(0, 500)
    with pytest.raises(ValueError):
        rules.split_payment(1_001, principal=1_000, bonus=0)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(1, 10**9))
def test_split_never_exceeds_either_balance(principal: int, bonus: int, amount: int) -> None:
    if amount > principal + bonus:
        return
    split = rules.split_payment(amount, principal=principal, bonus=bonus)
    assert split.principal + split.bonus == amount
    assert 0 <= split.principal <= principal and 0 <= split.bonus <= bonus


def test_refund_parts_of_a_full_refund_are_the_payment_parts() -> None:
    paid = Split(667, 333)
    assert rules.refund_parts(paid, already_refunded=0, amount=1_000) == paid
    with pytest.raises(ValueError):
        rules.refund_parts(paid, already_refunded=600, amount=401)


def pieces(total: int, data: st.DataObject) -> list[int]:
    """`total` cut into 1–6 positive pieces (a sequence of partial refunds)."""
    cuts = data.draw(st.lists(st.integers(1, total - 1), max_size=5, unique=True)) \
        if total > 1 else []
    bounds = [0, *sorted(cuts), total]
    return [b - a for a, b in itertools.pairwise(bounds)]


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.data())
def test_partial_refunds_add_back_to_exactly_the_parts(principal: int, bonus: int,
                                                       data: st.DataObject) -> None:
    paid = Split(principal, bonus)
    if principal + bonus == 0:
        return
    refunded, back = 0, Split(0, 0)
    for amount in pieces(principal + bonus, data):
        part = rules.refund_parts(paid, already_refunded=refunded, amount=amount)
        assert part.principal >= 0 and part.bonus >= 0 and part.principal + part.bonus == amount
        back = Split(back.principal + part.principal, back.bonus + part.bonus)
        refunded += amount
    assert back == paid


@given(st.integers(1, 10**7), st.data())
def test_cashback_clawback_adds_up_to_the_cashback(paid: int, data: st.DataObject) -> None:
    cashback = rules.cashback_for(paid, 1)
    refunded, taken = 0, 0
    for amount in pieces(paid, data):
        part = rules.cashback_clawback(cashback, paid, already_refunded=refunded,
                                       amount=amount)
        assert 0 <= part <= amount
        taken += part
        refunded += amount
    assert taken == cashback


def test_cashback_is_one_percent_rounded_down() -> None:
    assert rules.cashback_for(10_000, 1) == 100
    assert rules.cashback_for(199, 1) == 1
    assert rules.cashback_for(99, 1) == 0


def test_take_in_order_consumes_oldest_first() -> None:
    assert rules.take_in_order([100, 50, 200], 120) == [100, 20, 0]
    assert rules.take_in_order([100], 100) == [100]
    with pytest.raises(ValueError):
        rules.take_in_order([10, 10], 21)


rows = st.lists(st.builds(BonusRow, min_amount=st.integers(1, 10**7),
                          bonus=st.integers(0, 10**6)),
                min_size=0, max_size=5, unique_by=lambda r: r.min_amount)
schemes = st.builds(RechargeScheme, bonus_rows=rows, first_recharge_pct=st.integers(0, 100),
                    loyal_pct=st.integers(0, 100), loyal_threshold=st.integers(0, 10**7))


@given(schemes, st.integers(1, 10**8), st.integers(1, 10**8), st.integers(0, 10**8),
       st.integers(0, 5))
def test_bonus_is_monotone_non_negative_and_bounded(scheme: RechargeScheme, a: int, b: int,
                                                    total: int, count: int) -> None:
    low, high = sorted((a, b))
    got_low, parts = bonus(low, total=total, count=count, scheme=scheme)
    got_high, _ = bonus(high, total=total, count=count, scheme=scheme)
    assert 0 <= got_low <= got_high
    assert sum(parts.values()) == got_low
    best_row = max((r.bonus for r in scheme.bonus_rows), default=0)
    extras = low * (scheme.first_recharge_pct + scheme.loyal_pct) // 100
    assert got_low <= best_row + extras
