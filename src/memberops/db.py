"""Database access: engines for SQLite (embedded, WAL) and PostgreSQL, and the shared Base."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can name what they drop on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants as UTC and always hands back aware UTC datetimes.

    SQLite has no time zone type; storing naive UTC there and timestamptz on
    PostgreSQL keeps comparisons and ordering identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Every SQLite connection's settings (the benchmarks' raw baselines use them too)."""
    # The driver must not open transactions behind our back: we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads through a shared memory map and a larger page cache per connection (16 MiB):
    # a payment touches a dozen B-trees, and a miss in the default 2 MiB cache is a read
    # system call (measured: about 10% more payments per second in bench/ledger).
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-16384")
    # Checkpoint the WAL every 10,000 pages (about 40 MB) rather than SQLite's 1,000: a
    # payment dirties about 30 pages, so the default checkpointed every 30 payments, and a
    # checkpoint writes and syncs the database file. Pages written again and again between
    # checkpoints (balances, the ends of indexes) are copied once. Measured in bench/ledger:
    # 913 → 1,233 payments/s and p99 8.8 → 1.3 ms. The file is cut back to 64 MB after a
    # checkpoint so a burst does not leave a huge WAL behind.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def disposable_sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """For a file that is thrown away when its writing fails (the demo's database while
    it is built): no syncs, and the WAL checkpointed ten times more rarely. Measured on
    the demo at 800 members: 95 → 84 s."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA wal_autocheckpoint=100000")
    cursor.close()


class WriterQueue:
    """Where writers to one SQLite file wait their turn, before SQLite's own write lock.

    SQLite lets one writer in at a time and makes the others poll: its busy handler
    sleeps 1, 2, 5 … 100 ms between tries, so under load a writer that could have gone
    after 2 ms goes after 100, and the tail of the latency grows to seconds (measured in
    bench/ledger over HTTP: p99 0.9 s at 16 concurrent callers). Here the threads of a
    process queue on a lock and the processes on an `flock` of `<database>-writers`;
    both wake the next writer the moment the last one commits or rolls back. SQLite's
    lock still decides; this only orders the waiting. A wait longer than `timeout`
    fails like SQLite's own busy timeout ("database is locked")."""

    _by_path: dict[str, WriterQueue] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self.holder: object | None = None

    @classmethod
    def for_file(cls, path: str, timeout: float) -> WriterQueue:
        key = os.path.realpath(path)
        with cls._registry_lock:
            if key not in cls._by_path:
                cls._by_path[key] = cls(key, timeout)
            return cls._by_path[key]

    def enter(self, connection: object) -> None:
        if self.holder is connection:  # already this connection's turn
            return
        if not self._threads.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked (waited for another writer)")
        try:
            if self._fd is None:
                self._fd = os.open(f"{self.path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # other processes; released on exit too
        except BaseException:
            self._threads.release()
            raise
        self.holder = connection

    def leave(self, connection: object) -> None:
        if self.holder is not connection:
            return
        self.holder = None
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection that gives up its place in the WriterQueue when its
    transaction ends, whichever way it ends."""

    queue: WriterQueue | None = None

    def _leave(self) -> None:
        if self.queue is not None:
            self.queue.leave(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()


def _begin_immediate(conn: Any) -> None:
    # Writers take SQLite's write lock at BEGIN, so two writers never both read a
    # balance and then fail on upgrade (DESIGN rule 7); they wait in the WriterQueue.
    driver = conn.connection.dbapi_connection
    queue = getattr(driver, "queue", None)
    if queue is not None:
        queue.enter(driver)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if queue is not None:
            queue.leave(driver)
        raise


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


class Database:
    """One store: a write engine and a read engine (the same one on PostgreSQL)."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10,
                 disposable: bool = False) -> None:
        """`disposable`: a SQLite file that is thrown away if its writing fails
        (see `disposable_sqlite_pragmas`)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = self._sqlite_engine(url, echo, _begin_immediate)
            self.read_engine = self._sqlite_engine(url, echo, _begin_deferred)
            if disposable:
                for engine in (self.engine, self.read_engine):
                    event.listen(engine, "connect", disposable_sqlite_pragmas)
        else:
            self.engine = create_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                pool_pre_ping=True,
            )
            self.read_engine = self.engine
        self._write_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_engine(url: str, echo: bool, begin: Any) -> Engine:
        # A pool of open connections: opening a SQLite file runs the pragmas again and
        # closing the last connection checkpoints the WAL — together they cost more than
        # a whole payment. `dispose()` closes them (tests and the demo call it).
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
        path = make_url(url).database
        if begin is _begin_immediate and path and path != ":memory:" \
                and not path.startswith("file:"):
            connect_args["factory"] = QueuedWriterConnection
        engine = create_engine(url, echo=echo, poolclass=QueuePool, pool_size=8,
                               max_overflow=8, connect_args=connect_args)
        if "factory" in connect_args:
            assert path is not None
            queue = WriterQueue.for_file(path, timeout=30)

            def join_queue(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.queue = queue

            event.listen(engine, "connect", join_queue)
        event.listen(engine, "connect", sqlite_pragmas)
        event.listen(engine, "begin", begin)
        return engine

    def session(self, *, readonly: bool = False) -> Session:
        return (self._read_sessions if readonly else self._write_sessions)()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
