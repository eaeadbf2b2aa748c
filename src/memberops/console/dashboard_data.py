"""The dashboard's figures for one choice of period and filters: the KPI engine's report
and series (memberops.analytics.dashboard_series) and the liability report, computed
off the event loop and kept a few minutes per choice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from memberops.analytics import frames, kpis
from memberops.analytics.dashboard_series import DashboardFigures, compute_dashboard
from memberops.analytics.kpi_period import Filters, Period
from memberops.api.deps import Services
from memberops.logs import get_logger
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
# The board the dashboard opens with is kept computed by the server (see `keep_fresh`):
# taken again once it is this old, so that an operator who opens the dashboard finds it
# ready instead of waiting for the store to be read.
REFRESH_AFTER = TTL_SECONDS / 2
# ... but never taking more than a tenth of the reader's time: on a big store a board
# takes a minute, and it is then taken again every ten.
KEEPER_SHARE = 0.1
# The tables read for the last board are kept as long, so that another period or filter
# costs only the computing (a few tenths of a second on the demo data) — unless the store
# is big: held frames of a million members would take gigabytes of memory.
MAX_KEPT_ROWS = 2_000_000


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
_tables: dict[tuple[str, date], tuple[float, dict[str, pl.DataFrame]]] = {}
# Boards being computed: a second page (or the keeper) asking for the same choice waits
# for that computation instead of reading the store a second time.
_running: dict[Key, Future[Board]] = {}
_lock = threading.Lock()
log = get_logger("memberops.console.dashboard")
# Raised by clear_cache: a board whose computing began before a clear is not kept after it
# (it may have read the store as it was before).
_generation = 0


def key_for(services: Services, period: Period, filters: Filters) -> Key:
    return Key(services.db.url, period, filters, services.clock.today())


def cached(key: Key) -> Board | None:
    with _lock:
        found = _cache.get(key)
        if found is None or time.monotonic() - found[0] > TTL_SECONDS:
            return None
        return found[1]


def age(key: Key) -> float | None:
    """Seconds since the board of `key` was kept (None: not kept)."""
    with _lock:
        found = _cache.get(key)
    return None if found is None else time.monotonic() - found[0]


def clear_cache() -> None:
    global _generation
    with _lock:
        _generation += 1
        _cache.clear()
        _tables.clear()
    if _reader is not None:
        _reader.submit(_forget_tables).result()


# --- the reader process --------------------------------------------------------------
# Reading the store is most of a board's time, and this process may only read SQLite row
# by row through its own sqlite3 library (see analytics.frames.use_adbc_for_sqlite: a
# second SQLite library in the server breaks its locks). A process of its own, which never
# writes, reads columnar over ADBC, two to four times faster, and computes the figures
# there; only the small result comes back. It is started when the console is mounted, so
# the first board does not wait for its imports.

_reader: ProcessPoolExecutor | None = None


def _reader_started(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops it on shutdown
    # ... unless the server dies without stopping it (killed, or ended by a signal it
    # does not handle): then the reader, left with no one to serve, ends too.
    threading.Thread(target=_end_with, args=(parent,), daemon=True,
                     name="end with the server").start()
    frames.use_adbc_for_sqlite()
    import adbc_driver_sqlite.dbapi  # noqa: F401  (loaded now, not with the first board)


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def start_reader() -> None:
    """Start the reader process (once per server process) and let it load its imports."""
    global _reader
    with _lock:
        if _reader is None:
            _reader = ProcessPoolExecutor(max_workers=1, initializer=_reader_started,
                                          initargs=(os.getpid(),),
                                          mp_context=multiprocessing.get_context("spawn"))
            _reader.submit(_forget_tables)


def _forget_tables() -> None:
    with _lock:
        _tables.clear()


def _kpi_tables(database_url: str, day: date, *, fresh: bool) -> dict[str, pl.DataFrame]:
    """The KPI tables of the store: read, or kept from the last board of the day."""
    where = (database_url, day)
    with _lock:
        kept = _tables.get(where)
    if kept is not None and not fresh and time.monotonic() - kept[0] <= TTL_SECONDS:
        return kept[1]
    tables = kpis.load_frames(database_url)
    with _lock:
        _tables.clear()
        if sum(frame.height for frame in tables.values()) <= MAX_KEPT_ROWS:
            _tables[where] = (time.monotonic(), tables)
    return tables


def dashboard_figures(key: Key, time_zone: str, as_of: datetime, spend: MarketingSpend,
                      fresh: bool) -> DashboardFigures:
    """The analytics part of a board (run in the reader process)."""
    return compute_dashboard(_kpi_tables(key.database_url, key.as_of_day, fresh=fresh),
                             key.period, key.filters, time_zone=time_zone, as_of=as_of,
                             spend=spend)


def _figures_later(key: Key, time_zone: str, as_of: datetime, spend: MarketingSpend,
                   fresh: bool) -> Callable[[], DashboardFigures]:
    """Start computing the figures in the reader process (here without one); wait later."""
    global _reader
    reader = _reader
    if reader is not None:
        try:
            future = reader.submit(dashboard_figures, key, time_zone, as_of, spend, fresh)
        except BrokenProcessPool:
            with _lock:
                _reader = None  # started again with the next mount; meanwhile, here
        else:
            return future.result
    return lambda: dashboard_figures(key, time_zone, as_of, spend, fresh)


def compute(services: Services, key: Key, *, fresh: bool = False) -> Board:
    """Compute the board (slow: run it in a worker thread) and keep it for TTL_SECONDS;
    `fresh` reads the store again."""
    started = time.perf_counter()
    with _lock:
        generation = _generation
    now = services.clock.now()
    with services.db.session(readonly=True) as session:
        spend = programme_service.current(session, MarketingSpend)
    figures = _figures_later(key, services.settings.timezone, now, spend, fresh)
    with services.db.session(readonly=True) as session:  # meanwhile, the liabilities
        points = points_queries.liability(session, services.clock.tz)
        stored_value = wallet_queries.liability(session)
    board = Board(figures=figures(), points=points, stored_value=stored_value, as_of=now,
                  seconds=time.perf_counter() - started)
    with _lock:
        if generation != _generation:
            return board
        _cache[key] = (time.monotonic(), board)
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return board


def board(services: Services, key: Key, *, fresh: bool = False) -> Board:
    """The cached board, or a new one (`fresh` always recomputes). While a board of the
    same choice is being computed, a call that is not `fresh` waits for it."""
    if not fresh:
        found = cached(key)
        if found is not None:
            return found
    with _lock:
        running = None if fresh else _running.get(key)
        if running is None:
            mine: Future[Board] = Future()
            _running[key] = mine
    if running is not None:
        return running.result()
    try:
        made = compute(services, key, fresh=fresh)
    except BaseException as exc:
        mine.set_exception(exc)
        raise
    else:
        mine.set_result(made)
        return made
    finally:
        with _lock:
            if _running.get(key) is mine:
                del _running[key]


def keep_fresh(services: Services, key_of: Callable[[], Key],
               stop: threading.Event) -> None:
    """Keep the board of `key_of()` (the one the dashboard opens with) computed until
    `stop` is set: run by the server in a thread of its own."""
    not_before = 0.0  # monotonic time: the keeper's share of the reader
    while not stop.is_set():
        key = key_of()
        kept = age(key)
        if (kept is None or kept >= REFRESH_AFTER) and time.monotonic() >= not_before:
            try:
                made = board(services, key, fresh=kept is not None)
            except Exception:  # the store unreachable for a while: try again later
                log.exception("dashboard board not computed")
                not_before = time.monotonic() + 60.0
            else:
                not_before = time.monotonic() + made.seconds / KEEPER_SHARE
            continue
        wait = REFRESH_AFTER - (kept or 0.0)
        wait = max(wait, not_before - time.monotonic(), 0.1)
        stop.wait(min(wait, 60.0))  # looks at least once a minute (a new day)
