"""Shared helpers for the stored-value tests: members, configuration, and the checks that
hold after every scenario (lots mirror the ledger, the ledger verifies, nothing negative).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.db import Database
from memberops.ledger import queries as ledger_queries
from memberops.ledger.models import LedgerBalance, LedgerEntry
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent
from memberops.programme import service as programme_service
from memberops.uow import UnitOfWork
from memberops.wallet import queries
from memberops.wallet.models import CashOut, Recharge, WalletLot, WalletPayment, WalletRefund

MakeUow = Callable[..., UnitOfWork]
YUAN = 100  # fen


def new_member(make_uow: MakeUow, n: int = 1, **fields: Any) -> int:
    """Register member number `n` (phone 1380000NNNN) and return its id."""
    with make_uow() as uow:
        data = MemberCreate(phone=f"1380000{n:04d}", **fields)
        return members_service.register_member(uow, data).id


def set_status(make_uow: MakeUow, member_id: int, status: str) -> None:
    with make_uow() as uow:
        members_service.change_status(uow, member_id, status, f"test: {status}")


def configure(make_uow: MakeUow, kind: str, **data: Any) -> None:
    """Save a configuration version of `kind` with these fields (others at their default)."""
    with make_uow() as uow:
        programme_service.save(uow, kind, data, note="test")


def wallet(db: Database, member_id: int) -> dict[str, int]:
    with db.session(readonly=True) as s:
        return queries.wallet(s, member_id)


def assert_lots_mirror_ledger(db: Database, *member_ids: int) -> None:
    """For each member: remaining lots per kind == ledger balance of that account."""
    with db.session(readonly=True) as s:
        for member_id in member_ids:
            principal, bonus = queries.balances(s, member_id)
            lots = queries.lot_totals(s, member_id)
            assert lots == {"principal": principal, "bonus": bonus}, (member_id, lots,
                                                                     principal, bonus)
            assert principal >= 0 and bonus >= 0


def all_wallet_members(db: Database) -> list[int]:
    with db.session(readonly=True) as s:
        return sorted(set(s.execute(select(WalletLot.member_id)).scalars()))


def assert_consistent(db: Database, *member_ids: int) -> None:
    """The checks after every scenario: lots mirror the ledger for every wallet (or the
    members given), and the ledger verifies (no drift, zero-sum, no member below zero)."""
    assert_lots_mirror_ledger(db, *(member_ids or all_wallet_members(db)))
    with db.session(readonly=True) as s:
        report = ledger_queries.verify(s)
    assert report.ok, report


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    count = lambda s, model: s.execute(  # noqa: E731
        select(func.count()).select_from(model)).scalar_one()
    with db.session(readonly=True) as s:
        return {
            "balances": sorted(s.execute(select(LedgerBalance.address, LedgerBalance.asset,
                                                LedgerBalance.balance)).all()),
            "lots": sorted(s.execute(select(WalletLot.id, WalletLot.remaining)).all()),
            "recharges": sorted(s.execute(select(Recharge.id, Recharge.status,
                                                 Recharge.payment_status,
                                                 Recharge.review_status)).all()),
            "payments": sorted(s.execute(select(WalletPayment.id,
                                                WalletPayment.refunded)).all()),
            **{name: count(s, model) for name, model in (
                ("refunds", WalletRefund), ("cash_outs", CashOut), ("entries", LedgerEntry),
                ("audit", AuditEntry), ("events", OutboxEvent))},
        }
