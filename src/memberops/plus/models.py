"""Paid membership (PLUS, 付费会员): one subscription per member, and the periods bought.

The subscription row is what `benefits` reads on every order: one row per member, found by
its unique `member_id`, carrying the benefit terms copied from the plan when it was bought.
Each purchase or renewal is a period row with its payment and, if cancelled in time, its
refund — the history finance reconciles against.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")

STATUSES = ("active", "cancelled", "expired")
PAYMENT_METHODS = ("wallet", "external")
REFUND_STATUSES = ("none", "refunded", "due")


class PlusPeriod(Base):
    """One purchase or renewal: the time it paid for, how it was paid, and any refund."""

    __tablename__ = "plus_periods"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    plan_code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # purchase | renewal
    payment_method: Mapped[str] = mapped_column(String(10))  # wallet | external
    # The purchase reference: unique, it makes a purchase idempotent; for a wallet payment
    # it is also the wallet payment's reference (so refunds find it).
    payment_ref: Mapped[str] = mapped_column(String(120), unique=True)
    price: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    extra_discount_pct: Mapped[int] = mapped_column(Integer)
    points_multiplier_pct: Mapped[int] = mapped_column(Integer)
    cancel_within_days: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first use since bought
    used_order_ref: Mapped[str | None] = mapped_column(String(120))
    # none | refunded (wallet: credited back; external: paid out, see settlement_ref)
    # | due (external: finance owes the member the refund)
    refund_status: Mapped[str] = mapped_column(String(10), default="none")
    refund_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settlement_ref: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("price > 0 AND refund_amount >= 0 AND refund_amount <= price",
                        name="amounts_valid"),
        CheckConstraint("ends_at > starts_at", name="period_not_empty"),
        CheckConstraint("payment_method IN ('wallet', 'external')", name="payment_known"),
        CheckConstraint("refund_status IN ('none', 'refunded', 'due')", name="refund_known"),
        Index("ix_plus_periods_member", "member_id", "id"),
        Index("ix_plus_periods_refunds", "refund_status", "id"),
    )


class PlusSubscription(Base):
    """A member's paid membership as it stands: status, the time paid for, and the terms of
    the latest period bought (what `benefits` hands to an order)."""

    __tablename__ = "plus_subscriptions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # One subscription per member: renewals extend it, a purchase after a lapse restarts it.
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    plan_code: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # active | cancelled | expired
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # of the unbroken membership
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    period_id: Mapped[int] = mapped_column(ForeignKey("plus_periods.id"))  # the latest bought
    payment_method: Mapped[str] = mapped_column(String(10))
    payment_ref: Mapped[str] = mapped_column(String(120))
    price_paid: Mapped[int] = mapped_column(BigInteger)
    extra_discount_pct: Mapped[int] = mapped_column(Integer)
    points_multiplier_pct: Mapped[int] = mapped_column(Integer)
    # First use by an order since the latest purchase: no refund on cancelling after it.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_order_ref: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'cancelled', 'expired')", name="status_known"),
        CheckConstraint("ends_at >= started_at", name="ends_after_start"),
        # The expiry job's due list and the list by status, sorted by end date.
        Index("ix_plus_subscriptions_status_ends", "status", "ends_at", "id"),
    )
