"""The live store as columnar frames: tables read straight into Polars over Arrow.

Analytics read the operational database itself (SQLite or PostgreSQL), with no export
step: each table is fetched by its ADBC driver as Arrow record batches and handed to
Polars without a Python object per value. Types come from the SQLAlchemy model, not from
the driver's guess: SQLite's ADBC driver infers a column's type from its first rows and
fails when a column that starts with NULLs holds text later, so on SQLite nullable
columns are read through COALESCE with a sentinel and turned back into nulls here.

Instants are UTC `Datetime("us", "UTC")`; calendar dates `Date`; money integer fen.

`load` reads over several connections at once where the driver lets go of the GIL (ADBC):
a large table in ranges of its key, every connection seeing the store at one instant
(`pinned_readers`). On two cores this reads the 10-million-order benchmark store in about
half the time (bench/results/analytics.md).
"""

from __future__ import annotations

import itertools
import os
import queue
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import polars as pl
from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Table, Text, make_url

from memberops import models_registry
from memberops.db import Base, UTCDateTime
from memberops.errors import ValidationFailed

_NULL_INT = -(2**62)  # a sentinel no id, amount or count reaches
_NULL_TEXT = "\u2400null\u2400"  # ␀null␀: not a value any column holds


def _polars_type(column: Any) -> pl.DataType:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, Date):
        return pl.Date()
    if isinstance(kind, Boolean):
        return pl.Boolean()
    if isinstance(kind, Integer | BigInteger):
        return pl.Int64()
    if isinstance(kind, String | Text):
        return pl.String()
    raise ValidationFailed(f"column {column.name!r} of type {kind} cannot be read as a frame")


def _table(name: str) -> Table:
    models_registry.load_all()
    table = Base.metadata.tables.get(name)
    if table is None:
        raise ValidationFailed(f"unknown table {name!r}")
    return table


_ADBC_FOR_SQLITE = False


def use_adbc_for_sqlite() -> None:
    """Declare that this process never writes the SQLite store (a report or analytics
    command, a benchmark): SQLite files are then read over ADBC, columnar and fast.

    Off by default, and never in the API server: the ADBC driver carries its own copy of
    the SQLite library, and two copies in one process break each other's POSIX locks —
    closing a file in one drops every lock the process holds on it (sqlite.org/
    howtocorrupt.html §2.2.1; seen here: after an ADBC read the server's next writes
    failed with "disk I/O error"). Without it, SQLite is read by the app's own sqlite3
    library, read-only, row by row into Polars."""
    global _ADBC_FOR_SQLITE
    _ADBC_FOR_SQLITE = True


@contextmanager
def connect(database_url: str) -> Iterator[Any]:
    """A connection to read the store behind a memberops database URL: ADBC on
    PostgreSQL; on SQLite, ADBC or sqlite3 (see `use_adbc_for_sqlite`).

    Every table read over it sees the store at one instant: tables are read one after
    another while the store takes writes, and a posting committed between the read of
    the ledger entries and that of the postings would have no entry (its time looked up
    past the end), an order none of its member. ADBC runs its statements in one
    transaction already (autocommit off; on SQLite a read transaction keeps its
    snapshot); PostgreSQL's must be REPEATABLE READ to keep one, and sqlite3 begins none
    for a SELECT unless asked."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if _ADBC_FOR_SQLITE:
            import adbc_driver_sqlite.dbapi as sqlite_adbc

            with sqlite_adbc.connect(path) as adbc_conn:
                yield adbc_conn
        else:
            own = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                  check_same_thread=False)
            try:
                own.execute("BEGIN")
                yield own
            finally:
                own.close()
    elif url.get_backend_name() == "postgresql":
        with _pg_connection(url) as conn:
            yield conn
    else:
        raise ValidationFailed(f"analytics cannot read a {url.get_backend_name()} database")


# How many connections `load` reads over at once, and the rows above which a table is
# read in parts. More readers than cores only adds context switches (measured: 2 readers
# 4.6 s, 3 readers 5.0 s, 4 readers 5.1 s for 10 M orders on 2 cores).
READERS = max(1, min(4, os.cpu_count() or 1))
PART_ROWS = 1_000_000


@contextmanager
def pinned_readers(database_url: str, count: int) -> Iterator[list[Any]]:
    """`count` ADBC connections to the store that all see it at one instant.

    PostgreSQL: the first exports its snapshot and the others import it (as `pg_dump -j`
    does). SQLite: writers are held off (BEGIN IMMEDIATE on a connection of its own, for
    the milliseconds it takes) while each reader begins; in WAL mode a reader keeps the
    snapshot it began with. Without the pause a commit between two readers' first reads
    would be in one part of a table and not in another."""
    url = make_url(database_url)
    with ExitStack() as stack:
        if url.get_backend_name() == "postgresql":
            first = stack.enter_context(_pg_connection(url))
            with first.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            yield [first, *(stack.enter_context(_pg_connection(url, snapshot))
                            for _ in range(count - 1))]
            return
        import adbc_driver_sqlite.dbapi as sqlite_adbc

        path = _sqlite_path(url)
        lock = stack.enter_context(sqlite_adbc.connect(path, autocommit=True))
        with lock.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 30000")  # wait for a writer to finish
            cursor.execute("BEGIN IMMEDIATE")
            try:
                readers = []
                for _ in range(count):
                    conn = stack.enter_context(sqlite_adbc.connect(path))
                    with conn.cursor() as begun:  # the first read takes the snapshot
                        begun.execute("SELECT count(*) FROM sqlite_schema")
                        begun.fetchall()
                    readers.append(conn)
            finally:
                cursor.execute("ROLLBACK")
        yield readers


@contextmanager
def _pg_connection(url: Any, snapshot: str | None = None) -> Iterator[Any]:
    """An ADBC connection in a REPEATABLE READ, read-only transaction; with `snapshot`
    (an id from pg_export_snapshot), one that sees what the exporting transaction sees."""
    import adbc_driver_postgresql.dbapi as pg_adbc

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with pg_adbc.connect(plain) as conn:
        with conn.cursor() as cursor:  # before any query of the transaction
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if snapshot is not None:
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the server's id
        yield conn


def _sqlite_path(url: Any) -> str:
    if not url.database or url.database == ":memory:":
        raise ValidationFailed("analytics need a database file, not an in-memory one")
    return str(url.database)


def _select(name: str, columns: Iterable[str], sqlite: bool,
            where: str | None) -> tuple[str, list[Any]]:
    """The SELECT that reads `columns` of `name`, and the columns as the model has them."""
    table = _table(name)
    wanted = [table.c[c] for c in columns]
    selected = []
    for column in wanted:
        kind = _polars_type(column)
        if sqlite and column.nullable:
            sentinel = f"'{_NULL_TEXT}'" if kind in (pl.String(), pl.Date()) or \
                isinstance(kind, pl.Datetime) else str(_NULL_INT)
            selected.append(f"COALESCE({column.name}, {sentinel}) AS {column.name}")
        else:
            selected.append(column.name)
    sql = f"SELECT {', '.join(selected)} FROM {name}" + (f" WHERE {where}" if where else "")
    return sql, wanted


def read_table(conn: Any, name: str, columns: Iterable[str], *, sqlite: bool,
               where: str | None = None) -> pl.DataFrame:
    """`columns` of table `name` as a typed frame. `where` is trusted SQL (no user input)."""
    sql, wanted = _select(name, columns, sqlite, where)
    frame = _fetch(conn, sql, [c.name for c in wanted])
    return _typed_frame(frame, wanted, sqlite)


def _typed_frame(frame: pl.DataFrame, wanted: list[Any], sqlite: bool) -> pl.DataFrame:
    return frame.select(_typed(frame, column, sqlite) for column in wanted)


def _key_ranges(conn: Any, name: str) -> list[str | None]:
    """Conditions that cut table `name` into parts of about PART_ROWS rows by its integer
    key (its rowid on SQLite, so each part is a range scan); [None]: read it whole."""
    key = list(_table(name).primary_key.columns)
    if len(key) != 1 or not isinstance(key[0].type, Integer | BigInteger):
        return [None]
    column = key[0].name
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT min({column}), max({column}) FROM {name}")
        low, high = cursor.fetchone()
    if low is None or high - low < PART_ROWS:
        return [None]
    edges = [*range(low - 1, high, PART_ROWS), high]
    return [f"{column} > {a} AND {column} <= {b}" for a, b in itertools.pairwise(edges)]


def _load_parallel(readers: list[Any], tables: Mapping[str, Iterable[str]],
                   sqlite: bool) -> dict[str, pl.DataFrame]:
    """Every table's parts read and typed over `readers` at once, each part on whichever
    connection is free, then put together in key order."""
    free: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for conn in readers:
        free.put(conn)

    def read(sql: str, wanted: list[Any]) -> pl.DataFrame:
        conn = free.get()
        try:
            frame = _fetch(conn, sql, [c.name for c in wanted])
        finally:
            free.put(conn)
        # Typed and made one chunk (the driver hands over batches of about a thousand
        # rows) here, while the connection reads the next part.
        return _typed_frame(frame, wanted, sqlite).rechunk()

    planned = {}
    for name, columns in tables.items():
        sql, wanted = _select(name, columns, sqlite, None)
        ranges = _key_ranges(readers[0], name)
        planned[name] = (wanted, [sql if r is None else f"{sql} WHERE {r}" for r in ranges])
    with ThreadPoolExecutor(len(readers)) as pool:
        parts = {name: [pool.submit(read, sql, wanted) for sql in sqls]
                 for name, (wanted, sqls) in planned.items()}
        return {name: pl.concat([part.result() for part in parts[name]], rechunk=False)
                for name in tables}


def _fetch(conn: Any, sql: str, names: list[str]) -> pl.DataFrame:
    if isinstance(conn, sqlite3.Connection):
        rows = conn.execute(sql).fetchall()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    with conn.cursor() as cursor:
        cursor.execute(sql)
        frame = pl.from_arrow(cursor.fetch_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _typed(frame: pl.DataFrame, column: Any, sqlite: bool) -> pl.Expr:
    kind = _polars_type(column)
    expr = pl.col(column.name)
    raw = frame.schema[column.name]
    if sqlite and column.nullable:
        null = _NULL_INT if raw.is_integer() else _NULL_TEXT
        expr = pl.when(expr == null).then(None).otherwise(expr)
    if isinstance(kind, pl.Datetime) and raw == pl.String():
        # SQLite keeps UTC instants as naive ISO text (memberops.db.UTCDateTime)
        expr = expr.str.to_datetime(time_unit="us", time_zone="UTC", strict=True)
    elif isinstance(kind, pl.Datetime):
        expr = expr.cast(pl.Datetime("us", "UTC"))
    elif kind == pl.Date() and raw == pl.String():
        expr = expr.str.to_date("%Y-%m-%d")
    elif kind == pl.Boolean() and raw != pl.Boolean():
        expr = expr.cast(pl.Int64).cast(pl.Boolean)
    else:
        expr = expr.cast(kind)
    return expr.alias(column.name)


def load(database_url: str, tables: Mapping[str, Iterable[str]]) -> dict[str, pl.DataFrame]:
    """Several tables as they were at one instant: {name: frame}. Over READERS
    connections in parallel where the reader is ADBC, else over one."""
    backend = make_url(database_url).get_backend_name()
    sqlite = backend == "sqlite"
    for name in tables:
        _table(name)  # an unknown name is refused before anything is opened
    parallel = backend == "postgresql" or (sqlite and _ADBC_FOR_SQLITE)
    if parallel and READERS > 1:
        with pinned_readers(database_url, READERS) as readers:
            return _load_parallel(readers, tables, sqlite)
    with connect(database_url) as conn:
        return {name: read_table(conn, name, columns, sqlite=sqlite)
                for name, columns in tables.items()}


def schema(name: str, columns: Iterable[str]) -> pl.Schema:
    """The schema `read_table` gives these columns: for frames built in memory (tests,
    benchmarks) to match the ones read from the store."""
    table = _table(name)
    return pl.Schema({column: _polars_type(table.c[column]) for column in columns})


# What the KPIs read (memberops.analytics.kpis, docs/metrics.md), table by table.
KPI_TABLES: dict[str, list[str]] = {
    "members": ["id", "joined_at", "channel", "province", "city", "status",
                "status_changed_at"],
    "orders": ["member_id", "store", "status", "subtotal", "points_value", "wallet_paid",
               "external_paid", "refunded", "created_at"],
    "recharges": ["member_id", "amount", "bonus", "status", "settled_at"],
    "points_bonus_claims": ["member_id", "created_at"],
    "gift_redemptions": ["member_id", "created_at"],
    "coupons": ["member_id", "status", "issued_at", "used_at", "discount"],
    "plus_periods": ["member_id", "starts_at", "ends_at", "refund_status"],
    "tier_changes": ["id", "member_id", "to_tier", "at"],
    "ledger_entries": ["id", "created_at"],
    "ledger_postings": ["entry_id", "source", "destination", "asset", "amount"],
}


def local_date(instant: pl.Expr, time_zone: str) -> pl.Expr:
    """The calendar date of a UTC instant in the programme's time zone."""
    return instant.dt.convert_time_zone(time_zone).dt.date()
