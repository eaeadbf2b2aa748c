"""Paid-membership shapes at the edge. Amounts are JSON integers of fen (StrictInt)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from memberops.plus import rules
from memberops.plus.models import PlusPeriod, PlusSubscription

Ref = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^\S+$")]
Reason = Annotated[str, Field(min_length=2, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlusBuy(Strict):
    plan: str = Field(min_length=1, max_length=20,
                      description="a plan code of the `plans` configuration, e.g. PLUS")
    payment: Literal["wallet", "external"] = Field(
        description="wallet: paid from the member's stored value now; external: the money "
                    "was taken outside (card, WeChat Pay…) under payment_ref")
    payment_ref: Ref = Field(description="the purchase's reference, unique; a repeat with "
                                         "the same content returns the first purchase")
    amount: StrictInt | None = Field(default=None, gt=0, le=10**12, description=(
        "fen; if given it must equal the plan's price (what the till charged)"))


class PlusCancel(Strict):
    reason: Reason


class RefundSettle(Strict):
    settlement_ref: Ref = Field(description="the reference of the transfer paying it back")


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PeriodRead(Read):
    id: int
    member_id: int
    plan: str
    kind: str = Field(description="purchase | renewal")
    payment: str = Field(description="wallet | external")
    payment_ref: str
    price: int
    starts_at: datetime
    ends_at: datetime
    extra_discount_pct: int
    points_multiplier_pct: int
    used_at: datetime | None
    used_order_ref: str | None
    refund_status: str = Field(description="none | refunded | due (owed by finance)")
    refund_ref: str | None
    refund_amount: int
    refund_requested_at: datetime | None
    refunded_at: datetime | None
    settlement_ref: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: PlusPeriod) -> PeriodRead:
        return cls(
            id=row.id, member_id=row.member_id, plan=row.plan_code, kind=row.kind,
            payment=row.payment_method, payment_ref=row.payment_ref, price=row.price,
            starts_at=row.starts_at, ends_at=row.ends_at,
            extra_discount_pct=row.extra_discount_pct,
            points_multiplier_pct=row.points_multiplier_pct, used_at=row.used_at,
            used_order_ref=row.used_order_ref, refund_status=row.refund_status,
            refund_ref=row.refund_ref, refund_amount=row.refund_amount,
            refund_requested_at=row.refund_requested_at, refunded_at=row.refunded_at,
            settlement_ref=row.settlement_ref, created_at=row.created_at)


class CancelPreview(BaseModel):
    refund: int = Field(description="fen refunded if cancelled now")
    ends_at: datetime = Field(description="when the benefits would end")
    why: str = Field(description="within_window_unused | used | window_passed")


class SubscriptionRead(Read):
    id: int
    member_id: int
    plan: str
    status: str = Field(description="active | cancelled (runs to ends_at) | expired")
    in_force: bool = Field(description="the benefits apply now")
    started_at: datetime
    ends_at: datetime
    payment: str
    payment_ref: str
    price_paid: int
    extra_discount_pct: int
    points_multiplier_pct: int
    used_at: datetime | None = Field(description="first use by an order since the latest "
                                                 "purchase")
    used_order_ref: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    if_cancelled_now: CancelPreview | None = Field(
        default=None, description="what cancelling now would do (while active; given by "
                                  "GET /members/{id}/plus, not in lists)")
    periods: list[PeriodRead] = Field(default_factory=list,
                                      description="newest first (GET /members/{id}/plus)")
    updated_at: datetime

    @classmethod
    def of(cls, row: PlusSubscription, now: datetime, *,
           preview: rules.CancelTerms | None = None,
           periods: list[PlusPeriod] | None = None) -> SubscriptionRead:
        return cls(
            id=row.id, member_id=row.member_id, plan=row.plan_code, status=row.status,
            in_force=rules.in_force(row.status, row.started_at, row.ends_at, now),
            started_at=row.started_at, ends_at=row.ends_at, payment=row.payment_method,
            payment_ref=row.payment_ref, price_paid=row.price_paid,
            extra_discount_pct=row.extra_discount_pct,
            points_multiplier_pct=row.points_multiplier_pct, used_at=row.used_at,
            used_order_ref=row.used_order_ref, cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            if_cancelled_now=CancelPreview(refund=preview.refund, ends_at=preview.ends_at,
                                           why=preview.why) if preview else None,
            periods=[PeriodRead.of(p) for p in periods or []], updated_at=row.updated_at)


class PurchaseRead(BaseModel):
    purchase: PeriodRead
    subscription: SubscriptionRead


class CancellationRead(BaseModel):
    refund: int = Field(description="fen")
    refund_status: str = Field(description="none | refunded (to the wallet) | due (external)")
    refund_ref: str | None
    why: str = Field(description="within_window_unused | used | window_passed")
    subscription: SubscriptionRead


class SubscriptionPage(BaseModel):
    items: list[SubscriptionRead]
    next_cursor: str | None


class RefundPage(BaseModel):
    items: list[PeriodRead]
    next_cursor: str | None
