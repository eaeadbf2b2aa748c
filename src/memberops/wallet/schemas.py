"""Stored-value shapes at the edge. Amounts are JSON integers of fen: StrictInt refuses
"100", 1.0 and true, so a till cannot send a string or a float by mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from memberops.wallet.models import CashOut, Recharge, WalletLot, WalletPayment, WalletRefund
from memberops.wallet.whatif import RechargeWhatIfReport

MAX_AMOUNT = 10**12  # fen; larger is not a mistake worth a database round trip

Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="fen (1 yuan = 100)")]
Ref = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^\S+$")]
Reason = Annotated[str, Field(min_length=2, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RechargeCreate(Strict):
    amount: Amount
    payment_ref: Ref = Field(description="the payment's reference; unique per recharge")
    payment: Literal["confirmed", "pending"] = Field(
        default="confirmed",
        description="pending: wait for POST /payments/{payment_ref}/callback")


class PaymentCallback(Strict):
    outcome: Literal["confirmed", "failed"]


class ReviewDecision(Strict):
    reason: Reason


class WalletPayCreate(Strict):
    amount: Amount
    payment_ref: Ref
    reference: Ref | None = Field(default=None, description="e.g. the order_ref")


class RefundCreate(Strict):
    refund_ref: Ref
    amount: Amount


class CashOutCreate(Strict):
    cash_out_ref: Ref
    reason: Reason


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RechargeRead(Read):
    id: int
    member_id: int
    payment_ref: str
    status: str
    amount: int
    bonus: int
    bonus_breakdown: dict[str, int]
    payment_status: str
    review_status: str
    risk_rule: str | None
    risk_reason: str | None
    referrer_id: int | None
    referrer_points: int
    campaign_points: int
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    scheme_version: int
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, row: Recharge) -> RechargeRead:
        return cls.model_validate(row)


class WalletRead(BaseModel):
    principal: int
    bonus: int
    total: int


class LotRead(Read):
    id: int
    kind: str
    source: str
    reference: str | None
    original: int
    remaining: int
    created_at: datetime

    @classmethod
    def of(cls, row: WalletLot) -> LotRead:
        return cls.model_validate(row)


class PaymentRead(Read):
    id: int
    member_id: int
    payment_ref: str
    reference: str | None
    amount: int
    principal_part: int
    bonus_part: int
    cashback: int
    refunded: int
    created_at: datetime

    @classmethod
    def of(cls, row: WalletPayment) -> PaymentRead:
        return cls.model_validate(row)


class RefundRead(Read):
    id: int
    payment_id: int
    member_id: int
    refund_ref: str
    amount: int
    principal_part: int
    bonus_part: int
    cashback_clawback: int
    created_at: datetime

    @classmethod
    def of(cls, row: WalletRefund) -> RefundRead:
        return cls.model_validate(row)


class CashOutRead(Read):
    id: int
    member_id: int
    cash_out_ref: str
    principal_refunded: int
    bonus_forfeited: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, row: CashOut) -> CashOutRead:
        return cls.model_validate(row)


class StatementLineRead(Read):
    entry_id: int
    at: datetime
    kind: str
    reference: str | None
    reason: str | None
    principal: int = Field(description="signed: + credit, - debit")
    bonus: int = Field(description="signed: + credit, - debit")
    principal_after: int
    bonus_after: int

    @classmethod
    def of(cls, line: Any) -> StatementLineRead:
        return cls.model_validate(line)


class Page(BaseModel):
    next_cursor: str | None = None


class RechargePage(Page):
    items: list[RechargeRead]


class PaymentPage(Page):
    items: list[PaymentRead]


class LotList(BaseModel):
    items: list[LotRead]


class Statement(Page):
    items: list[StatementLineRead]


class RechargeWhatIfRead(BaseModel):
    """The recharges settled over the window, priced under the scheme in force and under a
    proposed one; nothing was changed."""

    window_from: datetime
    window_to: datetime
    recharges: int
    members: int
    amount: int = Field(description="fen recharged over the window")
    bonus_recorded: int = Field(description="fen of bonus actually credited")
    bonus_baseline: int = Field(description="fen under the scheme in force, replayed")
    bonus_proposed: int = Field(description="fen under the proposed scheme")
    bonus_change: int
    recharges_more: int = Field(description="recharges whose bonus would rise")
    recharges_less: int
    members_affected: int

    @classmethod
    def of(cls, report: RechargeWhatIfReport) -> RechargeWhatIfRead:
        r = report.result
        return cls(window_from=report.window_from, window_to=report.window_to,
                   recharges=r.recharges, members=r.members, amount=r.amount,
                   bonus_recorded=r.bonus_recorded, bonus_baseline=r.bonus_baseline,
                   bonus_proposed=r.bonus_proposed, bonus_change=r.bonus_change,
                   recharges_more=r.recharges_more, recharges_less=r.recharges_less,
                   members_affected=r.members_affected)
