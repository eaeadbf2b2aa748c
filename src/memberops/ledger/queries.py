"""Reading the ledger: verification of every balance, and account statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from memberops.ledger.models import LedgerBalance, LedgerEntry, LedgerPosting
from memberops.ledger.rules import is_system


@dataclass
class Verification:
    """What `memberops ledger verify` found; `ok` when every check passed."""

    accounts: int = 0
    postings: int = 0
    # (address, asset, cached, computed) for every balance the postings contradict
    drift: list[tuple[str, str, int, int]] = field(default_factory=list)
    asset_totals: dict[str, int] = field(default_factory=dict)  # non-zero sums per asset
    negative: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.drift or self.negative or any(self.asset_totals.values()))


def computed_balances(session: Session) -> dict[tuple[str, str], int]:
    """Every balance recomputed from the postings alone."""
    p = LedgerPosting.__table__
    moves = union_all(
        select(p.c.destination.label("account"), p.c.asset, p.c.amount.label("delta")),
        select(p.c.source.label("account"), p.c.asset,
               (literal_column("0") - p.c.amount).label("delta")),
    ).subquery()
    rows = session.execute(select(moves.c.account, moves.c.asset, func.sum(moves.c.delta))
                           .group_by(moves.c.account, moves.c.asset))
    return {(a, s): int(total) for a, s, total in rows}


def verify(session: Session) -> Verification:
    """Recompute balances from postings; check the cache, zero-sum assets and signs."""
    computed = computed_balances(session)
    cached = {(a, s): int(b) for a, s, b in session.execute(
        select(LedgerBalance.address, LedgerBalance.asset, LedgerBalance.balance))}
    report = Verification(accounts=len(set(computed) | set(cached)),
                          postings=session.execute(
                              select(func.count()).select_from(LedgerPosting)).scalar_one())
    totals: dict[str, int] = defaultdict(int)
    for key in sorted(set(computed) | set(cached)):
        want, system = computed.get(key, 0), is_system(key[0])
        # System accounts keep no cached balance (see ledger.service.post): their balance
        # is what the postings say, and only the members' cache can drift.
        have = want if system and key not in cached else cached.get(key, 0)
        totals[key[1]] += have
        if want != have:
            report.drift.append((key[0], key[1], have, want))
        if want < 0 and not system:
            report.negative.append((key[0], key[1], want))
    report.asset_totals = {asset: total for asset, total in totals.items() if total}
    return report


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    at: datetime
    kind: str
    reference: str | None
    reason: str | None
    amount: int  # signed: + credit to the account, - debit
    balance_after: int
    counterparty: str


def statement(session: Session, address: str, asset: str, *, limit: int = 100,
              before_entry_id: int | None = None) -> list[StatementLine]:
    """An account's movements, newest first, each with the balance after it."""
    p, e = LedgerPosting, LedgerEntry
    signed = func.coalesce(
        func.sum(p.amount).filter(p.destination == address), 0) - func.coalesce(
        func.sum(p.amount).filter(p.source == address), 0)
    per_entry = (select(p.entry_id.label("entry_id"), signed.label("amount"))
                 .where(p.asset == asset, or_(p.source == address, p.destination == address))
                 .group_by(p.entry_id).subquery())
    running = func.sum(per_entry.c.amount).over(order_by=per_entry.c.entry_id)
    ranked = select(per_entry.c.entry_id, per_entry.c.amount,
                    running.label("balance_after")).subquery()
    stmt = (select(ranked.c.entry_id, ranked.c.amount, ranked.c.balance_after, e.created_at,
                   e.kind, e.reference, e.reason)
            .join(e, e.id == ranked.c.entry_id))
    if before_entry_id is not None:
        stmt = stmt.where(ranked.c.entry_id < before_entry_id)
    rows = session.execute(stmt.order_by(ranked.c.entry_id.desc()).limit(limit)).all()
    counterparts = _counterparties(session, [r.entry_id for r in rows], address)
    return [StatementLine(r.entry_id, r.created_at, r.kind, r.reference, r.reason,
                          int(r.amount), int(r.balance_after), counterparts.get(r.entry_id, ""))
            for r in rows if r.amount != 0]


def _counterparties(session: Session, entry_ids: list[int], address: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry_id, source, destination in session.execute(
            select(LedgerPosting.entry_id, LedgerPosting.source, LedgerPosting.destination)
            .where(LedgerPosting.entry_id.in_(entry_ids))):
        other = destination if source == address else source if destination == address else None
        if other and entry_id not in found:
            found[entry_id] = other
    return found
