"""Shared helpers for the tier tests: recording activity, reading a member's tier state and
history, counting what a refusal must leave alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.db import Database
from memberops.members.models import Member
from memberops.outbox import OutboxEvent
from memberops.programme import service as programme_service
from memberops.programme.models import ConfigVersion
from memberops.programme.schemas import TierLadder
from memberops.tiers import service as tiers_service
from memberops.tiers.models import MemberTier, TierActivity, TierChange
from memberops.uow import UnitOfWork
from tests.points_helpers import new_member  # noqa: F401  (re-exported for the tier tests)

MakeUow = Callable[..., UnitOfWork]
YUAN = 100


def spend(make_uow: MakeUow, member_id: int, yuan: float, ref: str,
          at: datetime | None = None) -> tiers_service.Recorded:
    with make_uow() as uow:
        return tiers_service.record_spend(uow, member_id=member_id, amount=round(yuan * YUAN),
                                          reference=ref, occurred_at=at)


def refund(make_uow: MakeUow, member_id: int, yuan: float, ref: str,
           full: bool = False) -> tiers_service.Recorded:
    with make_uow() as uow:
        return tiers_service.record_refund(uow, member_id=member_id, amount=round(yuan * YUAN),
                                           reference=ref, full_refund=full)


def recharge(make_uow: MakeUow, member_id: int, yuan: float,
             ref: str) -> tiers_service.Recorded:
    with make_uow() as uow:
        return tiers_service.record_recharge(uow, member_id=member_id,
                                             amount=round(yuan * YUAN), reference=ref)


def floor(make_uow: MakeUow, member_id: int, tier: str, until: date,
          reason: str = "complaint goodwill") -> None:
    with make_uow() as uow:
        tiers_service.set_floor(uow, member_id=member_id, tier=tier, reason=reason,
                                until=until)


def tier(db: Database, member_id: int) -> str:
    with db.session(readonly=True) as s:
        return s.execute(select(Member.tier).where(Member.id == member_id)).scalar_one()


def state(db: Database, member_id: int) -> MemberTier | None:
    with db.session(readonly=True) as s:
        return s.get(MemberTier, member_id)


def history(db: Database, member_id: int) -> list[tuple[str, str, str]]:
    """(from, to, reason) of each history entry, oldest first."""
    with db.session(readonly=True) as s:
        return [(r.from_tier, r.to_tier, r.reason) for r in s.execute(
            select(TierChange).where(TierChange.member_id == member_id)
            .order_by(TierChange.id)).scalars()]


def events(db: Database, member_id: int) -> list[tuple[str, dict[str, Any]]]:
    with db.session(readonly=True) as s:
        return [(e.event_type, e.payload) for e in s.execute(
            select(OutboxEvent).where(OutboxEvent.member_id == member_id,
                                      OutboxEvent.event_type.like("tier.%"))
            .order_by(OutboxEvent.id)).scalars()]


def save_ladder(make_uow: MakeUow, data: dict[str, Any]) -> None:
    with make_uow() as uow:
        programme_service.save(uow, "tiers", data, note="test")


def ladder_data() -> dict[str, Any]:
    return TierLadder().model_dump(mode="json")


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a tier write touches: a refusal or a read must leave all of it alone."""
    with db.session(readonly=True) as s:
        counts = tuple(s.execute(select(func.count()).select_from(model)).scalar_one()
                       for model in (TierActivity, TierChange, MemberTier, AuditEntry,
                                     OutboxEvent, ConfigVersion))
        tiers = tuple(s.execute(select(Member.id, Member.tier).order_by(Member.id)).all())
        states = tuple(s.execute(select(MemberTier.member_id, MemberTier.review_due,
                                        MemberTier.floor_tier, MemberTier.floor_until,
                                        MemberTier.held_by_floor)
                                 .order_by(MemberTier.member_id)).all())
    return counts, tiers, states
