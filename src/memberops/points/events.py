"""What happens to points, in the past tense; each event lands on its member's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class PointsEarned(Event):
    event_type: ClassVar[str] = "points.earned"
    member_id: int
    points: int
    source: str  # order | bonus | adjustment | recharge_referral | recharge_campaign | …
    reference: str | None
    lot_id: int
    pending: bool
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class PointsReleased(Event):
    event_type: ClassVar[str] = "points.released"
    member_id: int
    points: int
    lot_id: int
    reference: str | None


@dataclass(frozen=True)
class PointsSpent(Event):
    event_type: ClassVar[str] = "points.spent"
    member_id: int
    points: int
    kind: str  # deduction | redeem | adjustment
    reference: str | None


@dataclass(frozen=True)
class PointsExpired(Event):
    event_type: ClassVar[str] = "points.expired"
    member_id: int
    points: int
    lot_ids: tuple[int, ...]


@dataclass(frozen=True)
class PointsAdjusted(Event):
    event_type: ClassVar[str] = "points.adjusted"
    member_id: int
    points: int  # signed
    reason: str


@dataclass(frozen=True)
class GiftRedeemed(Event):
    event_type: ClassVar[str] = "points.gift_redeemed"
    member_id: int
    sku: str
    quantity: int
    points: int
    redemption_ref: str


@dataclass(frozen=True)
class BonusAwarded(Event):
    event_type: ClassVar[str] = "points.bonus_awarded"
    member_id: int
    action: str
    points: int
    reference: str | None


@dataclass(frozen=True)
class PointsClawedBack(Event):
    event_type: ClassVar[str] = "points.clawed_back"
    member_id: int
    reference: str
    points: int
    shortfall: int  # owed by the refund but no longer held by the member: written off


@dataclass(frozen=True)
class PointsReturned(Event):
    event_type: ClassVar[str] = "points.returned"
    member_id: int
    reference: str
    points: int
