"""The tier review (保级) job: every member whose anniversary has come keeps the tier or
drops one step; floors whose last day has passed are lifted.

One member per transaction: a crash or Ctrl-C loses at most the member in progress, and a
rerun carries on with the members still due (a reviewed member's next review is a year
on). Running it twice changes nothing the second time. Closed members are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from memberops.clock import Clock
from memberops.db import Database
from memberops.errors import ValidationFailed
from memberops.members.models import Member
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers import service as tiers_service
from memberops.tiers.models import MemberTier
from memberops.uow import Actor, UnitOfWork

Progress = Callable[[int, int], None]  # (members done, members due)
JOB = "tiers.review"


@dataclass(frozen=True)
class ReviewReport:
    as_of: date
    members: int  # members with something due
    kept: int  # reviews that kept the tier
    downgraded: int  # reviews that dropped a step
    floors_lifted: int
    other: int  # a tier the ladder no longer names, placed again


def due_members(db: Database, as_of: date) -> list[int]:
    """Members with a review on or before `as_of`, a floor ended before it, or a tier the
    ladder no longer names."""
    with db.session(readonly=True) as session:
        codes = [t.code for t in programme_service.current(session, TierLadder).tiers]
        by_state = (select(MemberTier.member_id)
                    .where(or_(MemberTier.review_due <= as_of, MemberTier.floor_until < as_of)))
        stmt = (select(Member.id).where(Member.status != "closed")
                .where(or_(Member.id.in_(by_state), Member.tier.not_in(codes)))
                .order_by(Member.id))
        return list(session.execute(stmt).scalars())


def review_due(db: Database, clock: Clock, *, as_of: date | None = None,
               progress: Progress | None = None) -> ReviewReport:
    """Review every member due by `as_of` (today by default; never a day to come)."""
    today = clock.today()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(f"as_of {as_of} is in the future (today is {today}): a review "
                               "cannot look at months that have not happened",
                               code="as_of_in_future")
    members = due_members(db, as_of)
    counts = dict.fromkeys(rules.REASONS, 0)
    if progress is not None:
        progress(0, len(members))
    for done, member_id in enumerate(members, start=1):
        with UnitOfWork(db, actor=Actor.system(JOB), clock=clock) as uow:
            for change in tiers_service.review_member(uow, member_id=member_id, as_of=as_of):
                counts[change.reason] += 1
        if progress is not None:
            progress(done, len(members))
    return ReviewReport(as_of=as_of, members=len(members), kept=counts[rules.RETENTION_KEPT],
                        downgraded=counts[rules.RETENTION_DOWNGRADE],
                        floors_lifted=counts[rules.FLOOR_EXPIRED],
                        other=counts[rules.LADDER_CHANGED])
