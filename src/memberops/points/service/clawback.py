"""Refunds take back the points the refunded part of a purchase earned.

Decision on points already spent: the clawback takes what is still in the purchase's own
lot; for the rest it takes the member's other available points, earliest-expiring first,
because those points stand in for the ones spent. A member is never pushed below zero
(only system accounts may go negative), so what they no longer hold is the *shortfall*:
written off, and recorded in the entry's details, the audit log and the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from memberops.errors import Conflict, NotFound, field_error
from memberops.members import service as members_service
from memberops.money import share
from memberops.points import rules
from memberops.points.events import PointsClawedBack
from memberops.points.models import PointsLot, PointsUse
from memberops.points.queries import available_account, pending_account
from memberops.points.service.common import (
    ISSUED,
    balances,
    check_points,
    check_text,
    locked_rows,
    post,
    record,
    replayed,
)
from memberops.points.service.earn import ORDER
from memberops.points.service.settle import settle_locked
from memberops.uow import UnitOfWork


@dataclass(frozen=True)
class ClawedBack:
    member_id: int
    reference: str
    requested: int  # what the refunded part earned (capped at what is left to take back)
    points: int  # what was taken back
    shortfall: int  # what the member no longer held: written off
    entry_id: int | None  # None when nothing could be taken


def _check_share(points: int | None, fraction: tuple[int, int] | None) -> None:
    if (points is None) == (fraction is None):
        raise field_error("points", "give either points or fraction")
    if points is not None:
        check_points(points)
        return
    assert fraction is not None
    num, den = fraction
    if any(isinstance(v, bool) or not isinstance(v, int) for v in fraction) \
            or not 0 < num <= den:
        raise field_error("fraction", "must be (part, whole) integers with 0 < part <= whole")


def _order_lot(uow: UnitOfWork, reference: str) -> PointsLot:
    lot = uow.session.execute(select(PointsLot).where(
        PointsLot.source == ORDER, PointsLot.reference == reference)).scalar_one_or_none()
    if lot is None:
        raise NotFound(f"purchase {reference!r} earned no points", code="earning_not_found")
    return lot


def clawback_purchase(uow: UnitOfWork, *, reference: str, key: str, points: int | None = None,
                      fraction: tuple[int, int] | None = None) -> ClawedBack:
    """Take back `points`, or `fraction` (part, whole) of what purchase `reference` earned:
    from the pending lot while it is pending, else from available points."""
    reference = check_text(reference, "reference")
    _check_share(points, fraction)
    member_id = _order_lot(uow, reference).member_id
    members_service.lock_active(uow, member_id)
    request = {"op": "clawback", "reference": reference, "points": points,
               "fraction": list(fraction) if fraction else None}
    if (entry := replayed(uow, key, request)) is not None:
        done = entry.details["result"]
        return ClawedBack(member_id, reference, done["requested"], done["points"],
                          done["shortfall"], entry.id)
    settle_locked(uow, member_id, uow.clock.now())
    lot = uow.session.get(PointsLot, _order_lot(uow, reference).id, populate_existing=True)
    assert lot is not None
    wanted = _wanted(uow, lot, points, fraction)
    if wanted == 0:  # a sliver of a refund that earned less than one point
        return ClawedBack(member_id, reference, 0, 0, 0, None)
    return _claw(uow, lot, wanted, key, request)


def _wanted(uow: UnitOfWork, lot: PointsLot, points: int | None,
            fraction: tuple[int, int] | None) -> int:
    taken = int(uow.session.execute(
        select(func.coalesce(func.sum(PointsUse.points), 0))
        .where(PointsUse.kind == "clawback", PointsUse.reference == lot.reference)
    ).scalar_one())
    left = lot.original - taken
    if left <= 0:
        raise Conflict(f"every point purchase {lot.reference!r} earned was already taken back",
                       code="already_clawed_back")
    if points is None:
        assert fraction is not None
        points = share(lot.original, fraction[0], fraction[1])
    return min(points, left)


def _plan(uow: UnitOfWork, lot: PointsLot, wanted: int) -> list[tuple[int, int]]:
    """(lot id, points) to take: the purchase's own lot, then other available lots."""
    if lot.status == "pending":  # nothing can have been spent from a pending lot
        return [(lot.id, min(wanted, lot.remaining))] if wanted else []
    own = min(wanted, lot.remaining) if lot.status == "available" else 0
    plan = [(lot.id, own)] if own else []
    now = uow.clock.now()
    others = [(other.id, other.expires_at, other.remaining) for other in locked_rows(
        uow, select(PointsLot).where(
            PointsLot.member_id == lot.member_id, PointsLot.id != lot.id,
            PointsLot.status == "available", PointsLot.remaining > 0,
            PointsLot.expires_at > now))]
    rest = min(wanted - own, sum(o[2] for o in others))
    return plan + (rules.allocate(others, rest) if rest else [])


def _claw(uow: UnitOfWork, lot: PointsLot, wanted: int, key: str,
          request: dict[str, Any]) -> ClawedBack:
    plan = _plan(uow, lot, wanted)
    taken = sum(n for _, n in plan)
    result = {"requested": wanted, "points": taken, "shortfall": wanted - taken}
    before = balances(uow, lot.member_id)
    entry_id = None
    if taken:
        account = pending_account if lot.status == "pending" else available_account
        entry = post(uow, key=key, kind="points.clawback", source=account(lot.member_id),
                     destination=ISSUED, points=taken, request=request,
                     reference=lot.reference, reason=f"refund of {lot.reference}",
                     result=result)
        entry_id = entry.id
        _apply(uow, lot, plan, entry_id)
    record(uow, action="points.clawed_back", member_id=lot.member_id, before=before,
           reference=lot.reference, requested=wanted, clawed_back=taken,
           shortfall=wanted - taken)
    uow.emit(PointsClawedBack(member_id=lot.member_id, reference=lot.reference or "",
                              points=taken, shortfall=wanted - taken))
    return ClawedBack(lot.member_id, lot.reference or "", wanted, taken, wanted - taken,
                      entry_id)


def _apply(uow: UnitOfWork, lot: PointsLot, plan: list[tuple[int, int]], entry_id: int) -> None:
    now = uow.clock.now()
    for lot_id, n in plan:
        target = uow.session.get(PointsLot, lot_id)
        assert target is not None
        target.remaining -= n
        uow.session.add(PointsUse(lot_id=lot_id, member_id=lot.member_id, entry_id=entry_id,
                                  points=n, kind="clawback", reference=lot.reference,
                                  returned=0, created_at=now))
    if lot.status == "pending" and lot.remaining == 0:
        lot.status = "clawed_back"  # it will never be released
    uow.session.flush()
