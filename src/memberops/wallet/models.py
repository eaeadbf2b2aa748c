"""Stored value (储值): recharges and their review, principal and bonus lots, wallet
payments and their refunds, and cash-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class Recharge(Base):
    __tablename__ = "recharges"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    payment_ref: Mapped[str] = mapped_column(String(120), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    bonus: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    referrer_points: Mapped[int] = mapped_column(BigInteger, default=0)
    campaign_points: Mapped[int] = mapped_column(BigInteger, default=0)
    # pending (awaiting payment) | pending_review | settled | rejected | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    payment_status: Mapped[str] = mapped_column(String(10))  # pending|confirmed|failed
    review_status: Mapped[str] = mapped_column(String(10))  # none|held|approved|rejected
    risk_rule: Mapped[str | None] = mapped_column(String(40))
    risk_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_reason: Mapped[str | None] = mapped_column(String(500))
    scheme_version: Mapped[int] = mapped_column(Integer, default=0)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount > 0 AND bonus >= 0", name="amounts_valid"),
                      Index("ix_recharges_member_time", "member_id", "created_at"))


class WalletLot(Base):
    """Principal or bonus credited together; `remaining` falls as it is spent."""

    __tablename__ = "wallet_lots"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(10))  # principal|bonus
    source: Mapped[str] = mapped_column(String(20))  # recharge|cashback|refund
    reference: Mapped[str | None] = mapped_column(String(120))
    original: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_in_range"),
        Index("ix_wallet_lots_member_use", "member_id", "kind", "remaining", "id"),
    )


class WalletPayment(Base):
    __tablename__ = "wallet_payments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    payment_ref: Mapped[str] = mapped_column(String(120), unique=True)
    reference: Mapped[str | None] = mapped_column(String(120))  # e.g. order_ref
    amount: Mapped[int] = mapped_column(BigInteger)
    principal_part: Mapped[int] = mapped_column(BigInteger)
    bonus_part: Mapped[int] = mapped_column(BigInteger)
    cashback: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("amount > 0 AND amount = principal_part + bonus_part",
                        name="parts_add_up"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="refund_in_range"),
    )


class WalletRefund(Base):
    __tablename__ = "wallet_refunds"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("wallet_payments.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    refund_ref: Mapped[str] = mapped_column(String(120), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    principal_part: Mapped[int] = mapped_column(BigInteger)
    bonus_part: Mapped[int] = mapped_column(BigInteger)
    cashback_clawback: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount > 0 AND amount = principal_part + bonus_part",
                                      name="parts_add_up"),)


class CashOut(Base):
    __tablename__ = "wallet_cash_outs"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    cash_out_ref: Mapped[str] = mapped_column(String(120), unique=True)
    principal_refunded: Mapped[int] = mapped_column(BigInteger)
    bonus_forfeited: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
