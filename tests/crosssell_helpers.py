"""Shared helpers for the cross-sell tests: orders, lines and refunds written straight into
the tables (Core inserts, as the demo's service calls would leave them, but in
milliseconds), and the same history as in-memory frames for the pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import polars as pl
from sqlalchemy import insert, select, update

from memberops.analytics import crosssell
from memberops.db import Database
from memberops.demo.catalogue import BY_SKU
from memberops.members.models import Member
from memberops.orders.models import Order, OrderLine, OrderRefund

PRICE = 1000  # fen, every unit of every sku
_refs = count(1)


def category(sku: str) -> str:
    return BY_SKU[sku].category if sku in BY_SKU else "other"


def add_members(db: Database, n: int) -> list[int]:
    """`n` new members; their ids."""
    ids = []
    at = datetime(2024, 1, 1, tzinfo=UTC)
    with db.session() as session:
        for _ in range(n):
            i = next(_refs)
            ids.append(session.execute(insert(Member).returning(Member.id).values(
                phone=f"+86139{i:08d}", gender="unknown", channel="store", tier="regular",
                status="active", joined_at=at, created_at=at, updated_at=at)).scalar_one())
        session.commit()
    return ids


def add_order(db: Database, member_id: int, at: datetime, items: dict[str, int]) -> int:
    """A paid order of `items` ({sku: quantity}) at `at`; its id."""
    subtotal = PRICE * sum(items.values())
    ref = f"XS-{next(_refs)}"
    with db.session() as session:
        order_id = session.execute(insert(Order).returning(Order.id).values(
            order_ref=ref, request_hash="0" * 64, member_id=member_id, store="SH-001",
            channel="store", status="paid", tier="regular", plus=False, subtotal=subtotal,
            tier_discount=0, plus_discount=0, coupon_discount=0, coupons=[], points_used=0,
            points_value=0, wallet_paid=0, external_paid=subtotal, points_earned=0,
            created_at=at)).scalar_one()
        session.execute(insert(OrderLine), [
            {"order_id": order_id, "line_no": n, "sku": sku, "category": category(sku),
             "quantity": q, "unit_price": PRICE, "net": PRICE * q, "refunded_quantity": 0}
            for n, (sku, q) in enumerate(sorted(items.items()), start=1)])
        session.commit()
    return int(order_id)


def refund(db: Database, order_id: int, at: datetime, *, items: dict[str, int] | None = None,
           amount: int | None = None) -> None:
    """Refund items (their price) or an amount, and leave the order and its lines as the
    refund service would: refunded quantities, the refunded total and the status."""
    with db.session() as session:
        order = session.execute(select(Order).where(Order.id == order_id)).scalar_one()
        back = PRICE * sum((items or {}).values()) if items else int(amount or 0)
        session.execute(insert(OrderRefund).values(
            refund_ref=f"XR-{next(_refs)}", request_hash="0" * 64, order_id=order_id,
            member_id=order.member_id, amount=back,
            items=[{"sku": s, "quantity": q} for s, q in (items or {}).items()],
            points_returned=0, points_value=0, wallet_refunded=0, external_refunded=back,
            points_clawed=0, coupons_released=[], created_at=at))
        for sku, q in (items or {}).items():
            session.execute(update(OrderLine).where(OrderLine.order_id == order_id,
                                                    OrderLine.sku == sku)
                            .values(refunded_quantity=OrderLine.refunded_quantity + q))
        total = order.refunded + back
        session.execute(update(Order).where(Order.id == order_id).values(
            refunded=total, status="refunded" if total == order.paid_value
            else "partially_refunded"))
        session.commit()


class Book:
    """Sales as in-memory frames (crosssell.Sales), for the pure functions."""

    def __init__(self) -> None:
        self.orders: list[dict[str, object]] = []
        self.lines: list[dict[str, object]] = []
        self.refunds: list[dict[str, object]] = []

    def order(self, member_id: int, at: datetime, *skus: str,
              quantities: dict[str, int] | None = None) -> int:
        """An order of one of each of `skus` (and `quantities` more); its id."""
        order_id = len(self.orders) + 1
        items = {s: 1 for s in skus} | (quantities or {})
        self.orders.append({"order_id": order_id, "member_id": member_id, "created_at": at,
                            "paid": PRICE * sum(items.values())})
        self.lines += [{"order_id": order_id, "sku": s, "category": category(s),
                        "quantity": q} for s, q in items.items()]
        return order_id

    def refund(self, order_id: int, at: datetime, *, items: dict[str, int] | None = None,
               amount: int | None = None) -> None:
        back = PRICE * sum(items.values()) if items else int(amount or 0)
        self.refunds.append({"order_id": order_id, "created_at": at, "amount": back,
                             "items": [{"sku": s, "quantity": q}
                                       for s, q in (items or {}).items()]})

    def sales(self) -> crosssell.Sales:
        when = pl.Datetime("us", "UTC")
        return crosssell.Sales(
            pl.DataFrame(self.orders, schema={"order_id": pl.Int64, "member_id": pl.Int64,
                                              "created_at": when, "paid": pl.Int64}),
            pl.DataFrame(self.lines, schema={"order_id": pl.Int64, "sku": pl.String,
                                             "category": pl.String, "quantity": pl.Int64}),
            pl.DataFrame(self.refunds, schema={"order_id": pl.Int64, "created_at": when,
                                               "amount": pl.Int64,
                                               "items": crosssell.REFUND_ITEMS}))
