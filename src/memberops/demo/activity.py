"""Who buys what, when and where over the demo's history, and what else they do: pure
planning.

Purchases follow a BG/NBD-like process, the model later analytics fit: while "alive", a
member buys at their own rate λ (orders a day, Gamma-distributed over the base, so a few
heavy buyers and many occasional ones), thinned by the shop's calendar (weekends,
Spring Festival, 618, Double 11); after each repeat purchase the member drops out for
good with their own probability p (Beta-distributed). Each purchase gets a channel
(store, mini-program pickup, delivery), an hour that fits the channel and the day, a
store (mostly the member's own, in their city) and a basket (`catalogue.basket`).

`plan_habits` gives every member this behaviour and the rest of their habits — whether
they keep a wallet and top it up in the app or at the till, whether they check in,
review, redeem or pay with points, whether they would buy PLUS. `plan_activity` turns
the habits into dated events (orders with their baskets, first recharges, check-ins,
profile completions, the large recharges that go to review, a card-testing burst, admin
adjustments) that do not depend on what the services answer. What does depend on it —
top-ups when the balance runs low, payment callbacks, refunds, coupons, PLUS,
redemptions, the finance review — is decided while the history is played (`value.py`).
Nothing here touches a database.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TypeVar

from . import DemoPlan
from .catalogue import (
    ONLINE_STORE,
    Basket,
    Store,
    Taste,
    amount,
    basket,
    home_stores,
    pick,
    stores_for,
    taste,
)
from .members import SPRING_FESTIVAL

YUAN = 100  # fen
K = TypeVar("K")

# The purchase process (rates per day): λ ~ Gamma(shape, mean/shape), p ~ Beta(a, b). With
# the members' join dates, about 20 orders per member over two years, most from a few.
RATE_SHAPE = 0.55
RATE_MEAN = 0.16
MAX_RATE = 0.9  # six or seven orders a week at most
DROPOUT_A, DROPOUT_B = 1.0, 25.0  # after a repeat purchase; mean about 4%
FAST_TAGS = {"咖啡爱好者": 1.3, "白领": 1.15, "学生": 0.85}
FAR_FROM_STORES = 0.35  # members with no store in reach buy from the mall, less often
# Segments by rate, orders a week: the names the reports use.
SEGMENTS = (("heavy", 2.0), ("regular", 0.5), ("occasional", 0.0))
AT_TILL = 0.7  # till sign-ups mostly come with a purchase
FIRST_ONLINE = 0.3  # others order within days of signing up, or not at all

# Who keeps a stored-value wallet: mostly those who come often, plus some who recharged
# once for the first-recharge bonus and never spent it all (the programme's breakage).
WALLET_SHARE = {"heavy": 0.55, "regular": 0.32, "occasional": 0.1}
PLUS_SHARE = {"heavy": 0.35, "regular": 0.1, "occasional": 0.01}
CORPORATE_TAG = "企业客户"
ONLINE_CHANNELS = {"app": 0.75, "mini_program": 0.75, "ecommerce": 0.65, "referral": 0.5,
                   "store": 0.25}
CHECKER_SHARE = {"app": 0.07, "mini_program": 0.07, "ecommerce": 0.02, "referral": 0.02,
                 "store": 0.01}
CHECK_IN_STREAK_DAYS = 6  # mean length of a streak of daily check-ins
# How members order, by how they joined: (store, mini-program pickup, delivery).
ORDER_CHANNELS = {"store": (0.75, 0.15, 0.10), "mini_program": (0.45, 0.35, 0.20),
                  "app": (0.45, 0.35, 0.20), "ecommerce": (0.40, 0.40, 0.20),
                  "referral": (0.60, 0.25, 0.15)}
DELIVERY_TAG = "外卖常客"

# Recharge amounts by segment (fen → weight): they cluster on the bonus rows (¥100, ¥500,
# ¥1,000), with some odd amounts; members put on the card about what they will spend, so
# those who come now and then recharge little and the heavy buyers recharge more.
RECHARGE_AMOUNTS: dict[str, dict[int, float]] = {
    "occasional": {5_000: 15, 10_000: 60, 20_000: 12, 30_000: 5, 50_000: 8},
    "regular": {10_000: 45, 20_000: 15, 30_000: 7, 50_000: 20, 5_000: 5, 8_800: 2,
                16_800: 2, 25_000: 1.5, 100_000: 3},
    "heavy": {50_000: 42, 100_000: 22, 30_000: 10, 20_000: 8, 10_000: 8, 200_000: 4,
              300_000: 1.5, 66_600: 2, 80_000: 2},
}
LARGE_AMOUNTS = {500_000: 55, 600_000: 10, 800_000: 10, 1_000_000: 20, 2_000_000: 5}
LARGE_SHARE = 0.004  # members who make one recharge at or above the review threshold
MIN_LARGE = 4  # even a small demo shows approved and rejected reviews
WAITING = 3  # large recharges in the last hours, still in the review queue when the demo opens
MEMBERS_PER_BURST = 2500
MEMBERS_PER_ADJUSTMENT = 700
CASH_OUT_SHARE = 0.003  # members who leave and take the money on their card back (退卡)

# Orders by local hour and channel: the morning coffee, lunch and the afternoon break on
# weekdays, a flatter day at weekends; pickup orders are placed on the way to work,
# delivery peaks at lunch and tea time; the stores open 07:00–22:00.
WEEKDAY_HOURS = (0, 0, 0, 0, 0, 0, 0, 1.6, 3.0, 2.0, 1.3, 1.5, 2.6, 2.0, 1.3, 1.6, 1.4,
                 1.1, 1.0, 0.8, 0.6, 0.4, 0, 0)
WEEKEND_HOURS = (0, 0, 0, 0, 0, 0, 0, 0.5, 1.2, 1.8, 2.0, 2.0, 2.2, 2.0, 2.0, 2.2, 2.0,
                 1.6, 1.3, 1.1, 0.9, 0.6, 0, 0)
PICKUP_HOURS = (0, 0, 0, 0, 0, 0, 0, 2.4, 3.6, 2.2, 1.2, 1.6, 2.2, 1.4, 1.2, 1.5, 1.2,
                0.9, 0.6, 0.4, 0.3, 0.2, 0, 0)
DELIVERY_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0.9, 2.6, 3.0, 1.6, 1.5, 2.0, 1.7,
                  1.1, 1.2, 1.0, 0.7, 0.4, 0, 0)
MALL_HOURS = (0.2, 0.1, 0, 0, 0, 0, 0, 0.2, 0.5, 0.8, 1.0, 1.0, 1.2, 1.0, 1.0, 1.0, 1.0,
              1.0, 1.1, 1.4, 1.8, 2.0, 1.8, 0.8)
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
    city: str | None = None


@dataclass(frozen=True)
class Habits:
    """How one member behaves while active (until `until`)."""

    member_id: int
    segment: str  # heavy | regular | occasional
    rate: float  # orders a day while active (λ), before the shop's calendar
    dropout: float  # the chance of leaving after each repeat purchase (p)
    purchases: tuple[datetime, ...]  # the days they buy (at noon; the hour comes later)
    until: datetime  # when they drift away (just after the last purchase), or the end
    wallet: bool
    online: bool  # recharges in the app (paid online, confirmed by the gateway's callback)
    wallet_share: float  # of orders paid from the wallet while it holds money
    top_up: int  # the amount this member usually recharges, fen
    reviewer: bool
    redeemer: bool
    deducter: bool
    checker: bool
    corporate: bool  # buys for a company: team orders, large recharges
    plus: bool  # would buy PLUS after a few orders
    coupon_minded: float  # the chance of adding items to reach a coupon's threshold
    taste: Taste
    stores: tuple[Store, ...]
    channels: tuple[float, float, float]  # store, mini-program, delivery

    @property
    def visits_per_week(self) -> float:
        return self.rate * 7


@dataclass(frozen=True, order=True)
class Planned:
    """One dated event of the plan; `amount` is a basket or a recharge in fen; an order
    carries its lines, store and channel."""

    at: datetime
    kind: str  # order | recharge | large_recharge | burst | check_in | profile | adjust | …
    member_id: int
    amount: int = 0
    lines: Basket = ()
    store: str = ""
    channel: str = ""


_pick = pick
HOURS: dict[int, Mapping[int, float]] = {}  # an hours table (by identity) as a mapping


def _hour(rng: random.Random, hours: Sequence[float]) -> int:
    table = HOURS.get(id(hours))
    if table is None:
        table = HOURS[id(hours)] = dict(enumerate(hours))
    return pick(rng, table)


def _local(day: date, hour: int, rng: random.Random, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)


# --- when: the shop's busy days ---------------------------------------------------------

def busy_factor(day: date) -> float:
    """How much busier than an ordinary Monday the stores are on `day`."""
    factor = (1.0, 0.95, 1.0, 1.0, 1.12, 1.3, 1.25)[day.weekday()]
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is not None and -14 <= (day - festival).days <= -1:
        factor *= 1.4  # New Year shopping: gift boxes, treats for the family
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


def hours_of(channel: str, store: Store, day: date) -> Sequence[float]:
    if store is ONLINE_STORE:
        return MALL_HOURS
    if channel == "delivery":
        return DELIVERY_HOURS
    if day.weekday() >= 5:
        return WEEKEND_HOURS
    return PICKUP_HOURS if channel == "mini_program" else WEEKDAY_HOURS


def visit_instant(rng: random.Random, day: date, tz: tzinfo,
                  hours: Sequence[float] | None = None) -> datetime:
    """An order on `day` at a realistic local hour (the stores' hours by default)."""
    hours = hours or (WEEKEND_HOURS if day.weekday() >= 5 else WEEKDAY_HOURS)
    return _local(day, _hour(rng, hours), rng, tz)


def recharge_amount(rng: random.Random, segment: str) -> int:
    """A recharge as members of this segment choose them: mostly ¥100, ¥500 and ¥1,000."""
    return _pick(rng, RECHARGE_AMOUNTS[segment])


def segment_of(rate: float) -> str:
    return next(name for name, per_week in SEGMENTS if rate * 7 >= per_week)


# --- who: habits --------------------------------------------------------------------------

def purchase_days(rng: random.Random, joined: datetime, rate: float, dropout: float,
                  first: datetime | None, now: datetime,
                  tz: tzinfo) -> tuple[list[datetime], datetime | None]:
    """The days a member buys (as instants at noon) and when they dropped out (None: still
    active): a Poisson process at `rate` thinned by the calendar, with a chance `dropout` of
    leaving after each repeat purchase; `first`: a first purchase (at joining, or a day
    soon after) before the process begins."""
    found = [first] if first is not None and first < now else []
    per_day = rate * MAX_BUSY
    if per_day <= 0:
        return found, None
    # In days since the local midnight before joining: the day of a purchase is then an
    # ordinal away, and the calendar's factor is looked up once per day.
    local = joined.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    t = (local - midnight).total_seconds() / 86_400
    end = (now - midnight).total_seconds() / 86_400
    first_day = local.date().toordinal()
    while True:
        t += rng.expovariate(per_day)
        if t >= end:
            return found, None
        day = first_day + int(t)
        if rng.random() * MAX_BUSY >= _busy(day):
            continue
        found.append(datetime.combine(date.fromordinal(day), time(12), tzinfo=tz))
        if len(found) > 1 and rng.random() < dropout:
            return found, midnight + timedelta(days=t)


_BUSY: dict[int, float] = {}


def _busy(ordinal: int) -> float:
    found = _BUSY.get(ordinal)
    if found is None:
        found = _BUSY[ordinal] = busy_factor(date.fromordinal(ordinal))
    return found


def _channels(member: MemberFacts, stores: tuple[Store, ...]) -> tuple[float, float, float]:
    if stores[0] is ONLINE_STORE:
        return (0.0, 1.0, 0.0)
    shop, pickup, delivery = ORDER_CHANNELS.get(member.channel, (0.6, 0.25, 0.15))
    if DELIVERY_TAG in member.tags:
        delivery += 0.25
    return (shop, pickup, delivery)


def _first_purchase(rng: random.Random, member: MemberFacts, tz: tzinfo) -> datetime | None:
    """Most till sign-ups come with a purchase (at joining); some who sign up online order
    within days (a day, marked at noon); the others only if they come back later."""
    if member.channel == "store":
        return member.joined_at if rng.random() < AT_TILL else None
    if rng.random() >= FIRST_ONLINE:
        return None
    day = (member.joined_at + timedelta(days=rng.expovariate(1 / 2))).astimezone(tz).date()
    return datetime.combine(day, time(12), tzinfo=tz)


def _habits(rng: random.Random, member: MemberFacts, now: datetime, tz: tzinfo) -> Habits:
    corporate = CORPORATE_TAG in member.tags
    stores = home_stores(rng, member.city)
    rate = rng.gammavariate(RATE_SHAPE, RATE_MEAN / RATE_SHAPE)
    for tag, factor in FAST_TAGS.items():
        rate *= factor if tag in member.tags else 1.0
    if stores[0] is ONLINE_STORE:
        rate *= FAR_FROM_STORES
    rate = min(rate, MAX_RATE)
    dropout = rng.betavariate(DROPOUT_A, DROPOUT_B)
    days, left = purchase_days(rng, member.joined_at, rate, dropout,
                               _first_purchase(rng, member, tz), now, tz)
    segment = segment_of(rate)
    wallet = rng.random() < WALLET_SHARE[segment] + (0.3 if corporate else 0.0)
    until = now if left is None else min(left + timedelta(days=1), now)
    return Habits(
        member_id=member.id, segment=segment, rate=rate, dropout=dropout,
        purchases=tuple(days), until=until, wallet=wallet,
        online=rng.random() < ONLINE_CHANNELS.get(member.channel, 0.3),
        wallet_share=rng.uniform(0.6, 0.95), top_up=recharge_amount(rng, segment),
        reviewer=rng.random() < 0.12, redeemer=rng.random() < (0.7 if rate > 0.03 else 0.5),
        deducter=rng.random() < (0.6 if "价格敏感" in member.tags else 0.3),
        checker=rng.random() < CHECKER_SHARE.get(member.channel, 0.05), corporate=corporate,
        plus=rng.random() < PLUS_SHARE[segment],
        coupon_minded=rng.uniform(0.2, 0.6) if "价格敏感" in member.tags
        else rng.uniform(0.05, 0.35),
        taste=taste(rng, member.tags), stores=stores, channels=_channels(member, stores))


def plan_habits(plan: DemoPlan, members: Sequence[MemberFacts], now: datetime,
                tz: tzinfo) -> dict[int, Habits]:
    """Every member's habits; the same plan and members give the same habits."""
    rng = plan.rng("value.habits")
    return {m.id: _habits(rng, m, now, tz) for m in members}


# --- what: dated events -------------------------------------------------------------------

def _order_at(rng: random.Random, member: MemberFacts, habits: Habits, day_at: datetime,
              joining: bool, tz: tzinfo) -> Planned:
    """One purchase: channel, store, hour and basket."""
    shop, pickup, delivery = habits.channels
    draw = rng.random() * (shop + pickup + delivery)
    channel = "store" if draw < shop else "mini_program" if draw < shop + pickup \
        else "delivery"
    store = stores_for(rng, habits.stores)
    if store is ONLINE_STORE:
        channel = "mini_program"
    elif habits.stores[0] is ONLINE_STORE:
        channel = "store"  # a traveller from far away, in one of the chain's stores
    if joining:  # at the till, a few minutes after signing up there
        at = member.joined_at + timedelta(minutes=rng.uniform(2, 8))
        channel = "store" if member.channel == "store" else channel
    else:
        day = day_at.astimezone(tz).date()
        at = visit_instant(rng, day, tz, hours_of(channel, store, day))
        if at <= member.joined_at + timedelta(minutes=1):  # the day they joined, earlier on
            day += timedelta(days=1)
            at = visit_instant(rng, day, tz, hours_of(channel, store, day))
    local = at.astimezone(tz)
    lines = basket(rng, local, channel, habits.taste, mall=store is ONLINE_STORE)
    return Planned(at, "order", member.id, amount(lines), lines, store.code, channel)


def orders_of(rng: random.Random, member: MemberFacts, habits: Habits,
              tz: tzinfo) -> list[Planned]:
    """The member's orders, in time order, all before `habits.until`."""
    found = [_order_at(rng, member, habits, day_at, n == 0 and day_at == member.joined_at,
                       tz) for n, day_at in enumerate(habits.purchases)]
    return sorted((o for o in found if o.at < habits.until), key=_order)


def first_recharge(rng: random.Random, member: MemberFacts, habits: Habits,
                   first_order: datetime | None) -> Planned:
    """A wallet member's first recharge: in the app within two days of joining, or at the
    till just before their first purchase (办卡充值)."""
    if habits.online or first_order is None:
        at = member.joined_at + timedelta(hours=min(rng.expovariate(1 / 20), 48))
        at = min(at, first_order - timedelta(minutes=5)) if first_order else at
        at = max(at, member.joined_at + timedelta(seconds=30))
    else:
        at = first_order - timedelta(seconds=rng.uniform(20, 90))
    return Planned(at, "recharge", member.id, habits.top_up)


def order_after(rng: random.Random, member: MemberFacts, habits: Habits, after: datetime,
                tz: tzinfo) -> Planned:
    """The first order of someone who recharged without buying: within the next days."""
    day = after.astimezone(tz).date() + timedelta(days=rng.randrange(1, 4))
    order = _order_at(rng, member, habits, datetime.combine(day, time(12), tzinfo=tz),
                      False, tz)
    return order


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
    events = orders_of(rng, member, habits, tz)
    if habits.wallet:
        first_order = events[0].at if events else None
        recharge = first_recharge(rng, member, habits, first_order)
        events.append(recharge)
        if first_order is None:  # nobody recharges a card without coming to use it once
            events.append(order_after(rng, member, habits, recharge.at, tz))
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
        amount_ = _pick(rng, LARGE_AMOUNTS)
        planned.append(Planned(at, "large_recharge", member.id, amount_))
    return planned


def _waiting_reviews(rng: random.Random, members: Sequence[MemberFacts],
                     habits: Mapping[int, Habits], now: datetime) -> list[Planned]:
    """A few large recharges in the history's last hours: finance has not reviewed them
    yet, so the console's review queue has work in it when the demo opens."""
    candidates = [m for m in members if habits[m.id].wallet and habits[m.id].until >= now
                  and now - m.joined_at > timedelta(days=3)]
    chosen = rng.sample(candidates, min(WAITING, len(candidates)))
    return [Planned(now - timedelta(minutes=rng.uniform(20, 50)), "large_recharge", m.id,
                    _pick(rng, LARGE_AMOUNTS)) for m in sorted(chosen, key=lambda m: m.id)]


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
    end = max(h.until for h in habits.values())
    candidates = [m for m in members if habits[m.id].wallet and habits[m.id].until < end]
    count = min(len(candidates), 8 * cash_out_target(len(members)))
    planned = []
    for member in sorted(rng.sample(candidates, count), key=lambda m: m.id):
        after = habits[member.id].until + timedelta(days=rng.uniform(4, 14))
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
    events += _waiting_reviews(plan.rng("value.waiting"), members, habits, now)
    events += _bursts(special, members, habits, tz)
    events += _cash_outs(special, members, habits, tz)
    if members:
        start = min(m.joined_at for m in members)
        count = max(2, len(members) // MEMBERS_PER_ADJUSTMENT)
        events += _adjustments(special, count, start, now, tz)
    return sorted((e for e in events if e.at < now), key=_order)


def _order(event: Planned) -> tuple[datetime, str, int]:
    # A sort key: comparing whole events (their baskets too) is several times slower.
    return event.at, event.kind, event.member_id
