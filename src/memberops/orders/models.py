"""Orders, their lines and their refunds: what the tills and the shop committed.

An order keeps every figure of its pricing (PROGRAMME.md's sequence) and how it was paid,
so a refund can be reversed from the order alone; the money and points themselves live
in the ledger (wallet payment, points spent and earned), referenced by the order_ref.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("subtotal >= 0", name="subtotal_not_negative"),
        CheckConstraint("wallet_paid >= 0 AND external_paid >= 0 AND points_value >= 0",
                        name="payments_not_negative"),
        CheckConstraint("refunded >= 0 AND refunded <= points_value + wallet_paid "
                        "+ external_paid", name="refunded_within_paid"),
        Index("ix_orders_member_created", "member_id", "created_at"),
        Index("ix_orders_store_created", "store", "created_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(100), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    store: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # paid | partially_refunded | refunded
    tier: Mapped[str] = mapped_column(String(20))  # the tier whose benefits applied
    plus: Mapped[bool] = mapped_column()
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tier_discount: Mapped[int] = mapped_column(BigInteger)
    plus_discount: Mapped[int] = mapped_column(BigInteger)
    coupon_discount: Mapped[int] = mapped_column(BigInteger)
    coupons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    points_used: Mapped[int] = mapped_column(BigInteger)
    points_value: Mapped[int] = mapped_column(BigInteger)
    wallet_paid: Mapped[int] = mapped_column(BigInteger)
    external_paid: Mapped[int] = mapped_column(BigInteger)
    points_earned: Mapped[int] = mapped_column(BigInteger)
    # What has gone back, per part (refunds add to these under the order's row lock).
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_points: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_points_value: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_wallet: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_external: Mapped[int] = mapped_column(BigInteger, default=0)
    clawed_points: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.line_no", lazy="selectin", back_populates="order")

    @property
    def paid_value(self) -> int:
        return self.points_value + self.wallet_paid + self.external_paid

    @property
    def payable(self) -> int:
        return self.wallet_paid + self.external_paid

    @property
    def discounts(self) -> int:
        return self.tier_discount + self.plus_discount + self.coupon_discount


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity",
                        name="refunded_within_quantity"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)  # after the order's discounts
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderRefund(Base):
    __tablename__ = "order_refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    refund_ref: Mapped[str] = mapped_column(String(100), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)  # [] when by amount
    points_returned: Mapped[int] = mapped_column(BigInteger)
    points_value: Mapped[int] = mapped_column(BigInteger)
    wallet_refunded: Mapped[int] = mapped_column(BigInteger)
    external_refunded: Mapped[int] = mapped_column(BigInteger)
    points_clawed: Mapped[int] = mapped_column(BigInteger)
    coupons_released: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
