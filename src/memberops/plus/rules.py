"""Pure paid-membership rules (DESIGN rule 9): terms, renewal, the cancellation rule, and
the benefits an order applies.

No session, no clock: `now` and the programme's time zone are passed in. Percentages are
integers (3 = 3%, multipliers ×100: 150 = ×1.5); every amount is rounded down once.

The reference rules (PROGRAMME.md, "Paid membership"):
- a period runs `duration_months` calendar months from its start, in the programme's time
  zone (bought 2026-01-31 10:00 → ends 2027-01-31 10:00; a missing day is the month's last);
- a renewal while the membership is in force starts where it ends; after a lapse, now;
- cancelling the latest period before the end of the `cancel_within_days`-th day after the
  day it was bought (programme time zone), with no order having used the benefits since,
  refunds its price in full and takes that period away: the membership ends at once, or —
  for a renewal bought ahead — where the earlier, already used time ends;
- otherwise cancelling refunds nothing: the benefits run until the end date, and the
  membership is not renewed (it stays `cancelled` until bought again).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from memberops.money import share

PCT = 100  # multipliers are stored ×100: 150 = ×1.5
IN_FORCE = frozenset({"active", "cancelled"})  # a cancelled membership runs to its end date


@dataclass(frozen=True)
class PlusBenefits:
    """What an order applies while a paid membership is in force."""

    plan_code: str
    extra_discount_pct: int  # off the amount after the tier discount
    points_multiplier_pct: int  # ×100; multiplies the tier multiplier
    ends_at: datetime


def add_months(at: datetime, months: int, tz: tzinfo) -> datetime:
    """`at` plus whole calendar months on the programme's wall clock, clamped to the end of
    a shorter month (Jan 31 + 1 month = Feb 28/29); returned in UTC."""
    if at.tzinfo is None:
        raise ValueError("add_months needs an aware datetime")
    local = at.astimezone(tz)
    year, month0 = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day).astimezone(UTC)


def in_force(status: str, started_at: datetime, ends_at: datetime, at: datetime) -> bool:
    """The benefits apply at `at`: active or cancelled (runs to its end), and within time."""
    return status in IN_FORCE and started_at <= at < ends_at


def next_term(now: datetime, months: int, tz: tzinfo, *,
              current_end: datetime | None) -> tuple[datetime, datetime]:
    """(starts_at, ends_at) of a period bought now: from the current end date while the
    membership is in force (`current_end` given and later than now), else from now."""
    start = current_end if current_end is not None and current_end > now else now
    return start, add_months(start, months, tz)


def refund_deadline(purchased_at: datetime, days: int, tz: tzinfo) -> datetime:
    """The instant a period stops being refundable: the end of the `days`-th calendar day
    after the day it was bought (programme time zone). 0 days: never refundable."""
    if days <= 0:
        return purchased_at
    day = purchased_at.astimezone(tz).date() + timedelta(days=days + 1)
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling now does: the refund, the membership's new end, and why."""

    refund: int  # fen; the period's full price or nothing
    ends_at: datetime
    why: str  # within_window_unused | used | window_passed

    @property
    def refunded(self) -> bool:
        return self.refund > 0


def cancel_terms(now: datetime, tz: tzinfo, *, purchased_at: datetime,
                 period_starts_at: datetime, period_price: int, window_days: int,
                 used_at: datetime | None, current_end: datetime) -> CancelTerms:
    """The 7-day rule for the latest period bought (see the module's docstring)."""
    if used_at is not None:
        return CancelTerms(0, current_end, "used")
    if now >= refund_deadline(purchased_at, window_days, tz):
        return CancelTerms(0, current_end, "window_passed")
    # The refunded period is taken away: what is left ends now, or where the time paid by
    # earlier periods ends when this one was a renewal that had not started yet.
    return CancelTerms(period_price, min(max(period_starts_at, now), current_end),
                       "within_window_unused")


# --- what the orders flow applies -------------------------------------------------------

def extra_discount(amount_after_tier_discount: int, benefits: PlusBenefits | None) -> int:
    """The PLUS discount in fen, taken from the amount left after the tier discount,
    rounded down (¥95.00 at 3% → ¥2.85)."""
    if benefits is None or amount_after_tier_discount <= 0:
        return 0
    return share(amount_after_tier_discount, benefits.extra_discount_pct, PCT)


def points_multiplier_pct(tier_pct: int, benefits: PlusBenefits | None) -> int:
    """The tier multiplier with PLUS's multiplied in (×100: gold 150 × PLUS 150 → 225)."""
    if benefits is None:
        return tier_pct
    return tier_pct * benefits.points_multiplier_pct // PCT
