"""Coupons (优惠券): templates operators configure, and the coupons issued from them.

A coupon keeps its own validity window (computed when it was issued), so editing a template
later never moves the dates of coupons already in members' hands; the discount terms of a
template are frozen once it has issued a coupon (see `service.templates`).
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
)
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class CouponTemplate(Base):
    """What a coupon gives, to whom, for how long, and how many may be issued."""

    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # welcome, spend200-off30, …
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(500))
    # amount_off | percent_off | first_order | free_shipping | gift_item
    kind: Mapped[str] = mapped_column(String(20))
    amount_off: Mapped[int | None] = mapped_column(BigInteger)  # fen
    percent_off: Mapped[int | None] = mapped_column(Integer)  # 10 = 10% off (9折)
    max_discount: Mapped[int | None] = mapped_column(BigInteger)  # fen, the cap
    min_spend: Mapped[int] = mapped_column(BigInteger, default=0)  # fen, the threshold
    gift_sku: Mapped[str | None] = mapped_column(String(60))
    # fixed (starts_on … ends_on, local dates) | days (valid_days after issue) | birthday_month
    validity: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)  # total budget; None: unlimited
    issued: Mapped[int] = mapped_column(Integer, default=0)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    stackable: Mapped[bool] = mapped_column(Boolean, default=False)
    eligible_tiers: Mapped[list[str]] = mapped_column(JSONType, default=list)  # []: every tier
    trigger: Mapped[str | None] = mapped_column(String(20))  # welcome | birthday | None
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | paused
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The budget holds in the database too: `issued` is raised by a conditional UPDATE
    # (issued + n <= quantity), and this CHECK is the last line should a bug skip it.
    __table_args__ = (
        CheckConstraint("issued >= 0 AND (quantity IS NULL OR issued <= quantity)",
                        name="within_budget"),
        CheckConstraint("min_spend >= 0", name="min_spend_not_negative"),
        Index("ix_coupon_templates_trigger", "trigger", "status"),
    )


class Coupon(Base):
    """One coupon in one member's hands: issued → used (→ issued again when released) or
    expired."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(10))  # issued | used | expired
    source: Mapped[str] = mapped_column(String(20))  # manual | batch | welcome | birthday
    # Automatic issues carry a key (welcome:<template>:<member>, birthday:…:<year>): the
    # unique index makes a rerun or a concurrent run of the job issue nothing twice.
    issue_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    batch_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)  # first instant unusable
    order_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    discount: Mapped[int | None] = mapped_column(BigInteger)  # fen, when used
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        CheckConstraint("valid_until > valid_from", name="window_valid"),
        CheckConstraint("discount IS NULL OR discount >= 0", name="discount_not_negative"),
        # A member's coupons by status (the wallet view, limits per template).
        Index("ix_coupons_member", "member_id", "status", "id"),
        Index("ix_coupons_template_member", "template_id", "member_id"),
        # The expiry job's scan.
        Index("ix_coupons_due", "status", "valid_until"),
    )
