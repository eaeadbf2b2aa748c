"""The demo's stored value and points: a small history through the services (80 members,
a fixed clock; shared with test_demo_orders), then what it left behind — and the pure
planning behind it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from memberops.demo.activity import busy_factor, plan_activity, plan_habits
from memberops.demo.runner import verify_ledger
from memberops.demo.summary import figures
from memberops.ledger.models import LedgerEntry
from memberops.points.models import GiftRedemption, PointsLot
from memberops.wallet import queries as wallet_queries
from memberops.wallet.models import CashOut, Recharge, WalletPayment, WalletRefund
from tests.conftest import SHANGHAI
from tests.demo_helpers import NOW, PLAN, Played, all_rows, local, planned, played
from tests.points_helpers import assert_consistent as assert_points_consistent
from tests.wallet_helpers import YUAN, all_wallet_members, assert_lots_mirror_ledger


@pytest.fixture(scope="module")
def history(migrated: str) -> Played:
    return played(migrated)


# --- what the history left behind ------------------------------------------------------

def test_the_ledger_verifies_and_lots_mirror_it(history: Played) -> None:
    verify_ledger(history.db)  # raises unless every balance matches its postings
    wallets = all_wallet_members(history.db)
    assert len(wallets) > 10
    assert_lots_mirror_ledger(history.db, *wallets)
    assert_points_consistent(history.db)  # every member's points lots, and verify again


def test_the_history_knew_every_wallet_balance(history: Played) -> None:
    """The history decides from its own model of each wallet (top up when low, pay when
    enough): that model must be what the ledger says."""
    with history.db.session(readonly=True) as session:
        ledger = {m: sum(wallet_queries.balances(session, m))
                  for m in all_wallet_members(history.db)}
    assert {m: b for m, b in ledger.items() if b} == history.report.wallets


def test_recharges_take_every_path(history: Played) -> None:
    recharges = all_rows(history.db, Recharge)
    settled = [r for r in recharges if r.status == "settled"]
    later = [r for r in settled if r.review_status == "none" and r.settled_at > r.created_at]
    assert later, "some online recharges were pending, then confirmed by the callback"
    assert any(r.review_status == "approved" for r in settled), "held, then approved"
    assert any(r.review_status == "rejected" and r.status == "rejected" for r in recharges)
    assert any(r.status == "rejected" and r.risk_rule == "velocity" for r in recharges)
    assert any(r.status == "failed" for r in recharges)
    for held in (r for r in recharges if r.review_status != "none"):
        assert held.amount >= 5000 * YUAN and held.risk_rule == "review_threshold"
        if held.review_status != "held":
            assert held.reviewed_by == "operator:finance-demo"
            assert local(held.reviewed_at).weekday() < 5, "finance works on weekdays"
    usual = {100 * YUAN, 500 * YUAN, 1000 * YUAN}
    assert sum(r.amount in usual for r in recharges) > len(recharges) / 2
    members = {r.member_id for r in settled}
    assert 0.1 * PLAN.members <= len(members) <= 0.4 * PLAN.members


def test_wallet_payments_refunds_and_cash_outs(history: Played) -> None:
    payments = all_rows(history.db, WalletPayment)
    assert len(payments) > 100
    assert all(p.cashback == p.amount // 100 for p in payments)
    refunds = all_rows(history.db, WalletRefund)
    assert refunds, "orders paid from the wallet were refunded to it"
    paid = {p.id: p for p in payments}
    for refund in refunds:
        assert timedelta(0) < refund.created_at - paid[refund.payment_id].created_at \
            < timedelta(days=4)
    assert all_rows(history.db, CashOut), "a member took the money on the card back"


def test_points_were_earned_released_spent_redeemed_and_expired(history: Played) -> None:
    with history.db.session(readonly=True) as session:
        kinds = Counter(dict(session.execute(
            select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)).all()))
    for kind in ("points.earn", "points.release", "points.bonus", "points.deduction",
                 "points.redeem", "points.expiry", "points.clawback", "points.adjustment"):
        assert kinds[kind] > 0, kind
    assert all_rows(history.db, GiftRedemption)
    assert history.report.released > 0 and history.report.expired > 0


def test_pending_points_are_released_by_the_nightly_job(history: Played) -> None:
    with history.db.session(readonly=True) as session:
        releases = session.execute(select(LedgerEntry.created_at, PointsLot.available_at).join(
            PointsLot, PointsLot.reference == LedgerEntry.reference).where(
            LedgerEntry.kind == "points.release", PointsLot.source == "order")).all()
        lots = list(session.execute(select(PointsLot).where(
            PointsLot.source == "order")).scalars())
    assert releases
    for released_at, available_at in releases:
        assert available_at <= released_at < available_at + timedelta(days=1)
    # The nightly job releases them, unless the member used points first (a spend settles).
    at_night = sum(local(released_at).hour == 3 for released_at, _ in releases)
    assert at_night > 0.8 * len(releases)
    now = history.clock.now()
    assert all(lot.available_at - lot.earned_at == timedelta(days=7) for lot in lots)
    assert all(lot.status != "pending" for lot in lots if lot.available_at <= now - timedelta(
        days=1)), "nothing past its window waits more than a night"


def test_first_year_points_expire_at_the_end_of_the_next_year(history: Played) -> None:
    expiry = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    lots = all_rows(history.db, PointsLot)
    expired = [lot for lot in lots if lot.status == "expired"]
    assert expired
    assert all(lot.expires_at == expiry for lot in expired)
    assert all(local(lot.earned_at).year == 2024 for lot in expired if lot.source != "return")
    assert not any(lot.status == "available" and lot.remaining and lot.expires_at <= expiry
                   for lot in lots)


def test_every_entry_falls_within_the_history(history: Played) -> None:
    with history.db.session(readonly=True) as session:
        times = sorted(session.execute(select(LedgerEntry.created_at)).scalars())
    assert NOW - timedelta(days=730) <= times[0] < NOW - timedelta(days=600)
    assert NOW - timedelta(days=7) < times[-1] <= NOW
    months = {(local(at).year, local(at).month) for at in times}
    assert len(months) >= 20, "activity in nearly every month of the two years"


def test_the_summary_adds_up(history: Played) -> None:
    with history.db.session(readonly=True) as session:
        found = figures(session, SHANGHAI)
    assert found.members == PLAN.members
    owed = found.points_owed.available + found.points_owed.pending
    assert owed == (found.points_issued + found.points_adjusted - found.points_redeemed
                    - found.points_expired)
    assert found.wallet_owed["total"] > 0 and found.wallet_payments > 100
    r = found.recharges
    assert r.held == r.approved + r.rejected_on_review + r.waiting_review
    assert r.rejected_by_rule >= 1 and r.failed >= 1
    o = found.orders
    assert o.orders == history.report.operations["order"]
    assert 0 < o.refunded < o.revenue and o.refunds == history.report.operations["refund"]
    assert sum(found.tiers.values()) == PLAN.members


# --- the plan behind it (pure) --------------------------------------------------------

def test_a_minority_keeps_a_wallet_and_many_drift_away() -> None:
    found = planned()
    wallets = sum(h.wallet for h in found.habits.values())
    assert 0.2 * len(found.members) <= wallets <= 0.35 * len(found.members)
    churned = sum(h.until < NOW for h in found.habits.values())
    assert 0.25 * len(found.members) < churned < 0.7 * len(found.members)
    assert all(h.until <= NOW for h in found.habits.values())


def test_busy_days() -> None:
    ordinary = busy_factor(date(2025, 3, 12))  # a Wednesday in March
    assert busy_factor(date(2025, 3, 15)) > ordinary  # Saturday
    assert busy_factor(date(2025, 1, 20)) > 1.3 * ordinary  # the week before 春节
    assert busy_factor(date(2025, 1, 30)) < ordinary  # the holiday: the cities empty out
    assert busy_factor(date(2025, 6, 18)) > busy_factor(date(2025, 6, 10)) > ordinary  # 618
    assert busy_factor(date(2025, 11, 11)) > busy_factor(date(2025, 11, 3)) > ordinary


def test_the_plan_is_reproducible() -> None:
    found = planned()
    events = found.events
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(e.at < NOW for e in events)
    members = found.members[:500]  # the same members plan the same events again
    again = plan_activity(found.plan, members, plan_habits(found.plan, members, NOW, SHANGHAI),
                          NOW, SHANGHAI)
    assert again == plan_activity(found.plan, members, plan_habits(
        found.plan, members, NOW, SHANGHAI), NOW, SHANGHAI)
