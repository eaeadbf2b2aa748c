"""Earning for purchases (pending for the return window), generic awards and refund
clawbacks, against a real database; the lots mirror the ledger after every scenario."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.clock import FixedClock
from memberops.errors import (
    Conflict,
    IdempotencyMismatch,
    NotFound,
    RuleViolated,
    ValidationFailed,
)
from memberops.jobs import points as points_jobs
from memberops.points import service
from memberops.points.models import PointsLot
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.uow import Actor
from tests.conftest import SHANGHAI
from tests.points_helpers import (
    YUAN,
    assert_consistent,
    balances,
    earning_rules,
    give,
    lots,
    new_member,
    set_status,
    snapshot,
)


def earn(make_uow, member_id: int, fen: int, ref: str, **kw):
    with make_uow() as uow:
        lot = service.earn_for_purchase(uow, member_id=member_id, amount_paid=fen,
                                        reference=ref, key=f"earn:{ref}", **kw)
        return None if lot is None else (lot.id, lot.original, lot.status, lot.available_at,
                                         lot.expires_at)


def test_a_purchase_earns_one_point_per_yuan_pending_for_seven_days(make_uow, db,
                                                                   clock) -> None:
    member = new_member(make_uow)
    _, points, status, available_at, expires_at = earn(make_uow, member, 123_45, "o-1")
    assert (points, status) == (123, "pending")
    assert available_at == clock.now() + timedelta(days=7)
    assert expires_at == datetime(2028, 1, 1, tzinfo=SHANGHAI)  # earned 2026: end of 2027
    assert balances(db, member) == (0, 123)
    assert_consistent(db)


def test_pending_points_become_available_after_the_return_window(make_uow, db,
                                                                 clock) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert points_jobs.release_due(db, clock).points == 0
    assert balances(db, member) == (0, 100)
    clock.advance(timedelta(seconds=1))
    report = points_jobs.release_due(db, clock)
    assert (report.members, report.points) == (1, 100)
    assert balances(db, member) == (100, 0)
    assert lots(db, member) == [("order", 100, 100, "available")]
    assert_consistent(db)


def test_weekend_purchase_earns_double(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    clock.set(datetime(2026, 6, 20, 15, tzinfo=SHANGHAI))  # a Saturday
    assert earn(make_uow, member, 100 * YUAN, "o-1")[1] == 200


def test_birthday_month_earns_double_and_does_not_stack_with_the_weekend(make_uow, db,
                                                                       clock) -> None:
    member = new_member(make_uow, birthday="1990-06-30")
    assert earn(make_uow, member, 100 * YUAN, "o-1")[1] == 200  # Monday in June
    clock.set(datetime(2026, 6, 20, 15, tzinfo=SHANGHAI))  # a Saturday in June
    assert earn(make_uow, member, 100 * YUAN, "o-2")[1] == 200  # not 400


def test_the_tier_multiplier_is_read_from_the_tier_ladder(make_uow, db) -> None:
    member = new_member(make_uow)
    ladder = TierLadder().model_dump(mode="json")
    ladder["tiers"][0]["benefits"]["points_multiplier_pct"] = 150
    with make_uow() as uow:
        programme_service.save(uow, "tiers", ladder, note="test")
    assert earn(make_uow, member, 100 * YUAN, "o-1")[1] == 150


def test_earning_rules_no_longer_take_tier_multipliers(make_uow, db) -> None:
    with pytest.raises(ValidationFailed, match="moved to the tier ladder"):
        earning_rules(make_uow, tier_multiplier_pct={"regular": 150})


def test_occurred_at_decides_the_day_and_the_window(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    saturday = datetime(2026, 6, 13, 20, tzinfo=SHANGHAI)
    _, points, status, available_at, _ = earn(make_uow, member, 100 * YUAN, "o-1",
                                              occurred_at=saturday)
    assert (points, status, available_at) == (200, "pending", saturday + timedelta(days=7))
    _, _, status, _, _ = earn(make_uow, member, 100 * YUAN, "o-2",
                              occurred_at=clock.now() - timedelta(days=10))  # a Friday
    assert status == "available"  # the return window had already ended
    assert balances(db, member) == (100, 200)
    assert_consistent(db)


def test_daily_and_monthly_caps_bound_purchase_earnings(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    earning_rules(make_uow, daily_cap=150, monthly_cap=220)
    assert earn(make_uow, member, 100 * YUAN, "o-1")[1] == 100
    assert earn(make_uow, member, 100 * YUAN, "o-2")[1] == 50  # the day's cap
    assert earn(make_uow, member, 100 * YUAN, "o-3") is None
    clock.advance(timedelta(days=1))
    assert earn(make_uow, member, 100 * YUAN, "o-4")[1] == 70  # the month's cap
    assert balances(db, member) == (0, 220)


def test_under_one_yuan_earns_nothing_and_writes_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    assert earn(make_uow, member, 99, "o-1") is None
    assert snapshot(db) == before


def test_a_retry_returns_the_first_lot_and_a_reused_key_is_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    first = earn(make_uow, member, 100 * YUAN, "o-1")
    assert earn(make_uow, member, 100 * YUAN, "o-1") == first
    with pytest.raises(IdempotencyMismatch), make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=200 * YUAN,
                                  reference="o-1", key="earn:o-1")
    with pytest.raises(Conflict) as err, make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                  reference="o-1", key="another key")
    assert err.value.code == "points_already_earned"
    assert balances(db, member) == (0, 100)


@pytest.mark.parametrize("amount", [-1, 1.5, "100", True, None, 10**16])
def test_bad_amounts_are_refused_and_change_nothing(make_uow, db, amount) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    with pytest.raises(ValidationFailed), make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=amount, reference="o",
                                  key="k")
    assert snapshot(db) == before


def test_a_future_or_naive_occurred_at_is_refused(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    for when in (clock.now() + timedelta(minutes=1), datetime(2026, 6, 1)):
        with pytest.raises(ValidationFailed), make_uow() as uow:
            service.earn_for_purchase(uow, member_id=member, amount_paid=100, reference="o",
                                      key="k", occurred_at=when)


def test_unknown_and_frozen_members_earn_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err, make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                  reference="o-1", key="k")
    assert err.value.code == "member_frozen"
    with pytest.raises(NotFound) as missing, make_uow() as uow:
        service.earn_for_purchase(uow, member_id=999, amount_paid=100 * YUAN,
                                  reference="o-2", key="k2")
    assert missing.value.code == "member_not_found"
    assert snapshot(db) == before


def test_award_is_the_wallets_hook_available_at_once_and_audited(make_uow, db) -> None:
    member = new_member(make_uow)
    with make_uow() as uow:
        lot = service.award(uow, member_id=member, points=100, source="recharge_referral",
                            reference="pay-1", key="recharge:pay-1:referral",
                            reason="referral on recharge pay-1")
        assert isinstance(lot, PointsLot) and lot.status == "available"
    with make_uow() as uow:  # the wallet retrying its recharge gets the same lot
        again = service.award(uow, member_id=member, points=100, source="recharge_referral",
                              reference="pay-1", key="recharge:pay-1:referral",
                              reason="referral on recharge pay-1")
        assert again.id == lot.id
    with make_uow() as uow:
        pending = service.award(uow, member_id=member, points=10, source="recharge_campaign",
                                reference="pay-2", key="k2", reason="campaign",
                                pending=True)
        assert pending.status == "pending"
    assert balances(db, member) == (100, 10)
    with db.session(readonly=True) as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "points.earned")
                            ).scalars().all()
        assert [e.reason for e in entries] == ["referral on recharge pay-1", "campaign"]
        assert entries[0].changes["available"] == {"before": 0, "after": 100}
    assert_consistent(db)


# --- clawback -------------------------------------------------------------------------

def claw(make_uow, ref: str, key: str, **kw) -> service.ClawedBack:
    with make_uow() as uow:
        return service.clawback_purchase(uow, reference=ref, key=key, **kw)


def test_a_refund_within_the_window_claws_back_from_the_pending_lot(make_uow, db) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 300 * YUAN, "o-1")
    done = claw(make_uow, "o-1", "r-1", fraction=(100 * YUAN, 300 * YUAN))
    assert (done.requested, done.points, done.shortfall) == (100, 100, 0)
    assert balances(db, member) == (0, 200)
    done = claw(make_uow, "o-1", "r-2", points=500)  # asks too much: only what is left
    assert (done.requested, done.points) == (200, 200)
    assert lots(db, member) == [("order", 300, 0, "clawed_back")]
    with pytest.raises(Conflict) as err:
        claw(make_uow, "o-1", "r-3", points=1)
    assert err.value.code == "already_clawed_back"
    later = FixedClock(datetime(2026, 7, 1, tzinfo=SHANGHAI), tz=SHANGHAI)
    assert points_jobs.release_due(db, later).points == 0  # nothing left to release
    assert_consistent(db)


def test_after_release_the_clawback_takes_available_points(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    clock.advance(timedelta(days=8))
    done = claw(make_uow, "o-1", "r-1", points=40)
    assert (done.points, done.shortfall) == (40, 0)
    assert balances(db, member) == (60, 0)  # released on the way, then taken back
    assert_consistent(db)


def test_points_already_spent_come_from_other_points_then_the_rest_is_a_shortfall(
        make_uow, db, clock) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    give(make_uow, member, 30)
    clock.advance(timedelta(days=8))
    with make_uow() as uow:
        service.spend(uow, member_id=member, points=120, kind="deduction", reference="o-2",
                      key="spend-1")
    # Both lots expire together, so the older (the order's) was used up first.
    assert lots(db, member) == [("order", 100, 0, "available"), ("test", 30, 10, "available")]
    done = claw(make_uow, "o-1", "r-1", points=100)
    assert (done.requested, done.points, done.shortfall) == (100, 10, 90)
    assert balances(db, member) == (0, 0)
    with make_uow() as uow:  # a replay returns the same outcome
        again = service.clawback_purchase(uow, reference="o-1", key="r-1", points=100)
    assert again == done
    with db.session(readonly=True) as s:
        audit = s.execute(select(AuditEntry).where(
            AuditEntry.action == "points.clawed_back")).scalar_one()
        assert audit.changes["shortfall"]["after"] == 90
    assert_consistent(db)


def test_clawback_refusals_change_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    before = snapshot(db)
    with pytest.raises(NotFound) as err:
        claw(make_uow, "no-such-order", "r-1", points=1)
    assert err.value.code == "earning_not_found"
    for kwargs in ({}, {"points": 1, "fraction": (1, 2)}, {"points": 0}, {"points": -5},
                   {"fraction": (3, 2)}, {"fraction": (0, 2)}, {"points": "5"}):
        with pytest.raises(ValidationFailed):
            claw(make_uow, "o-1", "r-1", **kwargs)
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated):
        claw(make_uow, "o-1", "r-1", points=1)
    assert snapshot(db) == before


def test_the_system_actor_can_run_the_wallets_award(make_uow, db) -> None:
    member = new_member(make_uow)
    with make_uow(Actor.system("wallet")) as uow:
        service.award(uow, member_id=member, points=5, source="recharge_campaign",
                      reference=None, key="k", reason="campaign")
    assert balances(db, member) == (5, 0)
