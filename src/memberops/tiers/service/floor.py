"""Manual floors: an operator sets a tier by hand as the lowest the member can hold, with
a reason and a last day; the member is raised to it at once (admin only, at the edge)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from memberops.errors import NotFound, field_error
from memberops.tiers import rules
from memberops.tiers.events import TierFloorSet
from memberops.tiers.models import MemberTier, TierChange
from memberops.tiers.queries import ladder
from memberops.tiers.service.common import (
    Change,
    check_text,
    known_tier,
    lock_open_member,
    new_state,
    state_of,
    write_history,
)
from memberops.tiers.service.review import lift, run_due
from memberops.uow import UnitOfWork


def _check_until(uow: UnitOfWork, until: object) -> date:
    if not isinstance(until, date) or isinstance(until, datetime):
        raise field_error("until", f"must be a date (YYYY-MM-DD), got {until!r}")
    today = uow.clock.today()
    if until <= today:
        raise field_error("until", f"must be after today ({today.isoformat()}), got "
                          f"{until.isoformat()}", code="floor_end_not_in_future")
    return until


def set_floor(uow: UnitOfWork, *, member_id: int, tier: str, reason: str,
              until: date) -> MemberTier:
    """Set (or replace) the member's floor through `until` (inclusive); raise the member
    to it at once. The same floor again changes nothing."""
    found = ladder(uow.session)
    tier = known_tier(found, tier)
    floor_rank = found.rank(tier) or 0
    if floor_rank == 0:
        raise field_error("tier", f"a floor must be above {found.tiers[0].code!r}",
                          code="floor_too_low")
    reason = check_text(reason, "reason")
    until = _check_until(uow, until)
    current = lock_open_member(uow, member_id)
    state = state_of(uow, member_id) or new_state(uow, member_id)
    if (state.floor_tier, state.floor_until, state.floor_reason) == (tier, until, reason):
        return state
    state.floor_tier, state.floor_until, state.floor_reason = tier, until, reason
    state.floor_set_by, state.floor_set_at = uow.actor.label, uow.clock.now()
    state.updated_at = uow.clock.now()
    rank = found.rank(current) or 0
    details = {"floor": tier, "until": until}
    lowered = state.held_by_floor and floor_rank < rank
    if floor_rank > rank or (state.held_by_floor and floor_rank == rank):
        # The floor alone holds the tier: it is reviewed when the floor ends.
        state.reached_at = uow.clock.now() if floor_rank > rank else state.reached_at
        state.review_due, state.held_by_floor = until + timedelta(days=1), True
    elif lowered:
        state.held_by_floor, state.review_due = False, uow.clock.today()
    after = tier if floor_rank > rank else current
    write_history(uow, member_id, Change(before=current, after=after, reason=rules.MANUAL_FLOOR,
                                         note=reason, details=details), state)
    uow.emit(TierFloorSet(member_id=member_id, tier=tier, until=until, reason=reason))
    if lowered:  # a lower floor no longer holds the tier: it is reviewed now
        run_due(uow, member_id, current, state, found, uow.clock.today())
    return state


def remove_floor(uow: UnitOfWork, *, member_id: int, reason: str) -> list[TierChange]:
    """End the member's floor now; a tier it alone held is reviewed at once (normal rules:
    kept at retention_pct% of its threshold, else one step down)."""
    reason = check_text(reason, "reason")
    current = lock_open_member(uow, member_id)
    state = state_of(uow, member_id)
    if state is None or state.floor_tier is None:
        raise NotFound(f"member {member_id} has no tier floor", code="floor_not_found")
    today = uow.clock.today()
    done = [lift(uow, member_id, current, state, rules.FLOOR_REMOVED, on=today, note=reason)]
    return done + run_due(uow, member_id, current, state, ladder(uow.session), today)
