"""The demo's two years of stored value and points: a small run through the services (500
members, a fixed clock), then what it left behind — and the pure planning behind it."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError

from memberops import migrate
from memberops.clock import FixedClock
from memberops.db import Database
from memberops.demo import DemoPlan
from memberops.demo.activity import (
    GIFT_BOXES,
    MemberFacts,
    basket,
    busy_factor,
    plan_activity,
    plan_habits,
)
from memberops.demo.members import generate_members, plan_members
from memberops.demo.runner import verify_ledger
from memberops.demo.summary import figures
from memberops.demo.value import HistoryReport, generate_value
from memberops.ledger.models import LedgerEntry
from memberops.points.models import GiftRedemption, PointsLot
from memberops.wallet import queries as wallet_queries
from memberops.wallet.models import CashOut, Recharge, WalletPayment, WalletRefund
from tests.conftest import ON_POSTGRES, SHANGHAI
from tests.points_helpers import assert_consistent as assert_points_consistent
from tests.wallet_helpers import YUAN, all_wallet_members, assert_lots_mirror_ledger

PLAN = DemoPlan(members=500)
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Played:
    db: Database
    clock: FixedClock
    report: HistoryReport


def _play(db: Database, plan: DemoPlan = PLAN) -> tuple[FixedClock, HistoryReport]:
    clock = FixedClock(NOW, tz=SHANGHAI)
    generate_members(db, plan, clock)
    return clock, generate_value(db, plan, clock)


@pytest.fixture(scope="module")
def demo_url(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own, played once and read by every test here (the
    per-test databases of other fixtures never touch it)."""
    if not ON_POSTGRES:
        path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copyfile(migrated, path)
        yield f"sqlite:///{path}"
        return
    url = make_url(migrated)
    name = f"{url.database}_demo"
    admin = create_engine(migrated, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        admin.dispose()
        pytest.skip("the demo history needs a database of its own; may not create one")
    own = url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(own)
    yield own
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def played(demo_url: str) -> Iterator[Played]:
    """Given the demo's 500 members and their two years of wallet and points history."""
    db = Database(demo_url)
    clock, report = _play(db)
    yield Played(db, clock, report)
    db.dispose()


def _all(db: Database, model: type) -> list:
    with db.session(readonly=True) as session:
        return list(session.execute(select(model)).scalars())


def _local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


# --- what the history left behind ------------------------------------------------------

def test_the_ledger_verifies_and_lots_mirror_it(played: Played) -> None:
    verify_ledger(played.db)  # raises unless every balance matches its postings
    wallets = all_wallet_members(played.db)
    assert len(wallets) > 10
    assert_lots_mirror_ledger(played.db, *wallets)
    assert_points_consistent(played.db)  # every member's points lots, and verify again


def test_the_history_knew_every_wallet_balance(played: Played) -> None:
    """The history decides from its own model of each wallet (top up when low, pay when
    enough): that model must be what the ledger says."""
    with played.db.session(readonly=True) as session:
        ledger = {m: sum(wallet_queries.balances(session, m))
                  for m in all_wallet_members(played.db)}
    assert {m: b for m, b in ledger.items() if b} == played.report.wallets


def test_recharges_take_every_path(played: Played) -> None:
    recharges = _all(played.db, Recharge)
    settled = [r for r in recharges if r.status == "settled"]
    assert settled
    later = [r for r in settled if r.review_status == "none" and r.settled_at > r.created_at]
    assert later, "some online recharges were pending, then confirmed by the callback"
    approved = [r for r in settled if r.review_status == "approved"]
    assert approved, "held for review, then approved"
    assert any(r.review_status == "rejected" and r.status == "rejected" for r in recharges)
    assert any(r.status == "rejected" and r.risk_rule == "velocity" for r in recharges)
    assert any(r.status == "failed" for r in recharges)
    for held in (r for r in recharges if r.review_status != "none"):
        assert held.amount >= 5000 * YUAN and held.risk_rule == "review_threshold"
        if held.review_status != "held":
            assert held.reviewed_by == "operator:finance-demo"
            assert _local(held.reviewed_at).weekday() < 5, "finance works on weekdays"
    usual = {100 * YUAN, 500 * YUAN, 1000 * YUAN}
    assert sum(r.amount in usual for r in recharges) > len(recharges) / 2
    members = {r.member_id for r in recharges if r.status == "settled"}
    assert 0.15 * PLAN.members <= len(members) <= 0.35 * PLAN.members


def test_wallet_payments_refunds_and_cash_outs(played: Played) -> None:
    payments = _all(played.db, WalletPayment)
    assert len(payments) > 20
    typical = [p for p in payments if 15 * YUAN <= p.amount <= 120 * YUAN]
    assert len(typical) > 0.8 * len(payments)
    assert all(7 <= _local(p.created_at).hour <= 22 for p in payments), "store hours"
    assert all(p.cashback == p.amount // 100 for p in payments)
    refunds = _all(played.db, WalletRefund)
    assert refunds
    paid = {p.id: p for p in payments}
    for refund in refunds:
        payment = paid[refund.payment_id]
        assert timedelta(0) < refund.created_at - payment.created_at < timedelta(days=5)
        assert 8 <= _local(refund.created_at).hour < 22, "at the counter"
    assert _all(played.db, CashOut), "a member took the money on the card back"


def test_points_were_earned_released_spent_redeemed_and_expired(played: Played) -> None:
    with played.db.session(readonly=True) as session:
        kinds = Counter(dict(session.execute(
            select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)).all()))
    for kind in ("points.earn", "points.release", "points.bonus", "points.deduction",
                 "points.redeem", "points.expiry", "points.clawback", "points.adjustment"):
        assert kinds[kind] > 0, kind
    assert _all(played.db, GiftRedemption)
    assert played.report.released > 0 and played.report.expired > 0


def test_pending_points_are_released_by_the_nightly_job(played: Played) -> None:
    with played.db.session(readonly=True) as session:
        releases = session.execute(select(LedgerEntry.created_at, PointsLot.available_at).join(
            PointsLot, PointsLot.reference == LedgerEntry.reference).where(
            LedgerEntry.kind == "points.release", PointsLot.source == "order")).all()
        lots = list(session.execute(select(PointsLot).where(
            PointsLot.source == "order")).scalars())
    assert releases
    for released_at, available_at in releases:
        assert available_at <= released_at < available_at + timedelta(days=1)
    # The nightly job releases them, unless the member used points first (a spend settles).
    at_night = sum(_local(released_at).hour == 3 for released_at, _ in releases)
    assert at_night > 0.9 * len(releases)
    now = played.clock.now()
    assert all(lot.available_at - lot.earned_at == timedelta(days=7) for lot in lots)
    assert all(lot.status != "pending" for lot in lots if lot.available_at <= now - timedelta(
        days=1)), "nothing past its window waits more than a night"


def test_first_year_points_expire_at_the_end_of_the_next_year(played: Played) -> None:
    expiry = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    lots = _all(played.db, PointsLot)
    expired = [lot for lot in lots if lot.status == "expired"]
    assert expired
    assert all(lot.expires_at == expiry for lot in expired)
    assert all(_local(lot.earned_at).year == 2024 for lot in expired if lot.source != "return")
    assert not any(lot.status == "available" and lot.remaining and lot.expires_at <= expiry
                   for lot in lots)


def test_every_entry_falls_within_the_history(played: Played) -> None:
    with played.db.session(readonly=True) as session:
        times = sorted(session.execute(select(LedgerEntry.created_at)).scalars())
    assert NOW - timedelta(days=730) <= times[0] < NOW - timedelta(days=600)
    assert NOW - timedelta(days=7) < times[-1] <= NOW
    months = {(_local(at).year, _local(at).month) for at in times}
    assert len(months) >= 20, "activity in nearly every month of the two years"


def test_the_summary_adds_up(played: Played) -> None:
    with played.db.session(readonly=True) as session:
        found = figures(session, SHANGHAI)
    assert found.members == PLAN.members
    owed = found.points_owed.available + found.points_owed.pending
    assert owed == (found.points_issued + found.points_adjusted - found.points_redeemed
                    - found.points_expired)
    assert found.wallet_owed["total"] > 0 and found.wallet_payments > 20
    r = found.recharges
    assert r.held == r.approved + r.rejected_on_review + r.waiting_review
    assert r.rejected_by_rule >= 1 and r.failed >= 1


# --- the plan behind it (pure) --------------------------------------------------------

@pytest.fixture(scope="module")
def members() -> list[MemberFacts]:
    specs = plan_members(DemoPlan(members=2000), NOW, SHANGHAI)
    return [MemberFacts(i + 1, s.joined_at, s.channel, s.birthday,
                        None if s.referrer is None else s.referrer + 1,
                        bool(s.email and s.birthday and s.province), frozenset(s.tags))
            for i, s in enumerate(specs)]


def test_a_minority_keeps_a_wallet_and_many_drift_away(members: list[MemberFacts]) -> None:
    habits = plan_habits(DemoPlan(members=2000), members, NOW)
    wallets = sum(h.wallet for h in habits.values())
    assert 0.2 * len(members) <= wallets <= 0.3 * len(members)
    churned = sum(h.until < NOW for h in habits.values())
    assert 0.3 * len(members) < churned < 0.9 * len(members)
    assert all(h.until <= NOW for h in habits.values())


def test_visits_follow_the_shop(members: list[MemberFacts]) -> None:
    plan = DemoPlan(members=2000)
    habits = plan_habits(plan, members, NOW)
    events = plan_activity(plan, members, habits, NOW, SHANGHAI)
    assert events == sorted(events) and all(e.at < NOW for e in events)
    assert events == plan_activity(plan, members, habits, NOW, SHANGHAI), "reproducible"
    visits = [e for e in events if e.kind == "visit"]
    joined = {m.id: m.joined_at for m in members}
    assert all(joined[v.member_id] < v.at <= habits[v.member_id].until for v in visits)
    hours = Counter(_local(v.at).hour for v in visits)
    assert set(hours) <= set(range(7, 23)), "store hours (a 21:58 sign-up pays at 22:03)"
    assert hours[8] + hours[12] > hours[16] + hours[20], "morning and lunch peaks"
    weekend = sum(_local(v.at).weekday() >= 5 for v in visits) / len(visits)
    assert weekend > 2 / 7, "weekends are busier"


def test_busy_days_and_baskets() -> None:
    ordinary = busy_factor(date(2025, 3, 12))  # a Wednesday in March
    assert busy_factor(date(2025, 3, 15)) > ordinary  # Saturday
    assert busy_factor(date(2025, 1, 20)) > 1.3 * ordinary  # the week before 春节
    assert busy_factor(date(2025, 6, 18)) > busy_factor(date(2025, 6, 10)) > ordinary  # 618
    assert busy_factor(date(2025, 11, 11)) > busy_factor(date(2025, 11, 3)) > ordinary
    rng = DemoPlan().rng("test")
    lunch = [basket(rng, datetime(2025, 3, 12, 12, 10, tzinfo=SHANGHAI)) for _ in range(2000)]
    morning = [basket(rng, datetime(2025, 3, 12, 8, 10, tzinfo=SHANGHAI)) for _ in range(2000)]
    assert sum(lunch) > sum(morning), "lunch comes with food"
    assert all(15 * YUAN <= b <= 160 * YUAN for b in morning + lunch)
    season = [basket(rng, datetime(2025, 11, 8, 15, tzinfo=SHANGHAI)) for _ in range(2000)]
    assert any(b >= min(GIFT_BOXES) + 2200 for b in season), "gift boxes before Double 11"


# --- reproducible (last: it plays the history once more, in a database of its own) ------

def test_same_seed_same_history(played: Played, db: Database) -> None:
    _, report = _play(db)
    assert report.operations == played.report.operations
    with played.db.session(readonly=True) as first, db.session(readonly=True) as second:
        assert figures(first, SHANGHAI) == figures(second, SHANGHAI)
