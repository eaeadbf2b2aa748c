"""The demo's history, played once per test run and shared by the demo test modules (it is
the slowest thing they need): a database of its own, 80 members, a fixed clock."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from memberops import migrate
from memberops.clock import FixedClock
from memberops.db import Database
from memberops.demo import DemoPlan
from memberops.demo.activity import Habits, MemberFacts, plan_activity, plan_habits
from memberops.demo.activity import Planned as PlannedEvent
from memberops.demo.history import HistoryReport
from memberops.demo.members import generate_members, plan_members
from memberops.demo.runner import seed_coupons
from memberops.demo.value import generate_value
from tests.conftest import ON_POSTGRES, PG_URL, SHANGHAI

PLAN = DemoPlan(members=80)
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Played:
    db: Database
    clock: FixedClock
    report: HistoryReport


def play(db: Database, plan: DemoPlan = PLAN) -> tuple[FixedClock, HistoryReport]:
    """The demo's steps as the runner takes them (templates, members, history)."""
    clock = FixedClock(NOW, tz=SHANGHAI)
    seed_coupons(db, plan, clock)
    generate_members(db, plan, clock)
    return clock, generate_value(db, plan, clock)


_PLAYED: dict[str, Played] = {}


def own_database(migrated: str, name: str = "demo") -> str:
    """A database for the demo alone, so that the per-test databases never touch it (it is
    removed when the test run ends)."""
    if not ON_POSTGRES:
        path = Path(tempfile.mkdtemp(prefix="memberops-demo-")) / f"{name}.db"
        shutil.copyfile(migrated, path)
        atexit.register(shutil.rmtree, path.parent, True)
        return f"sqlite:///{path}"
    url = make_url(migrated)
    name = f"{url.database}_{name}"
    # Not a connection to the run's own database: that is dropped (WITH FORCE) at the end
    # of the session, before this drop runs at exit.
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        admin.dispose()
        pytest.skip("the demo history needs a database of its own; may not create one")
    own = url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(own)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    atexit.register(drop)
    return own


def played(migrated: str) -> Played:
    """Given the demo's 80 members and their two years of history (played on first use)."""
    if migrated not in _PLAYED:
        db = Database(own_database(migrated))
        atexit.register(db.dispose)
        clock, report = play(db)
        _PLAYED[migrated] = Played(db, clock, report)
    return _PLAYED[migrated]


@dataclass(frozen=True)
class Planned:
    """A bigger base, planned only (no database): for the statistics of the plan."""

    plan: DemoPlan
    members: list[MemberFacts]
    habits: dict[int, Habits]
    events: list[PlannedEvent]

    @property
    def orders(self) -> list[PlannedEvent]:
        return [e for e in self.events if e.kind == "order"]


_PLANNED: list[Planned] = []


def planned() -> Planned:
    """The plan of 2,000 members as of NOW (computed once per test run)."""
    if not _PLANNED:
        plan = DemoPlan(members=2000)
        specs = plan_members(plan, NOW, SHANGHAI)
        members = [MemberFacts(i + 1, s.joined_at, s.channel, s.birthday,
                               None if s.referrer is None else s.referrer + 1,
                               bool(s.email and s.birthday and s.province), frozenset(s.tags),
                               s.city) for i, s in enumerate(specs)]
        habits = plan_habits(plan, members, NOW, SHANGHAI)
        _PLANNED.append(Planned(plan, members, habits,
                                plan_activity(plan, members, habits, NOW, SHANGHAI)))
    return _PLANNED[0]


def all_rows(db: Database, model: type) -> list:
    with db.session(readonly=True) as session:
        return list(session.execute(select(model)).scalars())


def local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)
