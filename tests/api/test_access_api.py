"""API keys and operators over HTTP: admin only, secrets shown once, stored hashed."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from memberops.access import service as access_service
from memberops.access.models import ApiKey, Operator


def test_key_secret_is_shown_once_and_stored_hashed(client, auth, db) -> None:
    admin = auth("admin")
    created = client.post("/api/v1/api-keys", headers=admin,
                          json={"role": "analyst", "name": "BI export"})
    assert created.status_code == 201
    secret = created.json()["key"]
    assert secret.startswith("mo_") and len(secret) >= 40
    listed = client.get("/api/v1/api-keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    assert any(k["name"] == "BI export" and secret.startswith(k["prefix"]) for k in listed)
    with db.session(readonly=True) as s:
        stored = s.execute(select(ApiKey).where(ApiKey.name == "BI export")).scalar_one()
    assert secret not in stored.key_hash and len(stored.key_hash) == 64


def test_last_used_time_is_recorded(client, auth, db) -> None:
    headers = auth("till")
    client.get("/api/v1/members", headers=headers)
    with db.session(readonly=True) as s:
        key = s.execute(select(ApiKey).where(ApiKey.role == "till")).scalar_one()
    assert key.last_used_at is not None


def test_last_used_time_is_written_at_most_once_a_minute(client, auth, db, clock) -> None:
    headers = auth("till")

    def last_used() -> object:
        with db.session(readonly=True) as s:
            return s.execute(select(ApiKey.last_used_at).where(ApiKey.role == "till")) \
                .scalar_one()

    client.get("/api/v1/members", headers=headers)
    first = last_used()
    assert first == clock.now()
    clock.advance(timedelta(seconds=30))
    client.get("/api/v1/members", headers=headers)
    assert last_used() == first  # within the minute: no write
    clock.advance(timedelta(seconds=40))
    client.get("/api/v1/members", headers=headers)
    assert last_used() == clock.now()


def test_unknown_role_and_revoking_twice(client, auth) -> None:
    admin = auth("admin")
    bad = client.post("/api/v1/api-keys", headers=admin, json={"role": "root", "name": "x"})
    assert bad.status_code == 422
    key = client.post("/api/v1/api-keys", headers=admin,
                      json={"role": "till", "name": "t"}).json()
    assert client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=admin).status_code == 200
    again = client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "already_revoked"


def test_operator_accounts(client, auth, db) -> None:
    admin = auth("admin")
    made = client.post("/api/v1/operators", headers=admin, json={
        "username": "Li.Na", "password": "correct horse battery", "role": "finance"})
    assert made.status_code == 201 and made.json()["username"] == "li.na"
    with db.session(readonly=True) as s:
        stored = s.execute(select(Operator)).scalar_one()
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    dup = client.post("/api/v1/operators", headers=admin, json={
        "username": "li.na", "password": "correct horse battery", "role": "finance"})
    assert dup.status_code == 409 and dup.json()["code"] == "operator_exists"
    short = client.post("/api/v1/operators", headers=admin, json={
        "username": "bob", "password": "short", "role": "finance"})
    assert short.status_code == 422
    disabled = client.post(f"/api/v1/operators/{made.json()['id']}/disable", headers=admin)
    assert disabled.json()["active"] is False
    assert [o["username"] for o in client.get("/api/v1/operators", headers=admin).json()] \
        == ["li.na"]


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_time(
        app_factory, api_key, make_uow) -> None:
    # Another process (here: the service, as the CLI would) revokes the key; this server
    # trusted it for `key_cache_seconds` and then looks it up again.
    client = app_factory(key_cache_seconds=0.3)
    secret = api_key("till")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    with make_uow() as uow:
        key_id = uow.session.execute(select(ApiKey.id).where(ApiKey.role == "till")).scalar()
        access_service.revoke_api_key(uow, key_id)
    time.sleep(0.4)
    assert client.get("/api/v1/members", headers=headers).status_code == 401
