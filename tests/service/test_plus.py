"""Paid membership against a real database: buying with the wallet or outside, renewal from
the end date, the 7-day cancellation rule with its refunds, first use by an order, expiry,
benefits for orders, lists — and refusals that change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict, DomainError, InsufficientBalance, NotFound, RuleViolated
from memberops.jobs import plus as plus_jobs
from memberops.members import queries as member_queries
from memberops.outbox import OutboxEvent
from memberops.plus import queries, service
from memberops.wallet import queries as wallet_queries
from memberops.wallet import service as wallet_service
from tests.conftest import SHANGHAI
from tests.plus_helpers import (
    PRICE,
    assert_consistent,
    buy,
    everything,
    funded,
    new_member,
    subscription,
    wallet,
)
from tests.wallet_helpers import configure, set_status

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def benefits(db, member_id: int, at: datetime):
    with db.session(readonly=True) as s:
        return queries.benefits(s, member_id, at)


def cancel(make_uow, member_id: int, reason: str = "changed my mind") -> service.Cancellation:
    with make_uow() as uow:
        return service.cancel(uow, member_id=member_id, reason=reason)


def mark_used(make_uow, member_id: int, order_ref: str) -> bool:
    with make_uow() as uow:
        return service.mark_used(uow, member_id=member_id, order_ref=order_ref)


def events(db, member_id: int) -> list[str]:
    with db.session(readonly=True) as s:
        return list(s.execute(select(OutboxEvent.event_type)
                              .where(OutboxEvent.member_id == member_id,
                                     OutboxEvent.event_type.like("plus.%"))
                              .order_by(OutboxEvent.id)).scalars())


def audit_actions(db) -> list[str]:
    with db.session(readonly=True) as s:
        return list(s.execute(select(AuditEntry.action).where(AuditEntry.action.like("plus.%"))
                              .order_by(AuditEntry.id)).scalars())


# --- buying ---------------------------------------------------------------------------

def test_buying_with_the_wallet_takes_99_yuan_for_a_year(make_uow, db) -> None:
    member = funded(make_uow)  # 10,000 principal + 1,500 bonus
    done = buy(make_uow, member, "plus-1")
    sub = subscription(db, member)
    assert (sub.status, sub.plan_code, sub.price_paid, sub.payment_method, sub.payment_ref) == (
        "active", "PLUS", PRICE, "wallet", "plus-1")
    assert (sub.started_at, sub.ends_at) == (NOW, sh(2027, 6, 15, 10))
    assert (done.period.kind, done.period.price, done.period.starts_at) == ("purchase", PRICE,
                                                                            NOW)
    # paid like any wallet payment: 9,900 of 11,500 in proportion, 1% cashback as bonus
    assert wallet(db, member)["total"] == 11_500 - PRICE + 99
    with db.session(readonly=True) as s:
        payment = wallet_queries.payment_by_ref(s, "plus-1")
    assert payment is not None and (payment.amount, payment.reference) == (PRICE, "plus:PLUS")
    assert events(db, member) == ["plus.purchased"]
    assert audit_actions(db) == ["plus.purchased"]
    assert benefits(db, member, NOW) == queries.rules.PlusBenefits(
        plan_code="PLUS", extra_discount_pct=3, points_multiplier_pct=150,
        ends_at=sh(2027, 6, 15, 10))
    assert_consistent(db, member)


def test_buying_with_an_external_payment_records_it_and_leaves_the_wallet(make_uow,
                                                                         db) -> None:
    member = new_member(make_uow)
    done = buy(make_uow, member, "wx-4200001", payment="external", amount=PRICE)
    assert (done.period.payment_method, done.period.payment_ref, done.period.price) == (
        "external", "wx-4200001", PRICE)
    assert wallet(db, member) == {"principal": 0, "bonus": 0, "total": 0}
    assert subscription(db, member).status == "active"
    assert_consistent(db)


def test_renewal_while_active_extends_from_the_end_date(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "p1", payment="external")
    clock.advance(timedelta(days=300))
    renewal = buy(make_uow, member, "p2", payment="external").period
    assert (renewal.kind, renewal.starts_at, renewal.ends_at) == (
        "renewal", sh(2027, 6, 15, 10), sh(2028, 6, 15, 10))
    sub = subscription(db, member)
    assert (sub.started_at, sub.ends_at, sub.payment_ref) == (NOW, sh(2028, 6, 15, 10), "p2")
    assert events(db, member) == ["plus.purchased", "plus.purchased"]
    assert audit_actions(db) == ["plus.purchased", "plus.renewed"]


def test_renewal_after_expiry_starts_now(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "p1", payment="external")
    clock.set(sh(2027, 9, 1, 15))
    assert plus_jobs.expire_due(db, clock).expired == 1
    renewal = buy(make_uow, member, "p2", payment="external").period
    assert (renewal.kind, renewal.starts_at, renewal.ends_at) == (
        "renewal", sh(2027, 9, 1, 15), sh(2028, 9, 1, 15))
    sub = subscription(db, member)
    assert (sub.status, sub.started_at, sub.ends_at) == (
        "active", sh(2027, 9, 1, 15), sh(2028, 9, 1, 15))
    # the gap has no benefits; the new term has
    assert benefits(db, member, sh(2027, 8, 1)) is None
    assert benefits(db, member, sh(2027, 9, 2)) is not None


def test_the_same_purchase_reference_returns_the_first_purchase(make_uow, db) -> None:
    member = funded(make_uow)
    first = buy(make_uow, member, "plus-1")
    before = everything(db)
    again = buy(make_uow, member, "plus-1", amount=PRICE)
    assert again.period.id == first.period.id
    assert everything(db) == before  # no second debit, no second year


def test_plan_terms_are_copied_at_purchase_and_a_price_change_applies_to_renewals(
        make_uow, db) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "p1", payment="external")
    configure(make_uow, "plans", plans={"PLUS": {"name": "PLUS", "price": 12_900,
                                                 "extra_discount_pct": 5}})
    assert benefits(db, member, NOW).extra_discount_pct == 3  # what was bought
    renewal = buy(make_uow, member, "p2", payment="external").period
    assert (renewal.price, renewal.extra_discount_pct) == (12_900, 5)
    assert benefits(db, member, NOW).extra_discount_pct == 5


# --- refusals -------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "error", "code"), [
    ({"plan": "GOLDPASS"}, DomainError, "unknown_plan"),
    ({"payment": "cash"}, DomainError, "validation_error"),
    ({"ref": "has space"}, DomainError, "validation_error"),
    ({"ref": ""}, DomainError, "validation_error"),
    ({"amount": 9_800}, RuleViolated, "price_mismatch"),
])
def test_bad_purchases_are_refused_and_change_nothing(make_uow, db, kwargs, error,
                                                      code) -> None:
    member = funded(make_uow)
    before = everything(db)
    args = {"ref": "p1", **kwargs}
    with pytest.raises(error) as err:
        buy(make_uow, member, args.pop("ref"), **args)
    assert err.value.code == code
    assert err.value.status in (400, 404, 409, 422)
    assert everything(db) == before


def test_a_short_wallet_is_refused_with_the_wallets_error(make_uow, db) -> None:
    member = funded(make_uow, amount=5_000)  # ¥50 + 5% first recharge = 5,250
    before = everything(db)
    with pytest.raises(InsufficientBalance) as err:
        buy(make_uow, member, "p1")
    assert err.value.code == "insufficient_balance"
    assert everything(db) == before
    with pytest.raises(NotFound):
        subscription(db, member)


def test_frozen_and_closed_members_cannot_buy(make_uow, db) -> None:
    frozen, closed = funded(make_uow, 1), funded(make_uow, 2)
    set_status(make_uow, frozen, "frozen")
    set_status(make_uow, closed, "closed")
    before = everything(db)
    for member, code in ((frozen, "member_frozen"), (closed, "member_closed")):
        for payment in ("wallet", "external"):
            with pytest.raises(RuleViolated) as err:
                buy(make_uow, member, f"p-{member}-{payment}", payment=payment)
            assert err.value.code == code
    with pytest.raises(NotFound) as missing:
        buy(make_uow, 999, "p-x", payment="external")
    assert missing.value.code == "member_not_found"
    assert everything(db) == before


def test_a_reused_reference_with_other_content_is_409_and_changes_nothing(make_uow,
                                                                         db) -> None:
    member, other = funded(make_uow, 1), funded(make_uow, 2)
    buy(make_uow, member, "plus-1")
    before = everything(db)
    for who, payment, amount in ((member, "external", None), (other, "wallet", None),
                                 (member, "wallet", 9_800)):
        with pytest.raises(Conflict) as err:
            buy(make_uow, who, "plus-1", payment=payment, amount=amount)
        assert err.value.code == "payment_ref_reused"
    # a reference the wallet already used for an order's payment is not a purchase
    with make_uow() as uow:
        wallet_service.pay(uow, member_id=other, amount=100, payment_ref="order-9")
    before = everything(db)
    with pytest.raises(Conflict) as err:
        buy(make_uow, other, "order-9")
    assert err.value.code == "payment_ref_reused"
    assert everything(db) == before


def test_plans_off_sale_and_another_plan_in_force_are_refused(make_uow, db) -> None:
    member = new_member(make_uow)
    configure(make_uow, "plans", plans={
        "PLUS": {"name": "PLUS", "price": 9_900},
        "FAMILY": {"name": "Family", "price": 19_900, "on_sale": True},
        "OLD": {"name": "Old", "price": 5_000, "on_sale": False}})
    buy(make_uow, member, "p1", payment="external")
    before = everything(db)
    with pytest.raises(RuleViolated) as off:
        buy(make_uow, member, "p2", payment="external", plan="OLD")
    assert off.value.code == "plan_not_on_sale"
    with pytest.raises(RuleViolated) as other:
        buy(make_uow, member, "p3", payment="external", plan="FAMILY")
    assert other.value.code == "other_plan_in_force"
    assert everything(db) == before


# --- cancelling -----------------------------------------------------------------------

def test_cancel_within_7_days_unused_refunds_the_wallet_in_full(make_uow, db, clock) -> None:
    member = funded(make_uow)
    start = wallet(db, member)
    buy(make_uow, member, "plus-1")
    clock.set(sh(2026, 6, 22, 23, 59))  # the 7th day after the purchase day
    done = cancel(make_uow, member)
    assert (done.terms.refund, done.refund_status, done.terms.why) == (
        PRICE, "refunded", "within_window_unused")
    # principal, bonus and the cashback: all back where they were, nothing left over
    assert wallet(db, member) == start
    sub = subscription(db, member)
    assert (sub.status, sub.ends_at, sub.cancel_reason) == (
        "cancelled", sh(2026, 6, 22, 23, 59), "changed my mind")
    assert benefits(db, member, clock.now()) is None
    with db.session(readonly=True) as s:
        period = queries.periods(s, member)[0]
        refund = wallet_queries.refund_by_ref(s, period.refund_ref)
    assert (period.refund_status, period.refund_amount) == ("refunded", PRICE)
    assert refund is not None and refund.amount == PRICE
    assert events(db, member) == ["plus.purchased", "plus.cancelled"]
    assert_consistent(db, member)


def test_cancel_within_7_days_of_an_external_payment_leaves_a_refund_due(make_uow, db,
                                                                          clock) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "wx-1", payment="external")
    clock.advance(timedelta(days=2))
    done = cancel(make_uow, member)
    assert (done.terms.refund, done.refund_status) == (PRICE, "due")
    with db.session(readonly=True) as s:
        due = queries.refunds(s, status="due").items
    assert [(p.refund_ref, p.payment_ref, p.refund_amount) for p in due] == [
        (done.period.refund_ref, "wx-1", PRICE)]
    with make_uow() as uow:
        paid = service.settle_refund(uow, refund_ref=done.period.refund_ref,
                                     settlement_ref="bank-77")
    assert (paid.refund_status, paid.settlement_ref) == ("refunded", "bank-77")
    before = everything(db)
    with make_uow() as uow:  # the same again: the same answer, nothing new
        service.settle_refund(uow, refund_ref=done.period.refund_ref, settlement_ref="bank-77")
    with pytest.raises(Conflict) as err, make_uow() as uow:
        service.settle_refund(uow, refund_ref=done.period.refund_ref, settlement_ref="bank-78")
    assert err.value.code == "refund_already_settled"
    with pytest.raises(NotFound) as missing, make_uow() as uow:
        service.settle_refund(uow, refund_ref="plus-refund-999", settlement_ref="bank-78")
    assert missing.value.code == "refund_not_found"
    assert everything(db) == before
    assert wallet(db, member)["total"] == 0


def test_cancel_after_7_days_refunds_nothing_and_runs_to_the_end(make_uow, db, clock) -> None:
    member = funded(make_uow)
    buy(make_uow, member, "plus-1")
    after_purchase = wallet(db, member)
    clock.set(sh(2026, 6, 23, 0, 0))
    done = cancel(make_uow, member, "moving away")
    assert (done.terms.refund, done.refund_status, done.terms.why) == (0, "none",
                                                                       "window_passed")
    assert wallet(db, member) == after_purchase
    sub = subscription(db, member)
    assert (sub.status, sub.ends_at) == ("cancelled", sh(2027, 6, 15, 10))
    assert benefits(db, member, sh(2027, 6, 15, 9)) is not None  # until the end date
    assert benefits(db, member, sh(2027, 6, 15, 10)) is None
    assert_consistent(db, member)


def test_cancel_after_use_refunds_nothing_even_within_7_days(make_uow, db, clock) -> None:
    member = funded(make_uow)
    buy(make_uow, member, "plus-1")
    clock.advance(timedelta(hours=1))
    assert mark_used(make_uow, member, "order-1") is True
    assert mark_used(make_uow, member, "order-2") is False  # the first use is kept
    sub = subscription(db, member)
    assert (sub.used_at, sub.used_order_ref) == (clock.now(), "order-1")
    done = cancel(make_uow, member)
    assert (done.terms.refund, done.terms.why) == (0, "used")
    assert events(db, member) == ["plus.purchased", "plus.first_used", "plus.cancelled"]


def test_refunding_a_renewal_bought_ahead_keeps_the_year_already_used(make_uow, db,
                                                                      clock) -> None:
    member = funded(make_uow, amount=50_000)
    buy(make_uow, member, "p1")
    clock.advance(timedelta(days=30))
    mark_used(make_uow, member, "order-1")  # the first year is used
    clock.advance(timedelta(days=300))
    buy(make_uow, member, "p2")  # renewed ahead: runs 2027-06-15 → 2028-06-15
    paid = wallet(db, member)
    clock.advance(timedelta(days=3))
    done = cancel(make_uow, member)
    assert (done.terms.refund, done.period.payment_ref) == (PRICE, "p2")
    sub = subscription(db, member)
    assert (sub.status, sub.ends_at, sub.payment_ref, sub.used_order_ref) == (
        "cancelled", sh(2027, 6, 15, 10), "p1", "order-1")
    assert wallet(db, member)["total"] == paid["total"] + PRICE - 99  # cashback taken back
    assert benefits(db, member, clock.now()) is not None
    assert_consistent(db, member)


def test_buying_again_after_a_cancellation_reactivates_from_the_end(make_uow, db,
                                                                    clock) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "p1", payment="external")
    clock.advance(timedelta(days=10))
    cancel(make_uow, member)  # no refund: runs to 2027-06-15
    buy(make_uow, member, "p2", payment="external")
    sub = subscription(db, member)
    assert (sub.status, sub.ends_at, sub.cancelled_at, sub.cancel_reason) == (
        "active", sh(2028, 6, 15, 10), None, None)


def test_cancel_refusals_change_nothing(make_uow, db, clock) -> None:
    never, twice, ended = new_member(make_uow, 1), new_member(make_uow, 2), new_member(
        make_uow, 3)
    buy(make_uow, twice, "p2", payment="external")
    buy(make_uow, ended, "p3", payment="external")
    clock.advance(timedelta(days=10))
    cancel(make_uow, twice)
    clock.set(sh(2027, 7, 1))
    before = everything(db)
    for member, code, error in ((never, "plus_not_found", NotFound),
                                (999, "member_not_found", NotFound),
                                (twice, "plus_already_cancelled", Conflict),
                                (ended, "plus_not_active", Conflict)):
        with pytest.raises(error) as err:
            cancel(make_uow, member)
        assert err.value.code == code, member
    with pytest.raises(DomainError) as err:
        cancel(make_uow, ended, reason=" ")
    assert err.value.code == "validation_error"
    set_status(make_uow, ended, "frozen")
    before = everything(db)
    with pytest.raises(RuleViolated) as frozen:
        cancel(make_uow, ended)
    assert frozen.value.code == "member_frozen"
    assert everything(db) == before


# --- first use, expiry, benefits ------------------------------------------------------

def test_first_use_needs_a_membership_in_force(make_uow, db, clock) -> None:
    member, other = new_member(make_uow, 1), new_member(make_uow, 2)
    with pytest.raises(RuleViolated) as err:
        mark_used(make_uow, other, "order-1")
    assert err.value.code == "plus_not_active"
    buy(make_uow, member, "p1", payment="external")
    cancel(make_uow, member)  # refunded at once: ended
    with pytest.raises(RuleViolated) as err:
        mark_used(make_uow, member, "order-2")
    assert err.value.code == "plus_not_active"


def test_benefits_apply_only_within_the_term(make_uow, db) -> None:
    member = new_member(make_uow)
    assert benefits(db, member, NOW) is None
    buy(make_uow, member, "p1", payment="external")
    assert benefits(db, member, NOW - timedelta(seconds=1)) is None
    assert benefits(db, member, sh(2027, 6, 15, 9, 59)).points_multiplier_pct == 150
    assert benefits(db, member, sh(2027, 6, 15, 10)) is None  # even before the job ran


def test_expiry_job_expires_what_is_due_once(make_uow, db, clock) -> None:
    early, late, cancelled, frozen = (new_member(make_uow, n) for n in range(1, 5))
    buy(make_uow, early, "p1", payment="external")
    buy(make_uow, cancelled, "p3", payment="external")
    buy(make_uow, frozen, "p4", payment="external")
    clock.advance(timedelta(days=60))
    buy(make_uow, late, "p2", payment="external")
    cancel(make_uow, cancelled)  # past 7 days: runs to its end, stays cancelled
    set_status(make_uow, frozen, "frozen")
    clock.set(sh(2027, 7, 1))
    seen: list[tuple[int, int]] = []
    report = plus_jobs.expire_due(db, clock, progress=lambda d, t: seen.append((d, t)))
    assert (report.due, report.expired) == (2, 2)
    assert seen == [(0, 2), (1, 2), (2, 2)]
    statuses = {m: subscription(db, m).status for m in (early, late, cancelled, frozen)}
    assert statuses == {early: "expired", late: "active", cancelled: "cancelled",
                        frozen: "expired"}
    before = everything(db)
    assert plus_jobs.expire_due(db, clock) == plus_jobs.ExpiryReport(due=0, expired=0)
    assert everything(db) == before
    assert events(db, early) == ["plus.purchased", "plus.expired"]
    with db.session(readonly=True) as s:
        line = member_queries.timeline(s, early, limit=1)[0]
    assert line.summary == "PLUS membership expired" and line.actor == "system:plus.expire"


def test_expiring_one_member_is_idempotent_and_respects_a_renewal(make_uow, db,
                                                                  clock) -> None:
    member = new_member(make_uow)
    buy(make_uow, member, "p1", payment="external")
    clock.set(sh(2027, 6, 15, 10))
    with make_uow() as uow:  # not yet: the job's list was read before a renewal
        buy_now = service.buy(uow, member_id=member, plan="PLUS", payment="external",
                              payment_ref="p2")
    assert buy_now.period.kind == "renewal"
    with make_uow() as uow:
        assert service.expire_member(uow, member_id=member, now=clock.now()) is False
    assert subscription(db, member).status == "active"


# --- lists ----------------------------------------------------------------------------

def test_list_by_status_and_plan_with_keyset_pages_sorted_by_end(make_uow, db,
                                                                 clock) -> None:
    members = []
    for n in range(1, 8):
        member = new_member(make_uow, n)
        buy(make_uow, member, f"p{n}", payment="external")
        members.append(member)
        clock.advance(timedelta(days=1) if n % 2 else timedelta(0))  # some share an end
    cancel(make_uow, members[0])
    seen, cursor = [], None
    with db.session(readonly=True) as s:
        while True:
            page = queries.search(s, status="active", plan="PLUS", limit=2, cursor=cursor,
                                  sort="ends_at")
            seen += [(x.ends_at, x.member_id) for x in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == sorted(seen) and len(seen) == 6
        assert {m for _, m in seen} == set(members[1:])
        newest = queries.search(s, limit=3).items
        assert [x.member_id for x in newest] == members[::-1][:3]
        assert [x.member_id for x in queries.search(s, status="cancelled").items] == \
            [members[0]]
        assert queries.search(s, plan="FAMILY").items == []
        for bad in ({"status": "gold"}, {"sort": "name"}, {"cursor": "nonsense"},
                    {"limit": 0}):
            with pytest.raises(DomainError) as err:
                queries.search(s, **bad)
            assert err.value.status == 422


def test_timeline_reads_like_a_sentence(make_uow, db, clock) -> None:
    member = funded(make_uow)
    buy(make_uow, member, "plus-1")
    clock.advance(timedelta(days=1))
    cancel(make_uow, member, "too expensive")
    with db.session(readonly=True) as s:
        lines = [e.summary for e in member_queries.timeline(s, member)
                 if e.kind.startswith("plus.")]
    assert lines == ["Cancelled PLUS: refund ¥99.00 (refunded) — too expensive",
                     "Bought PLUS for ¥99.00 (wallet), until 2027-06-15"]
