"""Bonus actions: check-in, review, profile completion, referral — available at once, each
within its configured limits. Limits are counted from BonusClaim rows under the member's
lock, so two simultaneous check-ins cannot both pass the once-a-day check.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from memberops.errors import NotFound, RuleViolated, field_error
from memberops.members import service as members_service
from memberops.points import rules
from memberops.points.events import BonusAwarded
from memberops.points.models import BonusClaim, PointsLot
from memberops.points.service.common import (
    balances,
    check_text,
    credit,
    earning_rules,
    lot_of,
    record,
    replayed,
)
from memberops.uow import UnitOfWork

REFERRAL = "referral"


def _referred_ref(reference: str | None) -> str:
    """A referral names the referred member: "member:57" (or just "57")."""
    digits = (reference or "").removeprefix("member:")
    if not digits.isdigit():
        raise field_error("reference", "a referral bonus names the referred member, "
                          "as member:<id>")
    return f"member:{int(digits)}"


def _check_referral(uow: UnitOfWork, referrer_id: int, reference: str) -> None:
    referred_id = int(reference.removeprefix("member:"))
    try:
        referred = members_service.get_member(uow, referred_id)
    except NotFound:
        raise NotFound(f"referred member {referred_id} not found",
                       code="referred_member_not_found") from None
    if referred.referrer_id != referrer_id:
        raise RuleViolated(f"member {referred_id} was not referred by member {referrer_id}",
                           code="not_referred")


def _claims(uow: UnitOfWork, member_id: int, action: str, limit: rules.BonusLimit,
            day: date, reference: str | None) -> int:
    stmt = select(func.count()).select_from(BonusClaim).where(
        BonusClaim.member_id == member_id, BonusClaim.action == action)
    if limit.window == "day":
        stmt = stmt.where(BonusClaim.period == day.isoformat())
    elif limit.window == "month":
        stmt = stmt.where(BonusClaim.period.like(f"{day:%Y-%m}-%"))
    else:
        stmt = stmt.where(BonusClaim.period == limit.period)
        if limit.period == "ref":
            stmt = stmt.where(BonusClaim.reference == reference)
    return int(uow.session.execute(stmt).scalar_one())


def _check_limits(uow: UnitOfWork, member_id: int, action: str, limits: list[rules.BonusLimit],
                  day: date, reference: str | None) -> None:
    for limit in limits:
        if limit.cap is None or _claims(uow, member_id, action, limit, day,
                                        reference) < limit.cap:
            continue
        if limit.cap == 1:
            raise RuleViolated(f"member {member_id} already had the {action} bonus"
                               + (" today" if limit.window == "day" else ""),
                               code="bonus_already_claimed")
        raise RuleViolated(f"member {member_id} reached the {action} bonus limit of "
                           f"{limit.cap} a {limit.window}", code="bonus_cap_reached")


def award_bonus(uow: UnitOfWork, *, member_id: int, action: str, key: str,
                reference: str | None = None) -> PointsLot:
    """Award a bonus action's points, available at once, if its limits allow."""
    action = check_text(action, "action", max_length=40)
    config = earning_rules(uow).bonus_actions.get(action)
    if config is None:
        known = ", ".join(sorted(earning_rules(uow).bonus_actions))
        raise RuleViolated(f"unknown bonus action {action!r}; configured: {known}",
                           code="unknown_bonus_action")
    by_reference = action in rules.BONUS_ACTIONS_WITH_REFERENCE
    reference = _referred_ref(reference) if by_reference else (
        check_text(reference, "reference") if reference is not None else None)
    members_service.lock_active(uow, member_id)
    request = {"op": "bonus", "member_id": member_id, "action": action,
               "reference": reference}
    if (entry := replayed(uow, key, request)) is not None:
        return lot_of(uow, entry)
    if by_reference:
        _check_referral(uow, member_id, reference or "")
    day = uow.clock.today()
    period, limits = rules.bonus_limits(config.per_day, config.per_month, config.once,
                                        by_reference, day)
    _check_limits(uow, member_id, action, limits, day, reference)
    before = balances(uow, member_id)
    lot = credit(uow, member_id=member_id, points=config.points, source="bonus",
                 reference=reference, key=key, kind="points.bonus", request=request,
                 pending=False, reason=f"bonus: {action}")
    uow.session.add(BonusClaim(member_id=member_id, action=action, period=period,
                               points=config.points, reference=reference, lot_id=lot.id,
                               created_at=uow.clock.now()))
    record(uow, action="points.bonus_awarded", member_id=member_id, before=before,
           bonus_action=action, reference=reference)
    uow.emit(BonusAwarded(member_id=member_id, action=action, points=config.points,
                          reference=reference))
    return lot


def award_referral(uow: UnitOfWork, *, referred_member_id: int, key: str) -> PointsLot | None:
    """The referral bonus for whoever referred this member (orders call it when the
    referred member's first order is paid). None when nobody referred them or the
    programme has no referral bonus; a frozen referrer is refused (member_frozen)."""
    referred = members_service.get_member(uow, referred_member_id)
    if referred.referrer_id is None or REFERRAL not in earning_rules(uow).bonus_actions:
        return None
    return award_bonus(uow, member_id=referred.referrer_id, action=REFERRAL,
                       reference=f"member:{referred_member_id}", key=key)
