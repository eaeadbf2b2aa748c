"""Bonus actions (PROGRAMME.md): check-in 5 once a day, review 20 at most 5 a month,
profile completed 50 once, referral 100 per referred member — available at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from memberops.errors import IdempotencyMismatch, NotFound, RuleViolated, ValidationFailed
from memberops.points import service
from tests.conftest import SHANGHAI
from tests.points_helpers import (
    assert_consistent,
    balances,
    earning_rules,
    new_member,
    set_status,
    snapshot,
)


def bonus(make_uow, member_id: int, action: str, key: str, reference: str | None = None):
    with make_uow() as uow:
        lot = service.award_bonus(uow, member_id=member_id, action=action, key=key,
                                  reference=reference)
        return lot.original, lot.status


def refused(make_uow, db, member_id: int, action: str, code: str, **kw) -> None:
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        bonus(make_uow, member_id, action, key="refused", **kw)
    assert err.value.code == code and err.value.status == 422
    assert snapshot(db) == before


def test_check_in_is_5_points_once_per_calendar_day(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    assert bonus(make_uow, member, "check_in", "c1") == (5, "available")
    refused(make_uow, db, member, "check_in", "bonus_already_claimed")
    clock.set(datetime(2026, 6, 15, 23, 59, tzinfo=SHANGHAI))
    refused(make_uow, db, member, "check_in", "bonus_already_claimed")
    clock.advance(timedelta(minutes=1))  # midnight in Shanghai (16:00 UTC): a new day
    assert bonus(make_uow, member, "check_in", "c2") == (5, "available")
    assert balances(db, member) == (10, 0)
    assert_consistent(db)


def test_review_is_20_points_at_most_5_a_month(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    for n in range(5):
        assert bonus(make_uow, member, "review", f"r{n}", reference=f"review-{n}")[0] == 20
    refused(make_uow, db, member, "review", "bonus_cap_reached", reference="review-6")
    clock.set(datetime(2026, 7, 1, 0, 0, tzinfo=SHANGHAI))
    assert bonus(make_uow, member, "review", "r6", reference="review-6")[0] == 20
    assert balances(db, member) == (120, 0)


def test_profile_completed_is_50_points_once(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    assert bonus(make_uow, member, "profile_completed", "p1")[0] == 50
    clock.advance(timedelta(days=400))
    refused(make_uow, db, member, "profile_completed", "bonus_already_claimed")


def test_referral_is_100_points_once_per_referred_member(make_uow, db) -> None:
    referrer = new_member(make_uow, 1)
    friend = new_member(make_uow, 2, referrer_id=referrer)
    other = new_member(make_uow, 3, referrer_id=referrer)
    stranger = new_member(make_uow, 4)
    with make_uow() as uow:  # what orders call when the friend's first order is paid
        lot = service.award_referral(uow, referred_member_id=friend, key="ref-1")
        assert lot is not None and (lot.member_id, lot.original) == (referrer, 100)
    with make_uow() as uow:
        assert service.award_referral(uow, referred_member_id=stranger, key="ref-x") is None
    refused(make_uow, db, referrer, "referral", "bonus_already_claimed",
            reference=f"member:{friend}")
    assert bonus(make_uow, referrer, "referral", "ref-2", reference=str(other))[0] == 100
    refused(make_uow, db, stranger, "referral", "not_referred", reference=f"member:{friend}")
    with pytest.raises(NotFound) as err:
        bonus(make_uow, referrer, "referral", "ref-3", reference="member:999")
    assert err.value.code == "referred_member_not_found"
    with pytest.raises(ValidationFailed):
        bonus(make_uow, referrer, "referral", "ref-4")  # names nobody
    assert balances(db, referrer) == (200, 0)
    assert_consistent(db)


def test_an_unknown_action_is_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    refused(make_uow, db, member, "share_on_weibo", "unknown_bonus_action")


def test_actions_and_their_limits_are_configuration(make_uow, db) -> None:
    member = new_member(make_uow)
    earning_rules(make_uow, bonus_actions={"share": {"points": 3, "per_day": 2}})
    assert bonus(make_uow, member, "share", "s1")[0] == 3
    assert bonus(make_uow, member, "share", "s2")[0] == 3
    refused(make_uow, db, member, "share", "bonus_cap_reached")
    refused(make_uow, db, member, "check_in", "unknown_bonus_action")
    with make_uow() as uow:
        assert service.award_referral(uow, referred_member_id=member, key="r") is None


def test_retries_return_the_first_award_and_other_input_is_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    assert bonus(make_uow, member, "check_in", "c1") == (5, "available")
    assert bonus(make_uow, member, "check_in", "c1") == (5, "available")  # not refused
    with pytest.raises(IdempotencyMismatch):
        bonus(make_uow, member, "review", "c1", reference="rv")
    assert balances(db, member) == (5, 0)


def test_frozen_members_get_no_bonus(make_uow, db) -> None:
    member = new_member(make_uow)
    set_status(make_uow, member, "frozen")
    refused(make_uow, db, member, "check_in", "member_frozen")
