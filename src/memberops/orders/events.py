"""What happens to orders, in the past tense; each lands on the member's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class OrderPlaced(Event):
    event_type: ClassVar[str] = "order.placed"
    member_id: int
    order_ref: str
    store: str | None
    subtotal: int
    discounts: int
    points_used: int
    wallet_paid: int
    external_paid: int
    points_earned: int


@dataclass(frozen=True)
class OrderRefunded(Event):
    event_type: ClassVar[str] = "order.refunded"
    member_id: int
    order_ref: str
    refund_ref: str
    amount: int
    wallet_refunded: int
    external_refunded: int
    points_returned: int
    points_clawed: int
    full: bool
