"""Members over HTTP: the shapes of API.md, the errors, and what each call leaves behind."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_register_then_get_returns_api_md_shape(client: TestClient, auth) -> None:
    resp = client.post("/api/v1/members", headers=auth("till"), json={
        "phone": "138 1234 5678", "name": "王小明", "email": "Xiao@Example.COM",
        "birthday": "1990-05-01", "gender": "男", "region": {"province": "广东", "city": "深圳"},
        "channel": "mini_program", "tags": ["coffee", "student"], "consents": {"sms": True}})
    assert resp.status_code == 201, resp.text
    member = resp.json()
    assert member["phone"] == "+8613812345678"
    assert member["gender"] == "male"
    assert member["email"] == "Xiao@example.com"
    assert member["tier"] == "regular" and member["status"] == "active"
    assert member["tags"] == ["coffee", "student"]
    assert member["consents"]["sms"]["granted"] is True
    assert member["joined_at"].endswith("+00:00") or member["joined_at"].endswith("Z")
    assert resp.headers["x-request-id"]

    got = client.get(f"/api/v1/members/{member['id']}", headers=auth("till"))
    assert got.status_code == 200
    assert got.json() == member


def test_health_needs_no_key(client: TestClient) -> None:
    resp = client.get("/api/v1/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


def test_missing_key_is_401_problem(client: TestClient) -> None:
    resp = client.get("/api/v1/members")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == "unauthenticated" and body["status"] == 401
