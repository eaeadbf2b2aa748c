"""Posting to the ledger: lock balances in address order, check, apply, record — once.

Every movement of points or money goes through `post`. Balances are a cache
updated in the same transaction as the postings that justify them; only
`system:*` accounts may go negative; an entry key makes a retry return the
first entry instead of moving value twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberops.errors import (
    Conflict,
    IdempotencyMismatch,
    InsufficientBalance,
    NotFound,
    ValidationFailed,
)
from memberops.ledger import rules
from memberops.ledger.models import LedgerBalance, LedgerEntry, LedgerHold, LedgerPosting
from memberops.ledger.rules import Posting
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork

BALANCES: Table = LedgerBalance.__table__  # type: ignore[assignment]
ENTRIES: Table = LedgerEntry.__table__  # type: ignore[assignment]
POSTINGS: Table = LedgerPosting.__table__  # type: ignore[assignment]
Key = tuple[str, str]


# Statements of the hot path are compiled once and run on the driver (memberops.prepared).
# FOR UPDATE in (address, asset) order: every writer locks in the same order, so two
# payments touching the same accounts queue instead of deadlocking (DESIGN rule 7).
# SQLite has no row locks; there the write transaction began with BEGIN IMMEDIATE.
_LOCKS: dict[int, Prepared] = {}


def _lock_statement(count: int) -> Prepared:
    """SELECT … FOR UPDATE of `count` balance rows: one fixed-shape statement per count
    (a payment locks two or three), instead of an expanding IN."""
    found = _LOCKS.get(count)
    if found is None:
        found = _LOCKS[count] = Prepared(
            select(BALANCES.c.address, BALANCES.c.asset, BALANCES.c.balance)
            .where(or_(*[and_(BALANCES.c.address == bindparam(f"a{i}"),
                              BALANCES.c.asset == bindparam(f"s{i}")) for i in range(count)]))
            .order_by(BALANCES.c.address, BALANCES.c.asset).with_for_update())
    return found


FIND_ENTRY = Prepared(select(ENTRIES.c.id, ENTRIES.c.input_hash, ENTRIES.c.kind,
                             ENTRIES.c.reference)
                      .where(ENTRIES.c.idempotency_key == bindparam("key")))
INSERT_ENTRY = Prepared(insert(ENTRIES).values({
    name: bindparam(name) for name in ("idempotency_key", "input_hash", "kind", "reference",
                                       "reason", "reverses_id", "details", "actor",
                                       "created_at")}).returning(ENTRIES.c.id))
INSERT_POSTINGS = Prepared(insert(POSTINGS).values({
    name: bindparam(name) for name in ("entry_id", "source", "destination", "asset",
                                       "amount")}), many=True)
UPDATE_BALANCE = Prepared(
    update(BALANCES)
    .where(BALANCES.c.address == bindparam("a"), BALANCES.c.asset == bindparam("s"))
    .values(balance=bindparam("b"), updated_at=bindparam("t")), many=True)


def _select_locked(session: Session, keys: list[Key]) -> dict[Key, int]:
    params: dict[str, str] = {}
    for i, (address, asset) in enumerate(keys):
        params[f"a{i}"], params[f"s{i}"] = address, asset
    return {(a, s): b for a, s, b in _lock_statement(len(keys)).all(session, params)}


def _insert_missing(session: Session, keys: list[Key], now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"address": a, "asset": s, "balance": 0, "updated_at": now} for a, s in keys]
    session.execute(insert(BALANCES).on_conflict_do_nothing(), rows)


def lock_balances(session: Session, keys: list[Key], now: datetime) -> dict[Key, int]:
    """Lock (creating at zero where new) the balance rows of these accounts, in order."""
    ordered = sorted(set(keys))
    found = _select_locked(session, ordered)
    missing = [k for k in ordered if k not in found]
    if missing:
        _insert_missing(session, missing, now)
        found = _select_locked(session, ordered)
    return found


@dataclass(frozen=True)
class Entry:
    """A posted (or replayed) ledger entry: what callers keep as their reference."""

    id: int
    idempotency_key: str
    kind: str
    reference: str | None
    replayed: bool = False


def _existing(session: Session, key: str, digest: str) -> Entry | None:
    row = FIND_ENTRY.first(session, {"key": key})
    if row is None:
        return None
    entry_id, input_hash, kind, reference = row
    if input_hash != digest:
        raise IdempotencyMismatch(f"ledger key {key!r} was already used for another movement")
    return Entry(entry_id, key, kind, reference, replayed=True)


def _check_funds(current: dict[Key, int], net: dict[Key, int]) -> None:
    for (address, asset), delta in sorted(net.items()):
        after = current[(address, asset)] + delta
        if delta < 0 and after < 0 and not rules.is_system(address):
            raise InsufficientBalance(
                f"{address} holds {current[(address, asset)]} {asset}, "
                f"{-delta} needed", account=address, asset=asset,
                available=current[(address, asset)], requested=-delta)


def post(uow: UnitOfWork, *, key: str, kind: str, postings: list[Posting],
         reference: str | None = None, reason: str | None = None,
         details: dict[str, Any] | None = None, reverses_id: int | None = None) -> Entry:
    """Apply one entry atomically; the same key and input return the first entry."""
    try:
        rules.check_postings(postings)
    except ValueError as exc:
        raise rules_error(str(exc)) from None
    details = details or {}
    digest = rules.input_hash(kind, postings, {**details, "reverses": reverses_id})
    net = rules.deltas(postings)
    # System accounts have no balance row: they may go negative, so nothing is checked
    # against them, and a cached balance would be one hot row that every payment in the
    # programme must lock. Their balances are computed from the postings when asked.
    net = {k: d for k, d in net.items() if not rules.is_system(k[0])}
    now = uow.clock.now()
    current = lock_balances(uow.session, list(net), now) if net else {}
    # Checked after the locks: a concurrent duplicate touches the same accounts, so it
    # waited for us and now sees our committed entry.
    if (done := _existing(uow.session, key, digest)) is not None:
        return done
    _check_funds(current, net)
    entry_id = _insert_entry(uow, key=key, digest=digest, kind=kind, reference=reference,
                             reason=reason, reverses_id=reverses_id, details=details, now=now)
    INSERT_POSTINGS.executemany(uow.session, [
        {"entry_id": entry_id, "source": p.source, "destination": p.destination,
         "asset": p.asset, "amount": p.amount} for p in postings])
    _apply(uow.session, current, net, now)
    return Entry(entry_id, key, kind, reference)


def _insert_entry(uow: UnitOfWork, *, key: str, digest: str, kind: str, reference: str | None,
                  reason: str | None, reverses_id: int | None, details: dict[str, Any],
                  now: datetime) -> int:
    # Core, not the ORM: this is the hot path of every payment.
    try:
        entry_id = INSERT_ENTRY.scalar(uow.session, dict(
            idempotency_key=key, input_hash=digest, kind=kind, reference=reference,
            reason=reason, reverses_id=reverses_id, details=details, actor=uow.actor.label,
            created_at=now))
    except IntegrityError:
        raise Conflict(f"ledger key {key!r} or reversal already recorded",
                       code="ledger_conflict") from None
    return int(entry_id)


def _apply(session: Session, current: dict[Key, int], net: dict[Key, int],
           now: datetime) -> None:
    changed = [{"a": a, "s": s, "b": current[(a, s)] + d, "t": now}
               for (a, s), d in sorted(net.items()) if d]
    UPDATE_BALANCE.executemany(session, changed)


def rules_error(detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_posting")


def reverse(uow: UnitOfWork, entry_id: int, *, key: str, reason: str,
            kind: str | None = None) -> Entry:
    """Undo an entry with its mirror image; each entry can be reversed once."""
    original = uow.session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(f"ledger entry {entry_id} not found")
    if original.reverses_id is not None:
        raise Conflict(f"entry {entry_id} is itself a reversal", code="reversal_of_reversal")
    already = uow.session.execute(select(LedgerEntry).where(
        LedgerEntry.reverses_id == entry_id)).scalar_one_or_none()
    if already is not None and already.idempotency_key != key:
        raise Conflict(f"entry {entry_id} was already reversed by entry {already.id}",
                       code="already_reversed")
    postings = [Posting(p.source, p.destination, p.asset, p.amount) for p in original.postings]
    return post(uow, key=key, kind=kind or f"{original.kind}.reversal",
                postings=rules.reversal_of(postings), reference=original.reference,
                reason=reason, reverses_id=original.id)


def balance(session: Session, address: str, asset: str) -> int:
    """An account's balance: the cached row, or for a system account, its postings."""
    if rules.is_system(address):
        return _computed_balance(session, address, asset)
    value = session.execute(select(LedgerBalance.balance).where(
        LedgerBalance.address == address, LedgerBalance.asset == asset)).scalar()
    return int(value or 0)


def _computed_balance(session: Session, address: str, asset: str) -> int:
    incoming = select(func.coalesce(func.sum(POSTINGS.c.amount), 0)).where(
        POSTINGS.c.destination == address, POSTINGS.c.asset == asset).scalar_subquery()
    outgoing = select(func.coalesce(func.sum(POSTINGS.c.amount), 0)).where(
        POSTINGS.c.source == address, POSTINGS.c.asset == asset).scalar_subquery()
    return int(session.execute(select(incoming - outgoing)).scalar_one())


_READS: dict[int, Prepared] = {}


def _read_statement(count: int) -> Prepared:
    """The balances of `count` accounts of one asset (fixed shape per count, prepared)."""
    found = _READS.get(count)
    if found is None:
        found = _READS[count] = Prepared(
            select(BALANCES.c.address, BALANCES.c.balance)
            .where(or_(*[BALANCES.c.address == bindparam(f"a{i}") for i in range(count)]),
                   BALANCES.c.asset == bindparam("asset")))
    return found


def balances(session: Session, addresses: list[str], asset: str) -> dict[str, int]:
    """Balances of these accounts in `asset` (0 for an account never used)."""
    params: dict[str, str] = {f"a{i}": a for i, a in enumerate(addresses)}
    rows = _read_statement(len(addresses)).all(session, {**params, "asset": asset}) \
        if addresses else []
    found = {a: int(b) for a, b in rows}
    return {a: found[a] if a in found else balance(session, a, asset) if rules.is_system(a)
            else 0 for a in addresses}


# --- holds ---------------------------------------------------------------------------

def hold(uow: UnitOfWork, *, key: str, source: str, destination: str, asset: str,
         amount: int, expires_at: datetime | None = None, kind: str = "hold",
         reference: str | None = None) -> LedgerHold:
    """Park `amount` from source in the hold's own account until posted, voided or expired."""
    existing = uow.session.execute(
        select(LedgerHold).where(LedgerHold.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        same = (existing.source, existing.destination, existing.asset, existing.amount) == \
            (source, destination, asset, amount)
        if not same:
            raise IdempotencyMismatch(f"hold key {key!r} was already used for another hold")
        return existing
    held = LedgerHold(idempotency_key=key, source=source, destination=destination,
                      asset=asset, amount=amount, status="pending", expires_at=expires_at,
                      created_at=uow.clock.now())
    uow.session.add(held)
    uow.session.flush()
    entry = post(uow, key=f"hold:{key}", kind=kind, reference=reference,
                 postings=[Posting(source, held.escrow, asset, amount)])
    held.hold_entry_id = entry.id
    return held


def _resolve(uow: UnitOfWork, hold_id: int, status: str) -> LedgerHold:
    # The conditional update is the "exactly once": a second resolver changes no row.
    result = uow.session.execute(
        update(LedgerHold).where(LedgerHold.id == hold_id, LedgerHold.status == "pending")
        .values(status=status, resolved_at=uow.clock.now()))
    held = uow.session.get(LedgerHold, hold_id, populate_existing=True)
    if held is None:
        raise NotFound(f"hold {hold_id} not found")
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"hold {hold_id} is already {held.status}", code="hold_resolved")
    return held


def capture_hold(uow: UnitOfWork, hold_id: int, amount: int | None = None) -> LedgerHold:
    """Post the hold (all of it, or `amount` with the rest returned to the source)."""
    held = _resolve(uow, hold_id, "posted")
    amount = held.amount if amount is None else amount
    if not 0 < amount <= held.amount:
        raise rules_error(f"capture must be 1–{held.amount}, got {amount}")
    postings = [Posting(held.escrow, held.destination, held.asset, amount)]
    if amount < held.amount:
        postings.append(Posting(held.escrow, held.source, held.asset, held.amount - amount))
    entry = post(uow, key=f"hold:{held.idempotency_key}:posted", kind="hold.posted",
                 postings=postings)
    held.resolve_entry_id = entry.id
    return held


def release_hold(uow: UnitOfWork, hold_id: int, *, expired: bool = False) -> LedgerHold:
    """Return the held amount to its source (void, or expiry when `expired`)."""
    status = "expired" if expired else "voided"
    held = _resolve(uow, hold_id, status)
    entry = post(uow, key=f"hold:{held.idempotency_key}:{status}", kind=f"hold.{status}",
                 postings=[Posting(held.escrow, held.source, held.asset, held.amount)])
    held.resolve_entry_id = entry.id
    return held


def due_holds(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    return list(session.execute(select(LedgerHold.id).where(
        LedgerHold.status == "pending", LedgerHold.expires_at <= now)
        .order_by(LedgerHold.id).limit(limit)).scalars())
