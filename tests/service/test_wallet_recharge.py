"""Recharges against a real database: the bonus scheme, the balance cap, payment callbacks,
risk rules and the review queue — given / when / then, consistency checked every time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict, Forbidden, NotFound, RuleViolated, ValidationFailed
from memberops.members import queries as member_queries
from memberops.points import queries as points_queries
from memberops.uow import Actor
from memberops.wallet import queries, service
from memberops.wallet.models import Recharge
from tests.wallet_helpers import (
    YUAN,
    assert_consistent,
    configure,
    new_member,
    set_status,
    snapshot,
    wallet,
)

FINANCE = Actor(kind="operator", id="7", name="finance-1", role="finance")
TILL = Actor(kind="api_key", id="8", name="till-1", role="till")


def recharge(make_uow, member_id: int, yuan: int, ref: str, **kw) -> Recharge:
    with make_uow() as uow:
        return service.recharge(uow, member_id=member_id, amount=yuan * YUAN,
                                payment_ref=ref, **kw)


def audit_actions(db, recharge_id: int) -> list[tuple[str, str | None]]:
    with db.session(readonly=True) as s:
        return [(a.action, a.reason) for a in s.execute(
            select(AuditEntry).where(AuditEntry.target_type == "recharge",
                                     AuditEntry.target_id == str(recharge_id))
            .order_by(AuditEntry.id)).scalars()]


def test_worked_example_of_the_programme(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    bonuses = []
    for n, yuan in enumerate((1_000, 500, 1_000, 1_000, 100)):
        clock.advance(timedelta(hours=1))  # not a burst: velocity stays out of it
        row = recharge(make_uow, member, yuan, f"pay-{n}")
        assert row.status == "settled"
        bonuses.append(row.bonus // YUAN)
    assert bonuses == [250, 80, 200, 200, 15]
    assert wallet(db, member) == {"principal": 360_000, "bonus": 74_500, "total": 434_500}
    with db.session(readonly=True) as s:
        last = queries.recharges(s, member, limit=1)[0]
        lots = queries.lots(s, member)
    assert last.bonus_breakdown == {"row": 1_000, "first_recharge": 0, "loyal": 500}
    assert [(lot.kind, lot.original) for lot in lots[:2]] == [("principal", 100_000),
                                                               ("bonus", 25_000)]
    assert_consistent(db, member)


def test_settling_posts_principal_and_bonus_in_one_entry_with_separate_lots(
        make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 500, "pay-1")
    with db.session(readonly=True) as s:
        lots = queries.lots(s, member)
        lines = queries.statement(s, member)
    assert {lot.entry_id for lot in lots} == {row.entry_id}
    assert [(lot.kind, lot.source, lot.reference) for lot in lots] == [
        ("principal", "recharge", "pay-1"), ("bonus", "recharge", "pay-1")]
    assert [(x.kind, x.principal, x.bonus, x.principal_after, x.bonus_after)
            for x in lines] == [("wallet.recharge", 50_000, 10_500, 50_000, 10_500)]
    assert_consistent(db, member)


def test_same_payment_ref_returns_the_first_recharge_and_other_content_is_409(
        make_uow, db) -> None:
    member, other = new_member(make_uow, 1), new_member(make_uow, 2)
    first = recharge(make_uow, member, 100, "pay-1")
    before = snapshot(db)
    again = recharge(make_uow, member, 100, "pay-1")
    assert again.id == first.id and snapshot(db) == before
    for who, yuan in ((member, 200), (other, 100)):
        with pytest.raises(Conflict) as err:
            recharge(make_uow, who, yuan, "pay-1")
        assert err.value.code == "payment_ref_reused"
    assert snapshot(db) == before


@pytest.mark.parametrize("amount", [0, -100, 99, 5_000_001, 10**13, 1.5, "100", True, None])
def test_bad_amounts_are_refused_and_change_nothing(make_uow, db, amount) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as err, make_uow() as uow:
        service.recharge(uow, member_id=member, amount=amount, payment_ref="pay-1")
    assert err.value.code == "validation_error"
    assert snapshot(db) == before


def test_unknown_member_is_404(make_uow, db) -> None:
    with pytest.raises(NotFound) as err:
        recharge(make_uow, 999, 100, "pay-1")
    assert err.value.code == "member_not_found"


def test_frozen_member_cannot_recharge_and_nothing_is_recorded(make_uow, db) -> None:
    member = new_member(make_uow)
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        recharge(make_uow, member, 100, "pay-1")
    assert err.value.code == "member_frozen"
    assert snapshot(db) == before
    set_status(make_uow, member, "active")
    assert recharge(make_uow, member, 100, "pay-1").status == "settled"
    assert_consistent(db, member)


def test_campaign_rows_apply_in_their_dates_and_segment(make_uow, db, clock) -> None:
    configure(make_uow, "recharge_scheme", campaigns=[
        {"code": "vip-june", "starts_on": "2026-06-10", "ends_on": "2026-06-20",
         "segment_tag": "vip", "bonus_rows": [{"min_amount": 100_000, "bonus": 30_000}]}])
    vip, plain = new_member(make_uow, 1, tags=["vip"]), new_member(make_uow, 2)
    assert recharge(make_uow, vip, 1_000, "v1").bonus_breakdown == {
        "campaign:vip-june": 30_000, "first_recharge": 5_000, "loyal": 0}
    assert recharge(make_uow, plain, 1_000, "p1").bonus == 25_000
    clock.set(clock.current.replace(day=21))
    assert recharge(make_uow, vip, 1_000, "v2").bonus == 20_000
    with db.session(readonly=True) as s:
        assert queries.recharges(s, vip)[0].scheme_version == 1
    assert_consistent(db, vip, plain)


def test_balance_cap_refuses_a_recharge_that_would_exceed_it(make_uow, db) -> None:
    configure(make_uow, "wallet", balance_cap=150_000)  # ¥1,500 in principal and bonus
    member = new_member(make_uow)
    recharge(make_uow, member, 1_000, "pay-1")  # 1,000 + 250 bonus = 1,250
    recharge(make_uow, member, 200, "pay-2")  # + 200 + 10 = 1,460: still under
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        recharge(make_uow, member, 100, "pay-3")  # + 100 + 10 = 1,570: over
    assert err.value.code == "balance_cap_exceeded"
    assert err.value.extra["cap"] == 150_000
    assert snapshot(db) == before
    assert wallet(db, member)["total"] == 146_000
    assert_consistent(db, member)


def test_balance_cap_counts_recharges_still_pending(make_uow, db) -> None:
    configure(make_uow, "wallet", balance_cap=150_000)
    member = new_member(make_uow)
    recharge(make_uow, member, 1_000, "pay-1", payment="pending")  # 1,250 outstanding
    with pytest.raises(RuleViolated) as err:
        recharge(make_uow, member, 500, "pay-2")
    assert err.value.code == "balance_cap_exceeded"


# --- payment callbacks ---------------------------------------------------------------

def confirm(make_uow, ref: str, outcome: str = "confirmed") -> Recharge:
    with make_uow() as uow:
        return service.confirm_payment(uow, payment_ref=ref, outcome=outcome)


def test_pending_recharge_settles_on_the_callback_once(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 1_000, "pay-1", payment="pending")
    assert (row.status, row.payment_status) == ("pending", "pending")
    assert wallet(db, member)["total"] == 0
    assert confirm(make_uow, "pay-1").status == "settled"
    before = snapshot(db)
    assert confirm(make_uow, "pay-1").status == "settled"  # the gateway retries: no-op
    assert snapshot(db) == before
    assert wallet(db, member) == {"principal": 100_000, "bonus": 25_000, "total": 125_000}
    with pytest.raises(Conflict) as err:
        confirm(make_uow, "pay-1", "failed")
    assert err.value.code == "payment_outcome_conflict"
    assert snapshot(db) == before
    assert_consistent(db, member)


def test_failed_payment_credits_nothing_and_cannot_be_confirmed_later(make_uow, db) -> None:
    member = new_member(make_uow)
    recharge(make_uow, member, 1_000, "pay-1", payment="pending")
    assert confirm(make_uow, "pay-1", "failed").status == "failed"
    assert confirm(make_uow, "pay-1", "failed").status == "failed"
    with pytest.raises(Conflict):
        confirm(make_uow, "pay-1")
    assert wallet(db, member)["total"] == 0
    with pytest.raises(NotFound) as err:
        confirm(make_uow, "nope")
    assert err.value.code == "payment_not_found"
    with pytest.raises(ValidationFailed):
        confirm(make_uow, "pay-1", "maybe")
    assert_consistent(db)


def test_frozen_member_is_not_credited_by_the_callback(make_uow, db) -> None:
    member = new_member(make_uow)
    recharge(make_uow, member, 1_000, "pay-1", payment="pending")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        confirm(make_uow, "pay-1")
    assert err.value.code == "member_frozen" and snapshot(db) == before
    assert confirm(make_uow, "pay-1", "failed").status == "failed"  # failing credits nothing
    assert_consistent(db)


# --- risk rules and the review queue -------------------------------------------------

def test_large_recharge_is_held_and_nothing_is_credited_before_approval(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 5_000, "big")
    assert (row.status, row.review_status, row.risk_rule) == (
        "pending_review", "held", "review_threshold")
    assert wallet(db, member)["total"] == 0
    with db.session(readonly=True) as s:
        assert [r.id for r in queries.review_queue(s)] == [row.id]
    with make_uow(FINANCE) as uow:
        approved = service.approve(uow, row.id, "customer known to the store")
    assert (approved.status, approved.review_status, approved.reviewed_by) == (
        "settled", "approved", "operator:finance-1")
    assert wallet(db, member) == {"principal": 500_000, "bonus": 45_000, "total": 545_000}
    assert audit_actions(db, row.id) == [
        ("risk.recharge_held", row.risk_reason), ("risk.review_approved",
                                                  "customer known to the store")]
    with db.session(readonly=True) as s:
        assert queries.review_queue(s) == []
    assert_consistent(db, member)


def test_a_second_review_decision_is_409_and_changes_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 6_000, "big")
    with make_uow(FINANCE) as uow:
        service.reject(uow, row.id, "looks like fraud")
    before = snapshot(db)
    for decide in (service.approve, service.reject):
        with pytest.raises(Conflict) as err, make_uow(FINANCE) as uow:
            decide(uow, row.id, "changed my mind")
        assert err.value.code == "review_already_decided"
    assert snapshot(db) == before
    assert wallet(db, member)["total"] == 0
    assert audit_actions(db, row.id)[-1] == ("risk.review_rejected", "looks like fraud")


def test_only_finance_or_admin_decide_and_a_reason_is_required(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 6_000, "big")
    before = snapshot(db)
    with pytest.raises(Forbidden), make_uow(TILL) as uow:
        service.approve(uow, row.id, "ok")
    with pytest.raises(ValidationFailed), make_uow(FINANCE) as uow:
        service.approve(uow, row.id, " ")
    with pytest.raises(NotFound), make_uow(FINANCE) as uow:
        service.approve(uow, 999, "ok ok")
    assert snapshot(db) == before


def test_held_recharge_paid_later_settles_only_after_approval(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 5_000, "big", payment="pending")
    held = confirm(make_uow, "big")
    assert (held.status, held.payment_status) == ("pending_review", "confirmed")
    assert wallet(db, member)["total"] == 0
    with make_uow(FINANCE) as uow:
        assert service.approve(uow, row.id, "verified by phone").status == "settled"
    assert wallet(db, member)["principal"] == 500_000
    assert_consistent(db, member)


def test_approval_before_payment_waits_for_the_callback(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 5_000, "big", payment="pending")
    with make_uow(FINANCE) as uow:
        approved = service.approve(uow, row.id, "verified by phone")
    assert (approved.status, approved.review_status) == ("pending", "approved")
    assert wallet(db, member)["total"] == 0
    assert confirm(make_uow, "big").status == "settled"
    assert wallet(db, member)["principal"] == 500_000
    assert_consistent(db, member)


def test_failed_payment_takes_a_held_recharge_out_of_the_queue(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 5_000, "big", payment="pending")
    assert confirm(make_uow, "big", "failed").status == "failed"
    with pytest.raises(Conflict) as err, make_uow(FINANCE) as uow:
        service.approve(uow, row.id, "too late")
    assert err.value.code == "recharge_not_held"


def test_frozen_member_cannot_be_approved_but_can_be_rejected(make_uow, db) -> None:
    member = new_member(make_uow)
    row = recharge(make_uow, member, 5_000, "big")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err, make_uow(FINANCE) as uow:
        service.approve(uow, row.id, "ok ok")
    assert err.value.code == "member_frozen" and snapshot(db) == before
    with make_uow(FINANCE) as uow:
        assert service.reject(uow, row.id, "frozen account").status == "rejected"
    assert wallet(db, member)["total"] == 0


def test_the_sixth_recharge_in_ten_minutes_is_rejected_recorded_and_audited(
        make_uow, db, clock) -> None:
    member = new_member(make_uow)
    for n in range(5):
        assert recharge(make_uow, member, 100, f"pay-{n}").status == "settled"
        clock.advance(timedelta(minutes=1))
    sixth = recharge(make_uow, member, 100, "pay-5")
    assert (sixth.status, sixth.risk_rule) == ("rejected", "velocity")
    assert wallet(db, member)["principal"] == 50_000
    assert audit_actions(db, sixth.id) == [("risk.recharge_rejected", sixth.risk_reason)]
    assert recharge(make_uow, member, 100, "pay-5").id == sixth.id  # a retry: same answer
    clock.advance(timedelta(minutes=6))  # the first ones leave the window
    assert recharge(make_uow, member, 100, "pay-6").status == "settled"
    assert_consistent(db, member)


def test_more_than_20000_yuan_in_a_day_is_rejected(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    for n in range(4):
        clock.advance(timedelta(minutes=20))
        assert recharge(make_uow, member, 4_900, f"pay-{n}").status == "settled"
    clock.advance(timedelta(minutes=20))
    assert recharge(make_uow, member, 401, "over").risk_rule == "daily_limit"
    assert recharge(make_uow, member, 400, "exact").status == "settled"  # 20,000 exactly
    clock.set(clock.current.replace(hour=0, minute=1) + timedelta(days=1))  # next day
    assert recharge(make_uow, member, 100, "tomorrow").status == "settled"
    assert_consistent(db, member)


def test_every_decision_is_audited_with_rule_and_reason(make_uow, db) -> None:
    member = new_member(make_uow)
    passed = recharge(make_uow, member, 100, "ok")
    held = recharge(make_uow, member, 5_000, "big")
    with db.session(readonly=True) as s:
        entries = {e.target_id: e for e in s.execute(select(AuditEntry).where(
            AuditEntry.target_type == "recharge")).scalars()}
    assert entries[str(passed.id)].action == "risk.recharge_passed"
    assert entries[str(held.id)].changes["rule"]["after"] == "review_threshold"
    assert entries[str(held.id)].reason.startswith("¥5,000.00 is at or above")


def test_wallet_events_read_on_the_timeline(make_uow, db) -> None:
    member = new_member(make_uow)
    recharge(make_uow, member, 1_000, "pay-1")
    with db.session(readonly=True) as s:
        lines = [t.summary for t in member_queries.timeline(s, member)]
    assert lines[:2] == ["Recharged ¥1,000.00 + bonus ¥250.00",
                         "Recharge ¥1,000.00 submitted (pay-1)"]


def test_closed_member_cannot_recharge(make_uow, db) -> None:
    member = new_member(make_uow)
    set_status(make_uow, member, "closed")
    with pytest.raises(RuleViolated) as err:
        recharge(make_uow, member, 100, "pay-1")
    assert err.value.code == "member_closed"


def test_campaign_dates_are_programme_dates(make_uow, db, clock) -> None:
    configure(make_uow, "recharge_scheme", campaigns=[
        {"code": "one-day", "starts_on": "2026-06-16", "ends_on": "2026-06-16",
         "bonus_rows": [{"min_amount": 10_000, "bonus": 5_000}]}])
    member = new_member(make_uow)
    clock.set(clock.current.replace(hour=23, minute=59))  # still the 15th in Shanghai
    assert recharge(make_uow, member, 100, "a").bonus_breakdown["row"] == 1_000
    clock.advance(timedelta(minutes=2))
    assert clock.today() == date(2026, 6, 16)
    assert recharge(make_uow, member, 100, "b").bonus_breakdown == {
        "campaign:one-day": 5_000, "first_recharge": 0, "loyal": 0}


# --- points awarded by recharges (through the points domain's `award`) ----------------

def points_of(db, clock, member_id: int) -> tuple[int, list[tuple[str, str | None, int]]]:
    with db.session(readonly=True) as s:
        available = points_queries.summary(s, member_id, clock.now())["available"]
        lots = [(lot.source, lot.reference, lot.original)
                for lot in points_queries.lots(s, member_id)]
    return available, lots


def test_referrer_gets_ten_percent_of_the_yuan_as_points_once(make_uow, db, clock) -> None:
    referrer = new_member(make_uow, 1)
    member = new_member(make_uow, 2, referrer_id=referrer)
    row = recharge(make_uow, member, 1_000, "pay-1")
    assert (row.referrer_id, row.referrer_points) == (referrer, 100)
    recharge(make_uow, member, 1_000, "pay-1")  # a retry awards nothing more
    assert points_of(db, clock, referrer) == (100, [("recharge_referral", "pay-1", 100)])
    assert points_of(db, clock, member)[0] == 0  # recharging earns no points by default
    assert_consistent(db, member)


def test_referral_points_wait_for_settlement_and_skip_a_frozen_referrer(
        make_uow, db, clock) -> None:
    referrer = new_member(make_uow, 1)
    member = new_member(make_uow, 2, referrer_id=referrer)
    recharge(make_uow, member, 500, "pay-1", payment="pending")
    assert points_of(db, clock, referrer)[0] == 0
    set_status(make_uow, referrer, "frozen")
    settled = confirm(make_uow, "pay-1")
    assert (settled.status, settled.referrer_points) == ("settled", 0)
    assert points_of(db, clock, referrer)[0] == 0
    assert wallet(db, member)["principal"] == 50_000


def test_campaign_points_go_to_the_recharging_member(make_uow, db, clock) -> None:
    configure(make_uow, "recharge_scheme", campaigns=[
        {"code": "points-june", "starts_on": "2026-06-01", "ends_on": "2026-06-30",
         "points_per_yuan": 1},
        {"code": "double-week", "starts_on": "2026-06-15", "ends_on": "2026-06-21",
         "points_multiplier_pct": 200}])
    member = new_member(make_uow)
    row = recharge(make_uow, member, 1_000, "pay-1")
    assert row.campaign_points == 2_000
    assert points_of(db, clock, member) == (2_000, [("recharge_campaign", "pay-1", 2_000)])
    held = recharge(make_uow, member, 5_000, "big")  # held: no points until it settles
    assert points_of(db, clock, member)[0] == 2_000
    with make_uow(FINANCE) as uow:
        service.approve(uow, held.id, "verified by phone")
    assert points_of(db, clock, member)[0] == 12_000
    assert_consistent(db, member)
