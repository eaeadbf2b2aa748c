"""Wallet lots: credited together, consumed oldest first within a kind.

The lots mirror the ledger: for every member, the remaining principal lots add up to the
balance of `member:{id}:wallet:principal`, and likewise for bonus. Every use case that
posts to those accounts changes lots by the same amounts in the same transaction. Lots
are only touched with the member row locked (members.lock_active), which is what keeps
two movements of one wallet from consuming the same lot.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from memberops.uow import UnitOfWork
from memberops.wallet import rules
from memberops.wallet.models import WalletLot

Kind = Literal["principal", "bonus"]


def credit(uow: UnitOfWork, *, member_id: int, kind: Kind, source: str,
           reference: str | None, amount: int, entry_id: int) -> WalletLot | None:
    """A new lot for `amount` fen (none for zero)."""
    if amount <= 0:
        return None
    lot = WalletLot(member_id=member_id, kind=kind, source=source, reference=reference,
                    original=amount, remaining=amount, created_at=uow.clock.now(),
                    entry_id=entry_id)
    uow.session.add(lot)
    return lot


def consume(uow: UnitOfWork, *, member_id: int, kind: Kind, amount: int) -> list[int]:
    """Take `amount` from the member's lots of this kind, oldest first; the lot ids used."""
    if amount <= 0:
        return []
    open_lots = list(uow.session.execute(
        select(WalletLot).where(WalletLot.member_id == member_id, WalletLot.kind == kind,
                                WalletLot.remaining > 0)
        .order_by(WalletLot.id).execution_options(populate_existing=True)).scalars())
    try:
        taken = rules.take_in_order([lot.remaining for lot in open_lots], amount)
    except ValueError as exc:
        # The ledger allowed the movement, so lots and ledger disagree: a bug, not a refusal.
        raise RuntimeError(f"member {member_id} {kind} lots out of step with the ledger: "
                           f"{exc}") from None
    used = []
    for lot, part in zip(open_lots, taken, strict=True):
        if part:
            lot.remaining -= part
            used.append(lot.id)
    uow.session.flush()
    return used
