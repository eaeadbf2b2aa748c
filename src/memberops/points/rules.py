"""Pure points rules (DESIGN rule 9): earning, caps, expiry, consumption order, deduction.

No session, no clock: `day`, `now` and the programme's time zone are passed in. Every
multiplier is an integer ×100 and every result is rounded down once, at the end, so no
float ever touches a balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from math import gcd

from memberops.money import MINOR_UNITS
from memberops.programme.schemas import EarningRules, Promotion, TierLadder

PCT = 100  # multipliers are stored ×100: 200 = double
MAX_POINTS = 100_000_000  # one movement; a million yuan of deduction, beyond any real case
BONUS_ACTIONS_WITH_REFERENCE = frozenset({"referral"})  # limited once per referred member
MAX_STOCK = 1_000_000_000  # gift stock lives in a 32-bit integer column
MAX_QUANTITY = 1_000  # gifts in one redemption


# --- earning --------------------------------------------------------------------------

def promotion_applies(promo: Promotion, day: date, birthday: date | None) -> bool:
    """A promotion applies on `day` when every condition it sets holds."""
    if promo.starts_on is not None and day < promo.starts_on:
        return False
    if promo.ends_on is not None and day > promo.ends_on:
        return False
    if promo.weekdays and day.isoweekday() not in promo.weekdays:
        return False
    return not (promo.birthday_month and (birthday is None or birthday.month != day.month))


def promotion_pct(rules: EarningRules, day: date, birthday: date | None) -> int:
    """The highest applying promotion multiplier (×100); promotions never stack."""
    return max((p.multiplier_pct for p in rules.promotions
                if promotion_applies(p, day, birthday)), default=PCT)


def tier_pct(ladder: TierLadder, tier: str) -> int:
    """The tier's points multiplier (×100) from the tier ladder, its one source."""
    # A tier the ladder does not name earns as the base tier: the multiplier is a bonus,
    # never a reason to refuse the purchase's points.
    return ladder.tier_or_base(tier).benefits.points_multiplier_pct


def points_for_purchase(amount_paid_fen: int, tier: str, birthday: date | None, day: date,
                        rules: EarningRules, ladder: TierLadder,
                        multiplier_pct: int | None = None) -> int:
    """Points for a purchase: whole yuan paid × rate × tier × best promotion, rounded down.
    `multiplier_pct` (×100) replaces the tier's own multiplier when the order brings a
    combined one (tier × PLUS)."""
    if isinstance(amount_paid_fen, bool) or not isinstance(amount_paid_fen, int):
        raise ValueError(f"amount paid must be an integer of fen, got {amount_paid_fen!r}")
    if amount_paid_fen < 0:
        raise ValueError("amount paid cannot be negative")
    base = amount_paid_fen // MINOR_UNITS * rules.points_per_yuan
    member_pct = tier_pct(ladder, tier) if multiplier_pct is None else multiplier_pct
    return base * member_pct * promotion_pct(rules, day, birthday) // (PCT * PCT)


def apply_caps(points: int, earned_today: int, earned_this_month: int,
               rules: EarningRules) -> int:
    """Cut `points` to what the daily and monthly caps (if any) still allow."""
    room = points
    if rules.daily_cap is not None:
        room = min(room, rules.daily_cap - earned_today)
    if rules.monthly_cap is not None:
        room = min(room, rules.monthly_cap - earned_this_month)
    return max(0, room)


# --- periods and expiry ---------------------------------------------------------------

def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a programme-local calendar day."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def month_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the programme-local calendar month holding `day`."""
    return local_midnight(day.replace(day=1), tz), local_midnight(first_of_next_month(day), tz)


def expires_at(earned_at: datetime, rules: EarningRules, tz: tzinfo) -> datetime:
    """The instant a lot earned at `earned_at` expires (the first instant it is unusable).

    * end_of_next_year: earned in year Y → 00:00 on 1 January Y+2 (the end of Y+1);
    * days: usable through the N-th local day after the day earned → 00:00 the day after;
    * end_of_month: N days, then on to the end of that calendar month.
    Every boundary is a local midnight in the programme's time zone.
    """
    day = earned_at.astimezone(tz).date()
    if rules.expiry == "end_of_next_year":
        return local_midnight(date(day.year + 2, 1, 1), tz)
    last = day + timedelta(days=rules.expiry_days)
    if rules.expiry == "days":
        return local_midnight(last + timedelta(days=1), tz)
    return local_midnight(first_of_next_month(last), tz)


def last_usable_day(expiry: datetime, tz: tzinfo) -> date:
    """The last local day on which points expiring at `expiry` can still be used."""
    return (expiry.astimezone(tz) - timedelta(microseconds=1)).date()


# --- bonus actions --------------------------------------------------------------------

@dataclass(frozen=True)
class BonusLimit:
    """What one bonus claim is checked against: claims already in its window, and the cap."""

    period: str  # what the claim records: the local date, "once", or "ref"
    window: str | None  # "day" or "month" for dated caps; None for once / per reference
    cap: int | None


def bonus_limits(per_day: int | None, per_month: int | None, once: bool,
                 by_reference: bool, day: date) -> tuple[str, list[BonusLimit]]:
    """The claim's period label and every limit it must stay within."""
    if once:
        return "once", [BonusLimit("once", None, 1)]
    if by_reference:
        return "ref", [BonusLimit("ref", None, 1)]
    period = day.isoformat()
    limits = [BonusLimit(period, "day", per_day)] if per_day else []
    if per_month:
        limits.append(BonusLimit(period, "month", per_month))
    return period, limits


# --- consumption ----------------------------------------------------------------------

class NotEnoughPoints(ValueError):
    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"{available} points available, {requested} needed")
        self.available = available
        self.requested = requested


def allocate(lots: list[tuple[int, datetime, int]], points: int) -> list[tuple[int, int]]:
    """Take `points` from lots (id, expires_at, remaining): the earliest-expiring first,
    ties by id. Returns (lot id, points taken); refuses when the lots hold too few."""
    if points <= 0:
        raise ValueError("points to take must be positive")
    taken: list[tuple[int, int]] = []
    left = points
    for lot_id, _expiry, remaining in sorted(lots, key=lambda lot: (lot[1], lot[0])):
        if left == 0:
            break
        take = min(left, remaining)
        if take > 0:
            taken.append((lot_id, take))
            left -= take
    if left:
        raise NotEnoughPoints(sum(lot[2] for lot in lots), points)
    return taken


def undo_order(uses: list[tuple[int, int]], points: int) -> list[tuple[int, int]]:
    """Which uses (id, outstanding) a return of `points` gives back to: the last consumed
    first, so a partial return leaves the member as if the order had used fewer points."""
    given: list[tuple[int, int]] = []
    left = points
    for use_id, outstanding in sorted(uses, key=lambda use: use[0], reverse=True):
        if left == 0:
            break
        give = min(left, outstanding)
        if give > 0:
            given.append((use_id, give))
            left -= give
    if left:
        raise NotEnoughPoints(sum(u[1] for u in uses), points)
    return given


# --- deduction (points as cash off an order) ------------------------------------------

def deduction_unit(rules: EarningRules) -> tuple[int, int]:
    """The smallest whole exchange (points, fen): 100 points = ¥1 gives (1, 1), 1 point
    = 1 fen. Points are only used in whole units so that no fraction of a fen appears."""
    per_yuan = rules.points_per_yuan_off
    common = gcd(per_yuan, MINOR_UNITS)
    return per_yuan // common, MINOR_UNITS // common


def quote_deduction(points_available: int, payable_fen: int,
                    rules: EarningRules) -> tuple[int, int]:
    """(most points usable, fen they take off): within the balance and at most the
    configured share (50%) of the payable amount, in whole units."""
    if points_available < 0 or payable_fen < 0:
        raise ValueError("points and payable amount cannot be negative")
    unit_points, unit_fen = deduction_unit(rules)
    cap_fen = payable_fen * rules.max_redeem_share_pct // PCT
    units = min(points_available // unit_points, cap_fen // unit_fen)
    return units * unit_points, units * unit_fen


def deduction_value(points: int, payable_fen: int, rules: EarningRules) -> int:
    """The fen off for using exactly `points` on an order; refuses what the rules forbid."""
    unit_points, unit_fen = deduction_unit(rules)
    if points % unit_points:
        raise ValueError(f"points are used in multiples of {unit_points}")
    most, _ = quote_deduction(points, payable_fen, rules)
    if points > most:
        raise ValueError(f"at most {most} points can be used on {payable_fen} fen payable "
                         f"({rules.max_redeem_share_pct}% of it)")
    return points // unit_points * unit_fen
