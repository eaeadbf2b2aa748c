"""Prepared statements behave as the same statement through the session would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from memberops.members.models import Member
from memberops.members.schemas import MemberCreate
from memberops.members.service import register_member
from memberops.outbox import OutboxEvent
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork

OUTBOX = OutboxEvent.__table__
INSERT = Prepared(insert(OUTBOX).values({
    name: bindparam(name) for name in ("event_type", "payload", "member_id", "actor",
                                       "request_id", "occurred_at", "attempts")}), many=True)
NEWEST = Prepared(select(OUTBOX.c.id).where(OUTBOX.c.event_type == bindparam("kind"))
                  .order_by(OUTBOX.c.id.desc()).limit(1))
PHONE_OF = Prepared(select(Member.__table__.c.phone).where(
    Member.__table__.c.id == bindparam("id")))


def _row(event_type: str, at: datetime) -> dict[str, object]:
    return {"event_type": event_type, "payload": {"名": "值", "n": 1}, "member_id": None,
            "actor": "test", "request_id": None, "occurred_at": at, "attempts": 0}


def test_values_are_converted_like_the_orm_would(make_uow: Callable[..., UnitOfWork]) -> None:
    # An aware time in another zone is stored as UTC; JSON round-trips; read back through
    # the ORM, both are what was written.
    at = datetime(2026, 5, 1, 20, 30, tzinfo=timezone(timedelta(hours=8)))
    with make_uow() as uow:
        INSERT.executemany(uow.session, [_row("prepared.test", at), _row("prepared.test", at)])
    with make_uow(readonly=True) as uow:
        rows = uow.session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "prepared.test")).scalars().all()
        assert [r.occurred_at for r in rows] == [at.astimezone(UTC)] * 2
        assert rows[0].payload == {"名": "值", "n": 1}
        # A literal inside the statement (LIMIT 1) needs no parameter from the caller.
        assert NEWEST.scalar(uow.session, {"kind": "prepared.test"}) == rows[1].id


def test_naive_times_are_refused(make_uow: Callable[..., UnitOfWork]) -> None:
    with make_uow() as uow, pytest.raises(ValueError, match="naive"):
        INSERT.executemany(uow.session, [_row("prepared.naive", datetime(2026, 5, 1))])


def test_pending_orm_changes_are_seen(make_uow: Callable[..., UnitOfWork]) -> None:
    with make_uow() as uow:
        member = register_member(uow, MemberCreate(phone="13900000001"))
        member.phone = "+8613900000002"  # pending in the session, not flushed yet
        assert PHONE_OF.scalar(uow.session, {"id": member.id}) == "+8613900000002"


def test_driver_errors_surface_as_sqlalchemy_errors(
        make_uow: Callable[..., UnitOfWork]) -> None:
    statement = Prepared(insert(Member.__table__).values(
        phone=bindparam("phone"), tier=bindparam("tier")))
    with make_uow() as uow:
        register_member(uow, MemberCreate(phone="13900000003"))
    with make_uow() as uow, pytest.raises(IntegrityError):
        statement.execute(uow.session, {"phone": "+8613900000003", "tier": "regular"})


def test_a_statement_without_a_fixed_shape_is_refused_when_compiled(
        make_uow: Callable[..., UnitOfWork]) -> None:
    statement = Prepared(select(OUTBOX.c.id).where(OUTBOX.c.event_type.in_(["a", "b"])))
    with make_uow(readonly=True) as uow, pytest.raises(ValueError, match="fixed shape"):
        statement.first(uow.session)
