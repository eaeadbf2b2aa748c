"""Pure tier rules (DESIGN rule 9): qualification, upgrades, the retention review, what a
member still needs, and the what-if replay of a proposed ladder.

No session, no clock: activity sums, days and the programme's time zone are passed in.
Thresholds are compared in integers (`value × 100 ≥ threshold × pct`), so 80% of a
threshold is never rounded in the member's favour or against it.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from memberops.programme.schemas import Qualification, TierLadder

PCT = 100
MAX_CATCH_UP = 50  # reviews one member may owe at once (a job not run for decades)

# Why a tier history entry was written.
UPGRADE = "upgrade"
RETENTION_KEPT = "retention_kept"
RETENTION_DOWNGRADE = "retention_downgrade"
MANUAL_FLOOR = "manual_floor"
FLOOR_EXPIRED = "floor_expired"
FLOOR_REMOVED = "floor_removed"
LADDER_CHANGED = "ladder_changed"
REASONS = (UPGRADE, RETENTION_KEPT, RETENTION_DOWNGRADE, MANUAL_FLOOR, FLOOR_EXPIRED,
           FLOOR_REMOVED, LADDER_CHANGED)


@dataclass(frozen=True)
class Activity:
    """A member's qualifying activity over a window: fen net of refunds, orders, fen
    recharged."""

    net_spend: int = 0
    orders: int = 0
    recharge: int = 0

    def value(self, criterion: str) -> int:
        return int(getattr(self, criterion))


# --- time -----------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier); the 31st becomes the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def months_before(instant: datetime, months: int, tz: tzinfo) -> datetime:
    """The same local wall-clock time `months` earlier: the start of a rolling window."""
    local = instant.astimezone(tz)
    day = add_months(local.date(), -months)
    return datetime.combine(day, local.time(), tzinfo=tz)


def review_window(due: date, months: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the months before a review day: the review looks back from the
    anniversary itself, so a job that runs late decides exactly as one on time."""
    end = local_midnight(due, tz)
    return local_midnight(add_months(due, -months), tz), end


# --- qualification --------------------------------------------------------------------

def meets(qualify: Qualification, activity: Activity, pct: int = PCT) -> bool:
    """Whether any one criterion reaches `pct`% of its threshold."""
    return any(activity.value(name) * PCT >= threshold * pct
               for name, threshold in qualify.thresholds().items())


Rungs = list[tuple[int, tuple[tuple[str, int], ...]]]


def rungs(ladder: TierLadder) -> Rungs:
    """Each tier above the base, highest first, with its thresholds: the ladder read once
    when many members are placed on it."""
    return [(n, tuple(tier.qualify.thresholds().items()))
            for n, tier in reversed(list(enumerate(ladder.tiers))) if n]


def rank_on(found: Rungs, activity: Activity) -> int:
    for rank, thresholds in found:
        if any(activity.value(name) >= threshold for name, threshold in thresholds):
            return rank
    return 0


def qualifying_rank(ladder: TierLadder, activity: Activity) -> int:
    """The highest tier the activity qualifies for; the base tier always qualifies."""
    return rank_on(rungs(ladder), activity)


def upgrade_to(ladder: TierLadder, current: str, activity: Activity) -> str | None:
    """The higher tier the member qualifies for now, if any (never a lower one). A code the
    ladder no longer names counts as the base tier."""
    rank = ladder.rank(current) or 0
    qualified = qualifying_rank(ladder, activity)
    return ladder.tiers[qualified].code if qualified > rank else None


@dataclass(frozen=True)
class Review:
    """The outcome of a retention review."""

    tier: str
    reason: str  # retention_kept | retention_downgrade | ladder_changed
    held_by_floor: bool  # the floor, not the activity, decided the tier


def review(ladder: TierLadder, current: str, activity: Activity, floor: str | None) -> Review:
    """At the anniversary: keep the tier when any criterion reaches retention_pct% of its
    threshold, else drop one step — but never below a floor in force."""
    floor_rank = ladder.rank(floor) if floor is not None else None
    rank = ladder.rank(current)
    if rank is None:  # the ladder changed under the member: where the activity puts them
        qualified = qualifying_rank(ladder, activity)
        target = max(qualified, floor_rank or 0)
        return Review(ladder.tiers[target].code, LADDER_CHANGED, target > qualified)
    if rank == 0 or meets(ladder.tiers[rank].qualify, activity, ladder.retention_pct):
        return Review(current, RETENTION_KEPT, False)
    target = max(rank - 1, floor_rank or 0)
    reason = RETENTION_KEPT if target >= rank else RETENTION_DOWNGRADE
    return Review(ladder.tiers[min(target, rank)].code, reason, target > rank - 1)


def next_review(ladder: TierLadder, tier: str, reviewed: date) -> date | None:
    """A tier is held `hold_months` from the day it was reached or reviewed; the base tier
    is never reviewed."""
    return add_months(reviewed, ladder.hold_months) if ladder.rank(tier) else None


# --- what a member needs --------------------------------------------------------------

@dataclass(frozen=True)
class Need:
    criterion: str  # net_spend | orders | recharge
    target: int
    current: int

    @property
    def missing(self) -> int:
        return max(0, self.target - self.current)


def needs(qualify: Qualification, activity: Activity, pct: int = PCT) -> list[Need]:
    """For each criterion of a tier, `pct`% of its threshold (rounded up) against what the
    member has: reaching any one of them is enough."""
    return [Need(name, -(-threshold * pct // PCT), activity.value(name))
            for name, threshold in qualify.thresholds().items()]


# --- benefits -------------------------------------------------------------------------

@dataclass(frozen=True)
class TierBenefits:
    """What a tier gives, as the orders flow applies it."""

    code: str
    name_zh: str
    name_en: str
    discount_pct: int
    points_multiplier_pct: int  # ×100
    free_shipping: bool
    birthday_coupon: bool
    priority_service: bool


def benefits_of(ladder: TierLadder, code: str) -> TierBenefits:
    """The benefits of a tier; a code the ladder no longer names gets the base tier's."""
    tier = ladder.tier_or_base(code)
    perks = tier.benefits
    return TierBenefits(code=tier.code, name_zh=tier.name_zh, name_en=tier.name_en,
                        discount_pct=perks.discount_pct,
                        points_multiplier_pct=perks.points_multiplier_pct,
                        free_shipping=perks.free_shipping,
                        birthday_coupon=perks.birthday_coupon,
                        priority_service=perks.priority_service)


# --- what-if --------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberReplay:
    """One member's facts for a what-if: the tier held now, a floor in force, and the
    activity over each ladder's windows."""

    member_id: int
    tier: str
    floor: str | None
    baseline: Activity  # over the ladder in force's windows
    proposed: Activity  # over the proposed ladder's windows


def would_hold(ladder: TierLadder, activity: Activity, floor: str | None,
               found: Rungs | None = None) -> str:
    """The tier a replay of the window gives under `ladder`, raised to a floor in force
    (when the ladder names the floor's tier)."""
    rank = rank_on(found if found is not None else rungs(ladder), activity)
    floor_rank = ladder.rank(floor) if floor is not None else None
    return ladder.tiers[max(rank, floor_rank or 0)].code


def direction(before: str, after: str, old: TierLadder, new: TierLadder) -> int:
    """+1 up, -1 down, 0 the same: by the order of a ladder naming both tiers (the proposed
    one first), else by where each stands on its own ladder (base 0, top 1): a renamed top
    tier is still the top."""
    if before == after:
        return 0
    for ladder in (new, old):
        a, b = ladder.rank(before), ladder.rank(after)
        if a is not None and b is not None:
            return (b > a) - (b < a)
    # a / (len(old) - 1) against b / (len(new) - 1), in integers
    a = (old.rank(before) or 0) * max(1, len(new.tiers) - 1)
    b = (new.rank(after) or 0) * max(1, len(old.tiers) - 1)
    return (b > a) - (b < a)


@dataclass
class TierCount:
    code: str
    current: int = 0  # members holding it now (members.tier)
    baseline: int = 0  # a replay under the ladder in force
    proposed: int = 0  # a replay under the proposed ladder
    up: int = 0  # of the baseline members of this tier, how many move up
    down: int = 0


@dataclass
class WhatIf:
    members: int = 0
    up: int = 0
    down: int = 0
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    tiers: dict[str, TierCount] = field(default_factory=dict)
    spend: int = 0  # net spend over the window, fen
    discount_baseline: int = 0  # fen
    discount_proposed: int = 0

    @property
    def discount_change(self) -> int:
        return self.discount_proposed - self.discount_baseline


def what_if(old: TierLadder, new: TierLadder, members: Iterable[MemberReplay]) -> WhatIf:
    """Replay every member's window under both ladders and compare.

    A member's tier under a ladder is the highest one the window's activity qualifies for
    (raised to a floor in force) — the steady state the ladder leads to, not the tier held
    today: retention holds a tier up to a year after the activity dropped, and a replay of
    the ladder in force gives the baseline, so an unchanged ladder shows no moves.
    The discount cost of a ladder is Σ over members of the window's net spend × the
    discount % of the tier held (fen, rounded down once): an approximation that charges
    each spend at the tier held at the window's end, not at the time of each order, and
    takes the spend recorded (what was paid) as the discount base.
    """
    result = WhatIf(tiers={t.code: TierCount(t.code) for t in (*old.tiers, *new.tiers)})
    cost_old = cost_new = 0
    old_rungs, new_rungs = rungs(old), rungs(new)
    old_pct = {t.code: t.benefits.discount_pct for t in old.tiers}
    new_pct = {t.code: t.benefits.discount_pct for t in new.tiers}
    for m in members:
        before = would_hold(old, m.baseline, m.floor, old_rungs)
        after = would_hold(new, m.proposed, m.floor, new_rungs)
        result.members += 1
        result.tiers.setdefault(m.tier, TierCount(m.tier)).current += 1
        result.tiers[before].baseline += 1
        result.tiers[after].proposed += 1
        step = direction(before, after, old, new)
        if step:
            result.moves[(before, after)] += 1
            result.up += step > 0
            result.down += step < 0
            result.tiers[before].up += step > 0
            result.tiers[before].down += step < 0
        spend = max(0, m.proposed.net_spend)
        result.spend += spend
        cost_old += spend * old_pct[before]
        cost_new += spend * new_pct[after]
    result.discount_baseline, result.discount_proposed = cost_old // PCT, cost_new // PCT
    return result
