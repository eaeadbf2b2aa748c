"""What happens to coupons, in the past tense; those with a member land on their timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class CouponTemplateCreated(Event):
    event_type: ClassVar[str] = "coupons.template_created"
    template_id: int
    code: str
    kind: str


@dataclass(frozen=True)
class CouponTemplateChanged(Event):
    event_type: ClassVar[str] = "coupons.template_changed"
    template_id: int
    code: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class CouponIssued(Event):
    event_type: ClassVar[str] = "coupons.issued"
    member_id: int
    coupon_id: int
    code: str
    template_id: int
    template: str  # the template's name, for the timeline
    source: str
    valid_from: datetime
    valid_until: datetime  # the first instant it is no longer usable
    usable_through: date  # the last programme-local day it can be used


@dataclass(frozen=True)
class CouponRedeemed(Event):
    event_type: ClassVar[str] = "coupons.redeemed"
    member_id: int
    coupon_id: int
    code: str
    order_ref: str
    discount: int
    target: str


@dataclass(frozen=True)
class CouponReleased(Event):
    event_type: ClassVar[str] = "coupons.released"
    member_id: int
    coupon_id: int
    code: str
    order_ref: str


@dataclass(frozen=True)
class CouponExpired(Event):
    event_type: ClassVar[str] = "coupons.expired"
    member_id: int
    coupon_id: int
    code: str
