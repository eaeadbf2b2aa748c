"""Core pieces: money in integers, the injected clock, settings validation, event payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from memberops.clock import FixedClock
from memberops.config import Settings
from memberops.events import Event
from memberops.money import Money, share, yuan_to_fen


def test_money_is_integer_minor_units() -> None:
    assert yuan_to_fen("12.34") == 1234 and yuan_to_fen(Decimal("0.1")) == 10
    with pytest.raises(ValueError):
        yuan_to_fen("1.234")
    with pytest.raises(ValueError):
        yuan_to_fen("NaN")
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    assert Money(123456).format() == "¥1,234.56" and Money(-5).format() == "-¥0.05"
    assert Money(100) + Money(1) == Money(101)
    with pytest.raises(ValueError):
        Money(1, "CNY") + Money(1, "USD")


def test_share_rounds_down_without_floats() -> None:
    assert share(1000, 1, 3) == 333
    assert share(99_999, 5, 100) == 4999


def test_fixed_clock_business_date_uses_programme_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    clock = FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tz=shanghai)
    assert clock.today() == date(2027, 1, 1)
    clock.advance(timedelta(hours=-8))
    assert clock.today() == date(2026, 12, 31)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))


def test_settings_validate_and_normalise() -> None:
    assert Settings(database_url="postgresql://u@h/db").database_url \
        == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError):
        Settings(timezone="Mars/Olympus")


def test_event_payload_is_json_ready() -> None:
    @dataclass(frozen=True)
    class Happened(Event):
        event_type: ClassVar[str] = "x.happened"
        member_id: int
        on: date
        tags: tuple[str, ...]

    event = Happened(member_id=3, on=date(2026, 1, 2), tags=("a",))
    assert event.member_ref() == 3
    assert event.payload() == {"member_id": 3, "on": "2026-01-02", "tags": ["a"]}
