"""The pure points rules: PROGRAMME.md's earning, promotions, caps, expiry, consumption
order and deduction — each rule by example, the general claims as properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.points import rules
from memberops.programme.schemas import EarningRules, Promotion, TierLadder

SH = ZoneInfo("Asia/Shanghai")
REF = EarningRules()  # the reference programme
LADDER = TierLadder()  # its tier ladder: the one source of tier multipliers
MONDAY, SATURDAY, SUNDAY = date(2026, 6, 15), date(2026, 6, 20), date(2026, 6, 21)
MAY_BIRTHDAY, JUNE_BIRTHDAY = date(1990, 5, 1), date(1990, 6, 30)


# --- earning --------------------------------------------------------------------------

def test_one_point_per_whole_yuan_paid_rounded_down() -> None:
    assert rules.points_for_purchase(12_345, "regular", None, MONDAY, REF, LADDER) == 123
    assert rules.points_for_purchase(99, "regular", None, MONDAY, REF, LADDER) == 0
    assert rules.points_for_purchase(100, "regular", None, MONDAY, REF, LADDER) == 1
    assert rules.points_for_purchase(0, "regular", None, MONDAY, REF, LADDER) == 0


def test_weekend_doubles_points() -> None:
    assert rules.points_for_purchase(10_000, "regular", None, SATURDAY, REF, LADDER) == 200
    assert rules.points_for_purchase(10_000, "regular", None, SUNDAY, REF, LADDER) == 200
    assert rules.points_for_purchase(10_000, "regular", MAY_BIRTHDAY, MONDAY, REF, LADDER) == 100


def test_birthday_month_doubles_points() -> None:
    assert rules.points_for_purchase(10_000, "regular", JUNE_BIRTHDAY, MONDAY, REF, LADDER) == 200


def test_weekend_and_birthday_month_do_not_stack_the_higher_applies() -> None:
    assert rules.points_for_purchase(10_000, "regular", JUNE_BIRTHDAY, SATURDAY, REF, LADDER) == 200
    richer = REF.model_copy(update={"promotions": [
        Promotion(code="weekend", multiplier_pct=200, weekdays=[6, 7]),
        Promotion(code="birthday_month", multiplier_pct=300, birthday_month=True)]})
    assert rules.points_for_purchase(10_000, "regular", JUNE_BIRTHDAY, SATURDAY, richer,
                                     LADDER) == 300


def test_tier_multiplier_multiplies_with_the_promotion_then_rounds_down_once() -> None:
    assert rules.points_for_purchase(10_050, "silver", None, MONDAY, REF, LADDER) == 120  # ×1.2
    assert rules.points_for_purchase(1_100, "silver", None, MONDAY, REF, LADDER) == 13  # 13.2
    assert rules.points_for_purchase(1_100, "gold", None, SATURDAY, REF, LADDER) == 33  # 11×1.5×2
    assert rules.points_for_purchase(10_000, "unknown-tier", None, MONDAY, REF, LADDER) == 100


def test_promotion_date_range_and_weekdays() -> None:
    week = Promotion(code="double_week", multiplier_pct=250, weekdays=[1, 2],
                     starts_on=date(2026, 6, 15), ends_on=date(2026, 6, 16))
    config = REF.model_copy(update={"promotions": [week]})
    assert rules.promotion_pct(config, date(2026, 6, 14), None) == 100  # before
    assert rules.promotion_pct(config, date(2026, 6, 15), None) == 250
    assert rules.promotion_pct(config, date(2026, 6, 16), None) == 250
    assert rules.promotion_pct(config, date(2026, 6, 22), None) == 100  # after, a Monday


def test_birthday_promotion_needs_a_birthday() -> None:
    assert rules.promotion_pct(REF, MONDAY, None) == 100


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True, None])
def test_bad_amounts_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        rules.points_for_purchase(bad, "regular", None, MONDAY, REF, LADDER)


@given(st.integers(0, 10**10), st.sampled_from(["regular", "silver", "gold", "diamond"]),
       st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.none() | st.dates())
def test_points_are_never_more_than_base_times_highest_multipliers(
        fen: int, tier: str, day: date, birthday: date | None) -> None:
    points = rules.points_for_purchase(fen, tier, birthday, day, REF, LADDER)
    base = fen // 100
    assert isinstance(points, int)
    assert base <= points <= base * 2 * 2  # diamond ×2, best promotion ×2
    assert points == base * rules.tier_pct(LADDER, tier) * rules.promotion_pct(
        REF, day, birthday) // 10_000


def test_caps_cut_to_what_the_day_and_month_still_allow() -> None:
    capped = REF.model_copy(update={"daily_cap": 500, "monthly_cap": 2_000})
    assert rules.apply_caps(300, 0, 0, capped) == 300
    assert rules.apply_caps(300, 400, 0, capped) == 100
    assert rules.apply_caps(300, 0, 1_900, capped) == 100
    assert rules.apply_caps(300, 600, 0, capped) == 0
    assert rules.apply_caps(10**9, 10**6, 10**6, REF) == 10**9  # no caps by default


# --- expiry ---------------------------------------------------------------------------

def test_points_earned_in_year_y_expire_at_the_end_of_y_plus_1() -> None:
    earned = datetime(2026, 6, 15, 10, tzinfo=SH)
    assert rules.expires_at(earned, REF, SH) == datetime(2028, 1, 1, tzinfo=SH)
    assert rules.last_usable_day(rules.expires_at(earned, REF, SH), SH) == date(2027, 12, 31)


def test_the_year_is_the_programme_zones_year() -> None:
    # 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Shanghai: earned in 2027.
    earned = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert rules.expires_at(earned, REF, SH) == datetime(2029, 1, 1, tzinfo=SH)
    just_before = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
    assert rules.expires_at(just_before, REF, SH) == datetime(2028, 1, 1, tzinfo=SH)


def test_days_policy_ends_at_the_end_of_the_nth_day() -> None:
    config = REF.model_copy(update={"expiry": "days", "expiry_days": 30})
    earned = datetime(2026, 6, 15, 23, 59, tzinfo=SH)
    assert rules.expires_at(earned, config, SH) == datetime(2026, 7, 16, tzinfo=SH)


def test_end_of_month_policy_runs_n_days_then_to_the_end_of_that_month() -> None:
    config = REF.model_copy(update={"expiry": "end_of_month", "expiry_days": 365})
    assert rules.expires_at(datetime(2026, 6, 15, tzinfo=SH), config, SH) == \
        datetime(2027, 7, 1, tzinfo=SH)
    december = REF.model_copy(update={"expiry": "end_of_month", "expiry_days": 10})
    assert rules.expires_at(datetime(2026, 12, 25, tzinfo=SH), december, SH) == \
        datetime(2027, 2, 1, tzinfo=SH)


@given(st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(["end_of_next_year", "days", "end_of_month"]), st.integers(1, 3650))
def test_expiry_is_a_local_midnight_after_the_earning(earned: datetime, policy: str,
                                                      days: int) -> None:
    config = REF.model_copy(update={"expiry": policy, "expiry_days": days})
    expiry = rules.expires_at(earned, config, SH)
    local = expiry.astimezone(SH)
    assert expiry > earned and (local.hour, local.minute, local.second) == (0, 0, 0)
    if policy != "end_of_next_year":
        assert expiry >= earned + timedelta(days=days)


# --- bonus limits ---------------------------------------------------------------------

def test_bonus_limits_per_action() -> None:
    assert rules.bonus_limits(1, None, False, False, MONDAY) == (
        "2026-06-15", [rules.BonusLimit("2026-06-15", "day", 1)])
    assert rules.bonus_limits(None, 5, False, False, MONDAY) == (
        "2026-06-15", [rules.BonusLimit("2026-06-15", "month", 5)])
    assert rules.bonus_limits(None, None, True, False, MONDAY) == (
        "once", [rules.BonusLimit("once", None, 1)])
    assert rules.bonus_limits(None, None, False, True, MONDAY) == (
        "ref", [rules.BonusLimit("ref", None, 1)])
    assert rules.bonus_limits(None, None, False, False, MONDAY) == ("2026-06-15", [])


# --- consumption ----------------------------------------------------------------------

T1, T2, T3 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC),
              datetime(2029, 1, 1, tzinfo=UTC))


def test_consumption_takes_the_earliest_expiring_lot_first_ties_by_id() -> None:
    lots = [(3, T2, 100), (1, T3, 100), (2, T1, 50), (4, T2, 100)]
    assert rules.allocate(lots, 180) == [(2, 50), (3, 100), (4, 30)]


def test_consumption_refuses_more_than_the_lots_hold() -> None:
    with pytest.raises(rules.NotEnoughPoints) as err:
        rules.allocate([(1, T1, 10), (2, T2, 5)], 16)
    assert (err.value.available, err.value.requested) == (15, 16)


lot_lists = st.lists(st.tuples(st.integers(1, 10**6), st.sampled_from([T1, T2, T3]),
                               st.integers(0, 1_000)), unique_by=lambda lot: lot[0],
                     max_size=20)


@given(lot_lists, st.integers(1, 25_000))
def test_allocation_takes_exactly_what_is_asked_in_expiry_order(lots, points) -> None:
    total = sum(lot[2] for lot in lots)
    if points > total:
        with pytest.raises(rules.NotEnoughPoints):
            rules.allocate(lots, points)
        return
    plan = rules.allocate(lots, points)
    by_id = {lot[0]: lot for lot in lots}
    assert sum(n for _, n in plan) == points
    assert all(0 < n <= by_id[i][2] for i, n in plan)
    keys = [(by_id[i][1], i) for i, _ in plan]
    assert keys == sorted(keys)
    # every lot before the last one used was used up
    assert all(n == by_id[i][2] for i, n in plan[:-1])


def test_returns_undo_the_last_consumed_first() -> None:
    assert rules.undo_order([(10, 100), (11, 200)], 150) == [(11, 150)]
    assert rules.undo_order([(10, 100), (11, 200)], 250) == [(11, 200), (10, 50)]
    with pytest.raises(rules.NotEnoughPoints):
        rules.undo_order([(10, 100)], 101)


# --- deduction ------------------------------------------------------------------------

def test_100_points_are_1_yuan_off_and_at_most_half_of_the_payable() -> None:
    assert rules.quote_deduction(10_000, 30_000, REF) == (10_000, 10_000)  # ¥100 off ¥300
    assert rules.quote_deduction(50_000, 30_000, REF) == (15_000, 15_000)  # capped at 50%
    assert rules.quote_deduction(0, 30_000, REF) == (0, 0)
    assert rules.quote_deduction(99, 1, REF) == (0, 0)  # half a fen is no fen
    assert rules.deduction_value(2_500, 10_000, REF) == 2_500
    with pytest.raises(ValueError, match="at most 5000"):
        rules.deduction_value(5_001, 10_000, REF)


def test_other_rates_use_whole_units_only() -> None:
    dearer = REF.model_copy(update={"points_per_yuan_off": 200})  # 2 points = 1 fen
    assert rules.deduction_unit(dearer) == (2, 1)
    assert rules.quote_deduction(1_001, 100_000, dearer) == (1_000, 500)
    with pytest.raises(ValueError, match="multiples of 2"):
        rules.deduction_value(999, 100_000, dearer)
    odd = REF.model_copy(update={"points_per_yuan_off": 30})  # 3 points = 10 fen
    assert rules.quote_deduction(100, 10_000, odd) == (99, 330)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(1, 1_000),
       st.integers(0, 100))
def test_a_deduction_never_exceeds_the_balance_nor_the_share(points, payable, rate,
                                                            share) -> None:
    config = REF.model_copy(update={"points_per_yuan_off": rate,
                                    "max_redeem_share_pct": share})
    used, fen = rules.quote_deduction(points, payable, config)
    assert 0 <= used <= points
    assert 0 <= fen <= payable * share // 100
    assert used * 100 == fen * rate  # exact exchange: no fraction of a fen anywhere
