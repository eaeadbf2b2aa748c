"""Earning: points for a purchase (pending for the return window) and generic awards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from memberops.clock import as_utc
from memberops.errors import Conflict, field_error
from memberops.ledger.rules import MAX_AMOUNT
from memberops.members import service as members_service
from memberops.points import rules
from memberops.points.events import PointsEarned
from memberops.points.models import PointsLot
from memberops.points.service.common import (
    balances,
    check_points,
    check_text,
    credit,
    credited,
    earning_rules,
    lot_of,
    record,
    replayed,
)
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.uow import UnitOfWork

ORDER = "order"
LOTS: Any = PointsLot.__table__
EARNED_BY = Prepared(select(LOTS.c.id).where(LOTS.c.source == ORDER,
                                             LOTS.c.reference == bindparam("reference")))


def _check_amount(amount_paid: object) -> int:
    if isinstance(amount_paid, bool) or not isinstance(amount_paid, int):
        raise field_error("amount_paid", f"must be an integer of fen, got {amount_paid!r}")
    if not 0 <= amount_paid <= MAX_AMOUNT:
        raise field_error("amount_paid", f"must be 0 to {MAX_AMOUNT} fen")
    return amount_paid


def _check_occurred(uow: UnitOfWork, occurred_at: datetime | None) -> datetime:
    if occurred_at is None:
        return uow.clock.now()
    try:
        at = as_utc(occurred_at)
    except ValueError:
        raise field_error("occurred_at", "needs a time zone") from None
    if at > uow.clock.now():
        raise field_error("occurred_at", "is in the future")
    return at


def _earned_in(uow: UnitOfWork, member_id: int, bounds: tuple[datetime, datetime]) -> int:
    start, end = bounds
    return int(uow.session.execute(
        select(func.coalesce(func.sum(PointsLot.original), 0))
        .where(PointsLot.member_id == member_id, PointsLot.source == ORDER,
               PointsLot.earned_at >= start, PointsLot.earned_at < end)).scalar_one())


def _capped(uow: UnitOfWork, member_id: int, points: int, day: date) -> int:
    # Caps bound what purchases earn (bonus actions have their own limits); what counts is
    # what purchases were credited in the local day and month, refunds notwithstanding.
    config = earning_rules(uow)
    if config.daily_cap is None and config.monthly_cap is None:
        return points
    tz = uow.clock.tz
    return rules.apply_caps(points, _earned_in(uow, member_id, rules.day_bounds(day, tz)),
                            _earned_in(uow, member_id, rules.month_bounds(day, tz)), config)


def earn_for_purchase(uow: UnitOfWork, *, member_id: int, amount_paid: int, reference: str,
                      key: str, occurred_at: datetime | None = None,
                      multiplier_pct: int | None = None) -> PointsLot | None:
    """Credit a purchase's points, pending until its return window ends (orders call this).
    Returns None when the purchase earns nothing (under ¥1, or capped). `multiplier_pct`:
    the member's multiplier (×100) as the order applied it (tier × PLUS); by default the
    tier's own."""
    amount_paid = _check_amount(amount_paid)
    reference = check_text(reference, "reference")
    earned_at = _check_occurred(uow, occurred_at)
    member = members_service.lock_active_id(uow, member_id)
    request = {"op": "earn", "member_id": member_id, "amount_paid": amount_paid,
               "reference": reference,
               "occurred_at": occurred_at.isoformat() if occurred_at else None,
               **({"multiplier_pct": multiplier_pct} if multiplier_pct is not None else {})}
    if (entry := replayed(uow, key, request)) is not None:
        return lot_of(uow, entry)
    if EARNED_BY.first(uow.session, {"reference": reference}) is not None:
        raise Conflict(f"purchase {reference!r} already earned its points",
                       code="points_already_earned")
    day = earned_at.astimezone(uow.clock.tz).date()
    config = earning_rules(uow)
    ladder = programme_service.current(uow.session, TierLadder)
    member_pct = rules.tier_pct(ladder, member.tier) if multiplier_pct is None \
        else multiplier_pct
    points = rules.points_for_purchase(amount_paid, member.tier, member.birthday, day, config,
                                       ladder, member_pct)
    points = _capped(uow, member_id, points, day)
    if points == 0:
        return None
    before = balances(uow, member_id)
    lot = credit(uow, member_id=member_id, points=points, source=ORDER, reference=reference,
                 key=key, kind="points.earn", request=request, pending=True,
                 reason=f"purchase {reference}", earned_at=earned_at,
                 tier_pct=member_pct,
                 promotion_pct=rules.promotion_pct(config, day, member.birthday))
    record(uow, action="points.earned", member_id=member_id, before=before,
           after=credited(before, lot), reference=reference, source=ORDER)
    _emit_earned(uow, lot)
    return lot


def _emit_earned(uow: UnitOfWork, lot: PointsLot) -> None:
    uow.emit(PointsEarned(member_id=lot.member_id, points=lot.original, source=lot.source,
                          reference=lot.reference, lot_id=lot.id,
                          pending=lot.status == "pending", available_at=lot.available_at,
                          expires_at=lot.expires_at))


def award(uow: UnitOfWork, *, member_id: int, points: int, source: str,
          reference: str | None, key: str, reason: str, pending: bool = False) -> PointsLot:
    """Credit points from another use case (e.g. the wallet's recharge_referral or
    recharge_campaign); available at once unless `pending` (then after the return window)."""
    points = check_points(points)
    source = check_text(source, "source", max_length=30)
    if reference is not None:
        reference = check_text(reference, "reference")
    reason = check_text(reason, "reason", max_length=500)
    members_service.lock_active(uow, member_id)
    request = {"op": "award", "member_id": member_id, "points": points, "source": source,
               "reference": reference, "reason": reason, "pending": pending}
    if (entry := replayed(uow, key, request)) is not None:
        return lot_of(uow, entry)
    before = balances(uow, member_id)
    lot = credit(uow, member_id=member_id, points=points, source=source, reference=reference,
                 key=key, kind="points.award", request=request, pending=pending,
                 reason=reason)
    record(uow, action="points.earned", member_id=member_id, before=before,
           after=credited(before, lot), reference=reference, source=source, reason=reason)
    _emit_earned(uow, lot)
    return lot
