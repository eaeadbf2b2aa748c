"""Shared helpers for the points tests: members, configuration, balances, and the checks
that must hold after every scenario — lots mirror the ledger, the ledger verifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.db import Database
from memberops.ledger import queries as ledger_queries
from memberops.ledger import service as ledger_service
from memberops.ledger.models import LedgerEntry
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent
from memberops.points import service as points_service
from memberops.points.models import BonusClaim, GiftItem, GiftRedemption, PointsLot, PointsUse
from memberops.programme import service as programme_service
from memberops.uow import UnitOfWork

MakeUow = Callable[..., UnitOfWork]
YUAN = 100  # fen


def new_member(make_uow: MakeUow, n: int = 1, **fields: Any) -> int:
    """Register member number `n` (phone 1390000NNNN) and return its id."""
    with make_uow() as uow:
        return members_service.register_member(
            uow, MemberCreate(phone=f"1390000{n:04d}", **fields)).id


def set_status(make_uow: MakeUow, member_id: int, status: str) -> None:
    with make_uow() as uow:
        members_service.change_status(uow, member_id, status, f"test: {status}")


def earning_rules(make_uow: MakeUow, **data: Any) -> None:
    """Save an earning-rules version with these fields (the others at their default)."""
    with make_uow() as uow:
        programme_service.save(uow, "earning_rules", data, note="test")


def give(make_uow: MakeUow, member_id: int, points: int, key: str | None = None) -> int:
    """Credit available points (a generic award); returns the lot id."""
    with make_uow() as uow:
        return points_service.award(uow, member_id=member_id, points=points, source="test",
                                    reference=None, key=key or f"give:{member_id}:{points}",
                                    reason="test credit").id


def gift(make_uow: MakeUow, sku: str = "mug", price: int = 500, stock: int = 10) -> None:
    with make_uow() as uow:
        points_service.create_gift(uow, sku=sku, name=f"gift {sku}", points_price=price,
                                   stock=stock)


def balances(db: Database, member_id: int) -> tuple[int, int]:
    """(available, pending) as the ledger holds them."""
    with db.session(readonly=True) as s:
        found = ledger_service.balances(
            s, [f"member:{member_id}:points", f"member:{member_id}:points:pending"], "POINTS")
        return found[f"member:{member_id}:points"], found[f"member:{member_id}:points:pending"]


def lots(db: Database, member_id: int) -> list[tuple[str, int, int, str]]:
    """(source, original, remaining, status) of each lot, oldest first."""
    with db.session(readonly=True) as s:
        return [(lot.source, lot.original, lot.remaining, lot.status) for lot in s.execute(
            select(PointsLot).where(PointsLot.member_id == member_id)
            .order_by(PointsLot.id)).scalars()]


def stock(db: Database, sku: str) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(GiftItem.stock).where(GiftItem.sku == sku)).scalar_one()


def assert_consistent(db: Database) -> None:
    """Every member's lots mirror the ledger and the ledger verifies: the invariant of
    every points scenario."""
    with db.session(readonly=True) as s:
        report = ledger_queries.verify(s)
        assert report.ok, report
        rows = s.execute(select(PointsLot.member_id, PointsLot.status,
                                func.sum(PointsLot.remaining))
                         .group_by(PointsLot.member_id, PointsLot.status)).all()
    by_member: dict[int, dict[str, int]] = {}
    for member_id, status, remaining in rows:
        by_member.setdefault(member_id, {})[status] = int(remaining)
    for member_id, totals in by_member.items():
        available, pending = balances(db, member_id)
        assert totals.get("available", 0) == available, (member_id, totals, available)
        assert totals.get("pending", 0) == pending, (member_id, totals, pending)
        assert totals.get("expired", 0) == 0 and totals.get("clawed_back", 0) == 0, totals
        assert available >= 0 and pending >= 0


def snapshot(db: Database) -> tuple[int, ...]:
    """Counts of everything a points movement writes: a refusal must leave these alone."""
    with db.session(readonly=True) as s:
        return tuple(s.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (LedgerEntry, PointsLot, PointsUse, BonusClaim,
                                   GiftRedemption, AuditEntry, OutboxEvent))
