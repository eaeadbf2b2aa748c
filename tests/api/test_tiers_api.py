"""Tiers over HTTP: the ladder with member counts, a member's tier with progress, history,
floors (admin only), what-if (nothing changed), the ladder as programme configuration, and
every refusal a clear problem with its code and nothing changed."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.tiers_helpers import (
    YUAN,
    floor,
    ladder_data,
    new_member,
    recharge,
    snapshot,
    spend,
    tier,
)

API = "/api/v1"


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["detail"]
    return body


@pytest.fixture
def member(make_uow) -> int:
    return new_member(make_uow)


def test_the_ladder_with_members_per_tier(client: TestClient, auth, make_uow) -> None:
    for n, yuan in enumerate((10, 1_500, 2_000, 6_000), start=1):
        spend(make_uow, new_member(make_uow, n), yuan, f"o-{n}")
    body = client.get(f"{API}/tiers", headers=auth("till")).json()
    assert body["version"] == 0 and body["retention_pct"] == 80
    assert [(t["code"], t["name_zh"], t["qualify"]["net_spend"], t["benefits"]["discount_pct"],
             t["members"]) for t in body["tiers"]] == [
        ("regular", "普通", 0, 0, 1), ("silver", "银卡", 100_000, 2, 2),
        ("gold", "金卡", 500_000, 5, 1), ("diamond", "钻石", 2_000_000, 8, 0)]
    assert body["tiers"][3]["qualify"]["recharge"] == 1_000_000
    assert body["other_tiers"] == {}


def test_a_members_tier_with_progress(client, auth, make_uow, member) -> None:
    spend(make_uow, member, 5_200, "o-1")
    recharge(make_uow, member, 2_000, "pay-1")
    body = client.get(f"{API}/members/{member}/tier", headers=auth("till")).json()
    assert body["tier"] == "gold" and body["anniversary"] == "2027-06-15"
    assert body["benefits"] == {
        "code": "gold", "name_zh": "金卡", "name_en": "Gold", "discount_pct": 5,
        "points_multiplier_pct": 150, "free_shipping": True, "birthday_coupon": True,
        "priority_service": False}
    progress = body["progress"]
    assert progress["activity"] == {"net_spend": 520_000, "orders": 1, "recharge": 200_000}
    assert progress["next"] == {"tier": "diamond", "by": None, "needs": [
        {"criterion": "net_spend", "target": 2_000_000, "current": 520_000,
         "missing": 1_480_000},
        {"criterion": "recharge", "target": 1_000_000, "current": 200_000,
         "missing": 800_000}]}
    assert progress["keep"]["by"] == "2027-06-15"
    assert progress["keep"]["needs"][0] == {"criterion": "net_spend", "target": 400_000,
                                            "current": 520_000, "missing": 0}
    assert body["floor"] is None and body["held_by_floor"] is False
    problem(client.get(f"{API}/members/999/tier", headers=auth("till")), 404,
            "member_not_found")


def test_floor_set_by_an_admin_raises_at_once(client, auth, make_uow, member, db) -> None:
    admin = auth("admin")
    resp = client.put(f"{API}/members/{member}/tier/floor", headers=admin,
                      json={"tier": "gold", "reason": "service failure", "until": "2026-12-31"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["tier"], body["held_by_floor"], body["anniversary"]) == \
        ("gold", True, "2027-01-01")
    assert body["floor"]["tier"] == "gold" and body["floor"]["until"] == "2026-12-31"
    assert body["floor"]["set_by"] == "api_key:admin test"
    history = client.get(f"{API}/members/{member}/tier/history", headers=auth("till")).json()
    assert [(h["from_tier"], h["to_tier"], h["reason"], h["note"]) for h in history["items"]] \
        == [("regular", "gold", "manual_floor", "service failure")]
    audit = client.get(f"{API}/audit", params={"action": "tier.manual_floor"},
                       headers=admin).json()["items"][0]
    assert audit["changes"]["tier"] == {"before": "regular", "after": "gold"}
    assert audit["reason"] == "service failure"
    for role in ("operator", "analyst", "finance", "till"):
        problem(client.put(f"{API}/members/{member}/tier/floor", headers=auth(role),
                           json={"tier": "diamond", "reason": "x", "until": "2026-12-31"}),
                403, "forbidden")


@pytest.mark.parametrize(("body", "code"), [
    ({"tier": "platinum", "reason": "x", "until": "2026-12-31"}, "unknown_tier"),
    ({"tier": "regular", "reason": "x", "until": "2026-12-31"}, "floor_too_low"),
    ({"tier": "gold", "reason": "x", "until": "2026-06-15"}, "floor_end_not_in_future"),
    ({"tier": "gold", "reason": "x", "until": "2020-01-01"}, "floor_end_not_in_future"),
    ({"tier": "gold", "reason": "", "until": "2026-12-31"}, "validation_error"),
    ({"tier": "gold", "until": "2026-12-31"}, "validation_error"),
    ({"tier": "gold", "reason": "x"}, "validation_error"),
    ({"tier": "gold", "reason": "x", "until": "31/12/2026"}, "validation_error"),
    ({"tier": "gold", "reason": "x", "until": "2026-12-31", "extra": 1}, "validation_error"),
])
def test_bad_floors_are_refused_and_change_nothing(client, auth, make_uow, member, db, body,
                                                   code) -> None:
    admin = auth("admin")  # a new key is audited: made before the snapshot
    before = snapshot(db)
    problem(client.put(f"{API}/members/{member}/tier/floor", headers=admin, json=body),
            422, code)
    assert snapshot(db) == before


def test_removing_a_floor(client, auth, make_uow, member, db) -> None:
    floor(make_uow, member, "silver", date(2026, 12, 31))
    admin = auth("admin")
    url = f"{API}/members/{member}/tier/floor"
    problem(client.delete(url, headers=admin), 422, "validation_error")  # no reason
    problem(client.delete(url, headers=auth("operator"), params={"reason": "x"}), 403,
            "forbidden")
    resp = client.delete(url, headers=admin, params={"reason": "set by mistake"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["tier"], resp.json()["floor"]) == ("regular", None)
    problem(client.delete(url, headers=admin, params={"reason": "again"}), 404,
            "floor_not_found")


def test_history_pages_and_filters(client, auth, make_uow, member) -> None:
    spend(make_uow, member, 1_000, "o-1")
    floor(make_uow, member, "gold", date(2026, 12, 31))
    url, till = f"{API}/members/{member}/tier/history", auth("till")
    first = client.get(url, headers=till, params={"limit": 1}).json()
    assert [h["reason"] for h in first["items"]] == ["manual_floor"]
    rest = client.get(url, headers=till, params={"limit": 1, "cursor": first["next_cursor"]})
    assert [h["reason"] for h in rest.json()["items"]] == ["upgrade"]
    assert rest.json()["next_cursor"] is None
    upgrades = client.get(url, headers=till, params={"reason": "upgrade"}).json()["items"]
    assert upgrades[0]["details"] == {"activity": {"net_spend": 100_000}}
    oldest = client.get(url, headers=till, params={"sort": "at"}).json()["items"]
    assert [h["reason"] for h in oldest] == ["upgrade", "manual_floor"]
    problem(client.get(url, headers=till, params={"reason": "nope"}), 422, "validation_error")
    problem(client.get(url, headers=till, params={"cursor": "???"}), 422, "invalid_cursor")
    problem(client.get(f"{API}/members/999/tier/history", headers=till), 404,
            "member_not_found")


def test_what_if_reports_and_changes_nothing(client, auth, make_uow, db) -> None:
    for n, yuan in enumerate((1_500, 3_000, 6_000), start=1):
        spend(make_uow, new_member(make_uow, n), yuan, f"o-{n}")
    proposed = ladder_data()
    proposed["tiers"][1]["qualify"]["net_spend"] = 200_000
    proposed["tiers"][1]["benefits"]["discount_pct"] = 3
    analyst, till = auth("analyst"), auth("till")
    before = snapshot(db)
    resp = client.post(f"{API}/tiers/what-if", headers=analyst, json=proposed)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["members"], body["up"], body["down"]) == (3, 0, 1)
    assert body["moves"] == [{"from_tier": "silver", "to_tier": "regular", "members": 1}]
    silver = next(t for t in body["tiers"] if t["code"] == "silver")
    assert silver == {"code": "silver", "current": 2, "baseline": 2, "proposed": 1, "up": 0,
                      "down": 1}
    # 1,500 × (0 − 2)% + 3,000 × (3 − 2)%
    assert body["discount_cost"]["change"] == (-150_000 * 2 + 300_000 * 1) // 100
    assert body["net_spend"] == (1_500 + 3_000 + 6_000) * YUAN
    assert snapshot(db) == before
    bad = dict(proposed, tiers=proposed["tiers"][::-1])
    err = problem(client.post(f"{API}/tiers/what-if", headers=analyst, json=bad), 422,
                  "validation_error")
    assert err["errors"][0]["field"] == "tiers"
    problem(client.post(f"{API}/tiers/what-if", headers=till, json=proposed), 403,
            "forbidden")
    assert snapshot(db) == before


def test_the_ladder_is_programme_configuration(client, auth, make_uow, member, db) -> None:
    url, operator = f"{API}/programme/tiers", auth("operator")
    current = client.get(url, headers=operator).json()
    assert current["version"] == 0 and current["data"]["tiers"][0]["code"] == "regular"
    bad = ladder_data()
    bad["tiers"][2]["qualify"]["net_spend"] = 100_000
    err = problem(client.put(url, headers=operator, json=bad), 422, "validation_error")
    assert "rise strictly" in err["detail"] and err["errors"][0]["field"] == "tiers"
    cheaper = ladder_data()
    cheaper["tiers"][1]["qualify"]["net_spend"] = 50_000
    saved = client.put(url, headers=operator, params={"note": "easier silver"}, json=cheaper)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    spend(make_uow, member, 500, "o-1")
    assert tier(db, member) == "silver"
    assert client.get(f"{API}/tiers", headers=operator).json()["version"] == 1
    history = client.get(f"{url}/history", headers=operator).json()
    assert history[0]["note"] == "easier silver"
    moved = client.put(f"{API}/programme/earning_rules", headers=operator,
                       json={"tier_multiplier_pct": {"regular": 150}})
    assert "moved to the tier ladder" in problem(moved, 422, "validation_error")["detail"]
