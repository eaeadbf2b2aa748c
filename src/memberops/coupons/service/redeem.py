"""Coupons on an order: evaluate (no side effects), quote (the same, raising the first
refusal), redeem (exactly once, in the order's unit of work) and release (after a full
refund, while still valid).

These run inside every order that names a coupon, so they stay cheap: one indexed
statement reads the coupons with their templates' terms, and redeeming adds one
conditional UPDATE per coupon (`… WHERE status = 'issued'`, rowcount checked — of two
orders racing for one coupon exactly one gets it), one audit line and the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from memberops.audit import service as audit
from memberops.coupons import codes, queries, rules
from memberops.coupons.events import CouponRedeemed, CouponReleased
from memberops.coupons.models import Coupon
from memberops.coupons.rules import AppliedCoupon, Evaluation, OrderContext, Refusal
from memberops.coupons.schemas import MAX_CODES
from memberops.errors import Conflict, DomainError, NotFound, RuleViolated, field_error
from memberops.members import service as members_service
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork

COUPONS: Table = Coupon.__table__  # type: ignore[assignment]
# Built once (the order hot path). The WHERE on status is the guard: a coupon taken by a
# concurrent order no longer matches, and the rowcount says so.
MARK_USED = Prepared(update(COUPONS).where(COUPONS.c.id == bindparam("b_id"),
                                            COUPONS.c.member_id == bindparam("b_member"),
                                            COUPONS.c.status == "issued")
                      .values(status="used", order_ref=bindparam("b_order_ref"),
                              discount=bindparam("b_discount"), used_at=bindparam("b_now")))
MAX_REF = 120


class MemberLike(Protocol):
    """What the rules need of a member (a `members.models.Member` will do)."""

    @property
    def id(self) -> int: ...

    @property
    def tier(self) -> str: ...


def normalise_codes(raw: Sequence[str]) -> list[str]:
    """The codes as stored; a malformed one is kept (upper-cased) and will not be found.
    Refuses more than MAX_CODES, or one code twice; an empty list is an order without
    coupons."""
    if isinstance(raw, str) or len(raw) > MAX_CODES:
        raise field_error("codes", f"must list at most {MAX_CODES} coupon codes")
    result = []
    for text in raw:
        if not isinstance(text, str):
            raise field_error("codes", f"a coupon code is text, got {text!r}")
        try:
            result.append(codes.normalise(text))
        except ValueError:
            result.append(text.strip().upper()[:40])
    if len(set(result)) != len(result):
        raise field_error("codes", "a coupon code is listed twice")
    return result


def context(amount: object, shipping_fee: object = 0,
            has_prior_paid_order: object = False) -> OrderContext:
    """An order context from loose input, refusing bad values with the field named."""
    try:
        return OrderContext(amount, shipping_fee, has_prior_paid_order)  # type: ignore[arg-type]
    except ValueError as exc:
        field = str(exc).split(" ", 1)[0]
        raise field_error(field if field in ("amount", "shipping_fee",
                                             "has_prior_paid_order") else "order",
                          str(exc)) from None


def error_for(refusal: Refusal) -> DomainError:
    """The typed error a refused coupon raises (404 unknown, 409 used, else 422)."""
    if refusal.reason == rules.NOT_FOUND:
        return NotFound(refusal.detail, code=refusal.reason, coupon=refusal.code)
    if refusal.reason == rules.USED:
        return Conflict(refusal.detail, code=refusal.reason, coupon=refusal.code)
    return RuleViolated(refusal.detail, code=refusal.reason, coupon=refusal.code)


def _check_context(ctx: OrderContext) -> OrderContext:
    if not isinstance(ctx, OrderContext):
        raise field_error("order", "must be an OrderContext")
    return ctx


def evaluate(session: Session, member: MemberLike, codes_: Sequence[str], ctx: OrderContext,
             *, now: datetime) -> Evaluation:
    """Every coupon asked for, applied or refused with its reason; nothing is written."""
    wanted = normalise_codes(codes_)
    if not wanted:
        return Evaluation()
    found = queries.candidates(session, wanted)
    return rules.evaluate(wanted, {c: f.candidate for c, f in found.items()}, member.id,
                          member.tier, _check_context(ctx), now)


def quote(session: Session, member: MemberLike, codes_: Sequence[str], ctx: OrderContext,
          *, now: datetime) -> list[AppliedCoupon]:
    """What the coupons take off this order; raises the first refusal (typed, with its
    reason code). Pure evaluation: nothing is written."""
    result = evaluate(session, member, codes_, ctx, now=now)
    if result.refused:
        raise error_for(result.refused[0])
    return result.applied


def _check_ref(order_ref: object) -> str:
    if not isinstance(order_ref, str) or not 1 <= len(order_ref.strip()) <= MAX_REF:
        raise field_error("order_ref", f"must be 1–{MAX_REF} characters")
    return order_ref.strip()


def _replay(found: dict[str, queries.Found], wanted: list[str], member_id: int,
            order_ref: str) -> list[AppliedCoupon] | None:
    """The coupons as this order already took them, when it did (a retried order)."""
    taken = [found.get(code) for code in wanted]
    if not all(f is not None and f.candidate.status == "used"
               and f.candidate.order_ref == order_ref and f.candidate.member_id == member_id
               for f in taken):
        return None
    return [AppliedCoupon(f.candidate.code, f.candidate.coupon_id, f.candidate.template_id,
                          f.candidate.terms.kind, f.discount or 0,
                          rules.target_of(f.candidate.terms.kind), f.candidate.terms.gift_sku)
            for f in taken if f is not None]


def _require_active(uow: UnitOfWork, member_id: int) -> MemberLike:
    # The member row, locked (as every movement does first) and checked: member_not_found,
    # member_frozen or member_closed; one prepared statement, no ORM load (every order).
    return members_service.lock_active_id(uow, member_id)


def redeem(uow: UnitOfWork, *, member_id: int, codes: Sequence[str], order_ref: str,
           order_context: OrderContext) -> list[AppliedCoupon]:
    """Use the coupons on an order, exactly once: each is marked used with the order and
    its discount. A retry for the same order gets the same answer and changes nothing."""
    order_ref = _check_ref(order_ref)
    wanted = normalise_codes(codes)
    ctx = _check_context(order_context)
    if not wanted:
        return []
    member = _require_active(uow, member_id)
    found = queries.candidates(uow.session, wanted)
    if (again := _replay(found, wanted, member_id, order_ref)) is not None:
        return again
    now = uow.clock.now()
    result = rules.evaluate(wanted, {c: f.candidate for c, f in found.items()}, member_id,
                            member.tier, ctx, now)
    if result.refused:
        raise error_for(result.refused[0])
    for n, applied in enumerate(sorted(result.applied, key=lambda a: a.coupon_id)):
        # One order of locks (by id), so two orders wanting the same coupons never deadlock.
        marked = MARK_USED.rowcount(uow.session, {
            "b_id": applied.coupon_id, "b_member": member_id, "b_order_ref": order_ref,
            "b_discount": applied.discount, "b_now": now})
        queries.forget_candidates(uow.session)
        if marked == 1:
            continue
        # Taken since we read it. By a concurrent retry of this very order (it got there
        # first, and we changed nothing yet)? Then this is a replay too.
        if n == 0 and (again := _replay(queries.candidates(uow.session, wanted, fresh=True),
                                        wanted, member_id, order_ref)) is not None:
            return again
        raise Conflict(f"coupon {applied.code} was just used by another order",
                       code=rules.USED, coupon=applied.code)
    audit.record(uow, action="coupons.redeemed", target_type="member", target_id=member_id,
                 changes={"order_ref": {"before": None, "after": order_ref},
                          "coupons": {"before": None, "after": {
                              a.code: a.discount for a in result.applied}}})
    for a in result.applied:
        uow.emit(CouponRedeemed(member_id=member_id, coupon_id=a.coupon_id, code=a.code,
                                order_ref=order_ref, discount=a.discount, target=a.target))
    return result.applied


@dataclass(frozen=True)
class Released:
    """What a full refund did to the order's coupons: back in the member's hands, or kept
    used because their window has closed."""

    released: list[str]
    kept: list[str]


def release(uow: UnitOfWork, order_ref: str) -> Released:
    """After a full refund: the order's coupons that are still valid become usable again;
    the others stay used. Safe to call again (nothing is left to release)."""
    order_ref = _check_ref(order_ref)
    now = uow.clock.now()
    held = list(uow.session.execute(
        select(Coupon).where(Coupon.order_ref == order_ref, Coupon.status == "used")
        .order_by(Coupon.id).with_for_update().execution_options(populate_existing=True)
    ).scalars())
    back = [c for c in held if now < c.valid_until]
    for c in back:
        history = list((c.details or {}).get("releases", []))
        history.append({"order_ref": order_ref, "discount": c.discount, "at": now.isoformat()})
        c.details = {**(c.details or {}), "releases": history}
        c.status, c.order_ref, c.discount, c.used_at = "issued", None, None, None
        uow.emit(CouponReleased(member_id=c.member_id, coupon_id=c.id, code=c.code,
                                order_ref=order_ref))
    if back:
        queries.forget_candidates(uow.session)
        audit.record(uow, action="coupons.released", target_type="order", target_id=order_ref,
                     changes={"released": {"before": None, "after": [c.code for c in back]}})
    return Released([c.code for c in back], [c.code for c in held if c not in back])
