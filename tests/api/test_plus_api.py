"""The paid-membership API: every route, its shapes, its error codes, who may call it, and
that a refusal changes nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.plus_helpers import PRICE, assert_consistent, everything, funded, new_member
from tests.wallet_helpers import set_status, wallet

API = "/api/v1"
_keys = itertools.count(1)


def post(client, path: str, headers: dict[str, str], body: dict, *, key: str | None = None):
    """POST with a fresh Idempotency-Key unless one is given."""
    return client.post(f"{API}{path}", json=body,
                       headers={**headers, "Idempotency-Key": key or f"k-{next(_keys)}"})


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def buy(client, headers, member_id: int, ref: str, *, payment: str = "wallet",
        key: str | None = None, **extra):
    return post(client, f"/members/{member_id}/plus", headers,
                {"plan": "PLUS", "payment": payment, "payment_ref": ref, **extra}, key=key)


@pytest.fixture
def till(auth) -> dict[str, str]:
    return auth("till")


@pytest.fixture
def finance(auth) -> dict[str, str]:
    return auth("finance")


def test_buy_show_and_cancel_over_http(client, till, finance, make_uow, db, clock) -> None:
    member = funded(make_uow)
    start = wallet(db, member)
    resp = buy(client, till, member, "plus-1", amount=PRICE)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert {k: body["purchase"][k] for k in ("plan", "kind", "payment", "payment_ref",
                                               "price", "refund_status")} == {
        "plan": "PLUS", "kind": "purchase", "payment": "wallet", "payment_ref": "plus-1",
        "price": PRICE, "refund_status": "none"}
    sub = body["subscription"]
    assert (sub["status"], sub["in_force"], sub["ends_at"][:10]) == ("active", True,
                                                                      "2027-06-15")
    assert sub["if_cancelled_now"]["refund"] == PRICE
    assert wallet(db, member)["total"] == start["total"] - PRICE + 99

    shown = client.get(f"{API}/members/{member}/plus", headers=till)
    assert shown.status_code == 200
    assert [p["payment_ref"] for p in shown.json()["periods"]] == ["plus-1"]
    assert shown.json()["if_cancelled_now"]["why"] == "within_window_unused"

    clock.advance(timedelta(days=3))
    resp = post(client, f"/members/{member}/plus/cancel", finance, {"reason": "not for me"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["refund"], body["refund_status"], body["why"]) == (
        PRICE, "refunded", "within_window_unused")
    assert body["subscription"]["status"] == "cancelled"
    assert body["subscription"]["in_force"] is False
    assert wallet(db, member) == start
    assert_consistent(db, member)


def test_buy_needs_an_idempotency_key_and_replays_the_first_answer(client, till, make_uow,
                                                                   db) -> None:
    member = funded(make_uow)
    resp = client.post(f"{API}/members/{member}/plus", headers=till,
                       json={"plan": "PLUS", "payment": "wallet", "payment_ref": "p1"})
    problem(resp, 422, "idempotency_key_required")
    first = buy(client, till, member, "p1", key="buy-1")
    assert first.status_code == 201
    before = everything(db)
    again = buy(client, till, member, "p1", key="buy-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    problem(buy(client, till, member, "p2", key="buy-1"), 409, "idempotency_key_reused")
    # another key, the same purchase: the same purchase, nothing taken twice
    same = buy(client, till, member, "p1")
    assert same.status_code == 201
    assert same.json()["purchase"]["id"] == first.json()["purchase"]["id"]
    problem(buy(client, till, member, "p1", payment="external"), 409, "payment_ref_reused")
    assert everything(db) == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"plan": "GOLDPASS", "payment": "wallet", "payment_ref": "p1"}, 422, "unknown_plan"),
    ({"plan": "PLUS", "payment": "cash", "payment_ref": "p1"}, 422, "validation_error"),
    ({"plan": "PLUS", "payment": "wallet", "payment_ref": "p 1"}, 422, "validation_error"),
    ({"plan": "PLUS", "payment": "wallet"}, 422, "validation_error"),
    ({"payment": "wallet", "payment_ref": "p1"}, 422, "validation_error"),
    ({"plan": "PLUS", "payment": "wallet", "payment_ref": "p1", "amount": "9900"}, 422,
     "validation_error"),
    ({"plan": "PLUS", "payment": "wallet", "payment_ref": "p1", "amount": 99.0}, 422,
     "validation_error"),
    ({"plan": "PLUS", "payment": "wallet", "payment_ref": "p1", "amount": 9_800}, 422,
     "price_mismatch"),
    ({"plan": "PLUS", "payment": "wallet", "payment_ref": "p1", "extra": 1}, 422,
     "validation_error"),
])
def test_bad_purchases_are_clear_4xx_and_change_nothing(client, till, make_uow, db, body,
                                                        status, code) -> None:
    member = funded(make_uow)
    before = everything(db)
    problem(post(client, f"/members/{member}/plus", till, body), status, code)
    assert everything(db) == before


def test_short_wallet_frozen_and_unknown_members_are_refused(client, till, make_uow,
                                                             db) -> None:
    short, frozen = funded(make_uow, 1, amount=5_000), funded(make_uow, 2)
    set_status(make_uow, frozen, "frozen")
    before = everything(db)
    body = problem(buy(client, till, short, "p1"), 422, "insufficient_balance")
    assert (body["available"], body["requested"]) == (5_250, PRICE)  # ¥50 + 5% first
    problem(buy(client, till, frozen, "p2"), 422, "member_frozen")
    problem(buy(client, till, frozen, "p3", payment="external"), 422, "member_frozen")
    problem(buy(client, till, 999, "p4", payment="external"), 404, "member_not_found")
    assert everything(db) == before


def test_subscription_lookups_say_what_is_missing(client, till, make_uow) -> None:
    member = new_member(make_uow)
    problem(client.get(f"{API}/members/{member}/plus", headers=till), 404, "plus_not_found")
    problem(client.get(f"{API}/members/999/plus", headers=till), 404, "member_not_found")


def test_cancel_refusals(client, auth, make_uow, db, clock) -> None:
    operator = auth("operator")
    member = new_member(make_uow)
    problem(post(client, f"/members/{member}/plus/cancel", operator, {"reason": "x y"}), 404,
            "plus_not_found")
    buy(client, auth("till"), member, "wx-1", payment="external")
    before = everything(db)
    problem(post(client, f"/members/{member}/plus/cancel", operator, {"reason": "x"}), 422,
            "validation_error")
    problem(post(client, f"/members/{member}/plus/cancel", operator, {}), 422,
            "validation_error")
    assert everything(db) == before
    clock.advance(timedelta(days=8))
    resp = post(client, f"/members/{member}/plus/cancel", operator, {"reason": "moving"})
    assert (resp.json()["refund"], resp.json()["why"]) == (0, "window_passed")
    assert resp.json()["subscription"]["in_force"] is True  # runs to its end date
    problem(post(client, f"/members/{member}/plus/cancel", operator, {"reason": "again"}),
            409, "plus_already_cancelled")


def test_refunds_due_are_listed_and_settled_by_finance(client, auth, finance, make_uow,
                                                       db) -> None:
    member = new_member(make_uow)
    buy(client, auth("till"), member, "wx-1", payment="external")
    done = post(client, f"/members/{member}/plus/cancel", finance, {"reason": "unused"})
    assert (done.json()["refund_status"], done.json()["refund"]) == ("due", PRICE)
    refund_ref = done.json()["refund_ref"]
    due = client.get(f"{API}/plus/refunds?status=due", headers=auth("analyst"))
    assert [(r["refund_ref"], r["payment_ref"], r["refund_amount"])
            for r in due.json()["items"]] == [(refund_ref, "wx-1", PRICE)]
    problem(post(client, f"/plus/refunds/{refund_ref}/settle", auth("analyst"),
                 {"settlement_ref": "bank-1"}), 403, "forbidden")
    paid = post(client, f"/plus/refunds/{refund_ref}/settle", finance,
                {"settlement_ref": "bank-1"})
    assert paid.status_code == 200, paid.text
    assert (paid.json()["refund_status"], paid.json()["settlement_ref"]) == ("refunded",
                                                                             "bank-1")
    assert client.get(f"{API}/plus/refunds?status=due", headers=finance).json()["items"] == []
    problem(post(client, f"/plus/refunds/{refund_ref}/settle", finance,
                 {"settlement_ref": "bank-2"}), 409, "refund_already_settled")
    problem(post(client, "/plus/refunds/plus-refund-999/settle", finance,
                 {"settlement_ref": "bank-2"}), 404, "refund_not_found")
    problem(client.get(f"{API}/plus/refunds?status=gone", headers=finance), 422,
            "validation_error")


def test_members_by_plan_status_page_by_page(client, till, make_uow, clock) -> None:
    members = []
    for n in range(1, 6):
        member = new_member(make_uow, n)
        assert buy(client, till, member, f"wx-{n}", payment="external").status_code == 201
        members.append(member)
        clock.advance(timedelta(hours=1))
    got, cursor = [], None
    while True:
        query = "status=active&plan=PLUS&sort=-ends_at&limit=2" + (
            f"&cursor={cursor}" if cursor else "")
        page = client.get(f"{API}/plus/members?{query}", headers=till).json()
        got += [item["member_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert got == members[::-1]
    problem(client.get(f"{API}/plus/members?status=gold", headers=till), 422,
            "validation_error")
    problem(client.get(f"{API}/plus/members?cursor=zzz", headers=till), 422, "invalid_cursor")
    problem(client.get(f"{API}/plus/members?sort=name", headers=till), 422, "invalid_sort")
    problem(client.get(f"{API}/plus/members?limit=0", headers=till), 422, "validation_error")


def test_who_may_do_what(client, auth, make_uow) -> None:
    member = funded(make_uow)
    for role in ("operator", "analyst", "finance"):
        problem(buy(client, auth(role), member, f"p-{role}"), 403, "forbidden")
    for role in ("till", "analyst"):
        problem(post(client, f"/members/{member}/plus/cancel", auth(role),
                     {"reason": "because"}), 403, "forbidden")
    problem(client.get(f"{API}/plus/refunds", headers=auth("till")), 403, "forbidden")
    for role in ("admin", "operator", "analyst", "finance", "till"):
        assert client.get(f"{API}/plus/members", headers=auth(role)).status_code == 200


def test_plans_are_programme_configuration(client, auth, make_uow) -> None:
    admin = auth("admin")
    got = client.get(f"{API}/programme/plans", headers=admin).json()
    assert got["version"] == 0 and got["data"]["plans"]["PLUS"] == {
        "name": "PLUS", "price": 9_900, "duration_months": 12, "extra_discount_pct": 3,
        "points_multiplier_pct": 150, "cancel_within_days": 7, "on_sale": True}
    bad = client.put(f"{API}/programme/plans", headers=admin,
                     json={"plans": {"PLUS": {"name": "PLUS", "price": -1}}})
    problem(bad, 422, "validation_error")
    ok = client.put(f"{API}/programme/plans?note=summer", headers=admin,
                    json={"plans": {"PLUS": {"name": "PLUS", "price": 6_900}}})
    assert ok.status_code == 200 and ok.json()["version"] == 1
    member = new_member(make_uow)
    resp = buy(client, auth("till"), member, "wx-1", payment="external")
    assert resp.json()["purchase"]["price"] == 6_900
