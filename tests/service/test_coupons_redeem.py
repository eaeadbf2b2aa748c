"""Coupons on orders: evaluate and quote (nothing written), redeem exactly once (a retry of
the same order gets the same answer), every refusal typed with its reason and nothing
changed, release after a full refund while still valid, and the expiry job."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from memberops.coupons import codes, queries, service
from memberops.errors import Conflict, NotFound, RuleViolated, ValidationFailed
from memberops.jobs import coupons as jobs
from memberops.members import queries as member_queries
from memberops.members import service as members_service
from tests.conftest import SHANGHAI
from tests.coupons_helpers import (
    YUAN,
    audits,
    coupon_row,
    events,
    issue,
    new_member,
    order,
    reference,
    set_status,
    set_tier,
    snapshot,
    template,
)


def redeem(make_uow, member_id: int, coupons: list[str], ref: str = "o-1", amount: int = 0,
           **ctx):
    with make_uow() as uow:
        return service.redeem(uow, member_id=member_id, codes=coupons, order_ref=ref,
                              order_context=order(amount, **ctx))


def quote(make_uow, member_id: int, coupons: list[str], amount: int, **ctx):
    with make_uow(readonly=True) as uow:
        member = members_service.get_member(uow, member_id)
        return service.quote(uow.session, member, coupons, order(amount, **ctx),
                             now=uow.clock.now())


@pytest.fixture
def ref(make_uow) -> dict[str, int]:
    return reference(make_uow)


def test_quote_computes_without_writing(make_uow, db, ref) -> None:
    member = new_member(make_uow)
    code = issue(make_uow, ref["10-percent-off"], member)
    before = snapshot(db)
    [applied] = quote(make_uow, member, [codes.display(code).lower()], 333_33)
    assert (applied.code, applied.kind, applied.discount, applied.target) == (
        code, "percent_off", 33_33, "amount")
    [capped] = quote(make_uow, member, [code], 1_000 * YUAN)
    assert capped.discount == 50 * YUAN
    assert snapshot(db) == before


def test_redeem_marks_the_coupon_used_with_the_order_once(make_uow, db, ref) -> None:
    member = new_member(make_uow)
    code = issue(make_uow, ref["spend200-off30"], member)
    [applied] = redeem(make_uow, member, [code], "o-1", 250 * YUAN)
    assert applied.discount == 30 * YUAN
    c = coupon_row(db, code)
    assert (c.status, c.order_ref, c.discount) == ("used", "o-1", 30 * YUAN)
    [entry] = audits(db, "coupons.redeemed")
    assert entry.changes["coupons"]["after"] == {code: 3_000}
    [event] = events(db, "coupons.redeemed")
    assert (event["member_id"], event["order_ref"], event["discount"]) == (member, "o-1", 3_000)
    # the order retried: the same answer, nothing new
    before = snapshot(db)
    assert redeem(make_uow, member, [code], "o-1", 250 * YUAN) == [applied]
    assert snapshot(db) == before
    # another order: used
    with pytest.raises(Conflict) as err:
        redeem(make_uow, member, [code], "o-2", 250 * YUAN)
    assert err.value.code == "coupon_used" and "o-1" in err.value.detail
    assert snapshot(db) == before


def test_every_refusal_is_typed_and_changes_nothing(make_uow, db, ref, clock) -> None:
    member = new_member(make_uow)
    other = new_member(make_uow, 2)
    spend = issue(make_uow, ref["spend200-off30"], member)
    welcome = issue(make_uow, ref["welcome"], member)
    nine = issue(make_uow, ref["10-percent-off"], member)
    theirs = issue(make_uow, ref["spend200-off30"], other)
    set_tier(make_uow, member, "gold")
    clock.set(datetime(2026, 5, 1, tzinfo=SHANGHAI))
    bday_member = new_member(make_uow, 3, tier="silver", birthday=date(1990, 7, 2))
    birthday = issue(make_uow, ref["birthday"], bday_member)  # valid in July
    clock.set(datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI))
    before = snapshot(db)
    cases = [
        (member, ["NOPE-NOPE-NOPE"], 300 * YUAN, {}, NotFound, "coupon_not_found"),
        (member, ["hello"], 300 * YUAN, {}, NotFound, "coupon_not_found"),
        (member, [theirs], 300 * YUAN, {}, RuleViolated, "coupon_not_owned"),
        (member, [spend], 199_99, {}, RuleViolated, "coupon_threshold_not_met"),
        (member, [welcome], 300 * YUAN, {"prior": True}, RuleViolated,
         "coupon_first_order_only"),
        (member, [spend, nine], 300 * YUAN, {}, RuleViolated, "coupon_not_stackable"),
        (bday_member, [birthday], 300 * YUAN, {}, RuleViolated, "coupon_not_yet_valid"),
    ]
    for who, coupons, amount, ctx, error, code in cases:
        with pytest.raises(error) as err:
            redeem(make_uow, who, coupons, "o-bad", amount, **ctx)
        assert err.value.code == code, (coupons, err.value.code)
        assert err.value.detail
    clock.set(datetime(2026, 8, 1, tzinfo=SHANGHAI))  # July is over
    set_tier(make_uow, bday_member, "regular")
    with pytest.raises(RuleViolated) as err:
        redeem(make_uow, bday_member, [birthday], "o-bad", 300 * YUAN)
    assert err.value.code == "coupon_expired"
    clock.set(datetime(2026, 7, 5, tzinfo=SHANGHAI))
    with pytest.raises(RuleViolated) as err:
        redeem(make_uow, bday_member, [birthday], "o-bad", 300 * YUAN)
    assert err.value.code == "coupon_tier_ineligible"
    assert snapshot(db) == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"codes": ["A"] * 11}, "codes"),
    ({"codes": "ABCDEFGHJKMN"}, "codes"),
    ({"order_ref": " "}, "order_ref"),
    ({"order_ref": "x" * 121}, "order_ref"),
])
def test_bad_redeem_input_is_refused(make_uow, db, ref, kwargs, field) -> None:
    member = new_member(make_uow)
    code = issue(make_uow, ref["spend200-off30"], member)
    args = {"member_id": member, "codes": [code], "order_ref": "o-1",
            "order_context": order(300 * YUAN)} | kwargs
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as err, make_uow() as uow:
        service.redeem(uow, **args)
    assert field in [e["field"] for e in err.value.errors]
    with pytest.raises(ValidationFailed), make_uow() as uow:  # the same code twice
        service.redeem(uow, **(args | {"codes": [code, code.lower()]}))
    for bad in ({"amount": -1}, {"amount": 10.5}, {"amount": 1, "shipping_fee": -2}):
        with pytest.raises(ValidationFailed):
            service.context(**bad)
    assert snapshot(db) == before


def test_an_order_without_coupons_uses_none(make_uow, db, ref) -> None:
    member = new_member(make_uow)
    issue(make_uow, ref["spend200-off30"], member)
    before = snapshot(db)
    assert redeem(make_uow, member, [], "o-1", 300 * YUAN) == []
    assert quote(make_uow, member, [], 300 * YUAN) == []
    assert snapshot(db) == before


def test_a_frozen_member_cannot_redeem(make_uow, db, ref) -> None:
    member = new_member(make_uow)
    code = issue(make_uow, ref["spend200-off30"], member)
    set_status(make_uow, member, "frozen")
    with pytest.raises(RuleViolated) as err:
        redeem(make_uow, member, [code], "o-1", 300 * YUAN)
    assert err.value.code == "member_frozen"
    assert coupon_row(db, code).status == "issued"


def test_stackable_coupons_redeem_together(make_uow, db) -> None:
    off = template(make_uow, "off", stackable=True)
    ship = template(make_uow, "ship", kind="free_shipping", amount_off=None, min_spend=0,
                    max_discount=10 * YUAN, stackable=True)
    member = new_member(make_uow)
    a, b = issue(make_uow, off, member), issue(make_uow, ship, member)
    applied = redeem(make_uow, member, [b, a], "o-1", 300 * YUAN, shipping_fee=12 * YUAN)
    assert [(x.code, x.discount, x.target) for x in applied] == [
        (b, 10 * YUAN, "shipping"), (a, 30 * YUAN, "amount")]
    assert {coupon_row(db, c).status for c in (a, b)} == {"used"}
    assert len(audits(db, "coupons.redeemed")) == 1


def test_release_returns_valid_coupons_and_keeps_expired_ones_used(make_uow, db, ref,
                                                                   clock) -> None:
    short = template(make_uow, "short", valid_days=1, stackable=True, min_spend=0)
    long = template(make_uow, "long", valid_days=30, stackable=True, min_spend=0,
                    amount_off=5 * YUAN)
    member = new_member(make_uow)
    a, b = issue(make_uow, short, member), issue(make_uow, long, member)
    redeem(make_uow, member, [a, b], "o-1", 100 * YUAN)
    clock.advance(timedelta(days=3))  # the short one's window has closed
    with make_uow() as uow:
        done = service.release(uow, "o-1")
    assert (done.released, done.kept) == ([b], [a])
    released = coupon_row(db, b)
    assert (released.status, released.order_ref, released.discount) == ("issued", None, None)
    assert released.details["releases"][0]["order_ref"] == "o-1"
    assert coupon_row(db, a).status == "used"
    [event] = events(db, "coupons.released")
    assert (event["code"], event["order_ref"]) == (b, "o-1")
    before = snapshot(db)
    with make_uow() as uow:  # again: nothing left to release
        assert service.release(uow, "o-1") == service.Released([], [a])
    with make_uow() as uow:
        assert service.release(uow, "never-seen") == service.Released([], [])
    assert snapshot(db) == before
    # the released coupon can go on a new order
    assert redeem(make_uow, member, [b], "o-2", 100 * YUAN)[0].discount == 5 * YUAN


def test_expiry_job_is_idempotent_and_leaves_used_coupons_alone(make_uow, db, ref,
                                                                clock) -> None:
    member = new_member(make_uow)
    unused = issue(make_uow, ref["spend200-off30"], member)
    used = issue(make_uow, ref["10-percent-off"], member)
    later = issue(make_uow, ref["welcome"], member)  # 30 days
    redeem(make_uow, member, [used], "o-1", 100 * YUAN)
    clock.advance(timedelta(days=14))
    assert jobs.expire_due(db, clock).expired == 0  # valid through the 14th day
    clock.advance(timedelta(days=1))
    with make_uow(readonly=True) as uow:  # already reads expired before the job runs
        page = queries.member_coupons(uow.session, member, now=uow.clock.now(),
                                      status="expired")
        assert [c.code for c, _ in page.items] == [unused]
    assert jobs.expire_due(db, clock, batch=1).expired == 1
    assert [coupon_row(db, c).status for c in (unused, used, later)] == [
        "expired", "used", "issued"]
    assert coupon_row(db, unused).expired_at == clock.now()
    before = snapshot(db)
    assert jobs.expire_due(db, clock).expired == 0
    assert snapshot(db) == before
    [event] = events(db, "coupons.expired")
    assert (event["member_id"], event["code"]) == (member, unused)
    assert audits(db, "coupons.expired")[0].changes["expired"]["after"] == 1
    with pytest.raises(RuleViolated) as err:
        redeem(make_uow, member, [unused], "o-2", 300 * YUAN)
    assert err.value.code == "coupon_expired"


def test_expiry_in_batches(make_uow, db, clock) -> None:
    template_id = template(make_uow, "t", valid_days=1)
    members = [new_member(make_uow, n) for n in range(1, 8)]
    for m in members:
        issue(make_uow, template_id, m)
    clock.advance(timedelta(days=2))
    assert jobs.expire_due(db, clock, batch=3).expired == 7
    assert len(audits(db, "coupons.expired")) == 3  # one line per batch


def test_member_coupon_lists_filter_and_page(make_uow, db, ref) -> None:
    member = new_member(make_uow)
    made = [issue(make_uow, ref["spend200-off30"], member) for _ in range(5)]
    redeem(make_uow, member, [made[0]], "o-1", 300 * YUAN)
    with make_uow(readonly=True) as uow:
        now = uow.clock.now()
        first = queries.member_coupons(uow.session, member, now=now, limit=2)
        rest = queries.member_coupons(uow.session, member, now=now, limit=10,
                                      cursor=first.next_cursor)
        usable = queries.member_coupons(uow.session, member, now=now, status="usable")
        used = queries.member_coupons(uow.session, member, now=now, status="used")
    assert [c.code for c, _ in first.items + rest.items] == made[::-1]
    assert rest.next_cursor is None
    assert len(usable.items) == 4 and [c.code for c, _ in used.items] == [made[0]]
    with pytest.raises(ValidationFailed), make_uow(readonly=True) as uow:
        queries.member_coupons(uow.session, member, now=now, status="lost")
    with pytest.raises(ValidationFailed), make_uow(readonly=True) as uow:
        queries.member_coupons(uow.session, member, now=now, cursor="garbage!")
    with pytest.raises(NotFound), make_uow(readonly=True) as uow:
        queries.member_coupons(uow.session, 999, now=now)


def test_the_members_timeline_tells_the_coupon_story(make_uow, db, ref, clock) -> None:
    member = new_member(make_uow)
    code = issue(make_uow, ref["spend200-off30"], member)
    redeem(make_uow, member, [code], "o-7", 300 * YUAN)
    with make_uow() as uow:
        service.release(uow, "o-7")
    clock.advance(timedelta(days=20))
    jobs.expire_due(db, clock)
    with make_uow(readonly=True) as uow:
        lines = [e.summary for e in member_queries.timeline(uow.session, member)][:4]
    assert lines == [f"Coupon {code} expired unused",
                     f"Coupon {code} returned after the refund of o-7",
                     f"Coupon {code} used on order o-7: ¥30.00 off",
                     f"Coupon 满200减30 issued ({code}), usable through 2026-06-29"]


def test_one_unit_of_work_sees_its_own_redemptions_and_releases(make_uow, db, ref) -> None:
    # given a coupon, and one unit of work that places, refunds and places again (as the
    # demo and batch imports do): each step must see what the one before did
    member = new_member(make_uow)
    code = issue(make_uow, ref["spend200-off30"], member)
    with make_uow() as uow:
        def redeem_in_uow(order_ref: str) -> list:
            return service.redeem(uow, member_id=member, codes=[code], order_ref=order_ref,
                                  order_context=order(250 * YUAN))

        assert queries.candidates(uow.session, [code])[code].candidate.status == "issued"
        redeem_in_uow("o-1")
        assert queries.candidates(uow.session, [code])[code].candidate.status == "used"
        with pytest.raises(Conflict):  # used by o-1 in this very transaction
            redeem_in_uow("o-2")
        assert service.release(uow, "o-1").released == [code]
        assert queries.candidates(uow.session, [code])[code].candidate.status == "issued"
        [applied] = redeem_in_uow("o-3")
        assert applied.discount == 30 * YUAN
    assert coupon_row(db, code).order_ref == "o-3"
