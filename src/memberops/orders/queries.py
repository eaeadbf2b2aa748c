"""The read side of orders: one by its ref, a member's or a store's, newest first, with
their refunds; how order events read on the member's timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from memberops.errors import NotFound
from memberops.members import queries as member_queries
from memberops.money import Money
from memberops.orders.models import Order, OrderRefund

MAX_LIMIT = 500


def _yuan(payload: dict[str, Any], name: str) -> str:
    return Money(int(payload.get(name) or 0)).format()


member_queries.describe_event(
    "order.placed", lambda p: f"Order {p['order_ref']}"
    + (f" at {p['store']}" if p.get("store") else "")
    + f": {_yuan(p, 'subtotal')}, paid {_yuan(p, 'wallet_paid')} from the wallet and "
    f"{_yuan(p, 'external_paid')} outside" + (f", {p['points_used']} points used"
                                                if p.get("points_used") else "")
    + (f", {p['points_earned']} points earned" if p.get("points_earned") else ""))
member_queries.describe_event(
    "order.refunded", lambda p: f"{'Full' if p.get('full') else 'Partial'} refund "
    f"{p['refund_ref']} of order {p['order_ref']}: {_yuan(p, 'amount')}")


def get(session: Session, order_ref: str) -> Order:
    found = session.execute(select(Order).where(Order.order_ref == order_ref)
                            ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no order {order_ref!r}", code="order_not_found")
    return found


def orders(session: Session, *, member_id: int | None = None, store: str | None = None,
           limit: int = 50, before_id: int | None = None) -> list[Order]:
    """Orders newest first, of one member and/or one store; keyset on the order id."""
    stmt = select(Order)
    if member_id is not None:
        member_queries.check_exists(session, member_id)  # 404 for an unknown member
        stmt = stmt.where(Order.member_id == member_id)
    if store is not None:
        stmt = stmt.where(Order.store == store)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list(session.execute(stmt.order_by(Order.id.desc()).limit(limit)).scalars())


def refunds(session: Session, order: Order) -> list[OrderRefund]:
    return list(session.execute(select(OrderRefund).where(OrderRefund.order_id == order.id)
                                .order_by(OrderRefund.id)).scalars())
