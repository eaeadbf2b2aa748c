"""Refunding an order, fully or in part (by items or by amount), idempotent on refund_ref.

A refund reverses the order pro rata (orders.rules.reversal): the wallet part back to
principal and bonus (the wallet takes back the cashback it earned), points used returned
with their original expiry, points earned clawed back, the coupons released when the
whole order is refunded, and the tier's net spend reduced. Several partial refunds add up
to at most the order; together they reverse exactly the whole of it.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.coupons import service as coupons_service
from memberops.errors import Conflict, NotFound, RuleViolated, field_error
from memberops.members import service as members_service
from memberops.orders import rules
from memberops.orders.events import OrderRefunded
from memberops.orders.models import Order, OrderRefund
from memberops.orders.schemas import RefundCreate
from memberops.orders.service.place import wallet_payment_ref
from memberops.points import service as points_service
from memberops.tiers import service as tiers_service
from memberops.uow import UnitOfWork
from memberops.wallet import service as wallet_service


def _digest(order_ref: str, body: RefundCreate) -> str:
    data = {"order_ref": order_ref, **body.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def refund(uow: UnitOfWork, order_ref: str, body: RefundCreate) -> tuple[OrderRefund, Order]:
    """Refund part or all of an order; the same refund_ref and content return the first."""
    found = uow.session.execute(select(Order.id, Order.member_id)
                                .where(Order.order_ref == order_ref)).first()
    if found is None:
        raise NotFound(f"no order {order_ref!r}", code="order_not_found")
    members_service.lock_active_id(uow, found.member_id)
    digest = _digest(order_ref, body)
    done = uow.session.execute(select(OrderRefund).where(
        OrderRefund.refund_ref == body.refund_ref)).scalar_one_or_none()
    order = uow.session.execute(
        select(Order).where(Order.id == found.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    if done is not None:
        if done.request_hash != digest:
            raise Conflict(f"refund_ref {body.refund_ref!r} was already used for another "
                           "refund", code="refund_ref_reused")
        return done, order
    amount, items, back, full = plan(order, body)
    released = _reverse(uow, order, body.refund_ref, back, full)
    row = OrderRefund(
        refund_ref=body.refund_ref, request_hash=digest, order_id=order.id,
        member_id=order.member_id, amount=amount, items=items,
        points_returned=back.refund.points, points_value=back.refund.points_value,
        wallet_refunded=back.refund.wallet, external_refunded=back.refund.external,
        points_clawed=back.points_clawed, coupons_released=released,
        created_at=uow.clock.now())
    _apply(order, back, amount, items, full)
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"refund_ref {body.refund_ref!r} was already used for another refund",
                       code="refund_ref_reused") from None
    uow.emit(OrderRefunded(member_id=order.member_id, order_ref=order.order_ref,
                           refund_ref=body.refund_ref, amount=amount,
                           wallet_refunded=row.wallet_refunded,
                           external_refunded=row.external_refunded,
                           points_returned=row.points_returned,
                           points_clawed=row.points_clawed, full=full))
    audit.record(uow, action="order.refunded", target_type="order", target_id=order.order_ref,
                 reason=f"refund {body.refund_ref}",
                 changes={"refunded": {"before": order.refunded - amount,
                                       "after": order.refunded}})
    return row, order


def plan(order: Order, body: RefundCreate
         ) -> tuple[int, list[dict[str, object]], rules.Reversal, bool]:
    """What refunding `body` from `order` as it stands reverses: (amount, items, reversal,
    whether it completes the refund); raises what `refund` would. Nothing is written, so
    it also previews a refund (the CLI shows it before asking)."""
    amount, items = _amount(order, body)
    back = rules.reversal(
        paid=rules.Paid(order.points_used, order.points_value, order.wallet_paid,
                        order.external_paid),
        refunded=rules.Paid(order.refunded_points, order.refunded_points_value,
                            order.refunded_wallet, order.refunded_external),
        amount=amount, points_earned=order.points_earned)
    return amount, items, back, order.refunded + amount == order.paid_value


def _amount(order: Order, body: RefundCreate) -> tuple[int, list[dict[str, object]]]:
    left = order.paid_value - order.refunded
    if order.paid_value == 0:
        raise RuleViolated(f"order {order.order_ref!r} cost nothing after its discounts: "
                           "there is nothing to refund", code="order_not_paid")
    if left == 0:
        raise RuleViolated(f"order {order.order_ref!r} is already fully refunded",
                           code="order_fully_refunded")
    if body.amount is not None:
        if body.amount > left:
            raise RuleViolated(f"refund of {body.amount} fen is more than the {left} fen left "
                               "of the order", code="refund_exceeds_order", refundable=left)
        return body.amount, []
    assert body.items is not None
    index = {line.sku: i for i, line in enumerate(order.lines)}
    wanted: dict[int, int] = {}
    for item in body.items:
        if item.sku not in index:
            raise field_error("items", f"sku {item.sku!r} is not in order {order.order_ref!r}",
                              code="sku_not_in_order")
        if index[item.sku] in wanted:
            raise field_error("items", f"sku {item.sku!r} appears twice",
                              code="duplicate_sku")
        wanted[index[item.sku]] = item.quantity
    lines = [rules.Line(x.sku, x.category, x.quantity, x.unit_price) for x in order.lines]
    try:
        amount = rules.refund_for_lines(lines, tuple(x.net for x in order.lines),
                                        [x.refunded_quantity for x in order.lines], wanted)
    except ValueError as exc:
        raise RuleViolated(str(exc), code="refund_exceeds_items") from None
    if amount > left:  # a refund by amount took part of what these items cost
        raise RuleViolated(f"these items cost {amount} fen, {left} fen of the order is left "
                           "to refund", code="refund_exceeds_order", refundable=left)
    if amount == 0:
        raise RuleViolated("these items cost nothing after discounts; nothing to refund",
                           code="refund_nothing")
    return amount, [{"sku": item.sku, "quantity": item.quantity} for item in body.items]


def _reverse(uow: UnitOfWork, order: Order, refund_ref: str, back: rules.Reversal,
             full: bool) -> list[str]:
    ref, key = order.order_ref, f"order-refund:{refund_ref}"
    if back.refund.wallet:
        wallet_service.refund_payment(uow, payment_ref=wallet_payment_ref(ref),
                                      refund_ref=key, amount=back.refund.wallet)
    if back.refund.points:
        points_service.return_spent(uow, reference=ref, key=f"{key}:points",
                                    points=back.refund.points)
    if back.points_clawed:
        points_service.clawback_purchase(uow, reference=ref, key=f"{key}:clawback",
                                         points=back.points_clawed)
    released: list[str] = []
    if full and order.coupons:
        released = list(coupons_service.release(uow, ref).released)
    money = back.refund.wallet + back.refund.external
    if money or full:
        tiers_service.record_refund(uow, member_id=order.member_id, amount=money,
                                    reference=refund_ref, full_refund=full)
    return released


def _apply(order: Order, back: rules.Reversal, amount: int, items: list[dict[str, object]],
           full: bool) -> None:
    order.refunded += amount
    order.refunded_points += back.refund.points
    order.refunded_points_value += back.refund.points_value
    order.refunded_wallet += back.refund.wallet
    order.refunded_external += back.refund.external
    order.clawed_points += back.points_clawed
    by_sku = {line.sku: line for line in order.lines}
    for item in items:
        by_sku[str(item["sku"])].refunded_quantity += int(item["quantity"])  # type: ignore[call-overload]
    order.status = "refunded" if full else "partially_refunded"
