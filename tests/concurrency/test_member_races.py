"""Many writers at once: one phone registered by 16 tills yields one member; distinct
registrations all land; nothing half-written is left behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict
from memberops.members import service
from memberops.members.models import Member
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent

THREADS = 16


def _register(make_uow, phone: str) -> str:
    try:
        with make_uow() as uow:
            service.register_member(uow, MemberCreate(phone=phone))
        return "created"
    except Conflict as exc:
        return exc.code


def _counts(db) -> tuple[int, int, int]:
    with db.session(readonly=True) as s:
        return tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                     for m in (Member, AuditEntry, OutboxEvent))


def test_one_phone_from_many_threads_gives_one_member(make_uow, db) -> None:
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda _: _register(make_uow, "13800000001"), range(THREADS)))
    assert outcomes.count("created") == 1
    assert outcomes.count("member_exists") == THREADS - 1
    assert _counts(db) == (1, 1, 1)


def test_distinct_registrations_all_land(make_uow, db) -> None:
    phones = [f"1380000{i:04d}" for i in range(THREADS * 4)]
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda p: _register(make_uow, p), phones))
    assert outcomes == ["created"] * len(phones)
    assert _counts(db) == (len(phones),) * 3
