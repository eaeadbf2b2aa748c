"""The pure tier rules: PROGRAMME.md's reference ladder rule by rule, the ladder's
validation, the retention review, what a member still needs, and the what-if replay."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.rules import Activity, MemberReplay

SH = ZoneInfo("Asia/Shanghai")
LADDER = TierLadder()  # the reference ladder
YUAN = 100


def spend(yuan: int) -> Activity:
    return Activity(net_spend=yuan * YUAN)


def tier_for(activity: Activity, ladder: TierLadder = LADDER) -> str:
    return ladder.tiers[rules.qualifying_rank(ladder, activity)].code


def ladder_data(**changes: object) -> dict:
    data = LADDER.model_dump(mode="json")
    data.update(changes)
    return data


# --- the reference ladder -------------------------------------------------------------

def test_reference_ladder_is_programme_md() -> None:
    table = [(t.code, t.name_zh, t.name_en, t.qualify.net_spend, t.qualify.recharge,
              t.benefits.discount_pct, t.benefits.points_multiplier_pct,
              t.benefits.birthday_coupon, t.benefits.free_shipping, t.benefits.priority_service)
             for t in LADDER.tiers]
    assert table == [
        ("regular", "普通", "Regular", 0, None, 0, 100, False, False, False),
        ("silver", "银卡", "Silver", 100_000, None, 2, 120, True, False, False),
        ("gold", "金卡", "Gold", 500_000, None, 5, 150, True, True, False),
        ("diamond", "钻石", "Diamond", 2_000_000, 1_000_000, 8, 200, True, True, True),
    ]
    assert (LADDER.window_months, LADDER.hold_months, LADDER.retention_pct) == (12, 12, 80)


@pytest.mark.parametrize(("fen", "tier"), [
    (0, "regular"), (99_999, "regular"), (100_000, "silver"), (499_999, "silver"),
    (500_000, "gold"), (1_999_999, "gold"), (2_000_000, "diamond"), (-5_000, "regular"),
])
def test_net_spend_thresholds(fen: int, tier: str) -> None:
    assert tier_for(Activity(net_spend=fen)) == tier


def test_diamond_also_at_ten_thousand_yuan_recharged_in_total() -> None:
    assert tier_for(Activity(recharge=1_000_000)) == "diamond"
    assert tier_for(Activity(recharge=999_999)) == "regular"  # recharge only counts for diamond
    assert tier_for(Activity(net_spend=100_000, recharge=999_999)) == "silver"


def test_upgrade_is_only_ever_upwards() -> None:
    assert rules.upgrade_to(LADDER, "regular", spend(1_000)) == "silver"
    assert rules.upgrade_to(LADDER, "silver", spend(20_000)) == "diamond"  # skips a step
    assert rules.upgrade_to(LADDER, "gold", spend(1_000)) is None  # never down here
    assert rules.upgrade_to(LADDER, "gold", spend(5_000)) is None
    assert rules.upgrade_to(LADDER, "vanished", spend(1_000)) == "silver"  # counts as base


# --- retention ------------------------------------------------------------------------

def test_retention_keeps_the_tier_at_eighty_percent_of_its_threshold() -> None:
    assert rules.review(LADDER, "gold", spend(4_000), None) == rules.Review(
        "gold", rules.RETENTION_KEPT, False)
    assert rules.review(LADDER, "gold", Activity(net_spend=399_999), None).tier == "silver"


def test_retention_drops_one_step_only() -> None:
    outcome = rules.review(LADDER, "diamond", Activity(), None)
    assert outcome == rules.Review("gold", rules.RETENTION_DOWNGRADE, False)
    assert rules.review(LADDER, "silver", Activity(), None).tier == "regular"


def test_diamond_kept_by_eighty_percent_of_its_recharge_threshold() -> None:
    assert rules.review(LADDER, "diamond", Activity(recharge=800_000), None).tier == "diamond"
    assert rules.review(LADDER, "diamond", Activity(recharge=799_999), None).tier == "gold"


def test_a_floor_stops_the_drop() -> None:
    held = rules.review(LADDER, "gold", Activity(), "gold")
    assert held == rules.Review("gold", rules.RETENTION_KEPT, True)
    # A floor below the step down changes nothing.
    assert rules.review(LADDER, "diamond", Activity(), "silver") == rules.Review(
        "gold", rules.RETENTION_DOWNGRADE, False)
    # Kept by the activity: the floor did not decide.
    assert rules.review(LADDER, "gold", spend(4_000), "gold").held_by_floor is False


def test_a_tier_the_ladder_dropped_is_placed_by_the_activity() -> None:
    assert rules.review(LADDER, "platinum", spend(1_200), None) == rules.Review(
        "silver", rules.LADDER_CHANGED, False)
    assert rules.review(LADDER, "platinum", Activity(), "gold") == rules.Review(
        "gold", rules.LADDER_CHANGED, True)


def test_next_review_a_hold_period_later_none_on_the_base_tier() -> None:
    assert rules.next_review(LADDER, "gold", date(2026, 6, 15)) == date(2027, 6, 15)
    assert rules.next_review(LADDER, "regular", date(2026, 6, 15)) is None


def test_review_window_ends_at_the_anniversary() -> None:
    start, end = rules.review_window(date(2027, 6, 15), 12, SH)
    assert (start, end) == (datetime(2026, 6, 15, tzinfo=SH), datetime(2027, 6, 15, tzinfo=SH))


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2026, 6, 15), -12, date(2025, 6, 15)), (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 12, 5), 1, date(2027, 1, 5)),
])
def test_add_months_keeps_the_day_or_the_months_last(day, months, expected) -> None:
    assert rules.add_months(day, months) == expected


def test_rolling_window_starts_twelve_months_earlier_local_time() -> None:
    at = datetime(2026, 6, 15, 10, 30, tzinfo=SH)
    assert rules.months_before(at, 12, SH) == datetime(2025, 6, 15, 10, 30, tzinfo=SH)


# --- what a member needs --------------------------------------------------------------

def test_needs_per_criterion_rounded_up() -> None:
    diamond = LADDER.tiers[3].qualify
    found = rules.needs(diamond, Activity(net_spend=1_500_000, recharge=200_000))
    assert [(n.criterion, n.target, n.missing) for n in found] == [
        ("net_spend", 2_000_000, 500_000), ("recharge", 1_000_000, 800_000)]
    odd = LADDER.model_copy(update={"retention_pct": 33})
    assert rules.needs(LADDER.tiers[1].qualify, Activity(), odd.retention_pct)[0].target == \
        33_000
    assert rules.needs(LADDER.tiers[1].qualify.model_copy(update={"net_spend": 100_001}),
                       Activity(), 33)[0].target == 33_001  # 33,000.33 → 33,001


def test_benefits_of_a_tier_and_of_an_unknown_code() -> None:
    gold = rules.benefits_of(LADDER, "gold")
    assert (gold.discount_pct, gold.points_multiplier_pct, gold.free_shipping,
            gold.birthday_coupon, gold.priority_service) == (5, 150, True, True, False)
    assert rules.benefits_of(LADDER, "vanished").code == "regular"


# --- validation -----------------------------------------------------------------------

@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["tiers"].append(dict(d["tiers"][1])), "unique; repeated: silver"),
    (lambda d: d["tiers"].reverse(), "tier must be 'regular', not 'diamond'"),
    (lambda d: d["tiers"][2]["qualify"].update(net_spend=100_000), "rise strictly"),
    (lambda d: d["tiers"][3]["qualify"].update(net_spend=400_000), "rise strictly"),
    (lambda d: d["tiers"][1]["qualify"].update(net_spend=0), "thresholds above 0"),
    (lambda d: d["tiers"][1]["qualify"].update(net_spend=None), "thresholds above 0"),
    (lambda d: d["tiers"][0]["qualify"].update(net_spend=500), "qualifies at 0"),
    (lambda d: d["tiers"][1]["benefits"].update(discount_pct=101), "less than or equal to 100"),
    (lambda d: d["tiers"][1]["benefits"].update(discount_pct=-1), "greater than or equal"),
    (lambda d: d["tiers"][1]["benefits"].update(points_multiplier_pct=90), "greater than"),
    (lambda d: d["tiers"][1].update(code="Silver Card"), "should match pattern"),
    (lambda d: d["tiers"][1].update(name_zh=""), "at least 1 character"),
    (lambda d: d.update(retention_pct=120), "less than or equal to 100"),
    (lambda d: d.update(tiers=[]), "at least 1 item"),
    (lambda d: d["tiers"][1]["benefits"].update(cashback=True), "Extra inputs"),
])
def test_bad_ladders_are_refused_with_a_clear_reason(change, message: str) -> None:
    data = ladder_data()
    change(data)
    with pytest.raises(ValidationError, match=message):
        TierLadder.model_validate(data)


def test_a_ladder_on_orders_alone_is_valid() -> None:
    data = ladder_data()
    for n, tier in enumerate(data["tiers"][1:], start=1):
        tier["qualify"] = {"orders": n * 10}
    ladder = TierLadder.model_validate(data)
    assert tier_for(Activity(orders=19), ladder) == "silver"
    assert tier_for(Activity(orders=30, net_spend=10**9), ladder) == "diamond"


# --- what-if --------------------------------------------------------------------------

def replay(member_id: int, tier: str, fen: int, floor: str | None = None) -> MemberReplay:
    return MemberReplay(member_id, tier, floor, Activity(net_spend=fen), Activity(net_spend=fen))


POPULATION = [replay(1, "regular", 50_000), replay(2, "silver", 150_000),
              replay(3, "silver", 300_000), replay(4, "gold", 600_000),
              replay(5, "diamond", 2_500_000), replay(6, "gold", 0, floor="gold")]


def test_the_ladder_in_force_against_itself_moves_nobody() -> None:
    result = rules.what_if(LADDER, LADDER, POPULATION)
    assert (result.members, result.up, result.down, result.discount_change) == (6, 0, 0, 0)
    assert {c: t.baseline for c, t in result.tiers.items()} == {
        "regular": 1, "silver": 2, "gold": 2, "diamond": 1}


def test_a_higher_silver_threshold_and_richer_gold() -> None:
    data = ladder_data()
    data["tiers"][1]["qualify"]["net_spend"] = 200_000
    data["tiers"][2]["benefits"]["discount_pct"] = 6
    result = rules.what_if(LADDER, TierLadder.model_validate(data), POPULATION)
    assert (result.up, result.down) == (0, 1)
    assert result.moves == {("silver", "regular"): 1}
    assert (result.tiers["silver"].down, result.tiers["silver"].proposed) == (1, 1)
    # -1,500 × 2% for member 2 dropping to regular; +6,000 × 1% for member 4 (gold 5→6%);
    # member 6's floor keeps gold but with no spend it costs nothing.
    assert result.discount_change == -3_000 + 6_000
    assert result.spend == 50_000 + 150_000 + 300_000 + 600_000 + 2_500_000


def test_renamed_and_inserted_tiers_compare_by_the_ladders_order() -> None:
    data = ladder_data()
    data["tiers"].insert(2, {"code": "silver_plus", "name_zh": "银卡+", "name_en": "Silver+",
                             "qualify": {"net_spend": 250_000}, "benefits": {}})
    data["tiers"][4]["code"] = "black"
    result = rules.what_if(LADDER, TierLadder.model_validate(data), POPULATION)
    # diamond → black is no move: both are the top of their ladder.
    assert result.moves == {("silver", "silver_plus"): 1}
    assert (result.up, result.down) == (1, 0)
    assert (result.tiers["diamond"].baseline, result.tiers["black"].proposed) == (1, 1)
    assert rules.direction("gold", "silver_plus", LADDER, TierLadder.model_validate(data)) == -1


@given(st.integers(-10**7, 10**9), st.integers(-10**7, 10**9), st.integers(0, 10**8),
       st.integers(0, 10**8))
def test_more_activity_never_means_a_lower_tier(a: int, b: int, r1: int, r2: int) -> None:
    low, high = sorted((a, b))
    rlow, rhigh = sorted((r1, r2))
    assert rules.qualifying_rank(LADDER, Activity(net_spend=low, recharge=rlow)) <= \
        rules.qualifying_rank(LADDER, Activity(net_spend=high, recharge=rhigh))


@given(st.integers(0, 10**8), st.sampled_from(["silver", "gold", "diamond"]),
       st.none() | st.sampled_from(["silver", "gold", "diamond"]))
def test_a_review_never_drops_more_than_one_step_nor_below_a_floor(fen: int, tier: str,
                                                                   floor: str | None) -> None:
    rank = LADDER.rank(tier) or 0
    floor_rank = LADDER.rank(floor) if floor else 0
    outcome = rules.review(LADDER, tier, Activity(net_spend=fen), floor)
    after = LADDER.rank(outcome.tier) or 0
    assert rank - 1 <= after <= rank
    assert after >= min(floor_rank or 0, rank)
