"""Statements of the hot paths, compiled once and run straight on the driver.

A payment runs about a dozen small statements. Through `Session.execute` each costs
SQLAlchemy 30–60 µs of Python (parameter coercion, compiled-cache lookup, result
set-up, events) — several times what SQLite takes to run it. A `Prepared` statement is
still written in SQLAlchemy Core, against the mapped tables, so the SQL stays typed and
dialect-aware; it is compiled once per dialect, and each call only converts the
parameters with the statement's own bind processors (UTC datetimes, JSON) and hands
them to the DB-API cursor of the session's connection, inside the session's transaction.

What this gives up, on purpose: ORM identity-map updates (the hot paths use Core rows
only), SQLAlchemy's statement events and logging, and the expanding `IN` parameter (the
statement must have a fixed shape). Driver errors are re-raised as SQLAlchemy's
exception classes, so callers keep catching `IntegrityError` as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

Row = tuple[Any, ...]


_REQUIRED = object()


class _Compiled:
    __slots__ = ("named", "plan", "positional", "sql")

    def __init__(self, statement: Executable, dialect: Dialect, *, many: bool) -> None:
        # `for_executemany` also keeps PostgreSQL from adding an implicit RETURNING id to
        # an INSERT whose caller wants no id back.
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, for_executemany=many)
        self.sql: str = compiled.string
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a prepared statement needs a fixed shape: no expanding IN "
                             f"(write it as OR of equalities): {self.sql}")
        self.positional: bool = compiled.positiontup is not None
        rendered = compiled.bind_names  # each bind parameter → its name in the SQL
        names = list(compiled.positiontup or dict.fromkeys(rendered.values()))
        processors = compiled._bind_processors  # the types' own converters (UTC, JSON)
        # Literal values inside the statement (`remaining > 0`, `LIMIT 1`) are bind
        # parameters with a value of their own.
        defaults = {name: bind.effective_value for bind, name in rendered.items()
                    if not bind.required}
        # One step per parameter: its name, its converter, its default.
        self.plan: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...] = tuple(
            (name, processors.get(name), defaults.get(name, _REQUIRED)) for name in names)
        self.named = tuple(dict.fromkeys(names))

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for name, process, default in self.plan:
            value = params[name] if default is _REQUIRED or name in params else default
            values.append(process(value) if process is not None else value)
        if self.positional:
            return tuple(values)
        return dict(zip(self.named, values, strict=True))


class Prepared:
    """A Core statement with a fixed shape, run on the session's driver connection."""

    __slots__ = ("_by_dialect", "many", "statement")

    def __init__(self, statement: Executable, *, many: bool = False) -> None:
        """`many`: run with `executemany`, or an INSERT that returns nothing."""
        self.statement = statement
        self.many = many
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect,
                                                               many=self.many)
        return found

    def execute(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        """Run once; returns the DB-API cursor (fetchone/fetchall/rowcount)."""
        dialect, driver = _connection(session)
        compiled = self._compiled(dialect)
        cursor = driver.cursor()
        arguments = compiled.parameters(params or {})
        try:
            cursor.execute(compiled.sql, arguments)
        except dialect.loaded_dbapi.Error as exc:
            raise _wrapped(compiled.sql, arguments, exc, dialect) from exc
        return cursor

    def executemany(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        dialect, driver = _connection(session)
        compiled = self._compiled(dialect)
        cursor = driver.cursor()
        arguments = [compiled.parameters(row) for row in rows]
        try:
            cursor.executemany(compiled.sql, arguments)
        except dialect.loaded_dbapi.Error as exc:
            raise _wrapped(compiled.sql, arguments, exc, dialect) from exc
        finally:
            cursor.close()

    def first(self, session: Session, params: Mapping[str, Any] | None = None) -> Row | None:
        cursor = self.execute(session, params)
        try:
            return cursor.fetchone()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    def all(self, session: Session, params: Mapping[str, Any] | None = None) -> list[Row]:
        cursor = self.execute(session, params)
        try:
            return cursor.fetchall()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    def scalar(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(session, params)
        return None if row is None else row[0]

    def rowcount(self, session: Session, params: Mapping[str, Any] | None = None) -> int:
        cursor = self.execute(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


_CONNECTION = "memberops.prepared.connection"


def _connection(session: Session) -> tuple[Dialect, Any]:
    """The dialect and the driver connection of the session's current transaction."""
    # As `Session.execute` would: pending ORM changes reach the database first, so a
    # prepared read sees them (a no-op when nothing is pending).
    if session.autoflush:
        session.flush()
    # Asking the session for its connection costs more than a SQLite statement; it is
    # asked once per transaction and kept beside the transaction it belongs to.
    transaction = session.get_transaction()
    cached = session.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    connection = session.connection()
    found = (connection.dialect, connection.connection.driver_connection)
    session.info[_CONNECTION] = (session.get_transaction(), found)
    return found


def utc_time(value: str | datetime) -> datetime:
    """A UTC time column as the driver gives it (SQLite: naive ISO text; PostgreSQL: aware)
    → the aware UTC datetime the ORM would give (memberops.db.UTCDateTime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _wrapped(sql: str, arguments: Any, exc: Exception, dialect: Dialect) -> DBAPIError:
    # The same exception classes SQLAlchemy would raise (IntegrityError, OperationalError…).
    return DBAPIError.instance(  # type: ignore[return-value]
        sql, arguments, exc, dialect.loaded_dbapi.Error, dialect=dialect)
