"""Tiers (会员等级): tier-relevant activity per member, each member's tier state (reached,
next review, manual floor) and the history of every change.

The member's current tier itself stays on `members.tier`, where searches and other
domains read it; only the tiers service changes it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class TierActivity(Base):
    """One order, refund or recharge as the tier rules count it, appended by the flow that
    made it. Rolling-window sums are taken from here; nothing is ever updated."""

    __tablename__ = "tier_activity"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(10))  # spend | refund | recharge | cash_out
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, signed: a refund is negative
    orders: Mapped[int] = mapped_column(Integer)  # +1 an order, -1 a full refund, else 0
    reference: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One row per business reference and kind: a retried order is counted once.
        UniqueConstraint("kind", "reference"),
        # The window sums of one member, read on every order.
        Index("ix_tier_activity_member_time", "member_id", "occurred_at"),
        CheckConstraint("(kind IN ('refund', 'cash_out') AND amount <= 0) OR "
                        "(kind IN ('spend', 'recharge') AND amount >= 0)",
                        name="amount_sign"),
    )


class MemberTier(Base):
    """A member's tier state, created the first time it matters (an upgrade or a floor)."""

    __tablename__ = "member_tiers"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the current tier, or reviewed
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The programme-local day of the next retention review; none on the base tier.
    review_due: Mapped[date | None] = mapped_column(Date, index=True)
    # The tier is held only by the floor: it is reviewed when the floor ends.
    held_by_floor: Mapped[bool] = mapped_column(Boolean, default=False)
    floor_tier: Mapped[str | None] = mapped_column(String(20))
    floor_reason: Mapped[str | None] = mapped_column(String(500))
    floor_until: Mapped[date | None] = mapped_column(Date, index=True)  # last day it holds
    floor_set_by: Mapped[str | None] = mapped_column(String(200))
    floor_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("(floor_tier IS NULL) = (floor_until IS NULL) AND "
                        "(floor_tier IS NULL) = (floor_reason IS NULL)",
                        name="floor_complete"),
    )


class TierChange(Base):
    """One entry of a member's tier history: a change, a kept tier, or a floor set/lifted."""

    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_tier: Mapped[str] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    # upgrade | retention_downgrade | retention_kept | manual_floor | floor_expired |
    # floor_removed | ladder_changed
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_tier_changes_member", "member_id", "id"),
        Index("ix_tier_changes_reason", "reason", "id"),
    )
