"""Paid-membership use cases: buy or renew, cancel under the 7-day rule, expire, record the
first use by an order, and settle a refund paid out of band.

`verb(uow, *, …)`: validate → lock (the member row first, then the subscription row) →
change → audit → emit. Money moves through the wallet's service (wallet payments and their
refunds) or outside the programme (external payments, recorded for finance). Services never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.errors import Conflict, NotFound, RuleViolated, field_error
from memberops.members import service as members_service
from memberops.money import Money
from memberops.plus import queries, rules
from memberops.plus.events import (
    PlusCancelled,
    PlusExpired,
    PlusFirstUsed,
    PlusPurchased,
    PlusRefundSettled,
)
from memberops.plus.models import PAYMENT_METHODS, PlusPeriod, PlusSubscription
from memberops.programme import service as programme_service
from memberops.programme.schemas import Plan, Plans
from memberops.uow import UnitOfWork
from memberops.wallet import queries as wallet_queries
from memberops.wallet import service as wallet_service

MAX_REF = 120
TRACKED = ("plan_code", "status", "started_at", "ends_at", "payment_method", "payment_ref",
           "price_paid", "extra_discount_pct", "points_multiplier_pct", "used_at",
           "cancelled_at")


@dataclass(frozen=True)
class Purchase:
    subscription: PlusSubscription
    period: PlusPeriod  # the period this purchase paid for


@dataclass(frozen=True)
class Cancellation:
    subscription: PlusSubscription
    period: PlusPeriod  # the latest period, the one the refund rule looked at
    terms: rules.CancelTerms
    refund_status: str  # none | refunded | due


# --- checks ---------------------------------------------------------------------------

def _check_ref(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_REF \
            or any(ch.isspace() for ch in value):
        raise field_error(field, f"must be 1–{MAX_REF} characters without spaces")
    return value


def _check_reason(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 2 <= len(text) <= 500:
        raise field_error("reason", "a reason of 2–500 characters is required")
    return text


def plan_for(uow: UnitOfWork, code: str) -> Plan:
    """The plan in force under this code, or a 422 naming the plans on sale."""
    plans = programme_service.current(uow.session, Plans).plans
    if code not in plans:
        on_sale = ", ".join(sorted(c for c, p in plans.items() if p.on_sale)) or "none"
        raise field_error("plan", f"unknown plan {code!r}; on sale: {on_sale}",
                          code="unknown_plan")
    return plans[code]


def _snapshot(sub: PlusSubscription | None) -> dict[str, Any]:
    if sub is None:
        return {}
    return {name: getattr(sub, name) for name in TRACKED}


def _lock_subscription(uow: UnitOfWork, member_id: int) -> PlusSubscription | None:
    # After the member row (lock order): the expiry job and first-use marking touch this
    # row without the member lock, so it is locked and re-read before any decision.
    return uow.session.execute(
        select(PlusSubscription).where(PlusSubscription.member_id == member_id)
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def _flush_unique(uow: UnitOfWork, field: str, value: str) -> None:
    # Two members' purchases racing for one reference: the unique index decides.
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"{field} {value!r} was already used", code=f"{field}_reused") from None


# --- buy / renew ----------------------------------------------------------------------

def buy(uow: UnitOfWork, *, member_id: int, plan: str, payment: str, payment_ref: str,
        amount: int | None = None) -> Purchase:
    """Buy or renew a paid membership, paid from the wallet or outside (external). A renewal
    extends from the current end while in force, else starts now. The same payment_ref and
    content return the first purchase; other content is 409 payment_ref_reused."""
    if payment not in PAYMENT_METHODS:
        raise field_error("payment", "must be wallet or external")
    _check_ref(payment_ref, "payment_ref")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise field_error("amount", "must be an integer number of fen")
    members_service.lock_active_id(uow, member_id)
    done = queries.period_by_ref(uow.session, payment_ref)
    if done is not None:
        return _same_purchase(uow, done, member_id, plan, payment, amount)
    terms = plan_for(uow, plan)
    if not terms.on_sale:
        raise RuleViolated(f"plan {plan!r} is not on sale", code="plan_not_on_sale")
    if amount is not None and amount != terms.price:
        raise RuleViolated(f"plan {plan!r} costs {Money(terms.price).format()}, not "
                           f"{Money(amount).format()}", code="price_mismatch",
                           price=terms.price)
    sub = _lock_subscription(uow, member_id)
    now = uow.clock.now()
    running = sub is not None and rules.in_force(sub.status, sub.started_at, sub.ends_at, now)
    if sub is not None and running and sub.plan_code != plan:
        raise RuleViolated(f"member {member_id} holds {sub.plan_code} until "
                           f"{sub.ends_at:%Y-%m-%d}; another plan can be bought once it ends",
                           code="other_plan_in_force")
    starts, ends = rules.next_term(now, terms.duration_months, uow.clock.tz,
                                   current_end=sub.ends_at if sub is not None and running
                                   else None)
    period = PlusPeriod(
        member_id=member_id, plan_code=plan, kind="purchase" if sub is None else "renewal",
        payment_method=payment, payment_ref=payment_ref, price=terms.price, starts_at=starts,
        ends_at=ends, extra_discount_pct=terms.extra_discount_pct,
        points_multiplier_pct=terms.points_multiplier_pct,
        cancel_within_days=terms.cancel_within_days, refund_status="none", refund_amount=0,
        created_at=now)
    uow.session.add(period)
    # The period first: of two members' purchases racing for one reference, the unique
    # index makes the second wait and then refuses it, before any money moves.
    _flush_unique(uow, "payment_ref", payment_ref)
    if payment == "wallet":
        _pay_from_wallet(uow, member_id, terms.price, payment_ref, plan)
    before = _snapshot(sub)
    sub = _apply_period(uow, sub, period, started_at=sub.started_at if running and sub
                        else starts)
    audit.record(uow, action=f"plus.{'purchased' if period.kind == 'purchase' else 'renewed'}",
                 target_type="plus_subscription", target_id=sub.id,
                 reason=f"{payment} {payment_ref}", changes=audit.diff(before, _snapshot(sub)))
    uow.emit(PlusPurchased(member_id=member_id, plan=plan, kind=period.kind,
                           payment_method=payment, payment_ref=payment_ref, price=period.price,
                           starts_at=starts, ends_at=ends))
    return Purchase(sub, period)


def _pay_from_wallet(uow: UnitOfWork, member_id: int, price: int, payment_ref: str,
                     plan: str) -> None:
    # The wallet would hand back an earlier payment under this reference if its content
    # matched; a purchase must be a new payment, so a reference the wallet knows is refused.
    if wallet_queries.payment_ref_used(uow.session, payment_ref):
        raise Conflict(f"payment_ref {payment_ref!r} was already used for a wallet payment",
                       code="payment_ref_reused")
    wallet_service.pay(uow, member_id=member_id, amount=price, payment_ref=payment_ref,
                       reference=f"plus:{plan}", key=f"plus:pay:{payment_ref}")


def _apply_period(uow: UnitOfWork, sub: PlusSubscription | None, period: PlusPeriod, *,
                  started_at: datetime) -> PlusSubscription:
    """The subscription after a new period: active, to the period's end, with its terms."""
    now = uow.clock.now()
    if sub is None:
        sub = PlusSubscription(member_id=period.member_id, created_at=now)
        uow.session.add(sub)
    sub.status, sub.started_at, sub.ends_at = "active", started_at, period.ends_at
    _take_terms(sub, period)
    sub.cancelled_at = sub.cancel_reason = None
    sub.updated_at = now
    uow.session.flush()
    return sub


def _take_terms(sub: PlusSubscription, period: PlusPeriod) -> None:
    sub.period_id, sub.plan_code = period.id, period.plan_code
    sub.payment_method, sub.payment_ref, sub.price_paid = (
        period.payment_method, period.payment_ref, period.price)
    sub.extra_discount_pct = period.extra_discount_pct
    sub.points_multiplier_pct = period.points_multiplier_pct
    sub.used_at, sub.used_order_ref = period.used_at, period.used_order_ref


def _same_purchase(uow: UnitOfWork, done: PlusPeriod, member_id: int, plan: str,
                   payment: str, amount: int | None) -> Purchase:
    if (done.member_id, done.plan_code, done.payment_method) != (member_id, plan, payment) \
            or (amount is not None and amount != done.price):
        raise Conflict(f"payment_ref {done.payment_ref!r} was already used for another "
                       "purchase", code="payment_ref_reused")
    sub = queries.subscription(uow.session, member_id)
    return Purchase(sub, done)


# --- cancel ---------------------------------------------------------------------------

def cancel(uow: UnitOfWork, *, member_id: int, reason: str) -> Cancellation:
    """Cancel the membership. Within the plan's days of the latest purchase and unused: that
    period is refunded in full (wallet: credited back; external: recorded as due) and taken
    away. Otherwise nothing is refunded and the benefits run to the end date."""
    reason = _check_reason(reason)
    members_service.lock_active_id(uow, member_id)
    sub = _lock_subscription(uow, member_id)
    if sub is None:
        raise NotFound(f"member {member_id} has no paid membership", code="plus_not_found")
    now = uow.clock.now()
    if sub.status == "cancelled":
        raise Conflict(f"member {member_id}'s {sub.plan_code} was already cancelled "
                       f"({sub.cancel_reason})", code="plus_already_cancelled")
    terms = queries.cancel_preview(uow.session, sub, now, uow.clock.tz)
    if terms is None:
        raise Conflict(f"member {member_id}'s {sub.plan_code} ended on "
                       f"{sub.ends_at:%Y-%m-%d}; there is nothing to cancel",
                       code="plus_not_active")
    latest = queries.period(uow.session, sub.period_id)
    before = _snapshot(sub)
    refund_status = _refund(uow, latest, terms) if terms.refunded else "none"
    if terms.refunded and terms.ends_at > now:
        # A renewal bought ahead was taken away: the earlier period in force has the terms.
        _take_terms(sub, _in_force_before(uow, latest))
    sub.status, sub.ends_at, sub.cancelled_at, sub.cancel_reason = (
        "cancelled", terms.ends_at, now, reason)
    sub.updated_at = now
    audit.record(uow, action="plus.cancelled", target_type="plus_subscription",
                 target_id=sub.id, reason=reason, changes=audit.diff(before, _snapshot(sub)))
    uow.emit(PlusCancelled(member_id=member_id, plan=latest.plan_code,
                           payment_ref=latest.payment_ref, refund=terms.refund,
                           refund_status=refund_status, refund_ref=latest.refund_ref,
                           ends_at=terms.ends_at, why=terms.why, reason=reason))
    return Cancellation(sub, latest, terms, refund_status)


def _refund(uow: UnitOfWork, latest: PlusPeriod, terms: rules.CancelTerms) -> str:
    now = uow.clock.now()
    refund_ref = f"plus-refund-{latest.id}"
    if latest.payment_method == "wallet":
        wallet_service.refund_payment(uow, payment_ref=latest.payment_ref,
                                      refund_ref=refund_ref, amount=terms.refund,
                                      key=f"plus:refund:{refund_ref}")
        latest.refund_status, latest.refunded_at = "refunded", now
    else:
        # The money was taken outside the programme: finance pays it back the same way
        # and records it (`settle_refund`); until then it is due.
        latest.refund_status = "due"
    latest.refund_ref, latest.refund_amount, latest.refund_requested_at = (
        refund_ref, terms.refund, now)
    _flush_unique(uow, "refund_ref", refund_ref)
    return latest.refund_status


def _in_force_before(uow: UnitOfWork, latest: PlusPeriod) -> PlusPeriod:
    earlier = uow.session.execute(
        select(PlusPeriod).where(PlusPeriod.member_id == latest.member_id,
                                 PlusPeriod.id < latest.id, PlusPeriod.refund_status == "none")
        .order_by(PlusPeriod.id.desc()).limit(1)).scalar_one_or_none()
    assert earlier is not None, latest.id  # time left before a renewal was paid by one
    return earlier


# --- expiry ---------------------------------------------------------------------------

def expire_member(uow: UnitOfWork, *, member_id: int, now: datetime) -> bool:
    """Mark an active membership past its end date expired; False when not due (so a rerun
    changes nothing). Frozen members expire too: no value moves."""
    sub = _lock_subscription(uow, member_id)
    if sub is None or sub.status != "active" or sub.ends_at > now:
        return False
    sub.status, sub.updated_at = "expired", uow.clock.now()
    audit.record(uow, action="plus.expired", target_type="plus_subscription", target_id=sub.id,
                 changes={"status": {"before": "active", "after": "expired"}})
    uow.emit(PlusExpired(member_id=member_id, plan=sub.plan_code, ended_at=sub.ends_at))
    return True


# --- first use by an order ------------------------------------------------------------

SUBSCRIPTIONS: Table = PlusSubscription.__table__  # type: ignore[assignment]
PERIODS: Table = PlusPeriod.__table__  # type: ignore[assignment]
_IN_FORCE = sorted(rules.IN_FORCE)
USE_ROW = (select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.period_id, SUBSCRIPTIONS.c.plan_code,
                  SUBSCRIPTIONS.c.used_at)
           .where(SUBSCRIPTIONS.c.member_id == bindparam("member_id"),
                  SUBSCRIPTIONS.c.status.in_(_IN_FORCE),
                  SUBSCRIPTIONS.c.started_at <= bindparam("now"),
                  SUBSCRIPTIONS.c.ends_at > bindparam("now")))
# Conditional on still being unused and in force: of two orders at once one records the
# first use, and an order never marks a membership a cancellation has just ended.
MARK_SUBSCRIPTION = (update(SUBSCRIPTIONS)
                     .where(SUBSCRIPTIONS.c.id == bindparam("sub_id"),
                            SUBSCRIPTIONS.c.used_at.is_(None),
                            SUBSCRIPTIONS.c.status.in_(_IN_FORCE),
                            SUBSCRIPTIONS.c.ends_at > bindparam("now"))
                     .values(used_at=bindparam("now"), used_order_ref=bindparam("order_ref"),
                             updated_at=bindparam("now")))
MARK_PERIOD = (update(PERIODS)
               .where(PERIODS.c.id == bindparam("period"), PERIODS.c.used_at.is_(None))
               .values(used_at=bindparam("now"), used_order_ref=bindparam("order_ref")))


def mark_used(uow: UnitOfWork, *, member_id: int, order_ref: str) -> bool:
    """Record that an order used the paid-membership benefits (call it in the order's unit
    of work, after `queries.benefits`). True when this was the first use since the latest
    purchase (no refund on cancelling from now on), False when already recorded; 422
    plus_not_active when no membership is in force any more (the order must not apply it)."""
    _check_ref(order_ref, "order_ref")
    now = uow.clock.now()
    row = uow.session.execute(USE_ROW, {"member_id": member_id, "now": now}).first()
    if row is None:
        raise RuleViolated(f"member {member_id} has no paid membership in force",
                           code="plus_not_active")
    if row.used_at is not None:
        return False
    marked = uow.session.execute(MARK_SUBSCRIPTION, {"sub_id": row.id, "now": now,
                                                     "order_ref": order_ref})
    if marked.rowcount == 0:  # type: ignore[attr-defined]
        # Another order got there first, or a cancellation ended it meanwhile: ask again.
        return _mark_lost(uow, member_id, now)
    uow.session.execute(MARK_PERIOD, {"period": row.period_id, "now": now,
                                      "order_ref": order_ref})
    audit.record(uow, action="plus.first_used", target_type="plus_subscription",
                 target_id=row.id, reason=f"order {order_ref}",
                 changes={"used_at": {"before": None, "after": now.isoformat()}})
    uow.emit(PlusFirstUsed(member_id=member_id, plan=row.plan_code, order_ref=order_ref))
    return True


def _mark_lost(uow: UnitOfWork, member_id: int, now: datetime) -> bool:
    if uow.session.execute(USE_ROW, {"member_id": member_id, "now": now}).first() is None:
        raise RuleViolated(f"member {member_id} has no paid membership in force",
                           code="plus_not_active")
    return False


# --- refunds paid outside -------------------------------------------------------------

def settle_refund(uow: UnitOfWork, *, refund_ref: str, settlement_ref: str) -> PlusPeriod:
    """Record that finance paid out a refund due on an external payment (the transfer's
    reference). Repeating it with the same reference returns the same refund."""
    _check_ref(refund_ref, "refund_ref")
    _check_ref(settlement_ref, "settlement_ref")
    row = uow.session.execute(
        select(PlusPeriod).where(PlusPeriod.refund_ref == refund_ref).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no paid-membership refund {refund_ref!r}", code="refund_not_found")
    if row.refund_status == "refunded":
        if row.settlement_ref == settlement_ref:
            return row
        how = f"paid out ({row.settlement_ref})" if row.settlement_ref \
            else "credited back to the wallet"
        raise Conflict(f"refund {refund_ref} was already {how}", code="refund_already_settled")
    now = uow.clock.now()
    row.refund_status, row.refunded_at, row.settlement_ref = "refunded", now, settlement_ref
    audit.record(uow, action="plus.refund_settled", target_type="plus_period",
                 target_id=row.id, reason=f"settlement {settlement_ref}",
                 changes={"refund_status": {"before": "due", "after": "refunded"}})
    uow.emit(PlusRefundSettled(member_id=row.member_id, refund_ref=refund_ref,
                               amount=row.refund_amount, settlement_ref=settlement_ref))
    return row
