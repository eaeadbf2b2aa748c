"""What happens to stored value, in the past tense; each lands on the member's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class RechargeSubmitted(Event):
    event_type: ClassVar[str] = "wallet.recharge_submitted"
    member_id: int
    recharge_id: int
    payment_ref: str
    amount: int
    bonus: int


@dataclass(frozen=True)
class RechargeSettled(Event):
    event_type: ClassVar[str] = "wallet.recharge_settled"
    member_id: int
    recharge_id: int
    payment_ref: str
    amount: int
    bonus: int


@dataclass(frozen=True)
class RechargeHeld(Event):
    event_type: ClassVar[str] = "wallet.recharge_held"
    member_id: int
    recharge_id: int
    amount: int
    rule: str | None
    reason: str


@dataclass(frozen=True)
class RechargeRejected(Event):
    event_type: ClassVar[str] = "wallet.recharge_rejected"
    member_id: int
    recharge_id: int
    amount: int
    rule: str | None
    reason: str


@dataclass(frozen=True)
class RechargeFailed(Event):
    event_type: ClassVar[str] = "wallet.recharge_failed"
    member_id: int
    recharge_id: int
    payment_ref: str
    amount: int


@dataclass(frozen=True)
class WalletPaid(Event):
    event_type: ClassVar[str] = "wallet.paid"
    member_id: int
    payment_ref: str
    amount: int
    principal: int
    bonus: int
    reference: str | None = None


@dataclass(frozen=True)
class CashbackCredited(Event):
    event_type: ClassVar[str] = "wallet.cashback_credited"
    member_id: int
    payment_ref: str
    amount: int


@dataclass(frozen=True)
class WalletRefunded(Event):
    event_type: ClassVar[str] = "wallet.refunded"
    member_id: int
    payment_ref: str
    refund_ref: str
    amount: int
    principal: int
    bonus: int
    cashback_clawback: int


@dataclass(frozen=True)
class WalletCashedOut(Event):
    event_type: ClassVar[str] = "wallet.cashed_out"
    member_id: int
    cash_out_ref: str
    principal_refunded: int
    bonus_forfeited: int
    reason: str
