"""Coupons over HTTP: templates, issuing (one member, a list, a CSV body) with an
Idempotency-Key, a member's coupons, a coupon by code, validation with a reason per code;
each refusal a problem with its code and nothing changed; who may do what."""

from __future__ import annotations

from datetime import date

import pytest

from memberops.coupons import codes
from tests.coupons_helpers import (
    YUAN,
    coupon_row,
    issue,
    new_member,
    phone,
    reference,
    set_status,
    snapshot,
)

API = "/api/v1"
SPEND200 = {"code": "spend200", "name": "满200减30", "kind": "amount_off", "amount_off": 3_000,
            "min_spend": 20_000, "validity": "days", "valid_days": 14}


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["detail"]
    return body


def key(n: int | str) -> dict[str, str]:
    return {"Idempotency-Key": f"key-{n}"}


def create(client, auth, **fields) -> dict:
    resp = client.post(f"{API}/coupon-templates", headers=auth("operator"),
                       json=SPEND200 | fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_templates_are_created_read_listed_and_edited(client, auth) -> None:
    made = create(client, auth, quantity=100)
    assert made | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0, "code": "spend200", "name": "满200减30", "description": None,
        "rule": "¥30 off on orders of ¥200 or more", "kind": "amount_off",
        "amount_off": 3_000, "percent_off": None, "max_discount": None, "min_spend": 20_000,
        "gift_sku": None, "validity": "days", "starts_on": None, "ends_on": None,
        "valid_days": 14, "quantity": 100, "issued": 0, "remaining": 100,
        "per_member_limit": None, "stackable": False, "eligible_tiers": [], "trigger": None,
        "status": "active", "created_at": "", "updated_at": "", "counts": None}
    create(client, auth, code="nine", kind="percent_off", amount_off=None, percent_off=10,
           max_discount=5_000, min_spend=0)
    create(client, auth, code="july", validity="fixed", valid_days=None,
           starts_on="2026-07-01", ends_on="2026-07-31", status="paused")
    reader = auth("analyst")
    listed = client.get(f"{API}/coupon-templates", headers=reader).json()
    assert [t["code"] for t in listed["items"]] == ["july", "nine", "spend200"]
    by_code = client.get(f"{API}/coupon-templates?sort=code&limit=2", headers=reader).json()
    assert [t["code"] for t in by_code["items"]] == ["july", "nine"]
    rest = client.get(f"{API}/coupon-templates", headers=reader,
                      params={"sort": "code", "cursor": by_code["next_cursor"]}).json()
    assert [t["code"] for t in rest["items"]] == ["spend200"] and rest["next_cursor"] is None
    paused = client.get(f"{API}/coupon-templates?status=paused", headers=reader).json()
    assert [t["code"] for t in paused["items"]] == ["july"]
    problem(client.get(f"{API}/coupon-templates", headers=reader,
                       params={"cursor": by_code["next_cursor"]}), 422, "invalid_cursor")
    one = client.get(f"{API}/coupon-templates/{made['id']}", headers=reader).json()
    assert one["counts"] == {"issued": 0, "outstanding": 0, "used": 0, "expired": 0,
                             "discount": 0}
    patched = client.patch(f"{API}/coupon-templates/{made['id']}", headers=auth("operator"),
                           json={"name": "Spring ¥30", "quantity": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["remaining"]) == ("Spring ¥30", None)
    problem(client.get(f"{API}/coupon-templates/999", headers=reader), 404,
            "coupon_template_not_found")


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount_off": -1}, "amount_off"),
    ({"amount_off": "3000"}, "amount_off"),
    ({"amount_off": 30.5}, "amount_off"),
    ({"amount_off": 50_000}, "amount_off"),  # more than the ¥200 threshold
    ({"kind": "percent_off", "amount_off": None}, "percent_off"),
    ({"validity": "fixed"}, "ends_on"),
    ({"eligible_tiers": "gold"}, "eligible_tiers"),
    ({"extra": 1}, "extra"),
])
def test_bad_templates_are_422_naming_the_field(client, auth, db, fields, field) -> None:
    op = auth("operator")
    before = snapshot(db)
    body = problem(client.post(f"{API}/coupon-templates", headers=op,
                               json=SPEND200 | fields), 422, "validation_error")
    assert field in [e["field"] for e in body["errors"]], body
    assert snapshot(db) == before


def test_pause_resume_and_terms_in_use(client, auth, make_uow) -> None:
    made = create(client, auth)
    op = auth("operator")
    paused = client.post(f"{API}/coupon-templates/{made['id']}/pause", headers=op,
                         json={"reason": "over budget"})
    assert paused.json()["status"] == "paused"
    member = new_member(make_uow)
    problem(client.post(f"{API}/coupon-templates/{made['id']}/issue", headers=op | key(1),
                        json={"member_id": member}), 422, "coupon_template_paused")
    assert client.post(f"{API}/coupon-templates/{made['id']}/resume", headers=op
                       ).json()["status"] == "active"
    assert client.post(f"{API}/coupon-templates/{made['id']}/issue", headers=op | key(2),
                       json={"member_id": member}).status_code == 201
    problem(client.patch(f"{API}/coupon-templates/{made['id']}", headers=op,
                         json={"amount_off": 1_000}), 409, "coupon_template_in_use")


def test_issue_to_one_member_needs_a_key_and_replays(client, auth, db, make_uow) -> None:
    made = create(client, auth)
    member = new_member(make_uow)
    url = f"{API}/coupon-templates/{made['id']}/issue"
    op = auth("operator")
    problem(client.post(url, headers=op, json={"member_id": member}), 422,
            "idempotency_key_required")
    first = client.post(url, headers=op | key(1), json={"member_id": member})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["issued"], body["refused"], body["coupons"][0]["member_id"]) == (1, 0, member)
    again = client.post(url, headers=op | key(1), json={"member_id": member})
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    problem(client.post(url, headers=op | key(1), json={"member_ids": [member]}), 409,
            "idempotency_key_reused")
    assert coupon_row(db, body["coupons"][0]["code"]).member_id == member
    before = snapshot(db)
    problem(client.post(url, headers=op | key(2), json={"member_id": 999}), 404,
            "member_not_found")
    problem(client.post(url, headers=op | key(3), json={}), 422, "validation_error")
    problem(client.post(url, headers=op | key(4), json={"member_id": member,
                                                        "phones": ["1"]}),
            422, "validation_error")
    problem(client.post(f"{API}/coupon-templates/999/issue", headers=op | key(5),
                        json={"member_id": member}), 404, "coupon_template_not_found")
    assert snapshot(db) == before


def test_issue_to_a_list_reports_each_refused_row(client, auth, make_uow) -> None:
    made = create(client, auth, quantity=2)
    members = [new_member(make_uow, n) for n in range(1, 4)]
    resp = client.post(f"{API}/coupon-templates/{made['id']}/issue", headers=auth("operator")
                       | key(1), json={"phones": [phone(1), "138 0000 9999", phone(2),
                                                  phone(3)]})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["requested"], body["issued"], body["refused"]) == (4, 2, 2)
    assert [c["member_id"] for c in body["coupons"]] == members[:2]
    assert [(e["line"], e["member"], e["reason"]) for e in body["errors"]] == [
        (2, "138 0000 9999", "member_not_found"), (4, phone(3), "coupon_budget_exhausted")]
    assert body["batch_ref"]


def test_issue_from_a_csv_body(client, auth, make_uow) -> None:
    made = create(client, auth)
    members = [new_member(make_uow, n) for n in range(1, 3)]
    csv = f"member_id,name\n{members[0]},a\n{members[1]},b\n4242,c\n".encode()
    url = f"{API}/coupon-templates/{made['id']}/issue-file"
    headers = auth("operator") | key(1) | {"Content-Type": "text/csv"}
    resp = client.post(url, headers=headers, content=csv)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["issued"], resp.json()["errors"][0]["line"]) == (2, 4)
    assert client.post(url, headers=headers, content=csv).json() == resp.json()  # replayed
    problem(client.post(url, headers=auth("operator") | key(2), content=b""), 422, "list_empty")
    problem(client.post(url, headers=auth("operator") | key(3), content=b"name\nx\n"), 422,
            "list_header")


def test_a_members_coupons_and_one_coupon(client, auth, make_uow, db) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow)
    codes_ = [issue(make_uow, ids["spend200-off30"], member),
              issue(make_uow, ids["10-percent-off"], member)]
    till = auth("till")
    listed = client.get(f"{API}/members/{member}/coupons", headers=till).json()
    assert [c["code"] for c in listed["items"]] == codes_[::-1]
    item = listed["items"][1]
    assert (item["status"], item["template_code"], item["rule"], item["valid_until"]) == (
        "issued", "spend200-off30", "¥30 off on orders of ¥200 or more",
        "2026-06-29T16:00:00Z")
    assert item["display_code"] == codes.display(codes_[0])
    page = client.get(f"{API}/members/{member}/coupons?limit=1", headers=till).json()
    nxt = client.get(f"{API}/members/{member}/coupons", headers=till,
                     params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [c["code"] for c in page["items"] + nxt["items"]] == codes_[::-1]
    assert client.get(f"{API}/members/{member}/coupons?status=used",
                      headers=till).json()["items"] == []
    problem(client.get(f"{API}/members/{member}/coupons?status=lost", headers=till), 422,
            "validation_error")
    problem(client.get(f"{API}/members/999/coupons", headers=till), 404, "member_not_found")
    one = client.get(f"{API}/coupons/{codes.display(codes_[0]).lower()}", headers=till)
    assert one.status_code == 200 and one.json()["code"] == codes_[0]
    problem(client.get(f"{API}/coupons/NOPE", headers=till), 404, "coupon_not_found")
    problem(client.get(f"{API}/coupons/AAAA-AAAA-AAAA", headers=till), 404,
            "coupon_not_found")


def test_validate_says_what_applies_and_why_not(client, auth, make_uow, db) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow, birthday=date(1990, 1, 1))
    spend = issue(make_uow, ids["spend200-off30"], member)
    nine = issue(make_uow, ids["10-percent-off"], member)
    till = auth("till")
    before = snapshot(db)

    def validate(**body):
        return client.post(f"{API}/coupons/validate", headers=till,
                           json={"member_id": member, "amount": 250 * YUAN} | body)

    ok = validate(codes=[codes.display(spend)]).json()
    assert ok == {"applies": True, "discount": 3_000, "shipping_discount": 0,
                  "payable": 22_000, "coupons": [{
                      "code": spend, "applies": True, "kind": "amount_off", "discount": 3_000,
                      "target": "amount", "gift_sku": None, "reason": None, "detail": None}]}
    below = validate(codes=[spend], amount=199_99).json()
    assert (below["applies"], below["coupons"][0]["reason"]) == (False,
                                                                 "coupon_threshold_not_met")
    both = validate(codes=[spend, nine, "ZZZZZZZZZZZZ"]).json()
    assert [(c["code"], c["reason"]) for c in both["coupons"]] == [
        (spend, "coupon_not_stackable"), (nine, "coupon_not_stackable"),
        ("ZZZZZZZZZZZZ", "coupon_not_found")]
    assert both["discount"] == 0 and both["payable"] == 250 * YUAN
    problem(validate(codes=[spend], amount=-5), 422, "validation_error")
    problem(validate(codes=[spend], amount="100"), 422, "validation_error")
    problem(validate(codes=[]), 422, "validation_error")
    problem(validate(codes=[spend, spend]), 422, "validation_error")
    problem(client.post(f"{API}/coupons/validate", headers=till,
                        json={"member_id": 999, "codes": [spend], "amount": 1}), 404,
            "member_not_found")
    assert snapshot(db) == before
    set_status(make_uow, member, "frozen")
    problem(validate(codes=[spend]), 422, "member_frozen")


def test_roles(client, auth, make_uow) -> None:
    made = create(client, auth)
    member = new_member(make_uow)
    for role in ("till", "analyst", "finance"):
        problem(client.post(f"{API}/coupon-templates", headers=auth(role),
                            json=SPEND200 | {"code": f"x-{role}"}), 403, "forbidden")
        problem(client.post(f"{API}/coupon-templates/{made['id']}/issue",
                            headers=auth(role) | key(role), json={"member_id": member}),
                403, "forbidden")
        assert client.get(f"{API}/coupon-templates/{made['id']}",
                          headers=auth(role)).status_code == 200
    for role in ("analyst", "finance"):
        problem(client.post(f"{API}/coupons/validate", headers=auth(role),
                            json={"member_id": member, "codes": ["X"], "amount": 1}),
                403, "forbidden")


def test_a_member_registered_through_the_api_gets_the_welcome_coupon(client, auth,
                                                                      make_uow) -> None:
    reference(make_uow)
    made = client.post("/api/v1/members", headers=auth("till"), json={"phone": "13912345678"})
    assert made.status_code == 201
    mine = client.get(f"/api/v1/members/{made.json()['id']}/coupons", headers=auth("till"))
    assert [c["template_code"] for c in mine.json()["items"]] == ["welcome"]
