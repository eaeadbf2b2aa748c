"""Committing an order: one unit of work that prices it, redeems the coupons, spends the
points, pays from the wallet, earns points (pending for the return window), counts it for
the tier, and records it — or changes nothing.

Locks, in the house order (members.lock_active): the member row first, then whatever the
steps lock (coupon rows, the referrer's member row, ledger balances in address order).
The referral bonus is awarded before any of the member's ledger balances is locked, as a
recharge does, so the referrer's row is never wanted while a balance is held.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.coupons import service as coupons_service
from memberops.errors import Conflict
from memberops.members import service as members_service
from memberops.members.models import Member
from memberops.orders.events import OrderPlaced
from memberops.orders.models import Order, OrderLine
from memberops.orders.schemas import OrderCreate
from memberops.orders.service.pricing import MemberView, Priced, price, request_hash
from memberops.plus import service as plus_service
from memberops.points import service as points_service
from memberops.prepared import Prepared
from memberops.tiers import service as tiers_service
from memberops.uow import UnitOfWork
from memberops.wallet import service as wallet_service


def wallet_payment_ref(order_ref: str) -> str:
    return f"order:{order_ref}"


def member_view(uow: UnitOfWork, member_id: int) -> tuple[MemberView, int | None]:
    """Lock the member (active only): what pricing needs, and who referred them."""
    locked = members_service.lock_active_id(uow, member_id)
    return MemberView(member_id, locked.tier, locked.birthday), locked.referrer_id


def quote(uow: UnitOfWork, order: OrderCreate) -> Priced:
    """The order as it would be committed now; nothing is written (read-only unit of work:
    the member is read, not locked)."""
    member = uow.session.get(Member, order.member_id)
    if member is None:
        members_service.lock_active_id(uow, order.member_id)  # raises member_not_found
    assert member is not None
    if member.status != "active":
        members_service.lock_active_id(uow, order.member_id)  # raises frozen / closed
    return price(uow, MemberView(member.id, member.tier, member.birthday), order)


ORDERS: Any = Order.__table__
LINES: Any = OrderLine.__table__
EXISTING = Prepared(select(ORDERS.c.id, ORDERS.c.request_hash)
                    .where(ORDERS.c.order_ref == bindparam("order_ref")))
ORDER_COLUMNS = tuple(c.key for c in ORDERS.columns if c.key != "id")
LINE_COLUMNS = tuple(c.key for c in LINES.columns if c.key != "id")
INSERT_ORDER = Prepared(insert(ORDERS).values({c: bindparam(c) for c in ORDER_COLUMNS})
                        .returning(ORDERS.c.id))
INSERT_LINES = Prepared(insert(LINES).values({c: bindparam(c) for c in LINE_COLUMNS}),
                        many=True)


def place(uow: UnitOfWork, order: OrderCreate) -> Order:
    """Commit `order` atomically. The same order_ref with the same content returns the
    first order; with other content it is refused (409 order_ref_reused)."""
    digest = request_hash(order)
    member, referrer_id = member_view(uow, order.member_id)
    existing = EXISTING.first(uow.session, {"order_ref": order.order_ref})
    if existing is not None:
        if existing[1] != digest:
            raise Conflict(f"order_ref {order.order_ref!r} was already used for another order",
                           code="order_ref_reused")
        found = uow.session.get(Order, existing[0])
        assert found is not None
        return found
    priced = price(uow, member, order)
    try:
        if priced.first_order and referrer_id is not None:
            # Before any of this member's balances is locked (see the module's note).
            points_service.award_referral(uow, referred_member_id=member.id,
                                          key=f"order:{order.order_ref}:referral")
        _take_payment(uow, order, priced)
        lot = points_service.earn_for_purchase(
            uow, member_id=member.id, amount_paid=priced.pricing.payable,
            reference=order.order_ref, key=f"order:{order.order_ref}:earn",
            multiplier_pct=priced.multiplier_pct)
        row = _insert(uow, order, priced, digest, lot.original if lot is not None else 0)
    except Conflict as exc:
        # The ledger keys and the wallet's payment_ref derive from the order_ref: a clash
        # on one of them is another member's order that took this order_ref meanwhile.
        if exc.code not in ("ledger_conflict", "idempotency_key_reused", "payment_ref_reused"):
            raise
        raise Conflict(f"order_ref {order.order_ref!r} was already used for another order",
                       code="order_ref_reused") from None
    # After pricing and earning: the order that makes a member qualify is priced at the
    # tier they held when it was placed; the upgrade applies from the next one.
    tiers_service.record_spend(uow, member_id=member.id, amount=priced.pricing.payable,
                               reference=order.order_ref)
    uow.emit(OrderPlaced(member_id=member.id, order_ref=order.order_ref, store=order.store,
                         subtotal=row.subtotal, discounts=row.discounts,
                         points_used=row.points_used, wallet_paid=row.wallet_paid,
                         external_paid=row.external_paid, points_earned=row.points_earned))
    audit.record(uow, action="order.placed", target_type="order", target_id=order.order_ref,
                 changes={"payable": {"before": None, "after": row.payable},
                          "member_id": {"before": None, "after": member.id}})
    return row


def _insert(uow: UnitOfWork, order: OrderCreate, priced: Priced, digest: str,
            points_earned: int) -> Order:
    """The order and its lines, written with prepared statements (the hot path); the
    object handed back is detached, with its id and lines, for the caller to show."""
    p = priced.pricing
    values: dict[str, Any] = dict(
        order_ref=order.order_ref, request_hash=digest, member_id=order.member_id,
        store=order.store, channel=order.channel, status="paid", tier=priced.tier.code,
        plus=priced.plus is not None, subtotal=p.subtotal, tier_discount=p.tier_discount,
        plus_discount=p.plus_discount, coupon_discount=p.coupon_discount,
        coupons=[{"code": c.code, "kind": c.kind, "discount": c.discount, "target": c.target,
                  "gift_sku": c.gift_sku} for c in priced.coupons],
        points_used=p.points_used, points_value=p.points_value, wallet_paid=p.wallet_paid,
        external_paid=p.external_paid, points_earned=points_earned, refunded=0,
        refunded_points=0, refunded_points_value=0, refunded_wallet=0, refunded_external=0,
        clawed_points=0, created_at=uow.clock.now())
    try:
        order_id = INSERT_ORDER.scalar(uow.session, values)
    except IntegrityError:
        # Another member's order took this order_ref meanwhile (one member's twins wait
        # for the member lock and then find the first): other content, refused.
        raise Conflict(f"order_ref {order.order_ref!r} was already used for another order",
                       code="order_ref_reused") from None
    lines = [dict(order_id=order_id, line_no=i + 1, sku=line.sku, category=line.category,
                  quantity=line.quantity, unit_price=line.unit_price, net=net,
                  refunded_quantity=0)
             for i, (line, net) in enumerate(zip(priced.lines, p.line_nets, strict=True))]
    INSERT_LINES.executemany(uow.session, lines)
    row = Order(id=order_id, **values)
    row.lines = [OrderLine(**line) for line in lines]
    return row


def _take_payment(uow: UnitOfWork, order: OrderCreate, priced: Priced) -> None:
    p = priced.pricing
    if priced.coupons or order.coupon_codes:
        coupons_service.redeem(uow, member_id=order.member_id, codes=order.coupon_codes,
                               order_ref=order.order_ref, order_context=priced.coupon_context)
    if p.points_used:
        points_service.spend(uow, member_id=order.member_id, points=p.points_used,
                             kind="deduction", reference=order.order_ref,
                             key=f"order:{order.order_ref}:points")
    if p.wallet_paid:
        wallet_service.pay(uow, member_id=order.member_id, amount=p.wallet_paid,
                           payment_ref=wallet_payment_ref(order.order_ref),
                           reference=order.order_ref)
    if priced.plus is not None:
        plus_service.mark_used(uow, member_id=order.member_id, order_ref=order.order_ref)
