"""What-if: a proposed ladder replayed on the last 12 months — moves per tier and the
change in discount cost — changing nothing, in a fixed number of statements."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from memberops.errors import ValidationFailed
from memberops.tiers import service as tiers_service
from tests.conftest import SHANGHAI, read_queries
from tests.tiers_helpers import (
    floor,
    ladder_data,
    new_member,
    recharge,
    refund,
    snapshot,
    spend,
)


def population(make_uow) -> dict[str, int]:
    """Members with known windows: 500, 1,500, 3,000 (after a refund), 6,000 and 25,000
    yuan; one recharged 10,000; one held at gold by a floor; one spend too old to count."""
    ids = {}
    for n, (name, yuan) in enumerate([("low", 500), ("silver", 1_500), ("silver2", 3_500),
                                      ("gold", 6_000), ("diamond", 25_000)], start=1):
        ids[name] = new_member(make_uow, n)
        spend(make_uow, ids[name], yuan, f"o-{name}")
    refund(make_uow, ids["silver2"], 500, "r-silver2")
    ids["recharger"] = new_member(make_uow, 6)
    recharge(make_uow, ids["recharger"], 10_000, "pay-6")
    ids["floored"] = new_member(make_uow, 7)
    floor(make_uow, ids["floored"], "gold", date(2026, 12, 31))
    ids["old"] = new_member(make_uow, 8)
    spend(make_uow, ids["old"], 30_000, "o-old", at=datetime(2025, 6, 1, tzinfo=SHANGHAI))
    return ids


def what_if(make_uow, data):
    with make_uow(readonly=True) as uow:
        return tiers_service.what_if(uow, data)


def test_the_ladder_in_force_proposed_again_moves_nobody(make_uow, db) -> None:
    population(make_uow)
    report = what_if(make_uow, ladder_data())
    result = report.result
    assert (result.members, result.up, result.down, result.discount_change) == (8, 0, 0, 0)
    assert {c: (t.current, t.baseline) for c, t in result.tiers.items()} == {
        "regular": (2, 2), "silver": (2, 2), "gold": (2, 2), "diamond": (2, 2)}
    # 1,500×2% + 3,000×2% + 6,000×5% + 25,000×8% (the floored and recharging members spent
    # nothing), in fen
    assert result.discount_baseline == (150_000 * 2 + 300_000 * 2 + 600_000 * 5
                                        + 2_500_000 * 8) // 100


def test_a_stricter_ladder_moves_members_down_and_costs_less(make_uow, db) -> None:
    ids = population(make_uow)
    data = ladder_data()
    data["tiers"][1]["qualify"]["net_spend"] = 200_000  # silver at 2,000
    data["tiers"][3]["qualify"] = {"net_spend": 3_000_000}  # diamond: no recharge route
    data["tiers"][3]["benefits"]["discount_pct"] = 10
    result = what_if(make_uow, data).result
    # The recharger loses its recharge route to diamond and has spent nothing.
    assert dict(result.moves) == {("silver", "regular"): 1, ("diamond", "gold"): 1,
                                  ("diamond", "regular"): 1}
    assert (result.up, result.down) == (0, 3)
    assert (result.tiers["silver"].down, result.tiers["diamond"].down) == (1, 2)
    # The floored member stays gold under both ladders (its floor names gold).
    assert {c: t.proposed for c, t in result.tiers.items()} == {
        "regular": 4, "silver": 1, "gold": 3, "diamond": 0}
    # member "silver" 1,500 × (0 − 2)%, member "diamond" 25,000 × (5 − 8)%
    assert result.discount_change == -(150_000 * 2 + 2_500_000 * 3) // 100
    assert len(ids) == result.members == 8


def test_what_if_changes_nothing(make_uow, db) -> None:
    population(make_uow)
    before = snapshot(db)
    data = ladder_data()
    data["tiers"][1]["qualify"]["net_spend"] = 50_000
    assert what_if(make_uow, data).result.up == 1
    assert snapshot(db) == before


def test_a_bad_proposal_is_refused_with_the_field(make_uow, db) -> None:
    data = ladder_data()
    data["tiers"][2]["qualify"]["net_spend"] = 50_000
    with pytest.raises(ValidationFailed) as refused:
        what_if(make_uow, data)
    assert refused.value.errors[0]["field"] == "tiers"
    assert "rise strictly" in refused.value.detail


def test_the_statements_do_not_grow_with_the_members(make_uow, db) -> None:
    def statements_for(members: int, start: int) -> int:
        for n in range(start, start + members):
            spend(make_uow, new_member(make_uow, n), 100 * n, f"o-{n}")
        with read_queries(db) as seen:
            what_if(make_uow, ladder_data())
        return len(seen)

    assert statements_for(3, 1) == statements_for(40, 100) <= 2
