"""The retention review (保级) of one member, and lifting floors that have ended.

A tier is held `hold_months` from the day it was reached; on that anniversary the member
keeps it when the months before reach `retention_pct`% of a threshold, else drops one
step, and is reviewed again a hold period later. A floor in force stops the drop at the
floor; a tier held only by a floor is reviewed when the floor ends. The review looks back
from the anniversary itself, so a job that runs late (or catches up several years) decides
exactly as one that ran on the day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from memberops.money import Money
from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.events import TierFloorLifted
from memberops.tiers.models import MemberTier, TierChange
from memberops.tiers.queries import ladder, sums
from memberops.tiers.service.common import (
    Change,
    lock_member,
    new_state,
    state_of,
    write_history,
)
from memberops.uow import UnitOfWork

DAY = timedelta(days=1)


def review_member(uow: UnitOfWork, *, member_id: int, as_of: date) -> list[TierChange]:
    """Lift the member's ended floor and run every review due on or before `as_of`, in
    date order (one job step). Nothing due: nothing written."""
    tier, status = lock_member(uow, member_id)
    if status == "closed":
        return []
    found = ladder(uow.session)
    state = state_of(uow, member_id)
    if state is None:
        if found.rank(tier) is not None:
            return []
        state = new_state(uow, member_id)  # a tier the ladder dropped, never reviewed
    return run_due(uow, member_id, tier, state, found, as_of)


def run_due(uow: UnitOfWork, member_id: int, tier: str, state: MemberTier,
            found: TierLadder, as_of: date) -> list[TierChange]:
    """Everything due up to `as_of`: floors that ended, then reviews, oldest first."""
    done: list[TierChange] = []
    for _ in range(rules.MAX_CATCH_UP):
        if found.rank(tier) is None and (state.review_due is None or state.review_due > as_of):
            state.review_due = as_of  # the ladder no longer names the tier: place them now
        floor_end = state.floor_until + DAY if state.floor_until is not None else None
        due = state.review_due
        if floor_end is not None and floor_end <= as_of and (due is None or floor_end <= due):
            done.append(lift(uow, member_id, tier, state, rules.FLOOR_EXPIRED, on=floor_end,
                             note=f"floor ended after {state.floor_until}"))
            continue
        if due is None or due > as_of:
            break
        row = _review(uow, member_id, tier, state, found, due, _window_end(uow, found, tier,
                                                                          due))
        tier = row.to_tier
        done.append(row)
    return done


def lift(uow: UnitOfWork, member_id: int, tier: str, state: MemberTier, reason: str, *,
         on: date, note: str) -> TierChange:
    """End the floor. A tier it alone held is reviewed from `on` (normal rules again)."""
    floor, until = state.floor_tier, state.floor_until
    assert floor is not None and until is not None
    state.floor_tier = state.floor_reason = state.floor_set_by = None
    state.floor_until = state.floor_set_at = None
    if state.held_by_floor:
        state.held_by_floor = False
        state.review_due = min(state.review_due or on, on)
    state.updated_at = uow.clock.now()
    row = write_history(uow, member_id, Change(before=tier, after=tier, reason=reason,
                                               note=note,
                                               details={"floor": floor, "until": until}), state)
    uow.emit(TierFloorLifted(member_id=member_id, tier=floor, reason=reason, note=note))
    return row


def _window_end(uow: UnitOfWork, found: TierLadder, tier: str, due: date) -> datetime:
    # A review looks back from the start of its anniversary; placing a member whose tier
    # the ladder dropped looks at everything up to now (or the end of an earlier as_of).
    tz = uow.clock.tz
    if found.rank(tier) is not None:
        return rules.local_midnight(due, tz)
    return min(uow.clock.now() + timedelta(seconds=1), rules.local_midnight(due + DAY, tz))


def _review(uow: UnitOfWork, member_id: int, tier: str, state: MemberTier,
            found: TierLadder, due: date, end: datetime) -> TierChange:
    tz = uow.clock.tz
    activity = sums(uow.session, member_id, found, end, tz)
    floor = state.floor_tier  # in force on `due`: floors that ended first were lifted
    outcome = rules.review(found, tier, activity, floor)
    now = uow.clock.now()
    state.reviewed_at = state.updated_at = now
    if outcome.tier != tier:
        state.reached_at = now
    state.held_by_floor = outcome.held_by_floor
    if outcome.held_by_floor and state.floor_until is not None:
        state.review_due = state.floor_until + DAY
    else:
        state.review_due = rules.next_review(found, outcome.tier, due)
    held = found.tier_or_base(tier)
    details = {"review_day": due, "window_months": found.window_months,
               "activity": activity, "floor": floor,
               "needed": {n.criterion: n.target for n in rules.needs(
                   held.qualify, activity, found.retention_pct)}}
    return write_history(uow, member_id, Change(
        before=tier, after=outcome.tier, reason=outcome.reason,
        note=_explain(found, tier, outcome, due, activity), details=details), state)


def _explain(found: TierLadder, tier: str, outcome: rules.Review, due: date,
             activity: rules.Activity) -> str:
    if outcome.reason == rules.LADDER_CHANGED:
        return f"the ladder no longer has {tier!r}: placed by the activity to {due}"
    spent = Money(activity.net_spend).format()
    head = (f"{found.retention_pct}% of {tier}'s threshold over the {found.window_months} "
            f"months to {due} (net spend {spent})")
    if outcome.held_by_floor:
        return f"below {head}; held by the floor {outcome.tier}"
    if outcome.reason == rules.RETENTION_KEPT:
        return f"kept: reached {head}"
    return f"below {head}: down one step to {outcome.tier}"
