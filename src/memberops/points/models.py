"""Points (积分): lots with expiry, what each consumption took from which lot, bonus-action
claims (for caps), and the gift catalogue with its redemptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class PointsLot(Base):
    """Points credited together: `remaining` falls as they are used or expire."""

    __tablename__ = "points_lots"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    source: Mapped[str] = mapped_column(String(30))  # order|bonus|adjustment|recharge|return
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    original: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # pending|available|expired|clawed_back
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_in_range"),
        Index("ix_points_lots_member_use", "member_id", "status", "expires_at", "id"),
        Index("ix_points_lots_due", "status", "available_at"),
        Index("ix_points_lots_expiry", "status", "expires_at"),
    )


class PointsUse(Base):
    """How many points one movement took from one lot, so a refund can give them back
    with their original expiry."""

    __tablename__ = "points_uses"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # redeem|deduction|expiry|clawback|adjustment
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    returned: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("points > 0 AND returned >= 0 AND returned <= points",
                                      name="points_in_range"),)


class BonusClaim(Base):
    """One award of a bonus action; `period` makes caps and once-only awards checkable."""

    __tablename__ = "points_bonus_claims"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))  # 2026-06-15 | 2026-06 | once | ref
    points: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(120))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_points_bonus_claims_period", "member_id", "action", "period"),)


class GiftItem(Base):
    __tablename__ = "gift_items"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    points_price: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The database refuses a negative stock: a gift is never oversold, even by a bug.
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),
                      CheckConstraint("points_price > 0", name="price_positive"))


class GiftRedemption(Base):
    __tablename__ = "gift_redemptions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    gift_id: Mapped[int] = mapped_column(ForeignKey("gift_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    redemption_ref: Mapped[str] = mapped_column(String(120), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
