"""Time is injected (DESIGN rule 10): services ask a Clock, never the system directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Tells the current instant (UTC, aware) and the programme's business date."""

    tz: tzinfo

    def now(self) -> datetime: ...

    def today(self) -> date: ...


@dataclass
class SystemClock:
    """The real clock, reading business dates in the programme's time zone."""

    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()


@dataclass
class FixedClock:
    """A clock that stands still until moved: for tests, the demo and replays."""

    current: datetime
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.current.astimezone(UTC)

    def today(self) -> date:
        return self.current.astimezone(self.tz).date()

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.current = instant


def as_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive values are refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError("datetime without a time zone")
    return value.astimezone(UTC)
