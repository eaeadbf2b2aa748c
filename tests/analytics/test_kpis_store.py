"""The KPIs read from a real store (SQLite, or PostgreSQL with MEMBEROPS_TEST_DATABASE_URL):
the loader hands over what the in-memory world gives, and the balances agree with the
liability report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, insert
from sqlalchemy.types import TypeDecorator

from memberops import models_registry
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpis import as_json, compute_kpis, load_frames
from memberops.db import Base
from memberops.errors import ValidationFailed
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.points import queries as points_queries
from memberops.points import service as points_service
from memberops.programme import service as programme_service
from memberops.programme.schemas import MarketingSpend
from memberops.wallet import queries as wallet_queries
from memberops.wallet import service as wallet_service
from tests.analytics.test_kpis import AS_OF, MARCH, SPEND, TZ, WORLD, frames_of

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# Values the KPIs do not read but the tables require (and their checks accept).
REQUIRED = {
    "coupons": lambda row, i: {"valid_from": row["issued_at"],
                               "valid_until": row["issued_at"] + timedelta(days=30),
                               "template_id": 1, "source": "manual"},
    "plus_periods": lambda row, i: {"payment_method": "external", "price": 9_900,
                                    "kind": "purchase"},
    "gift_redemptions": lambda row, i: {"gift_id": 1, "quantity": 1, "points": 100},
    "gift_items": lambda row, i: {"points_price": 100, "stock": 1},
}


def _base(kind: Any) -> Any:
    return kind.impl if isinstance(kind, TypeDecorator) else kind


def _filled(table: str, row: dict[str, Any], i: int) -> dict[str, Any]:
    """The row with every required column the KPIs do not read given a plain value."""
    columns = Base.metadata.tables[table].columns
    when = next((v for v in row.values() if isinstance(v, datetime)), EPOCH)
    full = {**REQUIRED.get(table, lambda r, n: {})(row, i), **row}
    for c in columns:
        if c.name in full or c.nullable or c.primary_key or c.default is not None \
                or c.server_default is not None:
            continue
        kind = _base(c.type)
        if isinstance(kind, DateTime) or "DateTime" in type(c.type).__name__:
            full[c.name] = when
        elif isinstance(kind, Boolean):
            full[c.name] = False
        elif isinstance(kind, Integer):
            full[c.name] = 0
        elif isinstance(kind, String):
            full[c.name] = f"{c.name[:6]}-{table[:6]}-{i}"[: kind.length or 40]
        elif isinstance(kind, JSON) or "JSON" in type(c.type).__name__:
            full[c.name] = {}
        else:
            raise AssertionError(f"no filler for {table}.{c.name} ({c.type})")
    return full


def store_world(db, world: dict[str, list[dict[str, Any]]]) -> None:
    """Insert the in-memory world into the database, table by table, in one transaction."""
    models_registry.load_all()
    rows = dict(world)
    rows["ledger_postings"] = [
        {"entry_id": e["id"], "source": s, "destination": d, "asset": a, "amount": n}
        for e in world["ledger_entries"] for s, d, a, n in e["postings"]]
    rows["ledger_entries"] = [{k: v for k, v in e.items() if k != "postings"}
                              for e in world["ledger_entries"]]
    rows["coupon_templates"] = [{"id": 1, "code": "welcome", "name": "Welcome",
                                 "kind": "amount_off", "validity": "days"}]
    rows["gift_items"] = [{"id": 1, "sku": "mug", "name": "Mug"}]
    order = ["members", "coupon_templates", "gift_items", "ledger_entries",
             "ledger_postings", "orders", "recharges", "points_bonus_claims",
             "gift_redemptions", "coupons", "plus_periods", "tier_changes"]
    with db.session() as session:
        for table in order:
            if rows.get(table):
                session.execute(insert(Base.metadata.tables[table]),
                                [_filled(table, r, i) for i, r in enumerate(rows[table])])
        session.commit()


def test_the_store_gives_what_the_frames_give(db, database_url) -> None:
    # given the hand-computed world in the database
    store_world(db, WORLD)
    # when
    loaded = compute_kpis(load_frames(database_url), MARCH, time_zone=TZ, as_of=AS_OF,
                          spend=SPEND)
    # then: the same figures as the in-memory world (tested one by one in test_kpis.py)
    in_memory = compute_kpis(frames_of(WORLD), MARCH, time_zone=TZ, as_of=AS_OF, spend=SPEND)
    assert as_json(loaded) == as_json(in_memory)
    assert loaded.value("orders") == 3 and loaded.value("net_sales") == 16_000
    assert loaded.value("points_outstanding") == 225
    assert loaded.current.breakdowns["members_by_region"]["unknown"] == 1


def test_filters_on_the_store(db, database_url) -> None:
    store_world(db, WORLD)
    tables = load_frames(database_url)
    by_store = compute_kpis(tables, MARCH, Filters(store="S1"), time_zone=TZ, as_of=AS_OF)
    assert by_store.value("orders") == 2 and by_store.value("members_total") == 1
    nobody = compute_kpis(tables, MARCH, Filters(tier="diamond"), time_zone=TZ, as_of=AS_OF)
    assert nobody.value("members_total") == 0 and nobody.value("arpu") is None


def test_an_empty_store(database_url) -> None:
    report = compute_kpis(load_frames(database_url), MARCH, time_zone=TZ, as_of=AS_OF)
    assert report.value("members_total") == 0 and report.value("orders") == 0
    assert report.value("average_order_value") is None


def test_balances_agree_with_the_liability_report(make_uow, clock, database_url) -> None:
    # given value moved by the services: recharges, a wallet payment, points earned
    # (pending), a bonus (available) and a redemption
    with make_uow() as uow:
        one = members_service.register_member(uow, MemberCreate(phone="13800000001"))
        two = members_service.register_member(uow, MemberCreate(phone="13800000002"))
        wallet_service.recharge(uow, member_id=one.id, amount=100_000, payment_ref="r1",
                                key="r1")
        wallet_service.recharge(uow, member_id=two.id, amount=10_000, payment_ref="r2",
                                key="r2")
        points_service.award_bonus(uow, member_id=one.id, action="profile_completed",
                                   key="b1")
        points_service.earn_for_purchase(uow, member_id=two.id, amount_paid=12_345,
                                         reference="order-1", key="e1")
    clock.advance(timedelta(minutes=1))
    with make_uow() as uow:
        wallet_service.pay(uow, member_id=one.id, amount=30_000, payment_ref="p1", key="p1")
    clock.advance(timedelta(minutes=1))
    # when the KPIs are taken for the month up to today
    today = clock.today()
    report = compute_kpis(load_frames(database_url), Period(today.replace(day=1), today),
                          time_zone=TZ, as_of=clock.now())
    # then they hold what the liability report holds
    with make_uow(readonly=True) as uow:
        points = points_queries.liability(uow.session, clock.tz)
        stored = wallet_queries.liability(uow.session)
    assert report.value("outstanding_principal") == stored["principal"] > 0
    assert report.value("outstanding_bonus") == stored["bonus"] > 0
    assert report.value("points_available") == points.available == 50
    assert report.value("points_pending") == points.pending == 123
    assert report.value("recharge_amount") == 110_000
    assert report.value("recharge_bonus_cost") == 25_000 + 1_500
    assert report.value("points_issued") == 173


def test_marketing_spend_is_validated_configuration(make_uow) -> None:
    with make_uow(readonly=True) as uow:
        assert programme_service.current(uow.session, MarketingSpend).spend == []
    with make_uow() as uow:
        version = programme_service.save(uow, "marketing_spend", {"spend": [
            {"channel": "app", "month": "2026-03", "amount": 31_000}]}, note="March")
    assert version == 1
    with make_uow(readonly=True) as uow:
        saved = programme_service.current(uow.session, MarketingSpend)
    assert saved.spend[0].amount == 31_000
    for bad in ({"spend": [{"channel": "app", "month": "2026-13", "amount": 1}]},
                {"spend": [{"channel": "app", "month": "2026-03", "amount": -1}]},
                {"spend": [{"channel": "app", "month": "2026-03", "amount": 1.5}]},
                {"spend": [{"channel": "app", "month": "2026-03", "amount": 1}] * 2},
                {"spend": [{"channel": "", "month": "2026-03", "amount": 1}]}):
        with make_uow() as uow, pytest.raises(ValidationFailed):
            programme_service.save(uow, "marketing_spend", bad)


def test_a_year_ago_on_29_february(database_url) -> None:
    leap = Period(date(2028, 2, 29), date(2028, 2, 29))
    report = compute_kpis(load_frames(database_url), leap, time_zone=TZ, as_of=AS_OF)
    assert report.year_ago.period == Period(date(2027, 2, 28), date(2027, 2, 28))
