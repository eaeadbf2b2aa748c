"""Migration 0004 moves the tier multipliers out of stored earning rules: versions saved
before it still load, and multipliers an operator had changed reach the tier ladder."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, insert, select

from memberops import migrate
from memberops.programme import service as programme_service
from memberops.programme.models import ConfigVersion
from memberops.programme.schemas import EarningRules, TierLadder
from memberops.tiers.rules import benefits_of


def _stored(database_url: str, rows: list[dict]) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(ConfigVersion.__table__), [
            {"kind": "earning_rules", "note": None, "created_at": datetime.now(UTC),
             "created_by": "test", **row} for row in rows])
    engine.dispose()


def test_changed_multipliers_are_carried_into_the_ladder(database_url, db) -> None:
    migrate.downgrade(database_url, "0003")
    old = EarningRules().model_dump(mode="json")
    _stored(database_url, [
        {"version": 1, "data": {**old, "tier_multiplier_pct": {
            "regular": 100, "silver": 120, "gold": 150, "diamond": 200}}},
        {"version": 2, "data": {**old, "points_per_yuan": 2, "tier_multiplier_pct": {
            "regular": 100, "silver": 130, "gold": 150, "diamond": 250}}}])
    migrate.upgrade(database_url)
    with db.session(readonly=True) as s:
        stored = s.execute(select(ConfigVersion.data).where(
            ConfigVersion.kind == "earning_rules").order_by(ConfigVersion.version)).scalars()
        assert all("tier_multiplier_pct" not in data for data in stored)
        assert programme_service.current(s, EarningRules).points_per_yuan == 2
        ladder = programme_service.current(s, TierLadder)
        assert programme_service.current_version(s, "tiers") == 1
    assert [benefits_of(ladder, c).points_multiplier_pct
            for c in ("regular", "silver", "gold", "diamond")] == [100, 130, 150, 250]
    assert ladder.model_dump(exclude={"tiers"}) == TierLadder().model_dump(exclude={"tiers"})
    assert [t.qualify for t in ladder.tiers] == [t.qualify for t in TierLadder().tiers]


def test_the_reference_multipliers_leave_the_ladder_as_it_is(database_url, db) -> None:
    migrate.downgrade(database_url, "0003")
    _stored(database_url, [{"version": 1, "data": {
        **EarningRules().model_dump(mode="json"),
        "tier_multiplier_pct": {"regular": 100, "silver": 120, "gold": 150, "diamond": 200}}}])
    migrate.upgrade(database_url)
    with db.session(readonly=True) as s:
        assert programme_service.current_version(s, "tiers") == 0
        assert programme_service.current(s, TierLadder) == TierLadder()
