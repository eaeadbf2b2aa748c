"""Wallet lots: credited together, consumed oldest first within a kind.

The lots mirror the ledger: for every member, the remaining principal lots add up to the
balance of `member:{id}:wallet:principal`, and likewise for bonus. Every use case that
posts to those accounts changes lots by the same amounts in the same transaction. Lots
are only touched with the member row locked (members.lock_active), which is what keeps
two movements of one wallet from consuming the same lot.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, update

from memberops.prepared import Prepared
from memberops.uow import UnitOfWork
from memberops.wallet import rules
from memberops.wallet.models import WalletLot

Kind = Literal["principal", "bonus"]


# Prepared statements (memberops.prepared): lots are touched by every payment, refund and
# recharge.
LOTS: Table = WalletLot.__table__  # type: ignore[assignment]
INSERT_LOT = Prepared(insert(LOTS).values({
    name: bindparam(name) for name in ("member_id", "kind", "source", "reference", "original",
                                       "remaining", "created_at", "entry_id")}), many=True)
OPEN_LOTS = Prepared(select(LOTS.c.id, LOTS.c.kind, LOTS.c.remaining)
                     .where(LOTS.c.member_id == bindparam("member_id"), LOTS.c.remaining > 0)
                     .order_by(LOTS.c.id))
TAKE_FROM_LOT = Prepared(update(LOTS).where(LOTS.c.id == bindparam("lot_id"))
                         .values(remaining=LOTS.c.remaining - bindparam("taken")), many=True)


class OpenLot(NamedTuple):
    id: int
    kind: str
    remaining: int


def credit(uow: UnitOfWork, *, member_id: int, kind: Kind, source: str,
           reference: str | None, amount: int, entry_id: int) -> None:
    """A new lot for `amount` fen (none for zero)."""
    if amount > 0:
        INSERT_LOT.execute(uow.session, {
            "member_id": member_id, "kind": kind, "source": source, "reference": reference,
            "original": amount, "remaining": amount, "created_at": uow.clock.now(),
            "entry_id": entry_id}).close()


def open_lots(uow: UnitOfWork, member_id: int) -> list[OpenLot]:
    """The member's lots with something left, both kinds, oldest first: one read that gives
    a payment both its balances (`totals`) and the lots it will consume."""
    return [OpenLot(*row) for row in OPEN_LOTS.all(uow.session, {"member_id": member_id})]


def totals(lots: list[OpenLot]) -> tuple[int, int]:
    """(principal, bonus) remaining in these lots."""
    principal = sum(lot.remaining for lot in lots if lot.kind == "principal")
    return principal, sum(lot.remaining for lot in lots) - principal


def consume_from(uow: UnitOfWork, member_id: int, lots: list[OpenLot],
                 amounts: dict[Kind, int]) -> list[int]:
    """Take each kind's amount from `lots` (as read by `open_lots` in this transaction),
    oldest first within the kind; the lot ids used."""
    used: list[dict[str, int]] = []
    for kind, amount in amounts.items():
        if amount <= 0:
            continue
        of_kind = [lot for lot in lots if lot.kind == kind]
        try:
            taken = rules.take_in_order([lot.remaining for lot in of_kind], amount)
        except ValueError as exc:
            # The ledger allowed the movement, so lots and ledger disagree: a bug, not a
            # refusal.
            raise RuntimeError(f"member {member_id} {kind} lots out of step with the "
                               f"ledger: {exc}") from None
        used += [{"lot_id": lot.id, "taken": part}
                 for lot, part in zip(of_kind, taken, strict=True) if part]
    TAKE_FROM_LOT.executemany(uow.session, used)
    return [u["lot_id"] for u in used]


def consume(uow: UnitOfWork, *, member_id: int, kind: Kind, amount: int) -> list[int]:
    """Take `amount` from the member's lots of this kind, oldest first; the lot ids used."""
    if amount <= 0:
        return []
    return consume_from(uow, member_id, open_lots(uow, member_id), {kind: amount})
