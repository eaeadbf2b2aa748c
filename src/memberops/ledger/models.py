"""The double-entry ledger's tables: balances (a cache), entries, postings and holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class LedgerBalance(Base):
    """The current balance of one account in one asset; recomputable from the postings."""

    __tablename__ = "ledger_balances"

    address: Mapped[str] = mapped_column(String(120), primary_key=True)
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One atomic movement of value: a set of postings, never edited, reversed if wrong."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # Retrying the same movement returns this entry instead of applying it twice.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    input_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(500))
    # Unique: an entry can be reversed once, and a reversal is itself never reversed.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"),
                                                    unique=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    postings: Mapped[list[LedgerPosting]] = relationship(
        back_populates="entry", lazy="selectin", order_by="LedgerPosting.id")


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    source: Mapped[str] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(120))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[LedgerEntry] = relationship(back_populates="postings")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("source <> destination", name="distinct_accounts"),
        Index("ix_ledger_postings_source", "source", "asset", "entry_id"),
        Index("ix_ledger_postings_destination", "destination", "asset", "entry_id"),
    )


class LedgerHold(Base):
    """A pending amount parked in its own account until it is posted, voided or expires."""

    __tablename__ = "ledger_holds"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(120))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending|posted|voided|expired
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    resolve_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    @property
    def escrow(self) -> str:
        return f"hold:{self.id}"
