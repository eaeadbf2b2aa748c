"""What happens to a paid membership, in the past tense; each lands on the member's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class PlusPurchased(Event):
    event_type: ClassVar[str] = "plus.purchased"
    member_id: int
    plan: str
    kind: str  # purchase | renewal
    payment_method: str
    payment_ref: str
    price: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class PlusCancelled(Event):
    event_type: ClassVar[str] = "plus.cancelled"
    member_id: int
    plan: str
    payment_ref: str  # of the period the refund rule looked at
    refund: int
    refund_status: str  # none | refunded | due
    refund_ref: str | None
    ends_at: datetime
    why: str  # within_window_unused | used | window_passed
    reason: str


@dataclass(frozen=True)
class PlusExpired(Event):
    event_type: ClassVar[str] = "plus.expired"
    member_id: int
    plan: str
    ended_at: datetime


@dataclass(frozen=True)
class PlusFirstUsed(Event):
    event_type: ClassVar[str] = "plus.first_used"
    member_id: int
    plan: str
    order_ref: str


@dataclass(frozen=True)
class PlusRefundSettled(Event):
    event_type: ClassVar[str] = "plus.refund_settled"
    member_id: int
    refund_ref: str
    amount: int
    settlement_ref: str
