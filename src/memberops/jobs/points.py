"""Scheduled points work: release pending lots after the return window, expire lots.

One member per transaction: a crash or Ctrl-C loses at most the member in progress, and a
rerun carries on from the members still due (what is done is no longer due). Both jobs are
idempotent — a second run changes nothing. Frozen and closed members are skipped (their
ledger is untouched while frozen) and picked up by a run after they are unfrozen.
Run release before expiry: a lot still pending at its expiry is released, then expired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select

from memberops.clock import Clock
from memberops.db import Database
from memberops.errors import RuleViolated
from memberops.points import service as points_service
from memberops.points.models import PointsLot
from memberops.uow import Actor, UnitOfWork

Progress = Callable[[int, int], None]  # (members done, members due)
Step = Callable[..., int]


@dataclass(frozen=True)
class JobReport:
    members: int  # members whose points moved
    points: int  # points released or expired
    skipped: int  # frozen or closed members left for later


def _due_members(db: Database, condition: ColumnElement[bool]) -> list[int]:
    with db.session(readonly=True) as session:
        return list(session.execute(select(PointsLot.member_id).where(condition)
                                    .distinct().order_by(PointsLot.member_id)).scalars())


def _run(db: Database, clock: Clock, job: str, members: list[int], step: Step,
         now: datetime, progress: Progress | None) -> JobReport:
    moved = points = skipped = 0
    if progress is not None:
        progress(0, len(members))
    for done, member_id in enumerate(members, start=1):
        try:
            with UnitOfWork(db, actor=Actor.system(job), clock=clock) as uow:
                changed = step(uow, member_id=member_id, now=now)
        except RuleViolated as exc:
            if exc.code not in ("member_frozen", "member_closed"):
                raise
            skipped += 1
            changed = 0
        moved += 1 if changed else 0
        points += changed
        if progress is not None:
            progress(done, len(members))
    return JobReport(moved, points, skipped)


def release_due(db: Database, clock: Clock, *, progress: Progress | None = None) -> JobReport:
    """Make available every pending lot whose return window has passed."""
    now = clock.now()
    members = _due_members(db, (PointsLot.status == "pending") & (PointsLot.available_at <= now))
    return _run(db, clock, "points.release", members, points_service.release_member, now,
                progress)


def expire_due(db: Database, clock: Clock, *, progress: Progress | None = None) -> JobReport:
    """Expire every available lot whose expiry has come."""
    now = clock.now()
    members = _due_members(db, (PointsLot.status == "available") & (PointsLot.expires_at <= now))
    return _run(db, clock, "points.expire", members, points_service.expire_member, now,
                progress)
