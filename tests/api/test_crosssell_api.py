"""GET /insight/association-rules and GET /members/{id}/recommendations: who may call
them, what they answer on a small store, and their refusals (404, 422)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memberops.analytics import crosssell
from tests.crosssell_helpers import add_members, add_order, refund

RULES = "/api/v1/insight/association-rules"
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # before the test clock (15 June 2026)


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    crosssell.forget_models()


def recs(member_id: int) -> str:
    return f"/api/v1/members/{member_id}/recommendations"


def seed(db) -> list[int]:
    """Five members: three buy beans with filter papers (one also a latte), four buy
    lattes; a refunded order of a mug; member 5 has bought nothing."""
    members = add_members(db, 5)
    for n, m in enumerate(members[:4]):
        at = T0 + timedelta(days=n)
        add_order(db, m, at, {"LATTE": 1})
        if n < 3:
            add_order(db, m, at + timedelta(hours=1), {"BEANS-HOUSE": 1, "FILTER-PAPERS": 1})
    refund(db, add_order(db, members[0], T0 + timedelta(days=9), {"MUG": 1}),
           T0 + timedelta(days=10), amount=1000)
    return members


def test_analysts_and_operators_read_the_rules(client, auth, db) -> None:
    seed(db)
    got = client.get(RULES, headers=auth("analyst"), params={"min_support": 0.2})
    assert got.status_code == 200, got.text
    body = got.json()
    # 7 orders kept (the refunded mug left out): beans + brewing in 3, coffee alone in 4
    assert body["baskets"] == 7 and body["level"] == "category"
    assert body["total_rules"] == 2
    first = body["rules"][0]
    assert (first["antecedent"], first["consequent"]) == (["beans"], ["brewing"])
    assert first["count"] == 3 and first["confidence"] == 1.0
    assert first["support"] == pytest.approx(3 / 7)
    assert first["lift"] == pytest.approx(7 / 3)
    by_sku = client.get(RULES, headers=auth("operator"),
                        params={"level": "sku", "min_support": 0.2, "limit": 1})
    assert by_sku.status_code == 200
    assert by_sku.json()["total_rules"] == 2 and len(by_sku.json()["rules"]) == 1
    assert by_sku.json()["rules"][0]["antecedent"] == ["BEANS-HOUSE"]


def test_rule_refusals(client, auth) -> None:
    for role in ("till", "finance"):
        denied = client.get(RULES, headers=auth(role))
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    for params in ({"min_support": 0}, {"min_support": 1.5}, {"min_confidence": -0.1},
                   {"level": "store"}, {"limit": 0}):
        got = client.get(RULES, headers=auth("analyst"), params=params)
        assert got.status_code == 422 and got.json()["code"] == "validation_error", params
    assert client.get(RULES).status_code == 401


def test_a_till_gets_a_members_recommendations(client, auth, db) -> None:
    members = seed(db)
    got = client.get(recs(members[3]), headers=auth("till"))
    assert got.status_code == 200, got.text
    body = got.json()
    # member 4 bought a latte only; then come the beans and papers that the other latte
    # drinkers buy
    assert body["member_id"] == members[3] and body["method"] == "itemknn"
    assert [i["sku"] for i in body["items"]] == ["LATTE", "BEANS-HOUSE", "FILTER-PAPERS"]
    assert body["items"][0] == {"rank": 1, "sku": "LATTE", "category": "coffee",
                                "score": pytest.approx(body["items"][0]["score"]),
                                "orders": 1}
    assert body["as_of"].startswith("2026-06-15")
    again = client.get(recs(members[0]), headers=auth("analyst"),
                       params={"method": "buy_again", "limit": 2})
    assert [i["sku"] for i in again.json()["items"]] == ["BEANS-HOUSE", "FILTER-PAPERS"]
    assert again.json()["method"] == "buy_again"


def test_a_member_without_orders_gets_the_popular_skus(client, auth, db) -> None:
    members = seed(db)
    got = client.get(recs(members[4]), headers=auth("operator"))
    assert got.status_code == 200
    assert [i["sku"] for i in got.json()["items"]] == ["LATTE", "BEANS-HOUSE",
                                                      "FILTER-PAPERS"]
    assert all(i["orders"] == 0 for i in got.json()["items"])


def test_the_default_method_is_a_setting(app_factory, auth, db) -> None:
    members = seed(db)
    client = app_factory(recommend_method="popular")
    got = client.get(recs(members[0]), headers=auth("analyst"))
    assert got.json()["method"] == "popular"


def test_recommendation_refusals(client, auth, db) -> None:
    seed(db)
    missing = client.get(recs(999), headers=auth("analyst"))
    assert missing.status_code == 404 and missing.json()["code"] == "member_not_found"
    for bad, params in ((recs(0), {}), ("/api/v1/members/x/recommendations", {}),
                        (recs(1), {"method": "magic"}), (recs(1), {"limit": 51})):
        got = client.get(bad, headers=auth("analyst"), params=params)
        assert got.status_code == 422, (bad, params, got.text)
    denied = client.get(recs(1), headers=auth("finance"))
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert client.get(recs(1)).status_code == 401
