"""Spending points (earliest-expiring first), giving used points back with their original
expiry, and manual adjustments — with every refusal leaving everything as it was."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.errors import (
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    InsufficientBalance,
    NotFound,
    RuleViolated,
    ValidationFailed,
)
from memberops.jobs import points as points_jobs
from memberops.points import queries, service
from memberops.points.models import PointsLot
from memberops.uow import Actor
from tests.conftest import SHANGHAI
from tests.points_helpers import (
    YUAN,
    assert_consistent,
    balances,
    give,
    lots,
    new_member,
    set_status,
    snapshot,
)

BAD_POINTS = [0, -5, 1.5, "10", True, None, 10**12]


def spend(make_uow, member_id: int, points: int, ref: str, key: str | None = None,
          kind: str = "deduction") -> service.Spent:
    with make_uow() as uow:
        return service.spend(uow, member_id=member_id, points=points, kind=kind,
                             reference=ref, key=key or f"spend:{ref}")


def old_lot(make_uow, member_id: int, clock, fen: int, ref: str) -> None:
    """Points earned on a Friday in 2025 (so they expire at the end of 2026), released."""
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member_id, amount_paid=fen, reference=ref,
                                  key=f"earn:{ref}",
                                  occurred_at=datetime(2025, 3, 7, 12, tzinfo=SHANGHAI))


def summary(db, member_id: int, now: datetime) -> dict:
    with db.session(readonly=True) as s:
        return queries.summary(s, member_id, now, SHANGHAI)


def test_spending_takes_the_earliest_expiring_lot_first(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)  # lot 1: earned 2026, expires end of 2027
    old_lot(make_uow, member, clock, 80 * YUAN, "o-2025")  # lot 2: expires end of 2026
    assert summary(db, member, clock.now())["expiring"] == [
        {"date": datetime(2026, 12, 31).date(), "points": 80},
        {"date": datetime(2027, 12, 31).date(), "points": 100}]
    spent = spend(make_uow, member, 100, "o-1")
    assert [points for _, points in spent.uses] == [80, 20]
    assert lots(db, member) == [("test", 100, 80, "available"), ("order", 80, 0, "available")]
    assert balances(db, member) == (80, 0)
    assert_consistent(db)


def test_insufficient_points_are_refused_and_change_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    before = snapshot(db)
    with pytest.raises(InsufficientBalance) as err:
        spend(make_uow, member, 101, "o-1")
    assert err.value.code == "insufficient_balance"
    assert (err.value.extra["available"], err.value.extra["requested"]) == (100, 101)
    assert snapshot(db) == before and balances(db, member) == (100, 0)


def test_pending_points_cannot_be_spent(make_uow, db) -> None:
    member = new_member(make_uow)
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                  reference="o-1", key="e")
    with pytest.raises(InsufficientBalance):
        spend(make_uow, member, 1, "o-2")


@pytest.mark.parametrize("points", BAD_POINTS)
def test_bad_point_amounts_are_refused(make_uow, db, points) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    before = snapshot(db)
    with pytest.raises(ValidationFailed):
        spend(make_uow, member, points, "o-1")
    assert snapshot(db) == before


def test_unknown_kind_unknown_and_frozen_member_are_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    with pytest.raises(ValidationFailed):
        spend(make_uow, member, 1, "o-1", kind="gift-card")
    with pytest.raises(NotFound):
        spend(make_uow, 999, 1, "o-1")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        spend(make_uow, member, 1, "o-1")
    assert err.value.code == "member_frozen"
    set_status(make_uow, member, "active")
    set_status(make_uow, member, "closed")
    with pytest.raises(RuleViolated) as closed:
        spend(make_uow, member, 1, "o-1")
    assert closed.value.code == "member_closed"
    assert balances(db, member) == (100, 0) and snapshot(db)[:5] == before[:5]


def test_a_retry_returns_the_first_spend_and_other_input_is_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    first = spend(make_uow, member, 30, "o-1", key="k")
    assert spend(make_uow, member, 30, "o-1", key="k") == first
    with pytest.raises(IdempotencyMismatch):
        spend(make_uow, member, 31, "o-1", key="k")
    assert balances(db, member) == (70, 0)


def test_expired_points_are_never_spent_even_before_the_job_runs(make_uow, db,
                                                                clock) -> None:
    member = new_member(make_uow)
    old_lot(make_uow, member, clock, 100 * YUAN, "o-2025")
    give(make_uow, member, 10)
    clock.set(datetime(2027, 1, 1, tzinfo=SHANGHAI))  # the 2025 points have just expired
    assert summary(db, member, clock.now())["available"] == 10
    with pytest.raises(InsufficientBalance):
        spend(make_uow, member, 11, "o-1")
    spend(make_uow, member, 10, "o-2")  # expires the old lot on the way
    assert balances(db, member) == (0, 0)
    assert points_jobs.expire_due(db, clock).points == 0  # already done
    assert_consistent(db)


# --- returns --------------------------------------------------------------------------

def give_back(make_uow, ref: str, key: str, points: int | None = None) -> service.Returned:
    with make_uow() as uow:
        return service.return_spent(uow, reference=ref, key=key, points=points)


def test_a_refund_returns_used_points_to_their_lots_last_used_first(make_uow, db,
                                                                   clock) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)  # expires end of 2027
    old_lot(make_uow, member, clock, 80 * YUAN, "o-2025")  # expires end of 2026
    spend(make_uow, member, 150, "o-1")  # 80 from the old lot, 70 from the new
    partial = give_back(make_uow, "o-1", "r-1", points=50)
    assert partial.points == 50
    assert lots(db, member) == [("test", 100, 80, "available"), ("order", 80, 0, "available")]
    rest = give_back(make_uow, "o-1", "r-2")
    assert rest.points == 100
    assert lots(db, member) == [("test", 100, 100, "available"),
                                ("order", 80, 80, "available")]
    with make_uow() as uow:  # a replay gives the first answer, not a second return
        assert service.return_spent(uow, reference="o-1", key="r-1", points=50) == partial
    with pytest.raises(Conflict) as err:
        give_back(make_uow, "o-1", "r-3")
    assert err.value.code == "already_returned"
    assert balances(db, member) == (180, 0)
    assert_consistent(db)


def test_points_whose_lot_expired_come_back_expiring_at_the_same_instant(make_uow, db,
                                                                        clock) -> None:
    member = new_member(make_uow)
    old_lot(make_uow, member, clock, 100 * YUAN, "o-2025")
    spend(make_uow, member, 60, "o-1")
    clock.set(datetime(2027, 1, 2, tzinfo=SHANGHAI))
    assert points_jobs.expire_due(db, clock).points == 40
    returned = give_back(make_uow, "o-1", "r-1")
    with db.session(readonly=True) as s:
        stand_in = s.get(PointsLot, returned.lot_ids[0])
        assert (stand_in.source, stand_in.remaining) == ("return", 60)
        assert stand_in.expires_at == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert summary(db, member, clock.now())["available"] == 0  # never usable
    assert balances(db, member) == (60, 0)  # on the books until the next run
    assert points_jobs.expire_due(db, clock).points == 60
    assert balances(db, member) == (0, 0)
    assert_consistent(db)


def test_return_refusals_change_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    spend(make_uow, member, 30, "o-1")
    before = snapshot(db)
    with pytest.raises(NotFound) as err:
        give_back(make_uow, "o-unknown", "r-1")
    assert err.value.code == "spend_not_found"
    with pytest.raises(RuleViolated) as too_many:
        give_back(make_uow, "o-1", "r-1", points=31)
    assert too_many.value.code == "return_exceeds_spent"
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(ValidationFailed):
            give_back(make_uow, "o-1", "r-1", points=bad)
    assert snapshot(db) == before


# --- manual adjustment ----------------------------------------------------------------

def adjust(make_uow, member_id: int, points, reason="goodwill", key="adj-1",
           actor: Actor | None = None) -> service.Adjusted:
    with make_uow(*(actor,) if actor else ()) as uow:
        return service.adjust(uow, member_id=member_id, points=points, reason=reason, key=key)


def test_a_positive_adjustment_is_a_new_lot_expiring_by_policy(make_uow, db) -> None:
    member = new_member(make_uow)
    done = adjust(make_uow, member, 250, reason="complaint #12: goodwill")
    assert done.points == 250 and done.lot_id is not None
    with db.session(readonly=True) as s:
        lot = s.get(PointsLot, done.lot_id)
        assert (lot.source, lot.status, lot.expires_at) == (
            "adjustment", "available", datetime(2028, 1, 1, tzinfo=SHANGHAI))
        audit = s.execute(select(AuditEntry).where(
            AuditEntry.action == "points.adjusted")).scalar_one()
        assert audit.reason == "complaint #12: goodwill"
        assert audit.changes["available"] == {"before": 0, "after": 250}
    assert balances(db, member) == (250, 0)
    assert adjust(make_uow, member, 250, reason="complaint #12: goodwill") == done  # replay
    assert balances(db, member) == (250, 0)
    assert_consistent(db)


def test_a_negative_adjustment_takes_points_but_never_below_zero(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    adjust(make_uow, member, -60, reason="duplicate credit", key="adj-1")
    assert balances(db, member) == (40, 0)
    before = snapshot(db)
    with pytest.raises(InsufficientBalance) as err:
        adjust(make_uow, member, -41, reason="too much", key="adj-2")
    assert err.value.code == "insufficient_balance"
    assert snapshot(db) == before
    assert_consistent(db)


@pytest.mark.parametrize(("points", "reason"), [
    (0, "ok"), (1.5, "ok"), ("10", "ok"), (10**12, "ok"), (-(10**12), "ok"), (True, "ok"),
    (10, ""), (10, " "), (10, "x" * 501), (10, None)])
def test_bad_adjustments_are_refused(make_uow, db, points, reason) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    with pytest.raises(ValidationFailed):
        adjust(make_uow, member, points, reason=reason)
    assert snapshot(db) == before


def test_only_an_admin_may_adjust(make_uow, db) -> None:
    member = new_member(make_uow)
    operator = Actor(kind="api_key", id="7", name="till", role="operator")
    with pytest.raises(Forbidden):
        adjust(make_uow, member, 10, actor=operator)
    assert balances(db, member) == (0, 0)
