"""The paid-membership rules without a database: terms by calendar month in the programme's
time zone, renewal from the end date, the 7-day refund rule, and what an order applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.plus import rules
from memberops.plus.rules import PlusBenefits
from memberops.programme.schemas import Plans

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_reference_plan_is_plus_at_99_yuan_3pct_x1_5_cancel_within_7_days() -> None:
    plan = Plans().plans["PLUS"]
    assert (plan.price, plan.duration_months, plan.extra_discount_pct,
            plan.points_multiplier_pct, plan.cancel_within_days, plan.on_sale) == (
        9_900, 12, 3, 150, 7, True)


@pytest.mark.parametrize("data", [
    {"plans": {"PL US": {"name": "x", "price": 100}}},
    {"plans": {"PLUS": {"name": "x", "price": 0}}},
    {"plans": {"PLUS": {"name": "x", "price": 100, "points_multiplier_pct": 99}}},
    {"plans": {"PLUS": {"name": "x", "price": 100, "extra_discount_pct": 101}}},
    {"plans": {"PLUS": {"name": "x", "price": 100, "surprise": 1}}},
    {"plans": {"PLUS": {"name": "x", "price": 99.5}}},
])
def test_bad_plans_are_refused(data: dict) -> None:
    with pytest.raises(ValueError):
        Plans.model_validate(data)


def test_a_year_runs_to_the_same_local_time_next_year() -> None:
    assert rules.add_months(sh(2026, 6, 15, 10), 12, SH) == sh(2027, 6, 15, 10)
    # 00:30 in Shanghai is the previous day in UTC: still counted on the local calendar
    assert rules.add_months(sh(2026, 3, 1, 0, 30), 1, SH) == sh(2026, 4, 1, 0, 30)
    assert rules.add_months(sh(2026, 3, 1, 0, 30), 12, SH).tzinfo == UTC


def test_a_missing_day_is_the_last_day_of_the_month() -> None:
    assert rules.add_months(sh(2026, 1, 31, 9), 1, SH) == sh(2026, 2, 28, 9)
    assert rules.add_months(sh(2027, 1, 31, 9), 13, SH) == sh(2028, 2, 29, 9)
    assert rules.add_months(sh(2028, 2, 29, 9), 12, SH) == sh(2029, 2, 28, 9)


def test_add_months_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        rules.add_months(datetime(2026, 1, 1), 12, SH)


def test_renewal_extends_from_the_end_while_in_force_else_from_now() -> None:
    now = sh(2026, 6, 15, 10)
    assert rules.next_term(now, 12, SH, current_end=sh(2026, 8, 1, 9)) == (
        sh(2026, 8, 1, 9), sh(2027, 8, 1, 9))
    assert rules.next_term(now, 12, SH, current_end=None) == (now, sh(2027, 6, 15, 10))
    # ended (even if the expiry job has not run yet): from now
    assert rules.next_term(now, 12, SH, current_end=sh(2026, 6, 15, 9)) == (
        now, sh(2027, 6, 15, 10))


def test_in_force_means_active_or_cancelled_and_within_time() -> None:
    start, end = sh(2026, 1, 1), sh(2027, 1, 1)
    assert rules.in_force("active", start, end, sh(2026, 6, 1))
    assert rules.in_force("cancelled", start, end, sh(2026, 6, 1))
    assert not rules.in_force("expired", start, end, sh(2026, 6, 1))
    assert not rules.in_force("active", start, end, end)
    assert not rules.in_force("active", start, end, start - timedelta(seconds=1))


def test_refund_window_ends_with_the_seventh_day_after_the_purchase_day() -> None:
    bought = sh(2026, 6, 15, 23, 50)
    assert rules.refund_deadline(bought, 7, SH) == sh(2026, 6, 23, 0, 0)
    assert rules.refund_deadline(bought, 0, SH) == bought  # 0 days: never refundable


def terms(now: datetime, *, used_at: datetime | None = None, days: int = 7,
          starts: datetime | None = None):
    bought = sh(2026, 6, 15, 10)
    return rules.cancel_terms(now, SH, purchased_at=bought, period_starts_at=starts or bought,
                              period_price=9_900, window_days=days, used_at=used_at,
                              current_end=rules.add_months(starts or bought, 12, SH))


def test_cancel_within_7_days_unused_refunds_in_full_and_ends_now() -> None:
    now = sh(2026, 6, 22, 23, 59)
    got = terms(now)
    assert (got.refund, got.ends_at, got.why, got.refunded) == (
        9_900, now, "within_window_unused", True)


def test_cancel_after_the_window_or_after_use_refunds_nothing_and_runs_to_the_end() -> None:
    end = sh(2027, 6, 15, 10)
    late = terms(sh(2026, 6, 23, 0, 0))
    assert (late.refund, late.ends_at, late.why) == (0, end, "window_passed")
    used = terms(sh(2026, 6, 16), used_at=sh(2026, 6, 15, 12))
    assert (used.refund, used.ends_at, used.why) == (0, end, "used")
    assert terms(sh(2026, 6, 15, 11), days=0).why == "window_passed"


def test_refunding_a_renewal_bought_ahead_keeps_the_time_already_paid() -> None:
    # renewed on 06-15 a membership that runs to 08-01; cancelled two days later, unused
    got = terms(sh(2026, 6, 17), starts=sh(2026, 8, 1, 9))
    assert (got.refund, got.ends_at) == (9_900, sh(2026, 8, 1, 9))


BENEFITS = PlusBenefits(plan_code="PLUS", extra_discount_pct=3, points_multiplier_pct=150,
                        ends_at=sh(2027, 1, 1))


def test_extra_discount_is_taken_after_the_tier_discount_rounded_down() -> None:
    # ¥100 with gold's 5% → ¥95, then PLUS 3% → ¥2.85 off
    assert rules.extra_discount(9_500, BENEFITS) == 285
    assert rules.extra_discount(9_999, BENEFITS) == 299  # 299.97 rounded down
    assert rules.extra_discount(9_500, None) == 0
    assert rules.extra_discount(0, BENEFITS) == 0


def test_points_multiplier_multiplies_the_tier_multiplier() -> None:
    assert rules.points_multiplier_pct(150, BENEFITS) == 225  # gold ×1.5 × PLUS ×1.5
    assert rules.points_multiplier_pct(120, BENEFITS) == 180
    assert rules.points_multiplier_pct(100, None) == 100


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(SH)),
       st.integers(min_value=1, max_value=60))
def test_a_term_is_never_empty_and_never_longer_than_its_months(start: datetime,
                                                                months: int) -> None:
    end = rules.add_months(start, months, SH)
    assert start < end <= start + timedelta(days=31 * months)
    assert end.astimezone(SH).time() == start.astimezone(SH).time()
