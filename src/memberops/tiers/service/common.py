"""Steps every tier use case shares: input checks, the member lock, the ladder in force,
window sums, and writing a change (members.tier, state, history, audit, event).

Every writer locks the member row first (the same lock every movement of value takes), so
an order's upgrade, the review job and an operator's floor for one member never
interleave; the tier state row is read after that lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, update

from memberops.audit import service as audit
from memberops.clock import as_utc
from memberops.errors import NotFound, RuleViolated, field_error
from memberops.ledger.rules import MAX_AMOUNT
from memberops.members import service as members_service
from memberops.members.models import Member
from memberops.prepared import Prepared
from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.events import TierChanged, TierRetained
from memberops.tiers.models import MemberTier, TierActivity, TierChange
from memberops.tiers.queries import sums
from memberops.uow import UnitOfWork

MEMBERS: Table = Member.__table__  # type: ignore[assignment]
ACTIVITY: Table = TierActivity.__table__  # type: ignore[assignment]
MAX_REF = 120
MAX_TEXT = 500

# Prepared (memberops.prepared): these run inside every order and recharge.
LOCK_MEMBER = Prepared(select(MEMBERS.c.tier, MEMBERS.c.status)
                       .where(MEMBERS.c.id == bindparam("member_id")).with_for_update())
SET_TIER = (update(MEMBERS).where(MEMBERS.c.id == bindparam("member_id"))
            .values(tier=bindparam("tier")))


# --- input ----------------------------------------------------------------------------

def check_text(value: object, field: str, *, max_length: int = MAX_TEXT) -> str:
    """A non-blank string of bounded length, stripped."""
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= max_length:
        raise field_error(field, f"must be 1–{max_length} characters")
    return value.strip()


def check_amount(value: object, field: str = "amount", *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(field, f"must be an integer of fen, got {value!r}")
    if not low <= value <= MAX_AMOUNT:
        raise field_error(field, f"must be {low} to {MAX_AMOUNT} fen, got {value}")
    return value


def check_occurred(uow: UnitOfWork, occurred_at: datetime | None) -> datetime:
    if occurred_at is None:
        return uow.clock.now()
    try:
        at = as_utc(occurred_at)
    except ValueError:
        raise field_error("occurred_at", "needs a time zone") from None
    if at > uow.clock.now():
        raise field_error("occurred_at", "is in the future")
    return at


# --- reading --------------------------------------------------------------------------

def known_tier(found: TierLadder, code: object, field: str = "tier") -> str:
    """A tier code the ladder names; anything else is a 422 listing the codes."""
    if not isinstance(code, str) or found.rank(code) is None:
        raise field_error(field, f"unknown tier {code!r}; the ladder has "
                          + ", ".join(t.code for t in found.tiers), code="unknown_tier")
    return code


def lock_member(uow: UnitOfWork, member_id: int) -> tuple[str, str]:
    """Lock the member row (see the module note); returns (tier, status)."""
    row = LOCK_MEMBER.first(uow.session, {"member_id": member_id})
    if row is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    return str(row[0]), str(row[1])


def lock_open_member(uow: UnitOfWork, member_id: int) -> str:
    """`lock_member` for changes by hand: a closed member's tier no longer changes."""
    tier, status = lock_member(uow, member_id)
    if status == "closed":
        raise RuleViolated(f"member {member_id} is closed", code="member_closed")
    return tier


def state_of(uow: UnitOfWork, member_id: int) -> MemberTier | None:
    """The member's tier state, as it is now (read after the member lock)."""
    return uow.session.get(MemberTier, member_id, populate_existing=True)


def new_state(uow: UnitOfWork, member_id: int) -> MemberTier:
    state = MemberTier(member_id=member_id, reached_at=uow.clock.now(), held_by_floor=False,
                       updated_at=uow.clock.now())
    uow.session.add(state)
    return state


def live_sums(uow: UnitOfWork, member_id: int, found: TierLadder) -> rules.Activity:
    """The activity over the windows ending now (what was recorded at `now` included)."""
    end = uow.clock.now() + timedelta(seconds=1)
    return sums(uow.session, member_id, found, end, uow.clock.tz)


# --- writing --------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """What one history entry records."""

    before: str
    after: str
    reason: str
    note: str | None = None
    details: dict[str, Any] | None = None


def write_history(uow: UnitOfWork, member_id: int, change: Change,
                  state: MemberTier | None) -> TierChange:
    """Record a history entry, set members.tier when it moved, audit and emit."""
    if change.after != change.before:
        uow.session.execute(SET_TIER, {"member_id": member_id, "tier": change.after})
        members_service.forget_lock(uow, member_id)
    row = TierChange(member_id=member_id, from_tier=change.before, to_tier=change.after,
                     reason=change.reason, note=change.note,
                     details=audit_plain(change.details or {}),
                     actor=uow.actor.label, at=uow.clock.now())
    uow.session.add(row)
    due = state.review_due if state is not None else None
    changes = audit.diff({"tier": change.before}, {"tier": change.after})
    changes["review_due"] = {"before": None, "after": due.isoformat() if due else None}
    for name, value in (change.details or {}).items():
        changes[name] = {"before": None, "after": audit_plain(value)}
    audit.record(uow, action=f"tier.{change.reason}", target_type="member",
                 target_id=member_id, changes=changes, reason=change.note)
    if change.after != change.before:
        uow.emit(TierChanged(member_id=member_id, before=change.before, after=change.after,
                             reason=change.reason, review_due=due))
    elif change.reason == rules.RETENTION_KEPT:
        uow.emit(TierRetained(member_id=member_id, tier=change.after,
                              held_by_floor=bool(state and state.held_by_floor),
                              review_due=due))
    return row


def audit_plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, dataclass activity as a dict."""
    if isinstance(value, rules.Activity):
        return {"net_spend": value.net_spend, "orders": value.orders,
                "recharge": value.recharge}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): audit_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [audit_plain(v) for v in value]
    return value


def reach(uow: UnitOfWork, state: MemberTier, found: TierLadder, tier: str,
          on: date) -> None:
    """The member now holds `tier`, reached (or reviewed) on `on`: the next review is a
    hold period later, none on the base tier."""
    state.reached_at = uow.clock.now()
    state.review_due = rules.next_review(found, tier, on)
    state.held_by_floor = False
    state.updated_at = uow.clock.now()
