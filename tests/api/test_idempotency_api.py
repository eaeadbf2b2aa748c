"""Idempotency-Key on POST /members: replays, reuse with another body, refusals remembered."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from memberops.members.models import Member


def members_count(db) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(func.count()).select_from(Member)).scalar_one()


def test_retry_with_same_key_returns_first_response_and_creates_one_member(
        client, auth, db) -> None:
    headers = {**auth("till"), "Idempotency-Key": "till-7-0001"}
    first = client.post("/api/v1/members", headers=headers, json={"phone": "13800000001"})
    again = client.post("/api/v1/members",
                        headers={**headers, "Content-Type": "application/json"},
                        content=b'{ "phone" : "13800000001" }')
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert members_count(db) == 1


def test_same_key_with_other_body_is_409(client, auth, db) -> None:
    headers = {**auth("till"), "Idempotency-Key": "k1"}
    client.post("/api/v1/members", headers=headers, json={"phone": "13800000001"})
    resp = client.post("/api/v1/members", headers=headers, json={"phone": "13800000002"})
    assert resp.status_code == 409
    assert resp.json()["code"] == "idempotency_key_reused"
    assert members_count(db) == 1


def test_refusal_is_replayed_too(client, auth, db) -> None:
    client.post("/api/v1/members", headers=auth("till"), json={"phone": "13800000001"})
    headers = {**auth("till"), "Idempotency-Key": "dup"}
    first = client.post("/api/v1/members", headers=headers, json={"phone": "13800000001"})
    again = client.post("/api/v1/members", headers=headers, json={"phone": "13800000001"})
    assert first.status_code == again.status_code == 409
    assert first.json()["code"] == again.json()["code"] == "member_exists"


def test_invalid_key_is_422(client, auth) -> None:
    resp = client.post("/api/v1/members", headers={**auth("till"), "Idempotency-Key": "x" * 300},
                       json={"phone": "13800000001"})
    assert resp.status_code == 422 and resp.json()["code"] == "idempotency_key_invalid"


def test_concurrent_duplicates_of_one_key_have_one_effect(client, auth, db) -> None:
    headers = {**auth("till"), "Idempotency-Key": "burst"}
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()

    def send() -> None:
        resp = client.post("/api/v1/members", headers=headers, json={"phone": "13800000009"})
        with lock:
            statuses.append(resp.status_code)
            bodies.append(resp.json())

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert members_count(db) == 1
    assert set(statuses) <= {201, 409}
    created = [b for s, b in zip(statuses, bodies, strict=True) if s == 201]
    assert created and all(b["id"] == created[0]["id"] for b in created)
    assert all(b["code"] == "request_in_progress"
               for s, b in zip(statuses, bodies, strict=True) if s == 409)
