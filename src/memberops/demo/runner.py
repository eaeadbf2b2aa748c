"""Builds the demo database: a fresh SQLite file, migrated, filled, with an admin to sign in.

The new database is built beside the target under a temporary name and moved
into place only when complete, so that an interrupted run never leaves a
half-filled demo behind (nor destroys the previous one) and `--keep` can trust
what it finds.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from alembic.util import CommandError

from memberops import migrate
from memberops.access import service as access_service
from memberops.clock import Clock, FixedClock, SystemClock
from memberops.coupons import service as coupons_service
from memberops.db import Database
from memberops.errors import Conflict
from memberops.ledger import queries as ledger_queries
from memberops.uow import Actor, UnitOfWork

from . import DemoPlan, Progress
from .members import generate_members
from .summary import DemoFigures, figures
from .value import generate_value

# Written into the SQLite header (PRAGMA application_id, "MOPS") to recognise a demo
# database: the demo replaces only files it made itself, never a real database.
APPLICATION_ID = 0x4D4F5053
SQLITE_MAGIC = b"SQLite format 3\x00"
OPERATOR = "admin"
API_KEY_NAME = "demo admin"
# No look-alikes (0/O, 1/l/I): the password is read off a screen and typed.
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class DemoResult:
    """What the command prints: where the data is and how to get in."""

    path: Path
    url: str
    members: int
    replaced: bool  # an earlier demo database was replaced
    kept: bool  # an earlier demo database was reused (--keep)
    username: str
    password: str | None  # None when kept: only its hash is stored, shown when it was made
    api_key: str
    seconds: float
    figures: DemoFigures


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def new_password() -> str:
    """About 117 bits from the OS's CSPRNG, in four groups of five for reading aloud."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(5))
                    for _ in range(4))


def is_demo_database(path: Path) -> bool:
    """True for a SQLite file marked by the demo; read from the header, without SQLite."""
    with path.open("rb") as file:
        header = file.read(100)
    return header[:16] == SQLITE_MAGIC and int.from_bytes(header[68:72], "big") == APPLICATION_ID


def _check_replaceable(path: Path) -> bool:
    """Whether `path` holds an earlier demo; refuses anything else that is there."""
    if not path.exists():
        return False
    if path.is_file() and (path.stat().st_size == 0 or is_demo_database(path)):
        return True
    raise Conflict(f"{path} exists and is not a memberops demo database; refusing to "
                   "replace it: choose another --database or remove it yourself",
                   code="not_a_demo_database")


def _remove(path: Path) -> None:
    # The -wal and -shm files belong to the database: a stale WAL next to a new file
    # would be replayed into it. -writers is where its writers queued (memberops.db).
    for suffix in ("-wal", "-shm", "-writers", ""):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _seal(path: Path) -> None:
    """Mark the file as a demo and fold the WAL back in, so that it can be moved alone."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def _upgrade(url: str) -> None:
    try:
        migrate.upgrade(url)
    except CommandError as exc:  # e.g. made by a newer memberops
        raise Conflict(f"cannot migrate the demo database: {exc}",
                       code="schema_out_of_date") from None


def _admin(db: Database, clock: Clock) -> tuple[str | None, str, DemoFigures]:
    """An admin operator (unless one exists) and a new admin API key; and what the
    database holds."""
    with UnitOfWork(db, actor=Actor.system("demo"), clock=clock) as uow:
        existing = {op.username for op in access_service.list_operators(uow.session)}
        password = None
        if OPERATOR not in existing:
            password = new_password()
            access_service.create_operator(uow, username=OPERATOR, password=password,
                                           role="admin", display_name="Demo admin")
        key = access_service.create_api_key(uow, role="admin", name=API_KEY_NAME)
        found = figures(uow.session, clock.tz, clock.now())
    return password, key.secret, found


def verify_ledger(db: Database, progress: Progress | None = None) -> None:
    """Recompute every balance from the postings; a demo that does not verify is a bug in
    the services (or the demo), never something to hand out: fail loudly."""
    if progress is not None:
        progress("verify", 0, 1)
    with db.session(readonly=True) as session:
        report = ledger_queries.verify(session)
    if not report.ok:
        raise RuntimeError(
            "the demo ledger does not verify: "
            f"{len(report.drift)} drifting balance(s) {report.drift[:5]}, "
            f"{len(report.negative)} negative member balance(s) {report.negative[:5]}, "
            f"assets not summing to zero {report.asset_totals}")
    if progress is not None:
        progress("verify", 1, 1)


def seed_coupons(db: Database, plan: DemoPlan, clock: Clock) -> None:
    """The reference programme's coupon templates, made before the history begins, so that
    members get the welcome coupon as they join."""
    start = FixedClock(clock.now() - timedelta(days=plan.history_days + 1), tz=clock.tz)
    with UnitOfWork(db, actor=Actor.system("demo"), clock=start) as uow:
        coupons_service.ensure_reference_templates(uow)


def generate(db: Database, plan: DemoPlan, clock: Clock,
             progress: Progress | None = None) -> None:
    """Every step of the demo, in order: each builds on the history of the ones before.
    The coupon templates, the member base, then two years of orders, stored value, points,
    coupons and PLUS, then the ledger check."""
    seed_coupons(db, plan, clock)
    generate_members(db, plan, clock, progress)
    generate_value(db, plan, clock, progress)
    verify_ledger(db, progress)


def _build(plan: DemoPlan, target: Path, clock: Clock,
           progress: Progress | None) -> tuple[str | None, str, DemoFigures]:
    building = target.with_name(target.name + ".building")
    _remove(building)  # left by an interrupted run
    url = sqlite_url(building)
    _upgrade(url)
    db = Database(url, disposable=True)  # a build that fails is removed, never served
    try:
        generate(db, plan, clock, progress)
        credentials = _admin(db, clock)
    finally:
        db.dispose()
    _seal(building)
    building.with_name(building.name + "-writers").unlink(missing_ok=True)
    _remove(target)
    building.replace(target)
    return credentials


def run_demo(plan: DemoPlan, path: Path, *, keep: bool = False, clock: Clock | None = None,
             progress: Progress | None = None) -> DemoResult:
    """Make (or with `keep`, reuse) the demo database at `path`, with fresh credentials."""
    started = time.perf_counter()
    path = path.expanduser().resolve()
    clock = clock or SystemClock()
    exists = _check_replaceable(path)
    kept = keep and exists and path.stat().st_size > 0
    if kept:
        _upgrade(sqlite_url(path))  # a demo made by an older memberops is brought up to date
        db = Database(sqlite_url(path))
        try:
            password, key, found = _admin(db, clock)
        finally:
            db.dispose()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        password, key, found = _build(plan, path, clock, progress)
    return DemoResult(path=path, url=sqlite_url(path), members=found.members,
                      replaced=exists and not kept, kept=kept, username=OPERATOR,
                      password=password, api_key=key, seconds=time.perf_counter() - started,
                      figures=found)
