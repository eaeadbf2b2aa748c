"""Pure risk rules: velocity, the daily limit in the programme's time zone, the review hold,
which earlier recharges count, and which rule wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from memberops.programme.schemas import RiskRules
from memberops.risk import rules
from memberops.risk.rules import RecentRecharge

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
RULES = RiskRules()
Y = 100


def earlier(minutes: float, amount: int = 100 * Y, status: str = "settled") -> RecentRecharge:
    return RecentRecharge(amount, NOW - timedelta(minutes=minutes), status)


def decide(amount: int, recent: list[RecentRecharge], now: datetime = NOW) -> rules.Decision:
    return rules.evaluate_recharge(amount, recent, RULES, now=now, tz=SHANGHAI)


def test_a_small_recharge_passes() -> None:
    decision = decide(100 * Y, [])
    assert (decision.outcome, decision.rule) == ("passed", None)


def test_the_sixth_recharge_in_ten_minutes_is_rejected() -> None:
    five = [earlier(m) for m in (0, 1, 2, 3, 9)]
    assert decide(100 * Y, five[:4]).outcome == "passed"  # the 5th
    decision = decide(100 * Y, five)
    assert (decision.outcome, decision.rule) == ("rejected", "velocity")
    assert "6" in decision.reason


def test_velocity_window_is_the_last_ten_minutes() -> None:
    outside = [earlier(m) for m in (0, 1, 2, 3)] + [earlier(10)]  # exactly 10 min ago: out
    assert decide(100 * Y, outside).outcome == "passed"


def test_what_counts_for_velocity() -> None:
    # Failed attempts count (card testing); recharges refused by a rule do not.
    failed = [earlier(1, status="failed") for _ in range(5)]
    assert decide(100 * Y, failed).rule == "velocity"
    rejected = [earlier(1, status="rejected") for _ in range(5)]
    assert decide(100 * Y, rejected).outcome == "passed"
    mixed = [earlier(1, status=s) for s in ("pending", "pending_review", "settled",
                                            "failed", "settled")]
    assert decide(100 * Y, mixed).rule == "velocity"


def test_more_than_20000_yuan_in_one_day_is_rejected() -> None:
    today = [earlier(60 * h, 4_000 * Y) for h in (1, 2, 3, 4)]  # 16,000 earlier today
    assert decide(4_000 * Y, today).outcome == "passed"  # exactly 20,000: allowed
    decision = decide(4_000 * Y + 1, today)
    assert (decision.outcome, decision.rule) == ("rejected", "daily_limit")


def test_what_counts_for_the_daily_limit() -> None:
    for status in ("pending", "pending_review", "settled"):
        assert decide(1 * Y, [earlier(60, 20_000 * Y, status)]).rule == "daily_limit"
    for status in ("failed", "rejected"):
        assert decide(1 * Y, [earlier(60, 20_000 * Y, status)]).outcome == "passed"


def test_the_day_is_the_programme_days_not_utc() -> None:
    # 00:30 in Shanghai is 16:30 UTC the day before; a recharge at 23:50 Shanghai the
    # previous evening belongs to another programme day.
    now = datetime(2026, 6, 16, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)
    yesterday = RecentRecharge(19_000 * Y, datetime(2026, 6, 15, 23, 50, tzinfo=SHANGHAI)
                               .astimezone(UTC), "settled")
    assert decide(2_000 * Y, [yesterday], now=now).outcome == "passed"
    this_morning = RecentRecharge(19_000 * Y, datetime(2026, 6, 16, 0, 10, tzinfo=SHANGHAI)
                                  .astimezone(UTC), "settled")
    assert decide(2_000 * Y, [this_morning], now=now).rule == "daily_limit"


def test_5000_yuan_or_more_is_held_for_review() -> None:
    assert decide(4_999_99, []).outcome == "passed"
    decision = decide(5_000 * Y, [])
    assert (decision.outcome, decision.rule) == ("held", "review_threshold")


def test_rejection_wins_over_the_hold() -> None:
    assert decide(5_000 * Y, [earlier(1) for _ in range(5)]).rule == "velocity"


def test_lookback_covers_the_day_and_the_velocity_window() -> None:
    start = rules.lookback_start(RULES, now=NOW, tz=SHANGHAI)
    assert start == datetime(2026, 6, 15, 0, 0, tzinfo=SHANGHAI)
    just_after_midnight = datetime(2026, 6, 15, 0, 3, tzinfo=SHANGHAI)
    assert rules.lookback_start(RULES, now=just_after_midnight, tz=SHANGHAI) == \
        just_after_midnight - timedelta(minutes=10)


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 24 * 60),
                          st.sampled_from(["pending", "pending_review", "settled", "failed",
                                           "rejected"])), max_size=12),
       st.integers(1, 10**7))
def test_a_decision_always_names_its_rule(history: list[tuple[int, int, str]],
                                          amount: int) -> None:
    recent = [earlier(m, a, s) for a, m, s in history]
    decision = decide(amount, recent)
    assert (decision.rule is None) == (decision.outcome == "passed")
    assert decision.reason
    if decision.outcome == "passed":
        assert amount < RULES.review_threshold
