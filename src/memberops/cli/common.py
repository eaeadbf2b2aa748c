"""What every command shares: settings, the database, a unit of work, and clear errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from memberops.clock import SystemClock
from memberops.config import Settings, get_settings
from memberops.db import Database
from memberops.errors import DomainError
from memberops.migrate import require_current
from memberops.uow import Actor, UnitOfWork

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

# Exit codes a script can rely on.
EXIT_ERROR = 1      # the request was refused (validation, not found, conflict, rule)
EXIT_SCHEMA = 3     # the database is not at this version's schema


def settings() -> Settings:
    return get_settings()


def open_db(*, check_schema: bool = True) -> Database:
    """The configured database; refuses to work on an unmigrated or newer schema."""
    cfg = settings()
    if check_schema:
        require_current(cfg.database_url)
    return Database(cfg.database_url)


def uow(db: Database, *, readonly: bool = False) -> UnitOfWork:
    return UnitOfWork(db, actor=Actor.cli(), clock=SystemClock(tz=settings().tz),
                      readonly=readonly)


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    # Escaped: messages carry codes in brackets ([member_exists]) that Rich would eat.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                      soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into one line on stderr and a non-zero exit code."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            code = EXIT_SCHEMA if exc.code == "schema_out_of_date" else EXIT_ERROR
            raise fail(f"{exc.detail} [{exc.code}]", code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted: nothing was committed by the step in progress")
            sys.exit(130)
    return wrapper


def as_of_date(value: datetime | None) -> date:
    """An `--as-of` option: today (in the programme's time zone) when not given; never
    a day after today."""
    today = SystemClock(tz=settings().tz).today()
    if value is None:
        return today
    if value.date() > today:
        raise fail(f"--as-of {value.date().isoformat()} is after today ({today.isoformat()})")
    return value.date()
