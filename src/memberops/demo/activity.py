"""Who does what with their wallet and points over the demo's history: pure planning.

`plan_habits` gives every member a behaviour — how often they come, whether they keep a
wallet and top it up in the app or at the till, whether they check in, review, redeem or
pay with points, and when they drift away. `plan_activity` turns the habits into dated
events (visits with their baskets, first recharges, check-ins, profile completions, the
large recharges that go to review, a card-testing burst, admin adjustments) that do not
depend on what the services answer. What does depend on it — top-ups when the balance runs
low, payment callbacks, refunds, redemptions, the finance review — is decided while the
history is played (`value.py`). Nothing here touches a database.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TypeVar

from . import DemoPlan
from .members import SPRING_FESTIVAL

YUAN = 100  # fen
K = TypeVar("K")

# Member segments (share; visits a week at the median without and with money on a wallet):
# most members signed up for the welcome offer and hardly came back; those who keep a
# stored-value card come back to spend it, and make most of the visits.
SEGMENTS = {"dormant": (0.52, 0.0, 0.0), "occasional": (0.43, 0.005, 0.05),
            "regular": (0.05, 0.06, 0.2)}
RATE_SPREAD = 0.5  # lognormal sigma of the visit rate around the segment's median
MAX_VISITS_PER_WEEK = 4.0
# Mean active life in days; dormant members are gone within two weeks of joining.
LIFETIME_DAYS = {"dormant": 14, "occasional": 220, "regular": 520}
FAST_TAGS = {"咖啡爱好者": 1.4, "白领": 1.2, "学生": 0.8}
# Who keeps a stored-value wallet: mostly regulars, plus some who recharged once for
# the first-recharge bonus and never spent it all (the programme's breakage).
WALLET_SHARE = {"dormant": 0.06, "occasional": 0.33, "regular": 0.7}
WALLET_MIN_LIFE = timedelta(days=7)
CORPORATE_TAG = "企业客户"
ONLINE_CHANNELS = {"app": 0.75, "mini_program": 0.75, "ecommerce": 0.65, "referral": 0.5,
                   "store": 0.25}
CHECKER_SHARE = {"app": 0.07, "mini_program": 0.07, "ecommerce": 0.02, "referral": 0.02,
                 "store": 0.01}
CHECK_IN_STREAK_DAYS = 6  # mean length of a streak of daily check-ins

# Recharge amounts by segment (fen → weight): they cluster on the bonus rows (¥100, ¥500,
# ¥1,000), with some odd amounts; members put on the card about what they will spend, so
# those who come now and then recharge little and the regulars recharge more.
RECHARGE_AMOUNTS: dict[str, dict[int, float]] = {
    "dormant": {5_000: 15, 10_000: 60, 20_000: 12, 30_000: 5, 50_000: 8},
    "occasional": {10_000: 55, 20_000: 15, 30_000: 7, 50_000: 10, 5_000: 7, 8_800: 2,
                   16_800: 2, 25_000: 1.5, 100_000: 1},
    "regular": {50_000: 42, 100_000: 22, 30_000: 10, 20_000: 8, 10_000: 8, 200_000: 4,
                300_000: 1.5, 66_600: 2, 80_000: 2},
}
LARGE_AMOUNTS = {500_000: 55, 600_000: 10, 800_000: 10, 1_000_000: 20, 2_000_000: 5}
LARGE_SHARE = 0.004  # members who make one recharge at or above the review threshold
MIN_LARGE = 4  # even a small demo shows approved and rejected reviews
BURST_RECHARGES = 6  # one more than the velocity rule allows in 10 minutes
MEMBERS_PER_BURST = 2500
MEMBERS_PER_ADJUSTMENT = 700
CASH_OUT_SHARE = 0.003  # members who leave and take the money on their card back (退卡)

# A menu, fen: baskets are one to three drinks, maybe food, and gift boxes in season.
DRINKS = (2200, 2600, 2800, 3000, 3200, 3500, 3800)
FOOD = (1500, 1800, 2200, 2500, 2800)
GIFT_BOXES = (8800, 12800)
TEAM_ORDERS = 0.4  # of a corporate member's visits: coffee for the meeting room

# Visits by local hour: the morning coffee, lunch and the afternoon break on weekdays,
# a flatter day at weekends; the stores open 07:00–22:00.
WEEKDAY_HOURS = (0, 0, 0, 0, 0, 0, 0, 1.6, 3.0, 2.0, 1.3, 1.5, 2.6, 2.0, 1.3, 1.6, 1.4,
                 1.1, 1.0, 0.8, 0.6, 0.4, 0, 0)
WEEKEND_HOURS = (0, 0, 0, 0, 0, 0, 0, 0.5, 1.2, 1.8, 2.0, 2.0, 2.2, 2.0, 2.0, 2.2, 2.0,
                 1.6, 1.3, 1.1, 0.9, 0.6, 0, 0)
CHECK_IN_HOURS = {7: 2, 8: 3, 9: 1, 12: 1, 21: 2, 22: 3, 23: 1}
OFFICE_HOURS = range(10, 18)


@dataclass(frozen=True)
class MemberFacts:
    """What the history needs to know about a member of the base."""

    id: int
    joined_at: datetime
    channel: str
    birthday: date | None
    referrer_id: int | None
    complete_profile: bool  # e-mail, birthday and region given
    tags: frozenset[str]


@dataclass(frozen=True)
class Habits:
    """How one member behaves while active (until `until`)."""

    member_id: int
    segment: str
    until: datetime  # the last active instant: when they drift away, or the end of history
    visits_per_week: float
    wallet: bool
    online: bool  # recharges in the app (paid online, confirmed by the gateway's callback)
    wallet_share: float  # of visits paid from the wallet while it holds enough
    top_up: int  # the amount this member usually recharges, fen
    reviewer: bool
    redeemer: bool
    deducter: bool
    checker: bool
    corporate: bool  # buys for a company: team orders, large recharges


@dataclass(frozen=True, order=True)
class Planned:
    """One dated event of the plan; `amount` is a basket or a recharge in fen."""

    at: datetime
    kind: str  # visit | recharge | large_recharge | burst | check_in | profile | adjust | cash_out
    member_id: int
    amount: int = 0


def _pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _local(day: date, hour: int, rng: random.Random, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)


# --- when: the shop's busy days ---------------------------------------------------------

def busy_factor(day: date) -> float:
    """How much busier than an ordinary Monday the stores are on `day`."""
    factor = (1.0, 0.95, 1.0, 1.0, 1.12, 1.3, 1.25)[day.weekday()]
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is not None and -14 <= (day - festival).days <= -1:
        factor *= 1.4  # New Year shopping: gift boxes, gift cards, treats for the family
    elif festival is not None and 0 <= (day - festival).days <= 6:
        factor *= 0.75  # the holiday itself: the big cities empty out
    if day.month == 6 and day.day <= 18:
        factor *= 1.2 + 0.6 * (day.day == 18)  # the 618 sale, peaking on 18 June
    elif day.month == 11 and day.day <= 11:
        factor *= 1.25 + 0.75 * (day.day == 11)  # Double 11, peaking on 11 November
    elif day.month == 10 and day.day <= 7:
        factor *= 1.15  # National Day golden week
    elif day.month == 12 and day.day in (24, 25):
        factor *= 1.3  # Christmas drinks
    return factor


MAX_BUSY = 2.6  # above every busy_factor: the thinning bound


def gift_season(day: date) -> bool:
    """Days when gift boxes sell: before Spring Festival, the 618 and Double 11 sales."""
    festival = SPRING_FESTIVAL.get(day.year)
    return ((festival is not None and -21 <= (day - festival).days <= -1)
            or (day.month == 6 and day.day <= 18) or (day.month == 11 and day.day <= 11))


def office_time(rng: random.Random, at: datetime, tz: tzinfo) -> datetime:
    """`at` if it falls in office hours (weekdays 10:00–17:59), else a time in the next
    office day's hours: when the finance and operations teams work."""
    local = at.astimezone(tz)
    if local.weekday() < 5 and local.hour in OFFICE_HOURS:
        return at
    day = local.date() + timedelta(days=0 if local.hour < OFFICE_HOURS.start else 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return _local(day, rng.choice(OFFICE_HOURS), rng, tz)


def visit_instant(rng: random.Random, day: date, tz: tzinfo) -> datetime:
    """A visit on `day` at a realistic local hour."""
    hours = WEEKEND_HOURS if day.weekday() >= 5 else WEEKDAY_HOURS
    return _local(day, rng.choices(range(24), weights=hours)[0], rng, tz)


def basket(rng: random.Random, local: datetime, *, corporate: bool = False) -> int:
    """What a visit costs, fen: drinks, maybe food (likelier at lunch), gift boxes in season;
    a corporate member often orders for the whole team."""
    day = local.date()
    if corporate and rng.random() < TEAM_ORDERS:
        return sum(rng.choice(DRINKS) for _ in range(rng.randint(4, 10)))
    if rng.random() < 0.06:
        return rng.choice(FOOD)  # just a pastry
    weekend = day.weekday() >= 5
    drinks = 1 + (rng.random() < (0.35 if weekend else 0.15)) + (rng.random() < 0.06)
    total = sum(rng.choice(DRINKS) for _ in range(drinks))
    if rng.random() < (0.55 if 11 <= local.hour <= 13 else 0.22):
        total += rng.choice(FOOD)
    if gift_season(day) and rng.random() < 0.12:
        total += rng.choice(GIFT_BOXES)
    return total


def recharge_amount(rng: random.Random, segment: str) -> int:
    """A recharge as members of this segment choose them: mostly ¥100, ¥500 and ¥1,000."""
    return _pick(rng, RECHARGE_AMOUNTS[segment])


# --- who: habits --------------------------------------------------------------------------

def _habits(rng: random.Random, member: MemberFacts, now: datetime) -> Habits:
    segment = _pick(rng, {name: share for name, (share, _, _) in SEGMENTS.items()})
    corporate = CORPORATE_TAG in member.tags
    wallet = rng.random() < WALLET_SHARE[segment] + (0.3 if corporate else 0.0)
    rate = SEGMENTS[segment][2 if wallet else 1] * rng.lognormvariate(0, RATE_SPREAD)
    for tag, factor in FAST_TAGS.items():
        rate *= factor if tag in member.tags else 1.0
    lifetime = timedelta(days=rng.expovariate(1 / LIFETIME_DAYS[segment]))
    # Whoever recharges comes back at least once in the week to use the card.
    lifetime = max(lifetime, WALLET_MIN_LIFE if wallet else timedelta(hours=1))
    until = min(member.joined_at + lifetime, now)
    return Habits(
        member_id=member.id, segment=segment, until=until,
        visits_per_week=min(rate, MAX_VISITS_PER_WEEK), wallet=wallet,
        online=rng.random() < ONLINE_CHANNELS.get(member.channel, 0.3),
        wallet_share=rng.uniform(0.6, 0.95), top_up=recharge_amount(rng, segment),
        reviewer=rng.random() < 0.12, redeemer=rng.random() < (0.7 if rate > 0.2 else 0.5),
        deducter=rng.random() < (0.6 if "价格敏感" in member.tags else 0.3),
        checker=rng.random() < CHECKER_SHARE.get(member.channel, 0.05), corporate=corporate)


def plan_habits(plan: DemoPlan, members: Sequence[MemberFacts],
                now: datetime) -> dict[int, Habits]:
    """Every member's habits; the same plan and members give the same habits."""
    rng = plan.rng("value.habits")
    return {m.id: _habits(rng, m, now) for m in members}


# --- what: dated events -------------------------------------------------------------------

def visits(rng: random.Random, member: MemberFacts, habits: Habits,
           tz: tzinfo) -> list[Planned]:
    """The member's visits with their baskets: a Poisson process thinned by busy days,
    plus the purchase most till sign-ups come with."""
    found: list[datetime] = []
    if member.channel == "store" and rng.random() < 0.7:
        found.append(member.joined_at + timedelta(minutes=rng.uniform(2, 8)))
    elif rng.random() < 0.25:  # the first order after signing up online, in store hours
        first = member.joined_at + timedelta(days=rng.expovariate(1 / 2))
        found.append(visit_instant(rng, first.astimezone(tz).date(), tz))
    per_day = habits.visits_per_week / 7 * MAX_BUSY
    at = member.joined_at
    while per_day > 0:
        at += timedelta(days=rng.expovariate(per_day))
        if at >= habits.until:
            break
        day = at.astimezone(tz).date()
        if rng.random() * MAX_BUSY < busy_factor(day):
            found.append(visit_instant(rng, day, tz))
    start, end = member.joined_at + timedelta(minutes=1), habits.until
    return [Planned(t, "visit", member.id,
                    basket(rng, t.astimezone(tz), corporate=habits.corporate))
            for t in sorted(found) if start <= t < end]


def first_recharge(rng: random.Random, member: MemberFacts, habits: Habits,
                   first_visit: datetime | None) -> Planned:
    """A wallet member's first recharge: in the app within two days of joining, or at the
    till just before their first purchase (办卡充值)."""
    if habits.online or first_visit is None:
        at = member.joined_at + timedelta(hours=min(rng.expovariate(1 / 20), 48))
        at = min(at, first_visit - timedelta(minutes=5)) if first_visit else at
        at = max(at, member.joined_at + timedelta(seconds=30))
    else:
        at = first_visit - timedelta(seconds=rng.uniform(20, 90))
    return Planned(at, "recharge", member.id, habits.top_up)


def visit_after(rng: random.Random, member_id: int, after: datetime, tz: tzinfo) -> Planned:
    """The first visit of someone who recharged without buying: within the next days."""
    day = after.astimezone(tz).date() + timedelta(days=rng.randrange(3))
    at = visit_instant(rng, day, tz)
    if at <= after:
        at = visit_instant(rng, day + timedelta(days=1), tz)
    return Planned(at, "visit", member_id, basket(rng, at.astimezone(tz)))


def check_ins(rng: random.Random, member: MemberFacts, habits: Habits,
              tz: tzinfo) -> list[Planned]:
    """Daily check-ins in streaks: right after joining, then a streak or two later on."""
    first = member.joined_at.astimezone(tz).date()
    last = habits.until.astimezone(tz).date()
    span = (last - first).days
    found: dict[date, datetime] = {}
    for episode in range(1 + (rng.random() < 0.5) + (rng.random() < 0.25)):
        begin = first + timedelta(days=rng.randrange(3) if episode == 0
                                  else rng.randrange(span + 1))
        for offset in range(int(rng.expovariate(1 / CHECK_IN_STREAK_DAYS)) + 1):
            day = begin + timedelta(days=offset)
            if day > last:
                break
            if rng.random() < 0.8:
                hour = _pick(rng, CHECK_IN_HOURS)
                found.setdefault(day, _local(day, hour, rng, tz))
    return [Planned(at, "check_in", member.id) for _, at in sorted(found.items())
            if member.joined_at < at < habits.until]


def profile_completion(rng: random.Random, member: MemberFacts,
                       now: datetime) -> list[Planned]:
    """Filling in the profile (the once-only bonus), mostly within days of joining."""
    if rng.random() >= (0.25 if member.complete_profile else 0.04):
        return []
    at = member.joined_at + timedelta(hours=rng.expovariate(1 / 40)) + timedelta(minutes=3)
    return [Planned(at, "profile", member.id)] if at < now else []


def _member_events(rng: random.Random, member: MemberFacts, habits: Habits, now: datetime,
                   tz: tzinfo) -> list[Planned]:
    events = visits(rng, member, habits, tz)
    if habits.wallet:
        first_visit = events[0].at if events else None
        recharge = first_recharge(rng, member, habits, first_visit)
        events.append(recharge)
        if first_visit is None:  # nobody recharges a card without coming to use it once
            events.append(visit_after(rng, member.id, recharge.at, tz))
    if habits.checker:
        events += check_ins(rng, member, habits, tz)
    events += profile_completion(rng, member, now)
    return events


def _large_recharges(rng: random.Random, members: Sequence[MemberFacts],
                     habits: Mapping[int, Habits]) -> list[Planned]:
    """A few recharges at or above the review threshold, mostly by corporate members."""
    candidates = [m for m in members if habits[m.id].wallet
                  and habits[m.id].until - m.joined_at > timedelta(days=3)]
    count = min(len(candidates), max(MIN_LARGE, round(len(members) * LARGE_SHARE)))
    weights = [(5.0 if CORPORATE_TAG in m.tags else 1.0) * (1 + 10 * habits[m.id].visits_per_week)
               for m in candidates]
    chosen: dict[int, MemberFacts] = {}
    while len(chosen) < count:
        member = rng.choices(candidates, weights=weights)[0]
        chosen.setdefault(member.id, member)
    planned = []
    for member in sorted(chosen.values(), key=lambda m: m.id):
        span = (habits[member.id].until - member.joined_at).total_seconds()
        at = member.joined_at + timedelta(seconds=rng.uniform(0.3, 1.0) * span)
        amount = _pick(rng, LARGE_AMOUNTS)
        planned.append(Planned(at, "large_recharge", member.id, amount))
    return planned


def _bursts(rng: random.Random, members: Sequence[MemberFacts],
            habits: Mapping[int, Habits], tz: tzinfo) -> list[Planned]:
    """Card testing: a freshly registered app account fires small online recharges at night."""
    candidates = [m for m in members if not habits[m.id].wallet
                  and m.channel in ("app", "mini_program")]
    count = min(len(candidates), max(1, len(members) // MEMBERS_PER_BURST))
    planned = []
    for member in rng.sample(candidates, count):
        day = member.joined_at.astimezone(tz).date() + timedelta(days=rng.randrange(1, 4))
        at = _local(day, rng.randrange(1, 5), rng, tz)
        planned.append(Planned(at, "burst", member.id, rng.choice((10_000, 20_000))))
    return planned


def cash_out_target(members: int) -> int:
    """How many members cash out (退卡) over the history: a handful."""
    return max(1, round(members * CASH_OUT_SHARE))


def _cash_outs(rng: random.Random, members: Sequence[MemberFacts],
               habits: Mapping[int, Habits], tz: tzinfo) -> list[Planned]:
    """Wallet members who left and might come back to the counter for their money: eight
    times as many as `cash_out_target`, since some will have spent it all."""
    candidates = [m for m in members if habits[m.id].wallet
                  and habits[m.id].until < max(h.until for h in habits.values())]
    count = min(len(candidates), 8 * cash_out_target(len(members)))
    planned = []
    for member in sorted(rng.sample(candidates, count), key=lambda m: m.id):
        after = habits[member.id].until + timedelta(days=rng.uniform(1, 10))
        planned.append(Planned(office_time(rng, after, tz), "cash_out", member.id))
    return planned


def _adjustments(rng: random.Random, count: int, start: datetime, now: datetime,
                 tz: tzinfo) -> list[Planned]:
    """When the operations team adjusts points by hand (the member is chosen then)."""
    planned = []
    days = max((now - start).days, 1)
    for _ in range(count):
        at = office_time(rng, start + timedelta(days=rng.uniform(days * 0.05, days)), tz)
        if start < at < now:
            planned.append(Planned(at, "adjust", 0))
    return planned


def plan_activity(plan: DemoPlan, members: Sequence[MemberFacts], habits: Mapping[int, Habits],
                  now: datetime, tz: tzinfo) -> list[Planned]:
    """Every planned event of the history, in time order; nothing after `now`."""
    rng = plan.rng("value.activity")
    events: list[Planned] = []
    for member in members:
        events += _member_events(rng, member, habits[member.id], now, tz)
    special = plan.rng("value.special")
    events += _large_recharges(special, members, habits)
    events += _bursts(special, members, habits, tz)
    events += _cash_outs(special, members, habits, tz)
    if members:
        start = min(m.joined_at for m in members)
        count = max(2, len(members) // MEMBERS_PER_ADJUSTMENT)
        events += _adjustments(special, count, start, now, tz)
    return sorted(e for e in events if e.at < now)
