"""The read side of tiers: the ladder in force, a tier's benefits (for the orders flow),
a member's tier with progress, tier history, members per tier, timeline text."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import Table, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from memberops.errors import NotFound, ValidationFailed
from memberops.members import queries as member_queries
from memberops.members.models import Member
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.models import MemberTier, TierActivity, TierChange

MAX_LIMIT = 500
SORTS = ("-at", "at")
ACTIVITY: Table = TierActivity.__table__  # type: ignore[assignment]
_SPEND_IN = ACTIVITY.c.occurred_at >= bindparam("spend_from")
# What counts as recharged: settled recharges, less the principal cashed out since (a
# cash-out row's amount is negative). Equalities, not IN: WINDOW_SUMS is prepared.
RECHARGED = or_(ACTIVITY.c.kind == "recharge", ACTIVITY.c.kind == "cash_out")
# One indexed statement (member, time): built once, it runs inside every order.
WINDOW_SUMS = Prepared(
    select(func.coalesce(func.sum(case((and_(~RECHARGED, _SPEND_IN), ACTIVITY.c.amount),
                                       else_=0)), 0),
           func.coalesce(func.sum(case((_SPEND_IN, ACTIVITY.c.orders), else_=0)), 0),
           func.coalesce(func.sum(case(
               (and_(RECHARGED, ACTIVITY.c.occurred_at >= bindparam("recharge_from")),
                ACTIVITY.c.amount), else_=0)), 0))
    .where(ACTIVITY.c.member_id == bindparam("member_id"),
           ACTIVITY.c.occurred_at >= bindparam("since"),
           ACTIVITY.c.occurred_at < bindparam("until")))


def ladder(session: Session) -> TierLadder:
    """The tier ladder in force (the reference programme's until changed)."""
    return programme_service.current(session, TierLadder)


def sums_between(session: Session, member_id: int, spend_from: datetime,
                 recharge_from: datetime, end: datetime) -> rules.Activity:
    """Net spend and orders since `spend_from`, recharges since `recharge_from`, up to
    `end` (exclusive)."""
    row = WINDOW_SUMS.first(session, {
        "member_id": member_id, "spend_from": spend_from, "recharge_from": recharge_from,
        "since": min(spend_from, recharge_from), "until": end})
    assert row is not None
    return rules.Activity(net_spend=int(row[0]), orders=int(row[1]), recharge=int(row[2]))


def sums(session: Session, member_id: int, found: TierLadder, end: datetime,
         tz: tzinfo) -> rules.Activity:
    """The member's activity over the ladder's rolling windows ending at `end`."""
    return sums_between(session, member_id,
                        rules.months_before(end, found.window_months, tz),
                        rules.months_before(end, found.recharge_window_months, tz), end)


# --- benefits -------------------------------------------------------------------------

def benefits(session: Session, member: int | str) -> rules.TierBenefits:
    """The benefits the orders flow applies: by member id (the tier held now) or by tier
    code. A member whose tier the ladder no longer names gets the base tier's."""
    found = ladder(session)
    if isinstance(member, str):
        if found.rank(member) is None:
            raise NotFound(f"no tier {member!r} in the ladder", code="tier_not_found")
        return rules.benefits_of(found, member)
    tier = session.execute(select(Member.tier).where(Member.id == member)).scalar()
    if tier is None:
        raise NotFound(f"member {member} not found", code="member_not_found")
    return rules.benefits_of(found, tier)


def counts(session: Session) -> dict[str, int]:
    """Members per tier held (closed members left out)."""
    rows = session.execute(select(Member.tier, func.count()).where(Member.status != "closed")
                           .group_by(Member.tier)).all()
    return {str(tier): int(n) for tier, n in rows}


# --- a member's tier ------------------------------------------------------------------

@dataclass(frozen=True)
class Floor:
    tier: str
    until: date
    reason: str
    set_by: str | None
    set_at: datetime | None


@dataclass(frozen=True)
class Target:
    """A tier to reach (or keep) and, per criterion, what it takes: any one is enough."""

    tier: str
    by: date | None  # keep: before the review day
    needs: list[rules.Need]


@dataclass(frozen=True)
class TierStatus:
    member_id: int
    tier: rules.TierBenefits
    reached_at: datetime | None
    review_due: date | None
    held_by_floor: bool
    floor: Floor | None
    window_from: datetime
    window_to: datetime
    activity: rules.Activity
    next: Target | None
    keep: Target | None


def status(session: Session, member_id: int, now: datetime, tz: tzinfo) -> TierStatus:
    """The member's tier, benefits, activity over the window, what the next tier needs and
    what keeping this one at its review needs."""
    member = member_queries.get(session, member_id)
    found = ladder(session)
    state = session.get(MemberTier, member_id)
    end = now + timedelta(seconds=1)
    activity = sums(session, member_id, found, end, tz)
    rank = found.rank(member.tier) or 0
    upper = found.tiers[rank + 1] if rank + 1 < len(found.tiers) else None
    floor = None
    if state is not None and state.floor_tier is not None and state.floor_until is not None:
        floor = Floor(state.floor_tier, state.floor_until, state.floor_reason or "",
                      state.floor_set_by, state.floor_set_at)
    return TierStatus(
        member_id=member_id, tier=rules.benefits_of(found, member.tier),
        reached_at=state.reached_at if state else None,
        review_due=state.review_due if state else None,
        held_by_floor=bool(state and state.held_by_floor), floor=floor,
        window_from=rules.months_before(now, found.window_months, tz), window_to=now,
        activity=activity,
        next=Target(upper.code, None, rules.needs(upper.qualify, activity)) if upper else None,
        keep=_keep(session, member_id, found, rank, state, end, tz))


def _keep(session: Session, member_id: int, found: TierLadder, rank: int,
          state: MemberTier | None, end: datetime, tz: tzinfo) -> Target | None:
    if not rank or state is None or state.review_due is None:
        return None
    due = state.review_due
    start = rules.local_midnight(rules.add_months(due, -found.window_months), tz)
    recharge_start = rules.local_midnight(rules.add_months(due, -found.recharge_window_months),
                                          tz)
    so_far = sums_between(session, member_id, start, recharge_start, end)
    held = found.tiers[rank]
    return Target(held.code, due, rules.needs(held.qualify, so_far, found.retention_pct))


# --- history --------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryPage:
    items: list[TierChange]
    next_cursor: str | None


def _encode(sort: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{sort}:{row_id}".encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_sort, _, row_id = raw.rpartition(":")
        if cursor_sort != sort:
            raise ValueError
        return int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("invalid cursor for this sort order; start again without it",
                               code="invalid_cursor") from None


def history(session: Session, member_id: int, *, reason: str | None = None, limit: int = 50,
            cursor: str | None = None, sort: str = "-at") -> HistoryPage:
    """A member's tier history (changes, reviews, floors), newest first unless sorted."""
    if sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1–{MAX_LIMIT}", code="invalid_limit")
    if reason is not None and reason not in rules.REASONS:
        raise ValidationFailed(f"reason must be one of {', '.join(rules.REASONS)}",
                               code="invalid_reason")
    member_queries.check_exists(session, member_id)
    stmt = select(TierChange).where(TierChange.member_id == member_id)
    if reason is not None:
        stmt = stmt.where(TierChange.reason == reason)
    descending = sort == "-at"
    if cursor:
        last = _decode(cursor, sort)
        stmt = stmt.where(TierChange.id < last if descending else TierChange.id > last)
    order = TierChange.id.desc() if descending else TierChange.id.asc()
    rows = list(session.execute(stmt.order_by(order).limit(limit + 1)).scalars())
    more = len(rows) > limit
    return HistoryPage(rows[:limit], _encode(sort, rows[limit - 1].id) if more else None)


# --- timeline -------------------------------------------------------------------------

TIMELINE_TEXT = {
    "tier.changed": lambda p: f"Tier {p.get('before')} → {p.get('after')} "
    f"({str(p.get('reason')).replace('_', ' ')})",
    "tier.retained": lambda p: f"Kept tier {p.get('tier')} at its review"
    + (" (held by a floor)" if p.get("held_by_floor") else ""),
    "tier.floor_set": lambda p: f"Tier floor {p.get('tier')} until {p.get('until')}: "
    f"{p.get('reason')}",
    "tier.floor_lifted": lambda p: f"Tier floor {p.get('tier')} "
    + ("ended" if p.get("reason") == "floor_expired" else f"removed: {p.get('note')}"),
}
for _event_type, _text in TIMELINE_TEXT.items():
    member_queries.describe_event(_event_type, _text)
