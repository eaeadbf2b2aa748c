"""The audit log refuses edits; events reach the outbox only when the work commits;
the delivery job retries failed deliveries with back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict
from memberops.jobs.outbox import Subscribers, deliver_pending
from memberops.members import service
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent


def test_audit_log_is_append_only_in_the_database(make_uow, db) -> None:
    with make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001"))
    for stmt in (update(AuditEntry).values(action="tampered"), delete(AuditEntry)):
        with db.session() as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(stmt)
            s.commit()
    with db.session(readonly=True) as s:
        assert s.execute(select(AuditEntry.action)).scalar_one() == "member.registered"


def test_events_of_a_failed_unit_of_work_are_not_written(make_uow, db) -> None:
    with pytest.raises(Conflict), make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001"))
        service.register_member(uow, MemberCreate(phone="13800000001"))
    with db.session(readonly=True) as s:
        assert s.execute(select(OutboxEvent)).first() is None


def test_delivery_retries_with_backoff_then_succeeds(make_uow, db, clock) -> None:
    with make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001"))
        service.register_member(uow, MemberCreate(phone="13800000002"))
    heard: list[int] = []
    healthy = {"ok": False}

    def webhook(event_type: str, payload: dict) -> None:
        if not healthy["ok"]:
            raise ConnectionError("endpoint down")
        heard.append(payload["member_id"])

    subscribers = Subscribers()
    subscribers.add("member.registered", webhook)
    first = deliver_pending(db, clock, subscribers)
    assert (first.delivered, first.failed) == (0, 2)
    assert deliver_pending(db, clock, subscribers).failed == 0  # not due yet
    healthy["ok"] = True
    clock.advance(timedelta(seconds=3))
    assert deliver_pending(db, clock, subscribers).delivered == 2
    assert len(heard) == 2
    with db.session(readonly=True) as s:
        rows = list(s.execute(select(OutboxEvent)).scalars())
    assert all(r.delivered_at and r.attempts == 2 and r.last_error for r in rows)
    assert deliver_pending(db, clock, subscribers).delivered == 0
