"""The stored-value API: every route, its shapes, its error codes, and that a refusal
changes nothing (balances, lots, rows, audit)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.wallet_helpers import (
    YUAN,
    assert_consistent,
    configure,
    new_member,
    set_status,
    snapshot,
)

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


@pytest.fixture
def till(auth) -> dict[str, str]:
    return auth("till")


@pytest.fixture
def finance(auth) -> dict[str, str]:
    return auth("finance")


@pytest.fixture
def member(make_uow) -> int:
    return new_member(make_uow)


def recharge(client, headers, member_id: int, yuan: int, ref: str, *, key: str | None = None,
             **extra):
    return post(client, f"/members/{member_id}/recharges", headers,
                {"amount": yuan * YUAN, "payment_ref": ref, **extra}, key=key)


def test_worked_example_over_http(client, till, member, db, clock) -> None:
    bonuses = []
    for n, yuan in enumerate((1_000, 500, 1_000, 1_000, 100)):
        clock.advance(timedelta(hours=1))
        resp = recharge(client, till, member, yuan, f"pay-{n}")
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] == "settled"
        bonuses.append(resp.json()["bonus"])
    assert bonuses == [25_000, 8_000, 20_000, 20_000, 1_500]
    resp = client.get(f"{API}/members/{member}/wallet", headers=till)
    assert resp.json() == {"principal": 360_000, "bonus": 74_500, "total": 434_500}
    assert_consistent(db, member)


def test_recharge_answer_has_the_documented_fields(client, till, member) -> None:
    resp = recharge(client, till, member, 1_000, "pay-1")
    body = resp.json()
    assert resp.status_code == 201
    assert {"id", "status", "amount", "bonus", "bonus_breakdown", "payment_status",
            "review_status", "risk_rule", "risk_reason", "created_at", "settled_at"} <= set(body)
    assert (body["amount"], body["bonus"], body["payment_status"], body["review_status"]) == (
        100_000, 25_000, "confirmed", "none")
    assert body["bonus_breakdown"] == {"row": 20_000, "first_recharge": 5_000, "loyal": 0}
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]
    listed = client.get(f"{API}/members/{member}/recharges", headers=till).json()
    assert [r["id"] for r in listed["items"]] == [body["id"]] and listed["next_cursor"] is None


@pytest.mark.parametrize("amount", [0, -100, 1.5, "100", True, None, 10**13, 5_000_001, 99])
def test_bad_recharge_amounts_are_422_and_change_nothing(client, till, member, db,
                                                         amount) -> None:
    before = snapshot(db)
    resp = post(client, f"/members/{member}/recharges", till,
                {"amount": amount, "payment_ref": "pay-1"})
    body = problem(resp, 422, "validation_error")
    assert "amount" in body["detail"]
    assert snapshot(db) == before


@pytest.mark.parametrize("body", [
    {"amount": 10_000},
    {"amount": 10_000, "payment_ref": ""},
    {"amount": 10_000, "payment_ref": "has space"},
    {"amount": 10_000, "payment_ref": "x" * 121},
    {"amount": 10_000, "payment_ref": "p", "payment": "maybe"},
    {"amount": 10_000, "payment_ref": "p", "bonus": 5},
])
def test_bad_recharge_bodies_are_422(client, till, member, db, body) -> None:
    before = snapshot(db)
    problem(post(client, f"/members/{member}/recharges", till, body), 422, "validation_error")
    assert snapshot(db) == before


def test_value_moving_posts_need_an_idempotency_key(client, till, member, db) -> None:
    before = snapshot(db)
    resp = client.post(f"{API}/members/{member}/recharges", headers=till,
                       json={"amount": 10_000, "payment_ref": "pay-1"})
    problem(resp, 422, "idempotency_key_required")
    assert snapshot(db) == before


def test_reused_key_with_another_body_is_409_and_a_retry_is_replayed(
        client, till, member, db) -> None:
    first = recharge(client, till, member, 100, "pay-1", key="till-1")
    before = snapshot(db)
    again = recharge(client, till, member, 100, "pay-1", key="till-1")
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    problem(recharge(client, till, member, 200, "pay-2", key="till-1"), 409,
            "idempotency_key_reused")
    assert snapshot(db) == before


def test_reused_payment_ref_with_another_body_is_409(client, till, member, make_uow,
                                                     db) -> None:
    other = new_member(make_uow, 2)
    first = recharge(client, till, member, 100, "pay-1")
    before = snapshot(db)
    assert recharge(client, till, member, 100, "pay-1").json()["id"] == first.json()["id"]
    problem(recharge(client, till, member, 101, "pay-1"), 409, "payment_ref_reused")
    problem(recharge(client, till, other, 100, "pay-1"), 409, "payment_ref_reused")
    assert snapshot(db) == before


def test_unknown_and_frozen_members(client, till, member, make_uow, db) -> None:
    problem(recharge(client, till, 999, 100, "pay-1"), 404, "member_not_found")
    problem(client.get(f"{API}/members/999/wallet", headers=till), 404, "member_not_found")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    problem(recharge(client, till, member, 100, "pay-1"), 422, "member_frozen")
    problem(post(client, f"/members/{member}/wallet/payments", till,
                 {"amount": 100, "payment_ref": "p1"}), 422, "member_frozen")
    assert snapshot(db) == before


def test_freezing_over_http_blocks_spending_and_unfreezing_restores(
        client, auth, till, member, db) -> None:
    recharge(client, till, member, 100, "pay-1")
    operator = auth("operator")
    resp = client.post(f"{API}/members/{member}/status", headers=operator,
                       json={"status": "frozen", "reason": "lost card"})
    assert resp.status_code == 200
    before = snapshot(db)
    problem(post(client, f"/members/{member}/wallet/payments", till,
                 {"amount": 100, "payment_ref": "p1"}), 422, "member_frozen")
    assert snapshot(db) == before
    client.post(f"{API}/members/{member}/status", headers=operator,
                json={"status": "active", "reason": "card found"})
    assert post(client, f"/members/{member}/wallet/payments", till,
                {"amount": 100, "payment_ref": "p1"}).status_code == 201


def test_pay_refund_and_statement(client, till, member, db) -> None:
    recharge(client, till, member, 1_000, "pay-1")
    paid = post(client, f"/members/{member}/wallet/payments", till,
                {"amount": 10_000, "payment_ref": "order-1-pay", "reference": "order-1"})
    assert paid.status_code == 201, paid.text
    assert {k: paid.json()[k] for k in ("amount", "principal_part", "bonus_part", "cashback",
                                        "refunded", "reference")} == {
        "amount": 10_000, "principal_part": 8_000, "bonus_part": 2_000, "cashback": 100,
        "refunded": 0, "reference": "order-1"}
    refunds = [post(client, "/wallet/payments/order-1-pay/refunds", till,
                    {"refund_ref": f"r{i}", "amount": a}) for i, a in enumerate((3_333, 6_667))]
    assert [r.status_code for r in refunds] == [201, 201]
    assert sum(r.json()["bonus_part"] for r in refunds) == 2_000
    assert sum(r.json()["cashback_clawback"] for r in refunds) == 100
    wallet = client.get(f"{API}/members/{member}/wallet", headers=till).json()
    assert wallet == {"principal": 100_000, "bonus": 25_000, "total": 125_000}
    lines = client.get(f"{API}/members/{member}/wallet/statement", headers=till).json()["items"]
    assert [x["kind"] for x in lines] == ["wallet.refund", "wallet.refund", "wallet.payment",
                                          "wallet.recharge"]
    assert (lines[0]["principal_after"], lines[0]["bonus_after"]) == (100_000, 25_000)
    page = client.get(f"{API}/members/{member}/wallet/statement?limit=2", headers=till).json()
    rest = client.get(f"{API}/members/{member}/wallet/statement?cursor={page['next_cursor']}",
                      headers=till).json()
    assert [x["entry_id"] for x in page["items"] + rest["items"]] == [
        x["entry_id"] for x in lines]
    payments = client.get(f"{API}/members/{member}/wallet/payments", headers=till).json()
    assert payments["items"][0]["refunded"] == 10_000
    assert_consistent(db, member)


def test_payment_and_refund_refusals_change_nothing(client, till, member, db) -> None:
    recharge(client, till, member, 100, "pay-1")  # 11,500 in the wallet
    post(client, f"/members/{member}/wallet/payments", till,
         {"amount": 5_000, "payment_ref": "p1"})
    before = snapshot(db)
    problem(post(client, f"/members/{member}/wallet/payments", till,
                 {"amount": 6_601, "payment_ref": "p2"}), 422, "insufficient_balance")
    problem(post(client, f"/members/{member}/wallet/payments", till,
                 {"amount": 5_001, "payment_ref": "p1"}), 409, "payment_ref_reused")
    problem(post(client, "/wallet/payments/p1/refunds", till,
                 {"refund_ref": "r1", "amount": 5_001}), 422, "refund_exceeds_payment")
    problem(post(client, "/wallet/payments/nope/refunds", till,
                 {"refund_ref": "r1", "amount": 1}), 404, "payment_not_found")
    for amount in (0, -1, 1.5, "100", False, 10**13):
        problem(post(client, f"/members/{member}/wallet/payments", till,
                     {"amount": amount, "payment_ref": "p3"}), 422, "validation_error")
        problem(post(client, "/wallet/payments/p1/refunds", till,
                     {"refund_ref": "r1", "amount": amount}), 422, "validation_error")
    assert snapshot(db) == before
    post(client, "/wallet/payments/p1/refunds", till, {"refund_ref": "r1", "amount": 100})
    before = snapshot(db)
    problem(post(client, "/wallet/payments/p1/refunds", till,
                 {"refund_ref": "r1", "amount": 101}), 409, "refund_ref_reused")
    assert snapshot(db) == before


def test_pending_recharge_and_the_gateway_callback(client, auth, till, member, db) -> None:
    body = recharge(client, till, member, 1_000, "gw-1", payment="pending").json()
    assert (body["status"], body["payment_status"]) == ("pending", "pending")
    gateway = auth("finance")
    resp = post(client, "/payments/gw-1/callback", gateway, {"outcome": "confirmed"})
    assert resp.status_code == 200 and resp.json()["status"] == "settled"
    again = post(client, "/payments/gw-1/callback", gateway, {"outcome": "confirmed"})
    assert again.status_code == 200 and again.json()["settled_at"] == resp.json()["settled_at"]
    before = snapshot(db)
    problem(post(client, "/payments/gw-1/callback", gateway, {"outcome": "failed"}), 409,
            "payment_outcome_conflict")
    problem(post(client, "/payments/nope/callback", gateway, {"outcome": "failed"}), 404,
            "payment_not_found")
    problem(post(client, "/payments/gw-1/callback", gateway, {"outcome": "yes"}), 422,
            "validation_error")
    assert snapshot(db) == before


def test_review_queue_over_http(client, till, finance, member, db) -> None:
    held = recharge(client, till, member, 6_000, "big").json()
    assert (held["status"], held["risk_rule"]) == ("pending_review", "review_threshold")
    small = recharge(client, till, member, 5_000, "big-2").json()
    queue = client.get(f"{API}/recharges/review", headers=finance).json()["items"]
    assert [r["id"] for r in queue] == [held["id"], small["id"]]
    assert client.get(f"{API}/recharges/review", headers=till).status_code == 403
    problem(post(client, f"/recharges/{held['id']}/approve", till, {"reason": "ok ok"}), 403,
            "forbidden")
    problem(post(client, f"/recharges/{held['id']}/approve", finance, {}), 422,
            "validation_error")
    approved = post(client, f"/recharges/{held['id']}/approve", finance,
                    {"reason": "known customer"})
    assert approved.status_code == 200 and approved.json()["status"] == "settled"
    rejected = post(client, f"/recharges/{small['id']}/reject", finance,
                    {"reason": "card flagged"})
    assert rejected.json()["status"] == "rejected"
    before = snapshot(db)
    problem(post(client, f"/recharges/{held['id']}/reject", finance, {"reason": "oops"}), 409,
            "review_already_decided")
    problem(post(client, "/recharges/999/approve", finance, {"reason": "oops"}), 404,
            "recharge_not_found")
    assert snapshot(db) == before
    wallet = client.get(f"{API}/members/{member}/wallet", headers=finance).json()
    assert wallet["principal"] == 600_000
    assert_consistent(db, member)


def test_velocity_rejection_is_a_201_with_the_rule(client, till, member, clock) -> None:
    for n in range(5):
        assert recharge(client, till, member, 100, f"p{n}").json()["status"] == "settled"
    body = recharge(client, till, member, 100, "p5").json()
    assert (body["status"], body["risk_rule"]) == ("rejected", "velocity")
    assert body["risk_reason"]


def test_cash_out_over_http(client, auth, till, member, db) -> None:
    recharge(client, till, member, 1_000, "pay-1")
    problem(post(client, f"/members/{member}/wallet/cash-out", till,
                 {"cash_out_ref": "co-1", "reason": "leaving"}), 403, "forbidden")
    finance = auth("finance")
    problem(post(client, f"/members/{member}/wallet/cash-out", finance,
                 {"cash_out_ref": "co-1"}), 422, "validation_error")
    resp = post(client, f"/members/{member}/wallet/cash-out", finance,
                {"cash_out_ref": "co-1", "reason": "leaving town"})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["principal_refunded"], resp.json()["bonus_forfeited"]) == (
        100_000, 25_000)
    lots = client.get(f"{API}/members/{member}/wallet/lots", headers=till).json()["items"]
    assert lots == []
    spent = client.get(f"{API}/members/{member}/wallet/lots?include_empty=true",
                       headers=till).json()["items"]
    assert [(x["kind"], x["remaining"]) for x in spent] == [("principal", 0), ("bonus", 0)]
    timeline = client.get(f"{API}/members/{member}/timeline", headers=till).json()["items"]
    assert timeline[0]["summary"] == ("Cashed out: principal ¥1,000.00 refunded, bonus "
                                      "¥250.00 forfeited")
    assert_consistent(db, member)


def test_balance_cap_over_http(client, till, member, make_uow, db) -> None:
    configure(make_uow, "wallet", balance_cap=100_000)
    before = snapshot(db)
    problem(recharge(client, till, member, 1_000, "pay-1"), 422, "balance_cap_exceeded")
    assert snapshot(db) == before


def test_lists_reject_a_bad_cursor(client, till, member) -> None:
    problem(client.get(f"{API}/members/{member}/recharges?cursor=abc", headers=till), 422,
            "invalid_cursor")
