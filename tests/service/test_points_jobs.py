"""The release and expiry jobs (idempotent, resumable, one member per transaction) and the
read side: summary, statement, lots, liability and the member timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.jobs import points as points_jobs
from memberops.members import queries as member_queries
from memberops.points import queries, service
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


def earn(make_uow, member_id: int, fen: int, ref: str) -> None:
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member_id, amount_paid=fen, reference=ref,
                                  key=f"earn:{ref}")


def test_release_is_idempotent_and_resumable_one_member_at_a_time(make_uow, db,
                                                                  clock) -> None:
    members = [new_member(make_uow, n) for n in range(1, 5)]
    for n, member in enumerate(members):
        earn(make_uow, member, (n + 1) * 100 * YUAN, f"o-{n}")
    clock.advance(timedelta(days=7))
    seen: list[tuple[int, int]] = []

    def crash_after_two(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise KeyboardInterrupt  # an operator's Ctrl-C, or a crash, mid-run

    with pytest.raises(KeyboardInterrupt):
        points_jobs.release_due(db, clock, progress=crash_after_two)
    assert seen == [(0, 4), (1, 4), (2, 4)]
    assert [balances(db, m) for m in members] == [(100, 0), (200, 0), (0, 300), (0, 400)]
    assert_consistent(db)
    rest = points_jobs.release_due(db, clock)  # carries on with the members still due
    assert (rest.members, rest.points) == (2, 700)
    again = points_jobs.release_due(db, clock)
    assert (again.members, again.points) == (0, 0)
    assert [balances(db, m) for m in members] == [(100, 0), (200, 0), (300, 0), (400, 0)]
    assert_consistent(db)


def test_points_expire_at_the_end_of_the_following_year_once(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100)
    clock.set(datetime(2027, 12, 31, 23, 59, 59, tzinfo=SHANGHAI))
    assert points_jobs.expire_due(db, clock).points == 0
    clock.advance(timedelta(seconds=1))  # 2028-01-01 00:00 in the programme zone
    report = points_jobs.expire_due(db, clock)
    assert (report.members, report.points) == (1, 100)
    before = snapshot(db)
    assert points_jobs.expire_due(db, clock) == points_jobs.JobReport(0, 0, 0)
    assert snapshot(db) == before  # the second run changed nothing
    assert lots(db, member) == [("test", 100, 0, "expired")]
    assert balances(db, member) == (0, 0)
    assert_consistent(db)


def _audited_points(db, member_id: int) -> list[tuple[str, dict]]:
    with db.session(readonly=True) as s:
        return [(e.action, e.changes) for e in s.execute(
            select(AuditEntry).where(AuditEntry.target_type == "member",
                                     AuditEntry.target_id == str(member_id),
                                     AuditEntry.action.like("points.%"))
            .order_by(AuditEntry.id)).scalars()]


def test_the_audit_trail_of_points_chains_to_the_ledger_balances(make_uow, db,
                                                                 clock) -> None:
    # Each entry's before is the previous entry's after, and the last after is what the
    # ledger holds: earning, a release of two lots in one run, a deduction and expiry.
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    earn(make_uow, member, 40 * YUAN, "o-2")
    give(make_uow, member, 30)
    clock.advance(timedelta(days=7))
    assert points_jobs.release_due(db, clock).points == 140
    with make_uow() as uow:
        service.spend(uow, member_id=member, points=20, kind="deduction", reference="o-3",
                      key="spend-1")
    clock.set(datetime(2028, 1, 1, tzinfo=SHANGHAI))
    assert points_jobs.expire_due(db, clock).points == 150
    state = {"available": 0, "pending": 0}
    states = []
    trail = _audited_points(db, member)
    assert [action for action, _ in trail] == [
        "points.earned", "points.earned", "points.earned", "points.released",
        "points.released", "points.spent", "points.expired"]
    for _, changes in trail:
        for name in ("available", "pending"):
            if name in changes:
                assert changes[name]["before"] == state[name]
                state[name] = changes[name]["after"]
        states.append((state["available"], state["pending"]))
    assert states == [(0, 100), (0, 140), (30, 140), (130, 40), (170, 0), (150, 0), (0, 0)]
    assert states[-1] == balances(db, member)


def test_expiry_takes_only_what_remains_and_closes_used_up_lots(make_uow, db,
                                                              clock) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 100, key="a")
    give(make_uow, member, 50, key="b")
    with make_uow() as uow:
        service.spend(uow, member_id=member, points=120, kind="deduction", reference="o",
                      key="s")
    clock.set(datetime(2028, 1, 1, tzinfo=SHANGHAI))
    assert points_jobs.expire_due(db, clock).points == 30
    assert lots(db, member) == [("test", 100, 0, "expired"), ("test", 50, 0, "expired")]
    assert_consistent(db)


def test_frozen_members_are_skipped_until_unfrozen(make_uow, db, clock) -> None:
    frozen, active = new_member(make_uow, 1), new_member(make_uow, 2)
    earn(make_uow, frozen, 100 * YUAN, "o-1")
    earn(make_uow, active, 100 * YUAN, "o-2")
    set_status(make_uow, frozen, "frozen")
    clock.advance(timedelta(days=8))
    report = points_jobs.release_due(db, clock)
    assert (report.members, report.skipped) == (1, 1)
    assert balances(db, frozen) == (0, 100)
    set_status(make_uow, frozen, "active")
    assert points_jobs.release_due(db, clock).points == 100
    assert_consistent(db)


def test_a_lot_pending_at_its_expiry_is_released_then_expired(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    clock.set(datetime(2026, 12, 30, 12, tzinfo=SHANGHAI))  # a Wednesday
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                  reference="o-1", key="e",
                                  occurred_at=datetime(2025, 12, 31, 12, tzinfo=SHANGHAI))
    clock.set(datetime(2027, 1, 5, tzinfo=SHANGHAI))
    assert points_jobs.release_due(db, clock).points == 0  # released at once: window passed
    assert points_jobs.expire_due(db, clock).points == 100
    assert_consistent(db)


# --- read side ------------------------------------------------------------------------

def test_summary_groups_what_expires_by_day_soonest_first(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 30, key="a")
    give(make_uow, member, 20, key="b")
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=40 * YUAN,
                                  reference="o-2025", key="e",
                                  occurred_at=datetime(2025, 5, 9, tzinfo=SHANGHAI))
    earn(make_uow, member, 70 * YUAN, "o-now")
    with db.session(readonly=True) as s:
        got = queries.summary(s, member, clock.now(), SHANGHAI)
    assert got == {"available": 90, "pending": 70, "expiring": [
        {"date": date(2026, 12, 31), "points": 40}, {"date": date(2027, 12, 31), "points": 50}]}


def test_statement_lists_every_movement_with_reason_reference_and_balances(make_uow, db,
                                                                        clock) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    with make_uow() as uow:
        service.award_bonus(uow, member_id=member, action="check_in", key="c")
    clock.advance(timedelta(days=7))
    points_jobs.release_due(db, clock)
    with make_uow() as uow:
        service.spend(uow, member_id=member, points=30, kind="deduction", reference="o-2",
                      key="s")
    with db.session(readonly=True) as s:
        lines = queries.statement(s, member)
        page = queries.statement(s, member, limit=2, before_entry_id=lines[1].entry_id)
    assert [(ln.kind, ln.reference, ln.available_change, ln.pending_change,
             ln.available_after, ln.pending_after) for ln in lines] == [
        ("points.deduction", "o-2", -30, 0, 75, 0),
        ("points.release", "o-1", 100, -100, 105, 0),
        ("points.bonus", None, 5, 0, 5, 100),
        ("points.earn", "o-1", 0, 100, 0, 100)]
    assert [ln.reason for ln in lines] == ["deduction o-2", "return window passed",
                                           "bonus: check_in", "purchase o-1"]
    assert [ln.entry_id for ln in page] == [ln.entry_id for ln in lines[2:4]]
    assert (page[0].available_after, page[0].pending_after) == (5, 100)


def test_lots_are_listed_newest_first_and_filterable(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 10, key="a")
    earn(make_uow, member, 20 * YUAN, "o-1")
    with db.session(readonly=True) as s:
        assert [lot.status for lot in queries.lots(s, member)] == ["pending", "available"]
        assert [lot.original for lot in queries.lots(s, member, status="available")] == [10]


def test_liability_is_outstanding_points_by_expiry_month_plus_pending(make_uow, db) -> None:
    one, two = new_member(make_uow, 1), new_member(make_uow, 2)
    give(make_uow, one, 100)
    give(make_uow, two, 50)
    earn(make_uow, two, 80 * YUAN, "o-1")
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=one, amount_paid=25 * YUAN,
                                  reference="o-2025", key="e",
                                  occurred_at=datetime(2025, 5, 9, tzinfo=SHANGHAI))
    with db.session(readonly=True) as s:
        report = queries.liability(s, SHANGHAI)
    assert report.as_dict() == {"available": 175, "pending": 80, "by_expiry_month": [
        {"month": "2026-12", "points": 25}, {"month": "2027-12", "points": 150}]}


def test_points_events_read_well_on_the_member_timeline(make_uow, db) -> None:
    member = new_member(make_uow)
    earn(make_uow, member, 100 * YUAN, "o-1")
    with make_uow() as uow:
        service.award_bonus(uow, member_id=member, action="check_in", key="c")
    with db.session(readonly=True) as s:
        texts = [e.summary for e in member_queries.timeline(s, member)]
    assert texts[:2] == ["Bonus 5 points for check_in",
                         "Earned 100 points from order (o-1), pending the return window"]
