"""Orders over HTTP (API.md): quote (nothing stored), commit with an Idempotency-Key and a
unique order_ref, read one, a member's and a store's with a keyset cursor, refunds by items
and by amount; every refusal a problem with its code and nothing changed; who may do what."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from memberops.members.models import Member
from memberops.orders.models import Order, OrderLine, OrderRefund
from memberops.points.models import PointsLot
from memberops.tiers.models import TierActivity
from tests import coupons_helpers, wallet_helpers
from tests.orders_helpers import YUAN, coupon, member, points_available

API = "/api/v1"
_keys = itertools.count(1)
# ¥300 of goods: two lattes at ¥100 and a cake at ¥100.
ITEMS = [{"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": 100 * YUAN},
         {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": 100 * YUAN}]


def post(client, path: str, headers: dict[str, str], body: dict, *, key: str | None = None):
    """POST with a fresh Idempotency-Key unless one is given."""
    return client.post(f"{API}{path}", json=body,
                       headers={**headers, "Idempotency-Key": key or f"k-{next(_keys)}"})


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["status"] == status and body["detail"], body
    return body


def body(member_id: int, ref: str = "O-1", **fields: Any) -> dict[str, Any]:
    return {"order_ref": ref, "member_id": member_id, "items": ITEMS, **fields}


def everything(db) -> dict[str, Any]:
    """What an order or a refund writes: the wallet and the ledger (balances, lots,
    payments, entries, audit, events), coupons, orders, their lines and refunds, points
    lots, tier activity, and the members' tiers and statuses."""
    with db.session(readonly=True) as s:
        count = lambda model: s.execute(  # noqa: E731
            select(func.count()).select_from(model)).scalar_one()
        own = {
            "orders": sorted(s.execute(select(Order.order_ref, Order.status, Order.refunded,
                                              Order.refunded_wallet)).all()),
            "lines": sorted(s.execute(select(OrderLine.id, OrderLine.refunded_quantity)).all()),
            "order_refunds": count(OrderRefund),
            "points_lots": sorted(s.execute(select(PointsLot.id, PointsLot.remaining,
                                                   PointsLot.status)).all()),
            "tier_activity": count(TierActivity),
            "members": sorted(s.execute(select(Member.id, Member.tier, Member.status)).all()),
        }
    return {**wallet_helpers.snapshot(db), **coupons_helpers.snapshot(db), **own}


@pytest.fixture
def till(auth) -> dict[str, str]:
    return auth("till")


@pytest.fixture
def rich(make_uow) -> int:
    """A gold PLUS member with ¥1,250 in the wallet (¥1,000 + ¥250 bonus), 2,000 points."""
    return member(make_uow, wallet=1_000 * YUAN, points=2_000, tier="gold", plus=True)


def test_quote_prices_the_order_and_stores_nothing(client, till, rich, make_uow, db) -> None:
    code = coupon(make_uow, rich)
    wanted = body(rich, coupon_codes=[code], points_to_use=1_000, wallet_amount=100 * YUAN,
                  store="SH-001", channel="pos")
    before = everything(db)
    quoted = client.post(f"{API}/orders/quote", headers=till, json=wanted)
    assert quoted.status_code == 200, quoted.text
    q = quoted.json()
    assert (q["status"], q["tier"], q["plus"], q["total"]) == ("quoted", "gold", True, 30_000)
    # gold 5%, then PLUS 3% of the 28,500 left, then 满200减30
    assert q["discounts"] == {"tier": 1_500, "plus": 855, "coupons": 3_000, "total": 5_355}
    assert (q["points_used"], q["points_value"]) == (1_000, 1_000)  # 100 points = ¥1
    assert (q["payable"], q["wallet_paid"], q["external_paid"]) == (23_645, 10_000, 13_645)
    assert q["points_earned"] == 531  # ¥236 × 1.5 × 1.5, rounded down
    assert q["coupons"] == [{"code": code, "kind": "amount_off", "discount": 3_000,
                             "target": "amount", "gift_sku": None}]
    assert sum(line["net"] for line in q["items"]) == 30_000 - 5_355
    assert everything(db) == before
    problem(client.get(f"{API}/orders/O-1", headers=till), 404, "order_not_found")
    # Quoting needs no Idempotency-Key and can be repeated at will.
    assert client.post(f"{API}/orders/quote", headers=till, json=wanted).json() == q

    placed = post(client, "/orders", till, wanted)
    assert placed.status_code == 201, placed.text
    o = placed.json()
    same = ("tier", "plus", "total", "discounts", "coupons", "points_used", "points_value",
            "payable", "wallet_paid", "external_paid", "points_earned")
    assert {k: o[k] for k in same} == {k: q[k] for k in same}
    assert [(x["sku"], x["net"]) for x in o["items"]] == [(x["sku"], x["net"])
                                                           for x in q["items"]]
    assert (o["status"], o["store"], o["channel"], o["refunded"]) == ("paid", "SH-001", "pos", 0)
    assert wallet_helpers.wallet(db, rich)["total"] == 125_000 - 10_000 + 100  # 1% cashback
    assert points_available(db, rich) == 1_000
    assert coupons_helpers.coupon_row(db, code).status == "used"
    wallet_helpers.assert_consistent(db)


def test_place_needs_a_key_replays_it_and_keeps_order_ref_unique(client, till, make_uow,
                                                                  db) -> None:
    m, other = member(make_uow, wallet=1_000 * YUAN), member(make_uow, 2)
    wanted = body(m, wallet_amount=5_000)
    before = everything(db)
    resp = client.post(f"{API}/orders", headers=till, json=wanted)
    problem(resp, 422, "idempotency_key_required")
    assert everything(db) == before

    first = post(client, "/orders", till, wanted, key="till-1")
    assert first.status_code == 201, first.text
    o = first.json()
    assert {"order_ref", "member_id", "total", "discounts", "payable", "wallet_paid",
            "points_used", "points_earned", "tier", "items", "created_at"} <= set(o)
    assert (o["total"], o["discounts"]["total"], o["payable"], o["wallet_paid"],
            o["points_used"], o["points_earned"], o["tier"]) == (
        30_000, 0, 30_000, 5_000, 0, 300, "regular")
    after = everything(db)

    replay = post(client, "/orders", till, wanted, key="till-1")
    assert replay.status_code == 201 and replay.json() == o
    assert replay.headers["idempotent-replayed"] == "true"
    problem(post(client, "/orders", till, body(m, wallet_amount=6_000), key="till-1"), 409,
            "idempotency_key_reused")
    # The till lost the answer and retries under a new key: the same order comes back.
    again = post(client, "/orders", till, wanted, key="till-2")
    assert again.status_code == 201 and again.json() == o
    problem(post(client, "/orders", till, body(m, wallet_amount=6_000)), 409,
            "order_ref_reused")
    problem(post(client, "/orders", till, body(other)), 409, "order_ref_reused")
    assert everything(db) == after
    with db.session(readonly=True) as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    wallet_helpers.assert_consistent(db)


def test_orders_are_read_one_per_member_and_per_store_with_a_cursor(client, till, auth,
                                                                    make_uow) -> None:
    m, other = member(make_uow, 1), member(make_uow, 2)
    for n in range(5):
        resp = post(client, "/orders", till, body(m, f"O-{n}",
                                                  store="SH-001" if n % 2 else "BJ-002"))
        assert resp.status_code == 201, resp.text
    post(client, "/orders", till, body(other, "X-1", store="SH-001"))
    reader = auth("analyst")

    one = client.get(f"{API}/orders/O-3", headers=reader)
    assert one.status_code == 200 and one.json()["order_ref"] == "O-3"
    assert one.json()["store"] == "SH-001"

    seen, cursor = [], None
    while True:
        page = client.get(f"{API}/members/{m}/orders", headers=reader,
                          params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen.append([o["order_ref"] for o in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [["O-4", "O-3"], ["O-2", "O-1"], ["O-0"]]  # newest first

    store = client.get(f"{API}/orders", headers=reader, params={"store": "SH-001"}).json()
    assert [o["order_ref"] for o in store["items"]] == ["X-1", "O-3", "O-1"]
    assert store["next_cursor"] is None
    first = client.get(f"{API}/orders", headers=reader,
                       params={"store": "SH-001", "limit": 1}).json()
    rest = client.get(f"{API}/orders", headers=reader,
                      params={"store": "SH-001", "limit": 5,
                              "cursor": first["next_cursor"]}).json()
    assert [o["order_ref"] for o in first["items"] + rest["items"]] == ["X-1", "O-3", "O-1"]
    everyone = client.get(f"{API}/orders", headers=reader).json()
    assert len(everyone["items"]) == 6

    problem(client.get(f"{API}/orders", headers=reader, params={"cursor": "abc"}), 422,
            "invalid_cursor")
    problem(client.get(f"{API}/orders", headers=reader, params={"limit": 0}), 422,
            "validation_error")
    problem(client.get(f"{API}/members/999/orders", headers=reader), 404, "member_not_found")
    problem(client.get(f"{API}/orders/NOPE", headers=reader), 404, "order_not_found")
    problem(client.get(f"{API}/orders/NOPE/refunds", headers=reader), 404, "order_not_found")


def test_refunds_by_items_and_amount_reverse_exactly(client, till, make_uow, db) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=5_000, tier="silver")
    wallet_before, points_before = wallet_helpers.wallet(db, m), points_available(db, m)
    placed = post(client, "/orders", till, body(m, points_to_use=3_000, wallet_amount=5_000,
                                                items=[{"sku": "LATTE", "quantity": 3,
                                                        "unit_price": 3_300},
                                                       {"sku": "CAKE", "quantity": 2,
                                                        "unit_price": 2_850}]))
    assert placed.status_code == 201, placed.text
    o = placed.json()
    paid = o["points_value"] + o["wallet_paid"] + o["external_paid"]
    latte = next(x for x in o["items"] if x["sku"] == "LATTE")

    by_items = post(client, "/orders/O-1/refunds", till,
                    {"refund_ref": "R-1", "items": [{"sku": "LATTE", "quantity": 1}]},
                    key="refund-1")
    assert by_items.status_code == 201, by_items.text
    r1 = by_items.json()
    assert r1["amount"] == latte["net"] // 3  # one latte of three, after discounts
    assert r1["items"] == [{"sku": "LATTE", "quantity": 1}]
    assert r1["points_value"] + r1["wallet_refunded"] + r1["external_refunded"] == r1["amount"]
    assert (r1["order_ref"], r1["order_status"]) == ("O-1", "partially_refunded")
    after_first = everything(db)

    replay = post(client, "/orders/O-1/refunds", till,
                  {"refund_ref": "R-1", "items": [{"sku": "LATTE", "quantity": 1}]},
                  key="refund-1")
    assert replay.json() == r1 and replay.headers["idempotent-replayed"] == "true"
    retried = post(client, "/orders/O-1/refunds", till,
                   {"refund_ref": "R-1", "items": [{"sku": "LATTE", "quantity": 1}]})
    assert retried.status_code == 201 and retried.json()["refund_ref"] == "R-1"
    assert retried.json()["amount"] == r1["amount"]
    problem(post(client, "/orders/O-1/refunds", till, {"refund_ref": "R-1", "amount": 100}),
            409, "refund_ref_reused")
    left = paid - r1["amount"]
    body_ = problem(post(client, "/orders/O-1/refunds", till,
                         {"refund_ref": "R-2", "amount": left + 1}), 422,
                    "refund_exceeds_order")
    assert body_["refundable"] == left
    assert everything(db) == after_first

    by_amount = post(client, "/orders/O-1/refunds", till, {"refund_ref": "R-2", "amount": 777})
    assert by_amount.status_code == 201, by_amount.text
    assert (by_amount.json()["amount"], by_amount.json()["items"]) == (777, [])
    rest = post(client, "/orders/O-1/refunds", till,
                {"refund_ref": "R-3", "amount": left - 777})
    assert rest.status_code == 201, rest.text
    assert rest.json()["order_status"] == "refunded"
    refunds = client.get(f"{API}/orders/O-1/refunds", headers=till).json()
    assert [r["refund_ref"] for r in refunds] == ["R-1", "R-2", "R-3"]
    assert sum(r["wallet_refunded"] for r in refunds) == o["wallet_paid"]
    assert sum(r["external_refunded"] for r in refunds) == o["external_paid"]
    assert sum(r["points_returned"] for r in refunds) == o["points_used"]
    assert sum(r["points_clawed"] for r in refunds) == o["points_earned"]
    shown = client.get(f"{API}/orders/O-1", headers=till).json()
    assert (shown["status"], shown["refunded"]) == ("refunded", paid)
    assert [x["refunded_quantity"] for x in shown["items"]] == [1, 0]
    assert wallet_helpers.wallet(db, m) == wallet_before  # cashback taken back too
    assert points_available(db, m) == points_before
    problem(post(client, "/orders/O-1/refunds", till, {"refund_ref": "R-4", "amount": 1}),
            422, "order_fully_refunded")
    wallet_helpers.assert_consistent(db)


def test_a_till_may_sell_and_refund_an_analyst_may_only_read(client, auth, make_uow,
                                                             db) -> None:
    m = member(make_uow)
    till, analyst = auth("till"), auth("analyst")
    assert client.post(f"{API}/orders/quote", headers=till, json=body(m)).status_code == 200
    assert post(client, "/orders", till, body(m)).status_code == 201
    assert post(client, "/orders/O-1/refunds", till,
                {"refund_ref": "R-1", "amount": 100}).status_code == 201
    before = everything(db)
    problem(client.post(f"{API}/orders/quote", headers=analyst, json=body(m)), 403,
            "forbidden")
    problem(post(client, "/orders", analyst, body(m, "O-2")), 403, "forbidden")
    problem(post(client, "/orders/O-1/refunds", analyst, {"refund_ref": "R-2", "amount": 100}),
            403, "forbidden")
    for path in ("/orders/O-1", "/orders/O-1/refunds", "/orders", f"/members/{m}/orders"):
        assert client.get(f"{API}{path}", headers=analyst).status_code == 200, path
    problem(client.get(f"{API}/orders", headers={}), 401, "unauthenticated")
    assert everything(db) == before


# --- bad input: a clear 4xx with its code, and nothing changed --------------------------

def _item(**fields: Any) -> list[dict[str, Any]]:
    return [{"sku": "LATTE", "quantity": 1, "unit_price": 100 * YUAN, **fields}]


BAD_ORDERS = [
    # (what, fields of the body, status, code, the field named in the detail)
    ("zero quantity", {"items": _item(quantity=0)}, 422, "validation_error",
     "items.0.quantity"),
    ("negative quantity", {"items": _item(quantity=-1)}, 422, "validation_error",
     "items.0.quantity"),
    ("fractional quantity", {"items": _item(quantity=1.5)}, 422, "validation_error",
     "items.0.quantity"),
    ("huge quantity", {"items": _item(quantity=10**6)}, 422, "validation_error",
     "items.0.quantity"),
    ("negative unit_price", {"items": _item(unit_price=-1)}, 422, "validation_error",
     "items.0.unit_price"),
    ("string unit_price", {"items": _item(unit_price="100")}, 422, "validation_error",
     "items.0.unit_price"),
    ("float unit_price", {"items": _item(unit_price=1.5)}, 422, "validation_error",
     "items.0.unit_price"),
    ("integral float unit_price", {"items": _item(unit_price=100.0)}, 422,
     "validation_error", "items.0.unit_price"),
    ("boolean unit_price", {"items": _item(unit_price=True)}, 422, "validation_error",
     "items.0.unit_price"),
    ("huge unit_price", {"items": _item(unit_price=10**13)}, 422, "validation_error",
     "items.0.unit_price"),
    ("items worth more than any order", {"items": _item(quantity=10_000,
                                                        unit_price=10**9)},
     422, "validation_error", "items"),
    ("no items", {"items": []}, 422, "validation_error", "items"),
    ("items not a list", {"items": "LATTE"}, 422, "validation_error", "items"),
    ("empty sku", {"items": _item(sku="")}, 422, "validation_error", "items.0.sku"),
    ("unknown item field", {"items": _item(discount=5)}, 422, "validation_error",
     "items.0.discount"),
    ("duplicate sku", {"items": _item() + _item(quantity=2)}, 422, "duplicate_sku", "items"),
    ("string points", {"points_to_use": "100"}, 422, "validation_error", "points_to_use"),
    ("negative points", {"points_to_use": -1}, 422, "validation_error", "points_to_use"),
    ("huge points", {"points_to_use": 10**13}, 422, "validation_error", "points_to_use"),
    ("string wallet", {"wallet_amount": "100"}, 422, "validation_error", "wallet_amount"),
    ("float wallet", {"wallet_amount": 1.5}, 422, "validation_error", "wallet_amount"),
    ("boolean wallet", {"wallet_amount": True}, 422, "validation_error", "wallet_amount"),
    ("negative wallet", {"wallet_amount": -100}, 422, "validation_error", "wallet_amount"),
    ("huge wallet", {"wallet_amount": 10**13}, 422, "validation_error", "wallet_amount"),
    ("order_ref with a space", {"order_ref": "O 1"}, 422, "validation_error", "order_ref"),
    ("empty order_ref", {"order_ref": ""}, 422, "validation_error", "order_ref"),
    ("string member_id", {"member_id": "1"}, 422, "validation_error", "member_id"),
    ("unknown field", {"total": 1}, 422, "validation_error", "total"),
    ("unknown member", {"member_id": 999}, 404, "member_not_found", None),
    ("unknown coupon", {"coupon_codes": ["NOSUCHCODE12"]}, 404, "coupon_not_found", None),
    ("points beyond the balance", {"points_to_use": 5_000}, 422, "insufficient_points",
     None),  # ¥300 order: 15,000 may be used, 1,000 are held
    ("points beyond 50% of the order", {"points_to_use": 15_001}, 422,
     "points_over_share", None),
    ("wallet beyond the balance", {"wallet_amount": 20_000}, 422, "insufficient_balance",
     None),  # ¥100 + ¥15 bonus held
    ("wallet beyond what is left to pay", {"wallet_amount": 30_001}, 422,
     "wallet_over_payable", None),
]


@pytest.mark.parametrize("path", ["/orders/quote", "/orders"])
@pytest.mark.parametrize(("fields", "status", "code", "field"),
                         [case[1:] for case in BAD_ORDERS], ids=[c[0] for c in BAD_ORDERS])
def test_bad_orders_are_refused_with_their_code_and_change_nothing(
        client, till, make_uow, db, path, fields, status, code, field) -> None:
    m = member(make_uow, wallet=100 * YUAN, points=1_000)
    before = everything(db)
    resp = post(client, path, till, {**body(m), **fields})
    found = problem(resp, status, code)
    if field is not None:
        assert field in [e["field"] for e in found["errors"]], found
    assert everything(db) == before


@pytest.fixture
def ordered(client, till, make_uow) -> int:
    """A member (¥1,000 recharged) with order O-1 of ¥300, ¥100 of it from the wallet."""
    m = member(make_uow, wallet=1_000 * YUAN)
    assert post(client, "/orders", till, body(m, wallet_amount=100 * YUAN)).status_code == 201
    return m


@pytest.mark.parametrize(("refund", "status", "code"), [
    ({"refund_ref": "R-1", "amount": 100, "items": [{"sku": "CAKE", "quantity": 1}]}, 422,
     "validation_error"),
    ({"refund_ref": "R-1"}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": 0}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": -100}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": "100"}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": 1.5}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": True}, 422, "validation_error"),
    ({"refund_ref": "R-1", "amount": 10**13}, 422, "validation_error"),
    ({"refund_ref": "R 1", "amount": 100}, 422, "validation_error"),
    ({"amount": 100}, 422, "validation_error"),
    ({"refund_ref": "R-1", "items": []}, 422, "refund_nothing"),
    ({"refund_ref": "R-1", "items": [{"sku": "CAKE", "quantity": 0}]}, 422,
     "validation_error"),
    ({"refund_ref": "R-1", "items": [{"sku": "TEA", "quantity": 1}]}, 422,
     "sku_not_in_order"),
    ({"refund_ref": "R-1", "items": [{"sku": "CAKE", "quantity": 2}]}, 422,
     "refund_exceeds_items"),
    ({"refund_ref": "R-1", "items": [{"sku": "LATTE", "quantity": 1},
                                     {"sku": "LATTE", "quantity": 1}]}, 422, "duplicate_sku"),
    ({"refund_ref": "R-1", "amount": 30_001}, 422, "refund_exceeds_order"),
])
def test_bad_refunds_are_refused_with_their_code_and_change_nothing(
        client, till, ordered, db, refund, status, code) -> None:
    before = everything(db)
    problem(post(client, "/orders/O-1/refunds", till, refund), status, code)
    assert everything(db) == before


def test_refund_needs_a_key_and_a_known_order(client, till, ordered, db) -> None:
    before = everything(db)
    problem(client.post(f"{API}/orders/O-1/refunds", headers=till,
                        json={"refund_ref": "R-1", "amount": 100}), 422,
            "idempotency_key_required")
    problem(post(client, "/orders/NOPE/refunds", till, {"refund_ref": "R-1", "amount": 100}),
            404, "order_not_found")
    assert everything(db) == before


def test_a_frozen_member_can_neither_order_nor_be_refunded(client, till, ordered, make_uow,
                                                            db) -> None:
    wallet_helpers.set_status(make_uow, ordered, "frozen")
    before = everything(db)
    for path in ("/orders/quote", "/orders"):
        problem(post(client, path, till, body(ordered, "O-2")), 422, "member_frozen")
    problem(post(client, "/orders/O-1/refunds", till, {"refund_ref": "R-1", "amount": 100}),
            422, "member_frozen")
    assert everything(db) == before


def test_expired_used_and_foreign_coupons_are_refused(client, till, make_uow, db,
                                                      clock) -> None:
    m, other = member(make_uow, 1), member(make_uow, 2)
    used, foreign = coupon(make_uow, m), coupon(make_uow, other)
    assert post(client, "/orders", till, body(m, coupon_codes=[used])).status_code == 201
    expiring = coupon(make_uow, m)
    before = everything(db)
    for path in ("/orders/quote", "/orders"):
        problem(post(client, path, till, body(m, "O-2", coupon_codes=[used])), 409,
                "coupon_used")
        problem(post(client, path, till, body(m, "O-2", coupon_codes=[foreign])), 422,
                "coupon_not_owned")
        problem(post(client, path, till, body(m, "O-2", coupon_codes=[expiring],
                                              items=_item())), 422,
                "coupon_threshold_not_met")  # ¥100 of goods, the coupon needs ¥200
    clock.advance(timedelta(days=20))  # 满200减30 is valid 14 days
    for path in ("/orders/quote", "/orders"):
        problem(post(client, path, till, body(m, "O-2", coupon_codes=[expiring])), 422,
                "coupon_expired")
    assert everything(db) == before


def test_a_birthday_coupon_is_refused_below_silver(client, till, make_uow, db) -> None:
    # Issued to a Silver member born in June (the clock is in June 2026); the member is
    # then back at Regular, and the Birthday template is for Silver and above.
    m = member(make_uow, tier="silver", birthday=date(1990, 6, 20))
    code = coupon(make_uow, m, "birthday")
    quoted = client.post(f"{API}/orders/quote", headers=till, json=body(m, coupon_codes=[code]))
    assert quoted.status_code == 200 and quoted.json()["discounts"]["coupons"] == 5_000
    coupons_helpers.set_tier(make_uow, m, "regular")
    before = everything(db)
    for path in ("/orders/quote", "/orders"):
        problem(post(client, path, till, body(m, coupon_codes=[code])), 422,
                "coupon_tier_ineligible")
    assert everything(db) == before
    assert coupons_helpers.coupon_row(db, code).status == "issued"
