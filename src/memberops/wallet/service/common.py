"""What every wallet use case shares: input checks, row locks and the balance cap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from memberops.errors import Conflict, RuleViolated, field_error
from memberops.money import Money
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import WalletSettings
from memberops.uow import UnitOfWork
from memberops.wallet import queries
from memberops.wallet.models import Recharge

MAX_AMOUNT = 10**12  # fen: ten billion yuan, beyond any real wallet movement
MAX_REF = 120


def check_amount(amount: object, *, low: int = 1, high: int = MAX_AMOUNT,
                 field: str = "amount") -> int:
    """An amount is an integer number of fen in [low, high]; bool and float are refused."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise field_error(field, f"must be an integer number of fen, got {amount!r}")
    if not low <= amount <= high:
        raise field_error(field, f"must be between {low} and {high} fen, got {amount}")
    return amount


def check_ref(value: object, field: str) -> str:
    """A business reference (payment_ref, refund_ref, …): 1–120 characters, no spaces."""
    if not isinstance(value, str) or not value or len(value) > MAX_REF \
            or any(ch.isspace() for ch in value):
        raise field_error(field, f"must be 1–{MAX_REF} characters without spaces")
    return value


def check_text(value: object, field: str) -> str:
    """A reason (review, cash-out): 2–500 characters after trimming."""
    text = value.strip() if isinstance(value, str) else ""
    if not 2 <= len(text) <= 500:
        raise field_error(field, "a reason of 2–500 characters is required")
    return text


def lock_recharge(uow: UnitOfWork, recharge_id: int) -> Recharge:
    """The recharge row, locked and re-read: every state change of a recharge happens under
    this lock, so two callbacks or two reviewers decide it once (after the member row)."""
    row = uow.session.execute(
        select(Recharge).where(Recharge.id == recharge_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        return queries.get_recharge(uow.session, recharge_id)  # raises recharge_not_found
    return row


def check_cap(uow: UnitOfWork, member_id: int, incoming: int, *,
              with_outstanding: bool = False) -> None:
    """The optional per-member balance cap (prepaid-card rules) on principal + bonus.

    `with_outstanding` adds what outstanding recharges may still bring, so a recharge
    submitted now cannot overshoot the cap when an earlier one settles later.
    """
    cap = programme_service.current(uow.session, WalletSettings).balance_cap
    if cap is None:
        return
    pending = queries.outstanding_total(uow.session, member_id) if with_outstanding else 0
    principal, bonus = queries.balances(uow.session, member_id)
    after = principal + bonus + pending + incoming
    if after > cap:
        raise RuleViolated(
            f"the wallet would hold {Money(after).format()} (incoming and outstanding "
            f"recharges included), above the cap of {Money(cap).format()}",
            code="balance_cap_exceeded", cap=cap, balance=principal + bonus,
            outstanding=pending, requested=incoming)


def flush_unique(uow: UnitOfWork, row: object, field: str, value: str) -> None:
    """Add and flush a row keyed by a business reference; when two members' movements
    race for one reference, the unique index decides and the loser gets a 409."""
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"{field} {value!r} was already used", code=f"{field}_reused") from None


_INSERTS: dict[str, Prepared] = {}


def _insert_statement(table: Table) -> Prepared:
    found = _INSERTS.get(table.name)
    if found is None:
        columns = [c.key for c in table.columns if c.key != "id"]
        found = _INSERTS[table.name] = Prepared(
            insert(table).values({name: bindparam(name) for name in columns})
            .returning(table.c.id))
    return found


def insert_unique(uow: UnitOfWork, row: Any, field: str, value: str) -> None:
    """`flush_unique` through a prepared statement for the hot path: the row stays a
    transient object that carries its new id, without passing through the session."""
    table: Table = row.__table__
    values = {c.key: getattr(row, c.key) for c in table.columns if c.key != "id"}
    try:
        row.id = _insert_statement(table).scalar(uow.session, values)
    except IntegrityError:
        raise Conflict(f"{field} {value!r} was already used", code=f"{field}_reused") from None
