"""Using points (deductions, redemptions, negative adjustments), giving used points back
when the order that used them is refunded, and manual adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from memberops.errors import (
    Conflict,
    Forbidden,
    InsufficientBalance,
    NotFound,
    RuleViolated,
    field_error,
)
from memberops.ledger.models import LedgerEntry
from memberops.members import service as members_service
from memberops.points import rules
from memberops.points.events import PointsAdjusted, PointsReturned, PointsSpent
from memberops.points.models import PointsLot, PointsUse
from memberops.points.queries import available_account
from memberops.points.service.common import (
    ADJUSTED,
    REDEEMED,
    balances,
    check_points,
    check_text,
    credit,
    locked_rows,
    lot_of,
    post,
    record,
    replayed,
    shifted,
)
from memberops.points.service.settle import settle_locked
from memberops.prepared import Prepared, utc_time
from memberops.uow import UnitOfWork

# Prepared statements for the order path (memberops.prepared): usable lots, read under the
# member lock; what was taken from them; the uses a refund gives back.
LOTS: Any = PointsLot.__table__
USES: Any = PointsUse.__table__
USABLE_LOTS = Prepared(select(LOTS.c.id, LOTS.c.expires_at, LOTS.c.remaining).where(
    LOTS.c.member_id == bindparam("member_id"), LOTS.c.status == "available",
    LOTS.c.remaining > 0, LOTS.c.expires_at > bindparam("now")))
TAKE_FROM_LOT = Prepared(update(LOTS).where(LOTS.c.id == bindparam("lot_id"))
                         .values(remaining=LOTS.c.remaining - bindparam("used")), many=True)
INSERT_USE = Prepared(insert(USES).values({
    name: bindparam(name) for name in ("lot_id", "member_id", "entry_id", "points", "kind",
                                       "reference", "returned", "created_at")}), many=True)

SPEND_KINDS = ("deduction", "redeem")
RETURNABLE_KINDS = ("deduction", "redeem")


@dataclass(frozen=True)
class Spent:
    """Points used by one movement, and the lots they came from."""

    member_id: int
    points: int
    kind: str
    reference: str | None
    entry_id: int
    uses: tuple[tuple[int, int], ...]  # (lot id, points), in consumption order


def spend(uow: UnitOfWork, *, member_id: int, points: int, kind: str, reference: str,
          key: str) -> Spent:
    """Use points on an order (deduction) or a redemption, earliest-expiring lots first."""
    points = check_points(points)
    if kind not in SPEND_KINDS:
        raise field_error("kind", f"must be one of {', '.join(SPEND_KINDS)}")
    reference = check_text(reference, "reference")
    members_service.lock_active_id(uow, member_id)
    request = {"op": "spend", "member_id": member_id, "points": points, "kind": kind,
               "reference": reference}
    if (entry := replayed(uow, key, request)) is not None:
        return spent_of(uow, entry)
    settle_locked(uow, member_id, uow.clock.now())
    before = balances(uow, member_id)
    spent = take(uow, member_id=member_id, points=points, kind=kind, reference=reference,
                 key=key, request=request, destination=REDEEMED, reason=f"{kind} {reference}")
    record(uow, action="points.spent", member_id=member_id, before=before,
           after=shifted(before, available=-points), kind=kind, reference=reference)
    uow.emit(PointsSpent(member_id=member_id, points=points, kind=kind, reference=reference))
    return spent


def take(uow: UnitOfWork, *, member_id: int, points: int, kind: str, reference: str | None,
         key: str, request: dict[str, Any], destination: str,
         reason: str | None) -> Spent:
    """Take points from a locked, settled member's usable lots and post them away."""
    now = uow.clock.now()
    usable = [(lot_id, utc_time(expires), remaining) for lot_id, expires, remaining
              in USABLE_LOTS.all(uow.session, {"member_id": member_id, "now": now})]
    try:
        plan = rules.allocate(usable, points)
    except rules.NotEnoughPoints as exc:
        raise InsufficientBalance(
            f"member {member_id} has {exc.available} points available, {points} needed",
            available=exc.available, requested=points) from None
    entry = post(uow, key=key, kind=f"points.{kind}", source=available_account(member_id),
                 destination=destination, points=points, request=request,
                 reference=reference, reason=reason)
    TAKE_FROM_LOT.executemany(uow.session, [{"lot_id": lot_id, "used": used}
                                            for lot_id, used in plan])
    INSERT_USE.executemany(uow.session, [
        {"lot_id": lot_id, "member_id": member_id, "entry_id": entry.id, "points": used,
         "kind": kind, "reference": reference, "returned": 0, "created_at": now}
        for lot_id, used in plan])
    return Spent(member_id, points, kind, reference, entry.id, tuple(plan))


def spent_of(uow: UnitOfWork, entry: LedgerEntry) -> Spent:
    """What an earlier spend took (for replays)."""
    uses = list(uow.session.execute(select(PointsUse).where(PointsUse.entry_id == entry.id)
                                    .order_by(PointsUse.id)).scalars())
    request = entry.details["request"]
    return Spent(int(request["member_id"]), sum(u.points for u in uses), uses[0].kind,
                 entry.reference, entry.id, tuple((u.lot_id, u.points) for u in uses))


# --- giving used points back ----------------------------------------------------------

@dataclass(frozen=True)
class Returned:
    member_id: int
    reference: str
    points: int
    entry_id: int
    lot_ids: tuple[int, ...]  # the lots the points went back to (new lots included)


def _outstanding_uses(uow: UnitOfWork, reference: str) -> list[PointsUse]:
    return locked_rows(uow, select(PointsUse).where(
        PointsUse.reference == reference, PointsUse.kind.in_(RETURNABLE_KINDS))
        .order_by(PointsUse.id))


def return_spent(uow: UnitOfWork, *, reference: str, key: str,
                 points: int | None = None) -> Returned:
    """Give back points a refunded order used, to their original lots and expiry.

    The last-consumed points go back first, so a partial refund leaves the member as if the
    order had used fewer points. Where an original lot has expired meanwhile, its share goes
    to a new lot with the same (past) expiry instant: it is available for a moment in the
    books and the next expiry run (or the member's next spend) expires it — the member gets
    back exactly what they would hold had the points never been used.
    """
    reference = check_text(reference, "reference")
    if points is not None:
        points = check_points(points)
    uses = _outstanding_uses(uow, reference)
    members = {use.member_id for use in uses}
    if not members:
        raise NotFound(f"no points were used with reference {reference!r}",
                       code="spend_not_found")
    if len(members) > 1:
        raise Conflict(f"reference {reference!r} names spends of several members",
                       code="ambiguous_reference")
    member_id = members.pop()
    members_service.lock_active(uow, member_id)
    request = {"op": "return", "reference": reference, "points": points}
    if (entry := replayed(uow, key, request)) is not None:
        result = entry.details["result"]
        return Returned(member_id, reference, result["points"], entry.id,
                        tuple(result["lots"]))
    return _give_back(uow, member_id, reference, points, key, request)


def _plan_return(uses: list[PointsUse], points: int | None, reference: str
                 ) -> list[tuple[int, int]]:
    outstanding = [(use.id, use.points - use.returned) for use in uses]
    total = sum(n for _, n in outstanding)
    if total == 0:
        raise Conflict(f"every point used with {reference!r} was already returned",
                       code="already_returned")
    wanted = total if points is None else points
    if wanted > total:
        raise RuleViolated(f"only {total} points used with {reference!r} are left to return,"
                           f" not {wanted}", code="return_exceeds_spent")
    return rules.undo_order(outstanding, wanted)


def _give_back(uow: UnitOfWork, member_id: int, reference: str, points: int | None, key: str,
               request: dict[str, Any]) -> Returned:
    uses = {use.id: use for use in _outstanding_uses(uow, reference)}
    plan = _plan_return(list(uses.values()), points, reference)
    total = sum(n for _, n in plan)
    before = balances(uow, member_id)
    # Targets first (new lots flushed for their ids): the entry is append-only, so the
    # lots it gave to are written into it once, for replays.
    targets = [_target_lot(uow, uses[use_id], give) for use_id, give in plan]
    lot_ids = tuple(dict.fromkeys(lot.id for lot in targets))
    entry = post(uow, key=key, kind="points.return", source=REDEEMED,
                 destination=available_account(member_id), points=total, request=request,
                 reference=reference, reason=f"refund of {reference}",
                 result={"points": total, "lots": list(lot_ids)})
    for (use_id, give), lot in zip(plan, targets, strict=True):
        uses[use_id].returned += give
        lot.remaining += give
        lot.entry_id = lot.entry_id or entry.id  # a new lot is made by this entry
    uow.session.flush()
    record(uow, action="points.returned", member_id=member_id, before=before,
           reference=reference)
    uow.emit(PointsReturned(member_id=member_id, reference=reference, points=total))
    return Returned(member_id, reference, total, entry.id, lot_ids)


def _target_lot(uow: UnitOfWork, use: PointsUse, give: int) -> PointsLot:
    """The use's own lot while it is open; else a new lot with the original's expiry."""
    lot = uow.session.get(PointsLot, use.lot_id)
    assert lot is not None
    if lot.status == "available":
        return lot
    now = uow.clock.now()
    stand_in = PointsLot(member_id=lot.member_id, source="return", reference=use.reference,
                         original=give, remaining=0, status="available", earned_at=now,
                         available_at=now, expires_at=lot.expires_at)
    uow.session.add(stand_in)
    uow.session.flush()
    return stand_in


# --- manual adjustment ----------------------------------------------------------------

@dataclass(frozen=True)
class Adjusted:
    member_id: int
    points: int  # signed
    reason: str
    entry_id: int
    lot_id: int | None  # the new lot of a positive adjustment


def adjust(uow: UnitOfWork, *, member_id: int, points: int, reason: str,
           key: str) -> Adjusted:
    """Add (a new lot, expiring by policy) or take away points by hand, with a reason."""
    if uow.actor.role != "admin":  # the API checks too; this holds for every entrypoint
        raise Forbidden("only an admin may adjust points")
    points = check_points(points, signed=True)
    reason = check_text(reason, "reason", max_length=500, min_length=2)
    members_service.lock_active(uow, member_id)
    request = {"op": "adjust", "member_id": member_id, "points": points, "reason": reason}
    if (entry := replayed(uow, key, request)) is not None:
        lot_id = lot_of(uow, entry).id if points > 0 else None
        return Adjusted(member_id, points, reason, entry.id, lot_id)
    settle_locked(uow, member_id, uow.clock.now())
    before = balances(uow, member_id)
    if points > 0:
        lot = credit(uow, member_id=member_id, points=points, source="adjustment",
                     reference=None, key=key, kind="points.adjustment", request=request,
                     pending=False, reason=reason, from_account=ADJUSTED)
        result = Adjusted(member_id, points, reason, lot.entry_id or 0, lot.id)
    else:
        spent = take(uow, member_id=member_id, points=-points, kind="adjustment",
                     reference=None, key=key, request=request, destination=ADJUSTED,
                     reason=reason)
        result = Adjusted(member_id, points, reason, spent.entry_id, None)
    record(uow, action="points.adjusted", member_id=member_id, before=before, reason=reason)
    uow.emit(PointsAdjusted(member_id=member_id, points=points, reason=reason))
    return result
