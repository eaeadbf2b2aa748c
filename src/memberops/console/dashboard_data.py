"""The dashboard's figures for one choice of period and filters: the KPI engine's report
and series (memberops.analytics.dashboard_series) and the liability report, computed
off the event loop and kept a few minutes per choice."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from memberops.analytics import kpis
from memberops.analytics.dashboard_series import DashboardFigures, compute_dashboard
from memberops.analytics.kpi_period import Filters, Period
from memberops.api.deps import Services
from memberops.points import queries as points_queries
from memberops.points.queries import PointsLiability
from memberops.programme import service as programme_service
from memberops.programme.schemas import MarketingSpend
from memberops.wallet import queries as wallet_queries

# Why a cache: every computation reads the KPI tables of the whole store (about a second
# on the demo data, far more on a big one), and operators flip between periods and
# filters and back. A dashboard whose finest grain is a day may be a few minutes old;
# the key holds the day it was taken on, and the page's refresh button recomputes.
TTL_SECONDS = 300
MAX_ENTRIES = 32


@dataclass(frozen=True)
class Key:
    database_url: str
    period: Period
    filters: Filters
    as_of_day: date


@dataclass(frozen=True)
class Board:
    """Everything one dashboard shows."""

    figures: DashboardFigures
    points: PointsLiability          # today, the whole programme
    stored_value: dict[str, int]     # today, the whole programme: principal, bonus, total
    as_of: datetime
    seconds: float                   # how long computing it took


_cache: OrderedDict[Key, tuple[float, Board]] = OrderedDict()
_lock = threading.Lock()


def key_for(services: Services, period: Period, filters: Filters) -> Key:
    return Key(services.db.url, period, filters, services.clock.today())


def cached(key: Key) -> Board | None:
    with _lock:
        found = _cache.get(key)
        if found is None or time.monotonic() - found[0] > TTL_SECONDS:
            return None
        return found[1]


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def compute(services: Services, key: Key) -> Board:
    """Compute the board (slow: run it in a worker thread) and keep it for TTL_SECONDS."""
    started = time.perf_counter()
    now = services.clock.now()
    with services.db.session(readonly=True) as session:
        spend = programme_service.current(session, MarketingSpend)
        points = points_queries.liability(session, services.clock.tz)
        stored_value = wallet_queries.liability(session)
    figures = compute_dashboard(kpis.load_frames(key.database_url), key.period, key.filters,
                                time_zone=services.settings.timezone, as_of=now, spend=spend)
    board = Board(figures=figures, points=points, stored_value=stored_value, as_of=now,
                  seconds=time.perf_counter() - started)
    with _lock:
        _cache[key] = (time.monotonic(), board)
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return board


def board(services: Services, key: Key, *, fresh: bool = False) -> Board:
    """The cached board, or a new one (`fresh` always recomputes)."""
    found = None if fresh else cached(key)
    return found if found is not None else compute(services, key)
