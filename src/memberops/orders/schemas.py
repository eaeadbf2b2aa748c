"""Order shapes at the edge (API.md): amounts are JSON integers of fen, quantities whole
units; StrictInt refuses "100", 1.5 and true."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from memberops.coupons.rules import MAX_FEN as MAX_ORDER
from memberops.orders.models import Order, OrderLine, OrderRefund

MAX_FEN = 10**12
MAX_LINES = 200
Ref = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S+$")]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN, description="fen (1 yuan = 100)")]
Code = Annotated[str, Field(min_length=1, max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemIn(Strict):
    sku: Code
    category: Code = "general"
    quantity: Annotated[StrictInt, Field(gt=0, le=10_000)]
    unit_price: Fen


class OrderCreate(Strict):
    order_ref: Ref = Field(description="the till's reference; unique per order")
    member_id: Annotated[StrictInt, Field(gt=0)]
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_LINES)
    coupon_codes: list[Code] = Field(default_factory=list, max_length=5)
    points_to_use: Annotated[StrictInt, Field(ge=0, le=MAX_FEN)] = 0
    wallet_amount: Fen = 0
    store: Code | None = None
    channel: Code | None = None

    @field_validator("items")
    @classmethod
    def _total_within_bound(cls, items: list[ItemIn]) -> list[ItemIn]:
        # One bound for the whole order (the coupons' amount bound), named on `items`.
        total = sum(item.quantity * item.unit_price for item in items)
        if total > MAX_ORDER:
            raise ValueError(f"the items come to {total} fen; an order is at most "
                             f"{MAX_ORDER} fen")
        return items


class RefundItemIn(Strict):
    sku: Code
    quantity: Annotated[StrictInt, Field(gt=0, le=10_000)]


class RefundCreate(Strict):
    refund_ref: Ref
    items: list[RefundItemIn] | None = Field(default=None, max_length=MAX_LINES)
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_FEN)] | None = None

    @model_validator(mode="after")
    def _items_or_amount(self) -> RefundCreate:
        if (self.items is None) == (self.amount is None):
            raise ValueError("give either items or amount")
        return self


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LineRead(Read):
    line_no: int
    sku: str
    category: str
    quantity: int
    unit_price: int
    net: int
    refunded_quantity: int

    @classmethod
    def of(cls, line: OrderLine) -> LineRead:
        return cls.model_validate(line)


class Discounts(BaseModel):
    tier: int
    plus: int
    coupons: int
    total: int


class OrderRead(BaseModel):
    """API.md: `total`, `discounts`, `payable`, `wallet_paid`, `points_used`,
    `points_earned`, `tier`, and the rest of the pricing."""

    order_ref: str
    member_id: int
    store: str | None
    channel: str | None
    status: str
    tier: str
    plus: bool
    total: int = Field(description="the items before discounts")
    discounts: Discounts
    coupons: list[dict[str, Any]]
    points_used: int
    points_value: int
    payable: int = Field(description="paid in money: wallet + external")
    wallet_paid: int
    external_paid: int
    points_earned: int
    refunded: int
    items: list[LineRead]
    created_at: datetime | None = None

    @classmethod
    def of(cls, order: Order) -> OrderRead:
        return cls(
            order_ref=order.order_ref, member_id=order.member_id, store=order.store,
            channel=order.channel, status=order.status, tier=order.tier, plus=order.plus,
            total=order.subtotal,
            discounts=Discounts(tier=order.tier_discount, plus=order.plus_discount,
                                coupons=order.coupon_discount, total=order.discounts),
            coupons=order.coupons, points_used=order.points_used,
            points_value=order.points_value, payable=order.payable,
            wallet_paid=order.wallet_paid, external_paid=order.external_paid,
            points_earned=order.points_earned, refunded=order.refunded,
            items=[LineRead.of(line) for line in order.lines], created_at=order.created_at)


class OrderPage(BaseModel):
    items: list[OrderRead]
    next_cursor: str | None


class RefundRead(Read):
    refund_ref: str
    order_ref: str
    member_id: int
    amount: int
    items: list[dict[str, Any]]
    points_returned: int
    points_value: int
    wallet_refunded: int
    external_refunded: int
    points_clawed: int
    coupons_released: list[str]
    order_status: str
    created_at: datetime

    @classmethod
    def of(cls, refund: OrderRefund, order: Order) -> RefundRead:
        return cls(refund_ref=refund.refund_ref, order_ref=order.order_ref,
                   member_id=refund.member_id, amount=refund.amount, items=refund.items,
                   points_returned=refund.points_returned, points_value=refund.points_value,
                   wallet_refunded=refund.wallet_refunded,
                   external_refunded=refund.external_refunded,
                   points_clawed=refund.points_clawed,
                   coupons_released=refund.coupons_released, order_status=order.status,
                   created_at=refund.created_at)
