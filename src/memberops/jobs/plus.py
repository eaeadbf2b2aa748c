"""Scheduled paid-membership work: expire active memberships past their end date.

One member per transaction: a crash or Ctrl-C loses at most the member in progress, and a
rerun carries on with the members still due (what is done is no longer due). Idempotent —
a second run changes nothing. Cancelled memberships keep their status (their end date says
when the benefits stopped); `benefits` never depends on this job having run, it compares the
end date itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memberops.clock import Clock
from memberops.db import Database
from memberops.plus import queries
from memberops.plus import service as plus_service
from memberops.uow import Actor, UnitOfWork

Progress = Callable[[int, int], None]  # (members done, members due)


@dataclass(frozen=True)
class ExpiryReport:
    due: int  # members found due
    expired: int  # memberships this run marked expired (a concurrent renewal may win)


def expire_due(db: Database, clock: Clock, *, progress: Progress | None = None) -> ExpiryReport:
    """Mark every active membership whose end date has come expired, with an event each."""
    now = clock.now()
    with db.session(readonly=True) as session:
        members = queries.due_for_expiry(session, now)
    expired = 0
    if progress is not None:
        progress(0, len(members))
    for done, member_id in enumerate(members, start=1):
        with UnitOfWork(db, actor=Actor.system("plus.expire"), clock=clock) as uow:
            expired += plus_service.expire_member(uow, member_id=member_id, now=now)
        if progress is not None:
            progress(done, len(members))
    return ExpiryReport(due=len(members), expired=expired)
