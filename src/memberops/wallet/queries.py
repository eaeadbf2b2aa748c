"""The read side of stored value: balances, lots, recharges, payments, the review queue,
statements and the outstanding liability."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from memberops.errors import NotFound
from memberops.ledger import queries as ledger_queries
from memberops.ledger import service as ledger_service
from memberops.ledger.models import LedgerBalance, LedgerPosting
from memberops.members import queries as member_queries
from memberops.money import Money
from memberops.prepared import Prepared, utc_time
from memberops.risk.rules import RecentRecharge
from memberops.wallet import rules
from memberops.wallet.models import CashOut, Recharge, WalletLot, WalletPayment, WalletRefund

MAX_LIMIT = 500
OUTSTANDING = ("pending", "pending_review")  # recharges that may still be credited


def _yuan(payload: dict[str, Any], name: str = "amount") -> str:
    return Money(int(payload.get(name) or 0)).format()


# How wallet events read on a member's timeline.
for _type, _text in {
    "wallet.recharge_submitted": lambda p: f"Recharge {_yuan(p)} submitted ({p['payment_ref']})",
    "wallet.recharge_settled": lambda p: f"Recharged {_yuan(p)} + bonus {_yuan(p, 'bonus')}",
    "wallet.recharge_held": lambda p: f"Recharge {_yuan(p)} held for review: {p['reason']}",
    "wallet.recharge_rejected": lambda p: f"Recharge {_yuan(p)} rejected: {p['reason']}",
    "wallet.recharge_failed": lambda p: f"Recharge {_yuan(p)} failed: payment not completed",
    "wallet.paid": lambda p: f"Paid {_yuan(p)} from the wallet (principal "
    f"{_yuan(p, 'principal')}, bonus {_yuan(p, 'bonus')})",
    "wallet.cashback_credited": lambda p: f"Cashback {_yuan(p)} on {p['payment_ref']}",
    "wallet.refunded": lambda p: f"Refund {_yuan(p)} of {p['payment_ref']} to the wallet"
    + (f", cashback {_yuan(p, 'cashback_clawback')} taken back"
       if p.get("cashback_clawback") else ""),
    "wallet.cashed_out": lambda p: f"Cashed out: principal {_yuan(p, 'principal_refunded')} "
    f"refunded, bonus {_yuan(p, 'bonus_forfeited')} forfeited",
}.items():
    member_queries.describe_event(_type, _text)


def balances(session: Session, member_id: int) -> tuple[int, int]:
    """(principal, bonus) of a member's wallet, from the ledger."""
    found = ledger_service.balances(session, [rules.principal_account(member_id),
                                              rules.bonus_account(member_id)], rules.ASSET)
    return found[rules.principal_account(member_id)], found[rules.bonus_account(member_id)]


def wallet(session: Session, member_id: int) -> dict[str, int]:
    """`{principal, bonus, total}` in fen (API.md); a 404 for an unknown member."""
    member_queries.check_exists(session, member_id)
    principal, bonus = balances(session, member_id)
    return {"principal": principal, "bonus": bonus, "total": principal + bonus}


def lots(session: Session, member_id: int, *, include_empty: bool = False,
         kind: str | None = None) -> list[WalletLot]:
    """A member's lots, oldest first (the order payments consume them)."""
    stmt = select(WalletLot).where(WalletLot.member_id == member_id)
    if not include_empty:
        stmt = stmt.where(WalletLot.remaining > 0)
    if kind is not None:
        stmt = stmt.where(WalletLot.kind == kind)
    return list(session.execute(stmt.order_by(WalletLot.id)).scalars())


def lot_totals(session: Session, member_id: int) -> dict[str, int]:
    """Remaining fen per lot kind; equals the ledger balances (the lots mirror the ledger)."""
    rows = session.execute(select(WalletLot.kind, func.coalesce(func.sum(WalletLot.remaining), 0))
                           .where(WalletLot.member_id == member_id).group_by(WalletLot.kind))
    totals = {"principal": 0, "bonus": 0}
    totals.update({kind: int(total) for kind, total in rows})
    return totals


def _page(stmt: Any, column: Any, limit: int, before_id: int | None) -> Any:
    limit = max(1, min(limit, MAX_LIMIT))
    if before_id is not None:
        stmt = stmt.where(column < before_id)
    return stmt.order_by(column.desc()).limit(limit)


def recharges(session: Session, member_id: int, *, limit: int = 50,
              before_id: int | None = None) -> list[Recharge]:
    """A member's recharges, newest first."""
    member_queries.check_exists(session, member_id)
    stmt = select(Recharge).where(Recharge.member_id == member_id)
    return list(session.execute(_page(stmt, Recharge.id, limit, before_id)).scalars())


def payments(session: Session, member_id: int, *, limit: int = 50,
             before_id: int | None = None) -> list[WalletPayment]:
    """A member's wallet payments, newest first."""
    member_queries.check_exists(session, member_id)
    stmt = select(WalletPayment).where(WalletPayment.member_id == member_id)
    return list(session.execute(_page(stmt, WalletPayment.id, limit, before_id)).scalars())


def refunds_of(session: Session, payment_id: int) -> list[WalletRefund]:
    """The refunds of one wallet payment, oldest first."""
    return list(session.execute(select(WalletRefund).where(
        WalletRefund.payment_id == payment_id).order_by(WalletRefund.id)).scalars())


def review_queue(session: Session, *, limit: int = 100,
                 after_id: int | None = None) -> list[Recharge]:
    """Recharges held for review, oldest first (the order a reviewer works through them)."""
    stmt = select(Recharge).where(Recharge.status == "pending_review")
    if after_id is not None:
        stmt = stmt.where(Recharge.id > after_id)
    limit = max(1, min(limit, MAX_LIMIT))
    return list(session.execute(stmt.order_by(Recharge.id).limit(limit)).scalars())


def get_recharge(session: Session, recharge_id: int) -> Recharge:
    """One recharge by id; a 404 (recharge_not_found) when there is none."""
    found = session.get(Recharge, recharge_id)
    if found is None:
        raise NotFound(f"recharge {recharge_id} not found", code="recharge_not_found")
    return found


RECHARGE_REF_USED = Prepared(select(Recharge.__table__.c.id).where(
    Recharge.__table__.c.payment_ref == bindparam("ref")))


def recharge_by_ref(session: Session, payment_ref: str) -> Recharge | None:
    """The recharge of this payment_ref, re-read from the database (not the session cache);
    a cheap prepared look first, as most refs are new."""
    if RECHARGE_REF_USED.first(session, {"ref": payment_ref}) is None:
        return None
    return session.execute(select(Recharge).where(Recharge.payment_ref == payment_ref)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


PAYMENT_REF_USED = Prepared(select(WalletPayment.__table__.c.id).where(
    WalletPayment.__table__.c.payment_ref == bindparam("ref")))


def payment_ref_used(session: Session, payment_ref: str) -> bool:
    """Whether a payment with this ref exists: a cheap look before loading it."""
    return PAYMENT_REF_USED.first(session, {"ref": payment_ref}) is not None


def payment_by_ref(session: Session, payment_ref: str) -> WalletPayment | None:
    """The wallet payment of this payment_ref, re-read from the database."""
    return session.execute(select(WalletPayment).where(WalletPayment.payment_ref == payment_ref)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def refund_by_ref(session: Session, refund_ref: str) -> WalletRefund | None:
    """The refund of this refund_ref, if any."""
    return session.execute(select(WalletRefund).where(WalletRefund.refund_ref == refund_ref)
                           ).scalar_one_or_none()


def cash_out_by_ref(session: Session, cash_out_ref: str) -> CashOut | None:
    """The cash-out of this cash_out_ref, if any."""
    return session.execute(select(CashOut).where(CashOut.cash_out_ref == cash_out_ref)
                           ).scalar_one_or_none()


RECHARGES: Any = Recharge.__table__
RECENT_RECHARGES = Prepared(select(RECHARGES.c.amount, RECHARGES.c.created_at,
                                   RECHARGES.c.status)
                            .where(RECHARGES.c.member_id == bindparam("member_id"),
                                   RECHARGES.c.created_at >= bindparam("since")))
RECHARGE_HISTORY = Prepared(select(func.coalesce(func.sum(RECHARGES.c.amount), 0), func.count())
                            .where(RECHARGES.c.member_id == bindparam("member_id"),
                                   RECHARGES.c.status == "settled"))
OUTSTANDING_TOTAL = Prepared(select(func.coalesce(func.sum(RECHARGES.c.amount
                                                           + RECHARGES.c.bonus), 0))
                             .where(RECHARGES.c.member_id == bindparam("member_id"),
                                    or_(*[RECHARGES.c.status == s for s in OUTSTANDING])))


def recent_recharges(session: Session, member_id: int, since: datetime) -> list[RecentRecharge]:
    """The member's recharges submitted since `since`, for the risk rules."""
    rows = RECENT_RECHARGES.all(session, {"member_id": member_id, "since": since})
    # The driver hands back SQLite's stored text or PostgreSQL's aware time: one type here.
    return [RecentRecharge(int(a), utc_time(at), status) for a, at, status in rows]


def recharge_history(session: Session, member_id: int) -> tuple[int, int]:
    """(total fen, count) of the member's settled recharges."""
    total, count = RECHARGE_HISTORY.first(session, {"member_id": member_id}) or (0, 0)
    return int(total), int(count)


def outstanding_total(session: Session, member_id: int) -> int:
    """Fen of recharges (amount + bonus) that may still be credited to the member."""
    return int(OUTSTANDING_TOTAL.scalar(session, {"member_id": member_id}) or 0)


def liability(session: Session) -> dict[str, int]:
    """Outstanding stored value owed to members (fen): principal, bonus, total, and the
    number of wallets holding any. From the ledger; the lots agree by construction."""
    totals: dict[str, int] = {}
    for kind in ("principal", "bonus"):
        totals[kind] = int(session.execute(
            select(func.coalesce(func.sum(LedgerBalance.balance), 0)).where(
                LedgerBalance.address.like(f"member:%:wallet:{kind}"),
                LedgerBalance.asset == rules.ASSET)).scalar_one())
    totals["total"] = totals["principal"] + totals["bonus"]
    totals["wallets"] = int(session.execute(
        select(func.count(func.distinct(WalletLot.member_id))).where(WalletLot.remaining > 0)
    ).scalar_one())
    return totals


@dataclass(frozen=True)
class StatementLine:
    """One ledger entry as the member's wallet saw it: signed parts and balances after."""

    entry_id: int
    at: datetime
    kind: str
    reference: str | None
    reason: str | None
    principal: int
    bonus: int
    principal_after: int
    bonus_after: int


def _balance_at(session: Session, address: str, entry_id: int) -> int:
    # Only needed when an account's last movement lies before the fetched page.
    signed = func.sum(LedgerPosting.amount).filter(LedgerPosting.destination == address)
    debit = func.sum(LedgerPosting.amount).filter(LedgerPosting.source == address)
    row = session.execute(select(func.coalesce(signed, 0), func.coalesce(debit, 0)).where(
        LedgerPosting.entry_id <= entry_id, LedgerPosting.asset == rules.ASSET)).one()
    return int(row[0]) - int(row[1])


def _after(session: Session, address: str, lines: Sequence[ledger_queries.StatementLine],
           entry_id: int) -> int:
    line = next((x for x in lines if x.entry_id <= entry_id), None)
    return line.balance_after if line is not None else _balance_at(session, address, entry_id)


def statement(session: Session, member_id: int, *, limit: int = 100,
              before_entry_id: int | None = None) -> list[StatementLine]:
    """The wallet's movements, newest first: principal and bonus side by side."""
    member_queries.check_exists(session, member_id)
    limit = max(1, min(limit, MAX_LIMIT))
    addresses = (rules.principal_account(member_id), rules.bonus_account(member_id))
    fetched = [ledger_queries.statement(session, a, rules.ASSET, limit=limit,
                                        before_entry_id=before_entry_id) for a in addresses]
    by_entry: dict[int, list[ledger_queries.StatementLine]] = {}
    for lines in fetched:
        for line in lines:
            by_entry.setdefault(line.entry_id, []).append(line)
    result = []
    for entry_id in sorted(by_entry, reverse=True)[:limit]:
        first = by_entry[entry_id][0]
        amounts = [next((x.amount for x in lines if x.entry_id == entry_id), 0)
                   for lines in fetched]
        after = [_after(session, a, lines, entry_id) for a, lines in zip(addresses, fetched,
                                                                             strict=True)]
        result.append(StatementLine(entry_id, first.at, first.kind, first.reference,
                                    first.reason, amounts[0], amounts[1], after[0], after[1]))
    return result
