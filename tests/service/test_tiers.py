"""Qualifying activity and upgrades at once (the reference ladder, rule by rule), against a
real database: refunds deducted, Diamond by recharge, the rolling window, idempotency on
the reference, what the orders flow reads, and bad input changing nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict, NotFound, ValidationFailed
from memberops.members import queries as member_queries
from memberops.members import service as members_service
from memberops.points import service as points_service
from memberops.tiers import queries
from memberops.tiers import service as tiers_service
from memberops.tiers.models import TierActivity
from tests.conftest import ON_POSTGRES, SHANGHAI
from tests.tiers_helpers import (
    YUAN,
    events,
    history,
    ladder_data,
    new_member,
    recharge,
    refund,
    save_ladder,
    snapshot,
    spend,
    state,
    tier,
)


def test_regular_until_one_thousand_yuan_then_silver_at_once(make_uow, db) -> None:
    member = new_member(make_uow)
    assert spend(make_uow, member, 999.99, "o-1").tier == "regular"
    assert tier(db, member) == "regular" and state(db, member) is None  # created lazily
    done = spend(make_uow, member, 0.01, "o-2")
    assert (done.previous, done.tier, done.upgraded) == ("regular", "silver", True)
    assert tier(db, member) == "silver"
    assert history(db, member) == [("regular", "silver", "upgrade")]
    found = state(db, member)
    assert found is not None and found.review_due == date(2027, 6, 15)  # held 12 months
    assert events(db, member)[0] == ("tier.changed", {
        "member_id": member, "before": "regular", "after": "silver", "reason": "upgrade",
        "review_due": "2027-06-15"})
    with db.session(readonly=True) as s:
        audit = s.execute(select(AuditEntry).where(AuditEntry.action == "tier.upgrade")
                          ).scalar_one()
        assert audit.changes["tier"] == {"before": "regular", "after": "silver"}
        assert audit.changes["activity"]["after"] == {"net_spend": 100_000}
        summary = member_queries.timeline(s, member, limit=1)[0].summary
    assert summary == "Tier regular → silver (upgrade)"


@pytest.mark.parametrize(("yuan", "expected"), [(4_999.99, "silver"), (5_000, "gold"),
                                                (19_999.99, "gold"), (20_000, "diamond")])
def test_gold_and_diamond_thresholds_one_order_can_skip_steps(make_uow, db, yuan,
                                                              expected) -> None:
    member = new_member(make_uow)
    assert spend(make_uow, member, yuan, "o-1").tier == expected
    assert history(db, member) == [("regular", expected, "upgrade")]


def test_diamond_at_ten_thousand_yuan_recharged_in_total(make_uow, db) -> None:
    member = new_member(make_uow)
    assert recharge(make_uow, member, 6_000, "pay-1").tier == "regular"
    assert recharge(make_uow, member, 3_999.99, "pay-2").tier == "regular"
    assert recharge(make_uow, member, 0.01, "pay-3").tier == "diamond"
    assert history(db, member) == [("regular", "diamond", "upgrade")]


def test_a_cash_out_takes_its_principal_off_the_recharge_total(make_uow, db,
                                                                clock) -> None:
    # Through the wallet: ¥8,000 recharged and cashed out counts for nothing, so the
    # next ¥8,000 still leaves the member Regular and ¥2,000 more makes Diamond.
    from memberops.wallet import service as wallet_service

    member = new_member(make_uow)

    def top_up(yuan: int, ref: str) -> None:
        clock.advance(timedelta(minutes=30))  # apart: the velocity rule is not the subject
        with make_uow() as uow:
            wallet_service.recharge(uow, member_id=member, amount=yuan * YUAN,
                                    payment_ref=ref)

    top_up(4_000, "pay-1")
    top_up(4_000, "pay-2")
    with make_uow() as uow:
        out = wallet_service.cash_out(uow, member_id=member, cash_out_ref="co-1",
                                      reason="moving away")
    assert out.principal_refunded == 800_000
    clock.advance(timedelta(days=1))  # the daily recharge limit is not the subject either
    top_up(4_000, "pay-3")
    top_up(4_000, "pay-4")
    assert tier(db, member) == "regular"
    with db.session(readonly=True) as s:
        found = queries.sums(s, member, queries.ladder(s), clock.now() + timedelta(seconds=1),
                             SHANGHAI)
    assert found.recharge == 800_000
    top_up(2_000, "pay-5")
    assert tier(db, member) == "diamond"
    with make_uow() as uow:  # a retried cash-out is counted once
        wallet_service.cash_out(uow, member_id=member, cash_out_ref="co-1",
                                reason="moving away")
    with db.session(readonly=True) as s:
        kinds = s.execute(select(TierActivity.kind, TierActivity.amount)
                          .where(TierActivity.member_id == member)
                          .order_by(TierActivity.id)).all()
    assert [tuple(k) for k in kinds] == [
        ("recharge", 400_000), ("recharge", 400_000), ("cash_out", -800_000),
        ("recharge", 400_000), ("recharge", 400_000), ("recharge", 200_000)]


def test_refunds_are_deducted_and_never_downgrade(make_uow, db) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 1_200, "o-1")
    assert tier(db, member) == "silver"
    refund(make_uow, member, 1_200, "r-1", full=True)
    assert tier(db, member) == "silver"  # kept until the review, never downgraded here
    other = new_member(make_uow, 2)
    spend(make_uow, other, 900, "o-2")
    refund(make_uow, other, 300, "r-2")
    assert spend(make_uow, other, 399.99, "o-3").tier == "regular"  # 999.99 net
    assert spend(make_uow, other, 0.01, "o-4").tier == "silver"
    with db.session(readonly=True) as s:
        found = queries.sums(s, other, queries.ladder(s),
                             datetime(2026, 6, 16, tzinfo=SHANGHAI), SHANGHAI)
    assert (found.net_spend, found.orders, found.recharge) == (100_000, 3, 0)


def test_a_full_refund_takes_the_order_off_the_count(make_uow, db) -> None:
    data = ladder_data()
    for n, rung in enumerate(data["tiers"][1:], start=1):
        rung["qualify"] = {"orders": n * 3}
    save_ladder(make_uow, data)
    member = new_member(make_uow)
    spend(make_uow, member, 10, "o-1")
    spend(make_uow, member, 10, "o-2")
    refund(make_uow, member, 10, "r-2", full=True)
    refund(make_uow, member, 5, "r-1")  # partial: the order still counts
    assert spend(make_uow, member, 10, "o-3").tier == "regular"  # 2 orders
    assert spend(make_uow, member, 10, "o-4").tier == "silver"  # 3 orders


def test_only_the_rolling_twelve_months_count(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    thirteen_months_ago = datetime(2025, 5, 15, 12, tzinfo=SHANGHAI)
    assert spend(make_uow, member, 5_000, "old", at=thirteen_months_ago).tier == "regular"
    eleven_months_ago = datetime(2025, 7, 15, 12, tzinfo=SHANGHAI)
    assert spend(make_uow, member, 1_000, "recent", at=eleven_months_ago).tier == "silver"
    clock.set(datetime(2026, 7, 16, 10, tzinfo=SHANGHAI))  # the recent spend has left
    assert spend(make_uow, member, 100, "now").tier == "silver"  # no downgrade here


def test_the_same_reference_counts_once(make_uow, db) -> None:
    member = new_member(make_uow)
    first = spend(make_uow, member, 800, "o-1")
    again = spend(make_uow, member, 800, "o-1")
    assert (first.counted, again.counted) == (True, False)
    assert refund(make_uow, member, 800, "o-1").counted  # another kind: its own reference
    with db.session(readonly=True) as s:
        assert len(s.execute(select(TierActivity)).scalars().all()) == 2
    other = new_member(make_uow, 2)
    before = snapshot(db)
    with pytest.raises(Conflict) as refused:
        spend(make_uow, member, 900, "o-1")
    assert refused.value.code == "tier_activity_reused"
    with pytest.raises(Conflict):
        spend(make_uow, other, 800, "o-1")
    assert snapshot(db) == before


@pytest.mark.parametrize(("call", "field"), [
    (lambda s, m: s.record_spend(amount=-1, member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_spend(amount=10.5, member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_spend(amount=True, member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_spend(amount="100", member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_spend(amount=100, member_id=m, reference="  "), "reference"),
    (lambda s, m: s.record_spend(amount=100, member_id=m, reference="x" * 121), "reference"),
    (lambda s, m: s.record_recharge(amount=0, member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_refund(amount=0, member_id=m, reference="x"), "amount"),
    (lambda s, m: s.record_spend(amount=100, member_id=m, reference="x",
                                 occurred_at=datetime(2026, 6, 15)), "occurred_at"),
    (lambda s, m: s.record_spend(amount=100, member_id=m, reference="x",
                                 occurred_at=datetime(2026, 6, 16, tzinfo=SHANGHAI)),
     "occurred_at"),
])
def test_bad_input_is_refused_and_changes_nothing(make_uow, db, call, field) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as refused, make_uow() as uow:
        call(_Bound(uow), member)
    assert refused.value.errors[0]["field"] == field
    assert snapshot(db) == before


class _Bound:
    """tiers_service with the unit of work already given (for the parametrised calls)."""

    def __init__(self, uow) -> None:
        self.uow = uow

    def __getattr__(self, name: str):
        return lambda **kw: getattr(tiers_service, name)(self.uow, **kw)


def test_unknown_member_is_a_404(make_uow, db) -> None:
    with pytest.raises(NotFound) as missing, make_uow() as uow:
        tiers_service.record_spend(uow, member_id=999, amount=100, reference="o-1")
    assert missing.value.code == "member_not_found"


def test_a_closed_members_activity_is_kept_but_the_tier_stays(make_uow, db) -> None:
    member = new_member(make_uow)
    with make_uow() as uow:
        members_service.change_status(uow, member, "closed", "left the programme")
    assert spend(make_uow, member, 6_000, "o-1").tier == "regular"
    assert tier(db, member) == "regular" and history(db, member) == []


@pytest.mark.skipif(ON_POSTGRES, reason="counted with SQLite's trace callback; the "
                    "statements are the same on PostgreSQL")
def test_recording_runs_a_handful_of_statements(make_uow, db) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 10, "warm-up")
    statements: list[str] = []

    def seen(statement: str) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT")):
            statements.append(statement)

    # At the driver: the hot path's prepared statements bypass SQLAlchemy's events.
    with make_uow() as uow:
        driver = uow.session.connection().connection.driver_connection
        driver.set_trace_callback(seen)
        try:
            tiers_service.record_spend(uow, member_id=member, amount=1_000, reference="o-1")
        finally:
            driver.set_trace_callback(None)
    # member lock, activity insert, the ladder in force, one window sum
    assert 3 <= len(statements) <= 4, statements


def test_benefits_for_the_orders_flow(make_uow, db) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 5_000, "o-1")
    with db.session(readonly=True) as s:
        gold = tiers_service.benefits(s, member)
        assert (gold.code, gold.discount_pct, gold.points_multiplier_pct, gold.free_shipping,
                gold.birthday_coupon, gold.priority_service) == \
            ("gold", 5, 150, True, True, False)
        assert tiers_service.benefits(s, "diamond").priority_service is True
        with pytest.raises(NotFound) as unknown:
            tiers_service.benefits(s, "platinum")
        assert unknown.value.code == "tier_not_found"
        with pytest.raises(NotFound):
            tiers_service.benefits(s, 999)


def test_points_follow_the_tier_multiplier_of_the_ladder(make_uow, db) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 5_000, "o-1")
    with make_uow() as uow:
        lot = points_service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                               reference="o-2", key="earn-o-2")
    assert lot is not None and lot.original == 150  # gold ×1.5 on a Monday


def test_a_ladder_change_applies_to_the_next_activity(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 800, "o-1")
    data = ladder_data()
    data["tiers"][1]["qualify"]["net_spend"] = 50_000
    save_ladder(make_uow, data)
    clock.advance(timedelta(minutes=1))
    assert spend(make_uow, member, 1, "o-2").tier == "silver"
