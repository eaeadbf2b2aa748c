"""Coupon shapes at the edge: what may come in (strict: no strings or fractions for money,
unknown fields refused) and what goes out. Cross-field rules (a kind's required fields, a
validity's dates) are checked by the service, so the CLI gets the same answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from memberops.coupons import codes, rules
from memberops.coupons.models import Coupon, CouponTemplate
from memberops.coupons.queries import effective_status, terms_of

Kind = Literal["amount_off", "percent_off", "first_order", "free_shipping", "gift_item"]
Validity = Literal["fixed", "days", "birthday_month"]
Trigger = Literal["welcome", "birthday"]
TemplateStatus = Literal["active", "paused"]
CouponStatus = Literal["issued", "used", "expired"]
# strict: "100", 100.0 and true are refused rather than read as 100 or 1.
Fen = Annotated[int, Field(strict=True, ge=1, le=rules.MAX_FEN, description="fen")]
FenOrZero = Annotated[int, Field(strict=True, ge=0, le=rules.MAX_FEN, description="fen")]
Count = Annotated[int, Field(strict=True, ge=1, le=rules.MAX_COUNT)]
Percent = Annotated[int, Field(strict=True, ge=1, le=99, description="10 = 10% off (9折)")]
Days = Annotated[int, Field(strict=True, ge=1, le=rules.MAX_DAYS)]
TemplateCode = Annotated[str, Field(min_length=1, max_length=40,
                                    pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Sku = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
TierCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$")]
Name = Annotated[str, Field(min_length=1, max_length=120)]
StrictBool = Annotated[bool, Field(strict=True)]
MAX_BATCH = 10_000  # members in one JSON issue request (a file may hold more via the CLI)
MAX_CODES = 10  # coupons on one order


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _unique_tiers(tiers: list[str] | None) -> list[str] | None:
    if tiers is not None and len(set(tiers)) != len(tiers):
        raise ValueError("a tier is listed twice")
    return tiers


# --- templates ------------------------------------------------------------------------

class TemplateCreate(Strict):
    code: TemplateCode
    name: Name
    description: Annotated[str, Field(max_length=500)] | None = None
    kind: Kind
    amount_off: Fen | None = None
    percent_off: Percent | None = None
    max_discount: Fen | None = Field(default=None, description="cap, fen (percent_off, "
                                     "free_shipping)")
    min_spend: FenOrZero = Field(default=0, description="threshold: order amount after tier "
                                 "and PLUS discounts, fen")
    gift_sku: Sku | None = None
    validity: Validity
    starts_on: date | None = Field(default=None, description="fixed: first day (local)")
    ends_on: date | None = Field(default=None, description="fixed: last day (local)")
    valid_days: Days | None = Field(default=None, description="days: usable through the "
                                    "N-th day after the issue day")
    quantity: Count | None = Field(default=None, description="total budget; none: unlimited")
    per_member_limit: Count | None = None
    stackable: StrictBool = False
    eligible_tiers: list[TierCode] = Field(default_factory=list, max_length=20,
                                           description="tier codes; empty: every tier")
    trigger: Trigger | None = Field(default=None, description="issued automatically on "
                                    "joining (welcome) or in the birthday month (birthday)")
    status: TemplateStatus = "active"

    _tiers = field_validator("eligible_tiers")(_unique_tiers)


class TemplateUpdate(Strict):
    """Only the fields sent change. The discount terms (kind, amounts, threshold, gift,
    stacking, tiers) can change only while the template has issued nothing; validity and
    budget changes apply to coupons issued from now on."""

    name: Name | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    kind: Kind | None = None
    amount_off: Fen | None = None
    percent_off: Percent | None = None
    max_discount: Fen | None = None
    min_spend: FenOrZero | None = None
    gift_sku: Sku | None = None
    validity: Validity | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    valid_days: Days | None = None
    quantity: Count | None = None
    per_member_limit: Count | None = None
    stackable: StrictBool | None = None
    eligible_tiers: list[TierCode] | None = Field(default=None, max_length=20)
    trigger: Trigger | None = None

    _tiers = field_validator("eligible_tiers")(_unique_tiers)


class TemplateCounts(BaseModel):
    issued: int
    outstanding: int  # issued and still usable or not yet valid
    used: int
    expired: int
    discount: int  # fen given by the coupons in use


class TemplateRead(BaseModel):
    id: int
    code: str
    name: str
    description: str | None
    rule: str
    kind: str
    amount_off: int | None
    percent_off: int | None
    max_discount: int | None
    min_spend: int
    gift_sku: str | None
    validity: str
    starts_on: date | None
    ends_on: date | None
    valid_days: int | None
    quantity: int | None
    issued: int
    remaining: int | None
    per_member_limit: int | None
    stackable: bool
    eligible_tiers: list[str]
    trigger: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    counts: TemplateCounts | None = None

    @classmethod
    def of(cls, t: CouponTemplate, counts: dict[str, int] | None = None) -> TemplateRead:
        return cls(id=t.id, code=t.code, name=t.name, description=t.description,
                   rule=terms_of(t).describe(), kind=t.kind, amount_off=t.amount_off,
                   percent_off=t.percent_off, max_discount=t.max_discount,
                   min_spend=t.min_spend, gift_sku=t.gift_sku, validity=t.validity,
                   starts_on=t.starts_on, ends_on=t.ends_on, valid_days=t.valid_days,
                   quantity=t.quantity, issued=t.issued,
                   remaining=None if t.quantity is None else t.quantity - t.issued,
                   per_member_limit=t.per_member_limit, stackable=t.stackable,
                   eligible_tiers=list(t.eligible_tiers), trigger=t.trigger, status=t.status,
                   created_at=t.created_at, updated_at=t.updated_at,
                   counts=TemplateCounts(**counts) if counts is not None else None)


class TemplatePage(BaseModel):
    items: list[TemplateRead]
    next_cursor: str | None


# --- coupons --------------------------------------------------------------------------

class CouponRead(BaseModel):
    code: str
    display_code: str
    member_id: int
    template_id: int
    template_code: str
    template_name: str
    kind: str
    rule: str
    stackable: bool
    status: str  # issued | used | expired (an issued coupon past its window reads expired)
    source: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    order_ref: str | None
    discount: int | None
    used_at: datetime | None

    @classmethod
    def of(cls, c: Coupon, t: CouponTemplate, now: datetime) -> CouponRead:
        return cls(code=c.code, display_code=codes.display(c.code), member_id=c.member_id,
                   template_id=t.id, template_code=t.code, template_name=t.name, kind=t.kind,
                   rule=terms_of(t).describe(), stackable=t.stackable,
                   status=effective_status(c, now), source=c.source, issued_at=c.issued_at,
                   valid_from=c.valid_from, valid_until=c.valid_until, order_ref=c.order_ref,
                   discount=c.discount, used_at=c.used_at)


class CouponPage(BaseModel):
    items: list[CouponRead]
    next_cursor: str | None


# --- issuing --------------------------------------------------------------------------

class IssueRequest(Strict):
    """One member (`member_id`), or a list of member ids or of phones."""

    member_id: Annotated[int, Field(strict=True, gt=0)] | None = None
    member_ids: list[Annotated[int, Field(strict=True, gt=0)]] | None = Field(
        default=None, min_length=1, max_length=MAX_BATCH)
    phones: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        default=None, min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_target(self) -> IssueRequest:
        given = [n for n in ("member_id", "member_ids", "phones") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("send exactly one of member_id, member_ids or phones")
        return self

    def targets(self) -> list[str]:
        if self.member_id is not None:
            return [str(self.member_id)]
        if self.member_ids is not None:
            return [str(m) for m in self.member_ids]
        return list(self.phones or [])


class IssueProblem(BaseModel):
    line: int
    member: str
    reason: str
    detail: str


class IssuedCoupon(BaseModel):
    line: int
    member_id: int
    code: str


class IssueResult(BaseModel):
    template_id: int
    batch_ref: str | None
    requested: int
    issued: int
    refused: int
    coupons: list[IssuedCoupon]
    errors: list[IssueProblem]


# --- validating -----------------------------------------------------------------------

class ValidateRequest(Strict):
    member_id: Annotated[int, Field(strict=True, gt=0)]
    codes: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=MAX_CODES)
    amount: FenOrZero = Field(description="goods, after tier and PLUS discounts, fen")
    shipping_fee: FenOrZero = 0
    has_prior_paid_order: StrictBool = False


class CouponVerdict(BaseModel):
    code: str
    applies: bool
    kind: str | None = None
    discount: int = 0
    target: str | None = None
    gift_sku: str | None = None
    reason: str | None = None
    detail: str | None = None


class ValidateResult(BaseModel):
    applies: bool
    discount: int
    shipping_discount: int
    payable: int  # amount - discount
    coupons: list[CouponVerdict]
