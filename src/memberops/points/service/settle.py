"""Time moving on for one member: pending lots past their return window become available,
and available lots past their expiry expire. Both are idempotent: a lot changes status
once, and its ledger key is derived from the lot(s), so a rerun finds nothing to do.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update

from memberops.members import service as members_service
from memberops.points.events import PointsExpired, PointsReleased
from memberops.points.models import PointsLot, PointsUse
from memberops.points.queries import available_account, pending_account
from memberops.points.service.common import (
    EXPIRED,
    balances,
    locked_rows,
    post,
    record,
    shifted,
)
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork


def release_member(uow: UnitOfWork, *, member_id: int, now: datetime | None = None) -> int:
    """Make the member's pending lots whose return window has passed available."""
    members_service.lock_active_id(uow, member_id)
    return release_locked(uow, member_id, now or uow.clock.now())


def expire_member(uow: UnitOfWork, *, member_id: int, now: datetime | None = None) -> int:
    """Expire the member's available lots whose expiry has come."""
    members_service.lock_active_id(uow, member_id)
    return expire_locked(uow, member_id, now or uow.clock.now())


LOTS: Any = PointsLot.__table__
# Whether anything is due at all: one prepared look on the member's lots (index
# member_use), so the common case — the nightly jobs are up to date — costs one statement.
ANY_DUE = Prepared(select(LOTS.c.id).where(
    LOTS.c.member_id == bindparam("member_id"),
    or_(and_(LOTS.c.status == "pending", LOTS.c.available_at <= bindparam("now")),
        and_(LOTS.c.status == "available", LOTS.c.expires_at <= bindparam("now2")))).limit(1))


def settle_locked(uow: UnitOfWork, member_id: int, now: datetime) -> None:
    """Bring a locked member's lots up to `now` before points are taken from them, so a
    spend never uses expired points nor misses released ones the jobs have not reached."""
    if ANY_DUE.first(uow.session, {"member_id": member_id, "now": now, "now2": now}) is None:
        return
    release_locked(uow, member_id, now)
    expire_locked(uow, member_id, now)


# The release job's own statements, prepared, with Core rows: through the ORM, loading the
# lots and flushing their new status cost half of each release (the demo releases a
# hundred thousand lots). The member lock guards the lots; nothing else holds them.
DUE_PENDING = Prepared(select(LOTS.c.id, LOTS.c.remaining, LOTS.c.reference).where(
    LOTS.c.member_id == bindparam("member_id"), LOTS.c.status == "pending",
    LOTS.c.available_at <= bindparam("now")).order_by(LOTS.c.id))
MARK_AVAILABLE = Prepared(update(LOTS).where(LOTS.c.id == bindparam("lot_id"),
                                             LOTS.c.status == "pending")
                          .values(status="available"), many=True)


def release_locked(uow: UnitOfWork, member_id: int, now: datetime) -> int:
    """Release a locked member's due pending lots; returns the points released."""
    due = DUE_PENDING.all(uow.session, {"member_id": member_id, "now": now})
    released = 0
    before: dict[str, int] | None = None
    for lot_id, remaining, reference in due:
        if remaining == 0:  # nothing left to move (defensive: clawbacks close such lots)
            continue
        if before is None:  # read once: each release below moves a known amount
            before = balances(uow, member_id)
        # One entry per lot: the statement shows each order's points arriving, with its
        # reference; the key is the lot's, so the release happens once whoever runs it.
        entry = post(uow, key=f"points:release:lot:{lot_id}", kind="points.release",
                     source=pending_account(member_id),
                     destination=available_account(member_id), points=remaining,
                     request={"op": "release", "lot_id": lot_id},
                     reference=reference, reason="return window passed")
        released += remaining
        moved = 0 if entry.replayed else remaining
        after = shifted(before, available=moved, pending=-moved)
        record(uow, action="points.released", member_id=member_id, before=before,
               after=after, lot_id=lot_id)
        uow.emit(PointsReleased(member_id=member_id, points=remaining, lot_id=lot_id,
                                reference=reference))
        before = after
    MARK_AVAILABLE.executemany(uow.session, [{"lot_id": lot_id} for lot_id, _, _ in due])
    return released


def expire_locked(uow: UnitOfWork, member_id: int, now: datetime) -> int:
    """Expire a locked member's lots past their expiry; returns the points expired."""
    due = locked_rows(uow, select(PointsLot).where(
        PointsLot.member_id == member_id, PointsLot.status == "available",
        PointsLot.expires_at <= now).order_by(PointsLot.expires_at, PointsLot.id))
    holding = [lot for lot in due if lot.remaining > 0]
    for lot in due:  # used-up lots expire too, silently, so the next run skips them
        lot.status = "expired"
    if not holding:
        return 0
    ids = [lot.id for lot in holding]
    points = sum(lot.remaining for lot in holding)
    before = balances(uow, member_id)
    # One entry per member and run (a year's check-ins are hundreds of lots); the key
    # names the lots, which can expire only once.
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    entry = post(uow, key=f"points:expire:{member_id}:{digest}", kind="points.expiry",
                 source=available_account(member_id), destination=EXPIRED, points=points,
                 request={"op": "expire", "lots": ids},
                 reason=f"{len(ids)} lot(s) reached their expiry")
    for lot in holding:
        uow.session.add(PointsUse(lot_id=lot.id, member_id=member_id, entry_id=entry.id,
                                  points=lot.remaining, kind="expiry", reference=None,
                                  returned=0, created_at=uow.clock.now()))
        lot.remaining = 0
    after = before if entry.replayed else shifted(before, available=-points)
    record(uow, action="points.expired", member_id=member_id, before=before, after=after,
           lots=ids)
    uow.emit(PointsExpired(member_id=member_id, points=points, lot_ids=tuple(ids)))
    return points
