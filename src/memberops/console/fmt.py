"""How the console shows values: ¥1,234.56, 1,234 points, times in the programme's zone."""

from __future__ import annotations

from datetime import date, datetime

from memberops.console import state
from memberops.money import Money


def money(fen: int | None) -> str:
    return "–" if fen is None else Money(int(fen)).format()


def number(value: int | float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def when(value: datetime | None) -> str:
    """An instant as a wall-clock time in the programme's time zone."""
    if value is None:
        return "–"
    return value.astimezone(state.services().clock.tz).strftime("%Y-%m-%d %H:%M")


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(state.services().clock.tz).date()
    return value.isoformat()
