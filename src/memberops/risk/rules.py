"""Pure risk rules on recharges (PROGRAMME.md "Risk rules"): velocity, daily limit, review.

What counts (decided here, once):
- velocity: every earlier recharge of the member submitted inside the window and not
  rejected — pending, held, settled *and failed* ones: an attempt is an attempt, and a
  burst of failed payments is exactly what card testing looks like;
- daily limit: the amounts of the member's recharges submitted on the same calendar day
  (programme time zone) that are pending, held or settled — money that came in or may
  still come in; failed and rejected recharges brought nothing and do not count;
- the recharge being decided counts in both (it is the 6th, or it brings the day over).
Rejections are checked before the review hold: a recharge that breaks a limit is refused
even when it is large enough to be reviewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from memberops.money import Money
from memberops.programme.schemas import RiskRules

Outcome = Literal["passed", "held", "rejected"]
VELOCITY_STATUSES = frozenset({"pending", "pending_review", "settled", "failed"})
DAILY_STATUSES = frozenset({"pending", "pending_review", "settled"})


@dataclass(frozen=True)
class RecentRecharge:
    """An earlier recharge of the same member, as the rules need to see it."""

    amount: int
    created_at: datetime
    status: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    rule: str | None
    reason: str


def velocity_count(recent: Sequence[RecentRecharge], *, now: datetime, minutes: int) -> int:
    """Earlier recharges that count towards the velocity rule in the window before now."""
    since = now - timedelta(minutes=minutes)
    return sum(1 for r in recent if r.status in VELOCITY_STATUSES and since < r.created_at <= now)


def day_total(recent: Sequence[RecentRecharge], *, now: datetime, tz: tzinfo) -> int:
    """Fen already recharged (or on its way) on now's calendar day in the programme zone."""
    today = now.astimezone(tz).date()
    return sum(r.amount for r in recent if r.status in DAILY_STATUSES
               and r.created_at.astimezone(tz).date() == today)


def lookback_start(rules: RiskRules, *, now: datetime, tz: tzinfo) -> datetime:
    """The earliest submission time any rule looks at: the day's start or the velocity
    window's, whichever is earlier (so callers fetch only the recharges that matter)."""
    local = now.astimezone(tz)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(day_start, local - timedelta(minutes=rules.velocity_minutes))


def evaluate_recharge(amount: int, recent: Sequence[RecentRecharge], rules: RiskRules, *,
                      now: datetime, tz: tzinfo) -> Decision:
    """Reject on velocity or the daily limit, hold large recharges, pass the rest."""
    count = velocity_count(recent, now=now, minutes=rules.velocity_minutes) + 1
    if count > rules.velocity_count:
        return Decision("rejected", "velocity",
                        f"recharge {count} within {rules.velocity_minutes} minutes; at most "
                        f"{rules.velocity_count} allowed")
    total = day_total(recent, now=now, tz=tz) + amount
    if total > rules.daily_limit:
        return Decision("rejected", "daily_limit",
                        f"{Money(total).format()} recharged today with this one; at most "
                        f"{Money(rules.daily_limit).format()} a day")
    if amount >= rules.review_threshold:
        return Decision("held", "review_threshold",
                        f"{Money(amount).format()} is at or above the review threshold of "
                        f"{Money(rules.review_threshold).format()}")
    return Decision("passed", None, "within velocity, daily limit and review threshold")
