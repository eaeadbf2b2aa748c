"""Wallet lots: credited together, consumed oldest first within a kind.

The lots mirror the ledger: for every member, the remaining principal lots add up to the
balance of `member:{id}:wallet:principal`, and likewise for bonus. Every use case that
posts to those accounts changes lots by the same amounts in the same transaction. Lots
are only touched with the member row locked (members.lock_active), which is what keeps
two movements of one wallet from consuming the same lot.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Table, bindparam, insert, select, update

from memberops.uow import UnitOfWork
from memberops.wallet import rules
from memberops.wallet.models import WalletLot

Kind = Literal["principal", "bonus"]


# Core statements built once: lots are touched by every payment, refund and recharge.
LOTS: Table = WalletLot.__table__  # type: ignore[assignment]
INSERT_LOT = insert(LOTS)
OPEN_LOTS = (select(LOTS.c.id, LOTS.c.remaining)
             .where(LOTS.c.member_id == bindparam("member_id"), LOTS.c.kind == bindparam("kind"),
                    LOTS.c.remaining > 0)
             .order_by(LOTS.c.id))
TAKE_FROM_LOT = (update(LOTS).where(LOTS.c.id == bindparam("lot_id"))
                 .values(remaining=LOTS.c.remaining - bindparam("taken")))


def credit(uow: UnitOfWork, *, member_id: int, kind: Kind, source: str,
           reference: str | None, amount: int, entry_id: int) -> None:
    """A new lot for `amount` fen (none for zero)."""
    if amount > 0:
        uow.session.execute(INSERT_LOT, {
            "member_id": member_id, "kind": kind, "source": source, "reference": reference,
            "original": amount, "remaining": amount, "created_at": uow.clock.now(),
            "entry_id": entry_id})


def consume(uow: UnitOfWork, *, member_id: int, kind: Kind, amount: int) -> list[int]:
    """Take `amount` from the member's lots of this kind, oldest first; the lot ids used."""
    if amount <= 0:
        return []
    open_lots = uow.session.execute(OPEN_LOTS, {"member_id": member_id, "kind": kind}).all()
    try:
        taken = rules.take_in_order([lot.remaining for lot in open_lots], amount)
    except ValueError as exc:
        # The ledger allowed the movement, so lots and ledger disagree: a bug, not a refusal.
        raise RuntimeError(f"member {member_id} {kind} lots out of step with the ledger: "
                           f"{exc}") from None
    used = [{"lot_id": lot.id, "taken": part}
            for lot, part in zip(open_lots, taken, strict=True) if part]
    uow.session.execute(TAKE_FROM_LOT, used)
    return [u["lot_id"] for u in used]
