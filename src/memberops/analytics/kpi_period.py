"""Report periods and filters for the KPIs (docs/metrics.md "Periods" and "Filters").

A period is a range of calendar dates in the programme's time zone, both ends included.
It is compared with the period just before it and with the same dates a year earlier.
Pure: nothing here reads a clock or a database; "today" is passed in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from memberops.errors import ValidationFailed, field_error

MAX_DAYS = 366 * 5  # a bound on what one report may span


def _shift_years(day: date, years: int) -> date:
    # 29 February a year earlier is 28 February.
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Calendar dates `first` … `last` (both included) in the programme's time zone."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise field_error("to", f"{self.last} is before from ({self.first})")
        if self.days > MAX_DAYS:
            raise field_error("to", f"a report spans at most {MAX_DAYS} days")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def whole_months(self) -> int:
        """How many calendar months the period is, when it is whole months (else 0)."""
        month_end = calendar.monthrange(self.last.year, self.last.month)[1]
        if self.first.day != 1 or self.last.day != month_end:
            return 0
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    def previous(self) -> Period:
        """The period just before: as many whole months before a whole-month period
        (March → February), otherwise as many days."""
        if months := self.whole_months:
            return Period(_add_months(self.first, -months), self.first - timedelta(days=1))
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def year_ago(self) -> Period:
        """The same dates a year earlier."""
        return Period(_shift_years(self.first, -1), _shift_years(self.last, -1))

    def bounds(self, time_zone: str) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight of `first` and of the day after
        `last`."""
        zone = ZoneInfo(time_zone)
        start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    def label(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def last_complete(kind: str, today: date) -> Period:
    """The last complete day (yesterday) or ISO week (Monday … Sunday) before `today`."""
    if kind == "daily":
        day = today - timedelta(days=1)
        return Period(day, day)
    if kind == "weekly":
        monday = today - timedelta(days=today.isoweekday() - 1 + 7)
        return Period(monday, monday + timedelta(days=6))
    raise field_error("period", f"must be daily or weekly, not {kind!r}")


def period_name(kind: str, period: Period) -> str:
    """A stable name for a scheduled report: 2026-03-04 for a day, 2026-W10 for a week."""
    if kind == "weekly":
        year, week, _ = period.first.isocalendar()
        return f"{year}-W{week:02d}"
    return period.first.isoformat()


@dataclass(frozen=True)
class Filters:
    """Which members and orders a report covers; None (or blank) covers all.

    - store: orders taken at that store; members whose first order was taken there.
    - channel: members who joined through that channel (members.channel).
    - region: members whose province or city is this.
    - tier: members in that tier at the end of the period (from the tier history).
    """

    store: str | None = None
    channel: str | None = None
    region: str | None = None
    tier: str | None = None

    def __post_init__(self) -> None:
        for name in ("store", "channel", "region", "tier"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationFailed(f"filter {name} must be text")
            cleaned = value.strip() if value else None
            object.__setattr__(self, name, cleaned or None)

    @property
    def members_filtered(self) -> bool:
        """Whether any filter narrows the members by their own attributes."""
        return any((self.channel, self.region, self.tier))

    def as_dict(self) -> dict[str, str | None]:
        return {"store": self.store, "channel": self.channel, "region": self.region,
                "tier": self.tier}
