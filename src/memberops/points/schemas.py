"""Points shapes at the edge: what may come in (strict: no strings or fractions for points,
unknown fields refused) and what goes out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from memberops.points import rules
from memberops.points.models import GiftItem, GiftRedemption, PointsLot
from memberops.points.queries import StatementLine


def _not_zero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be zero")
    return value


# strict: "100", 100.0 and true are refused rather than read as 100 or 1.
Points = Annotated[int, Field(strict=True, ge=1, le=rules.MAX_POINTS)]
SignedPoints = Annotated[int, Field(strict=True, ge=-rules.MAX_POINTS, le=rules.MAX_POINTS),
                         AfterValidator(_not_zero)]
Stock = Annotated[int, Field(strict=True, ge=0, le=rules.MAX_STOCK)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=rules.MAX_QUANTITY)]
Sku = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Ref = Annotated[str, Field(min_length=1, max_length=120)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- balances, lots, statements -------------------------------------------------------

class Expiring(BaseModel):
    date: date
    points: int


class PointsSummary(BaseModel):
    """API.md: `{available, pending, expiring: [{date, points}]}`; `date` is the last day
    the points can be used."""

    available: int
    pending: int
    expiring: list[Expiring]

    @classmethod
    def of(cls, summary: dict[str, Any]) -> PointsSummary:
        return cls.model_validate(summary)


class LotRead(BaseModel):
    id: int
    source: str
    reference: str | None
    original: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, lot: PointsLot) -> LotRead:
        return cls.model_validate(lot, from_attributes=True)


class LotPage(BaseModel):
    items: list[LotRead]
    next_before_id: int | None


class StatementLineRead(BaseModel):
    entry_id: int
    at: datetime
    kind: str
    reference: str | None
    reason: str | None
    available_change: int
    pending_change: int
    available_after: int
    pending_after: int

    @classmethod
    def of(cls, line: StatementLine) -> StatementLineRead:
        return cls.model_validate(line, from_attributes=True)


class StatementPage(BaseModel):
    items: list[StatementLineRead]
    next_before_id: int | None


# --- movements ------------------------------------------------------------------------

class BonusRequest(Strict):
    action: Annotated[str, Field(min_length=1, max_length=40)]
    reference: Ref | None = Field(default=None, description="e.g. the review id; for a "
                                  "referral the referred member, member:<id>")


class BonusRead(BaseModel):
    action: str
    points: int
    lot: LotRead
    balance: PointsSummary


class RedemptionRequest(Strict):
    sku: Sku
    quantity: Quantity = 1
    redemption_ref: Ref


class RedemptionRead(BaseModel):
    id: int
    member_id: int
    sku: str
    quantity: int
    points: int
    redemption_ref: str
    created_at: datetime
    balance: PointsSummary

    @classmethod
    def of(cls, redemption: GiftRedemption, balance: PointsSummary) -> RedemptionRead:
        return cls(id=redemption.id, member_id=redemption.member_id,
                   sku=redemption.details["sku"], quantity=redemption.quantity,
                   points=redemption.points, redemption_ref=redemption.redemption_ref,
                   created_at=redemption.created_at, balance=balance)


class AdjustmentRequest(Strict):
    points: SignedPoints = Field(description="positive adds a lot; negative takes points away")
    reason: Annotated[str, Field(min_length=2, max_length=500)]


class AdjustmentRead(BaseModel):
    member_id: int
    points: int
    reason: str
    entry_id: int
    lot_id: int | None
    balance: PointsSummary


# --- gift catalogue -------------------------------------------------------------------

class GiftCreate(Strict):
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=120)]
    points_price: Points
    stock: Stock = 0
    active: Annotated[bool, Field(strict=True)] = True


class GiftUpdate(Strict):
    """Only the fields sent change; `stock` sets the count on hand."""

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    points_price: Points | None = None
    stock: Stock | None = None
    active: Annotated[bool, Field(strict=True)] | None = None


class GiftRead(BaseModel):
    sku: str
    name: str
    points_price: int
    stock: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: GiftItem) -> GiftRead:
        return cls.model_validate(item, from_attributes=True)


class GiftPage(BaseModel):
    items: list[GiftRead]
    next_cursor: str | None
