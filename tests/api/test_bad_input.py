"""Bad input gets a clear 4xx problem and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.members.models import Member
from memberops.outbox import OutboxEvent


def written(db) -> tuple[int, int, int]:
    """Members, audit entries about members, and events (API keys made by `auth` aside)."""
    with db.session(readonly=True) as s:
        count = lambda stmt: s.execute(stmt).scalar_one()  # noqa: E731
        return (count(select(func.count()).select_from(Member)),
                count(select(func.count()).select_from(AuditEntry)
                      .where(AuditEntry.target_type == "member")),
                count(select(func.count()).select_from(OutboxEvent)))


@pytest.fixture
def existing(client, auth) -> dict:
    resp = client.post("/api/v1/members", headers=auth("operator"),
                       json={"phone": "13800000001"})
    assert resp.status_code == 201
    return resp.json()


def assert_problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


@pytest.mark.parametrize(("payload", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"phone": "1380000000a"}, "phone"),
    ({"phone": "+1 202 555 0"}, "phone"),
    ({"phone": 13800000002}, "phone"),
    ({"phone": "13800000002", "email": "not-an-email"}, "email"),
    ({"phone": "13800000002", "birthday": "1990-02-30"}, "birthday"),
    ({"phone": "13800000002", "birthday": "yesterday"}, "birthday"),
    ({"phone": "13800000002", "gender": "robot"}, "gender"),
    ({"phone": "13800000002", "channel": "fax"}, "channel"),
    ({"phone": "13800000002", "tags": "vip"}, "tags"),
    ({"phone": "13800000002", "tags": ["a,b"]}, "tags.0"),
    ({"phone": "13800000002", "referrer_id": "abc"}, "referrer_id"),
    ({"phone": "13800000002", "consents": {"fax": True}}, "consents.fax"),
    ({"phone": "13800000002", "nickname": "x"}, "nickname"),
    ({"phone": "13800000002", "joined_at": "2026-01-01T00:00:00"}, "joined_at"),
    ({}, "phone"),
])
def test_invalid_member_fields_are_422_with_the_field(client, auth, db, payload, field) -> None:
    before = written(db)
    body = assert_problem(client.post("/api/v1/members", headers=auth("operator"),
                                      json=payload), 422, "validation_error")
    assert field in [e["field"] for e in body["errors"]], body
    assert written(db) == before


def test_birthday_in_the_future_is_422(client, auth, db, clock) -> None:
    body = assert_problem(client.post("/api/v1/members", headers=auth("operator"), json={
        "phone": "13800000002", "birthday": "2027-01-01"}), 422, "validation_error")
    assert body["errors"][0]["field"] == "birthday"
    assert written(db) == (0, 0, 0)


def test_malformed_json_is_400(client, auth, db) -> None:
    resp = client.post("/api/v1/members", content=b'{"phone": "138',
                       headers={**auth("operator"), "Content-Type": "application/json"})
    assert_problem(resp, 400, "malformed_json")
    assert written(db) == (0, 0, 0)


def test_oversized_body_is_413(app_factory, auth, db) -> None:
    client = app_factory(max_body_bytes=2048)
    resp = client.post("/api/v1/members", headers=auth("operator"),
                       json={"phone": "13800000002", "name": "x" * 5000})
    assert resp.status_code == 413 and resp.json()["code"] == "payload_too_large"
    assert written(db) == (0, 0, 0)


def test_duplicate_phone_is_409_member_exists(client, auth, db, existing) -> None:
    before = written(db)
    body = assert_problem(client.post("/api/v1/members", headers=auth("operator"),
                                      json={"phone": "+8613800000001"}), 409, "member_exists")
    assert body["member_id"] == existing["id"]
    assert written(db) == before


def test_unknown_member_is_404(client, auth, db) -> None:
    assert_problem(client.get("/api/v1/members/999", headers=auth("operator")),
                   404, "member_not_found")
    assert_problem(client.patch("/api/v1/members/999", headers=auth("operator"),
                                json={"name": "x"}), 404, "member_not_found")


def test_referrer_cycle_is_422_and_changes_nothing(client, auth, db, existing) -> None:
    b = client.post("/api/v1/members", headers=auth("operator"),
                    json={"phone": "13800000002", "referrer_id": existing["id"]}).json()
    before = written(db)
    assert_problem(client.patch(f"/api/v1/members/{existing['id']}", headers=auth("operator"),
                                json={"referrer_id": b["id"]}), 422, "referral_cycle")
    assert written(db) == before
    got = client.get(f"/api/v1/members/{existing['id']}", headers=auth("operator")).json()
    assert got["referrer_id"] is None


def test_bad_status_change_and_unknown_consent_channel(client, auth, existing) -> None:
    url = f"/api/v1/members/{existing['id']}"
    assert_problem(client.post(f"{url}/status", headers=auth("operator"),
                               json={"status": "active", "reason": "noop"}),
                   422, "invalid_status_change")
    assert_problem(client.post(f"{url}/status", headers=auth("operator"),
                               json={"status": "frozen"}), 422, "validation_error")
    assert_problem(client.put(f"{url}/consents/fax", headers=auth("operator"),
                              json={"granted": True}), 422, "validation_error")


def test_bad_query_parameters(client, auth) -> None:
    assert_problem(client.get("/api/v1/members?limit=0", headers=auth("analyst")),
                   422, "validation_error")
    assert_problem(client.get("/api/v1/members?sort=phone", headers=auth("analyst")),
                   422, "invalid_sort")
    assert_problem(client.get("/api/v1/members?cursor=garbage", headers=auth("analyst")),
                   422, "invalid_cursor")
    assert_problem(client.get("/api/v1/members?joined_from=2026-13-01", headers=auth("analyst")),
                   422, "validation_error")
