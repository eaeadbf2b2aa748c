"""Segments over the API: preview, saved definitions, frozen snapshots and their CSV, on a
small world whose answers are worked out by hand; who may do what; every refusal as a
problem with its code (and the path of a fault in a definition)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from tests.segments_helpers import insert_world, tag

API = "/api/v1"
TODAY = date(2026, 6, 15)  # the clock fixture's day in Shanghai
VIP = {"all": [{"field": "tag", "op": "has", "value": "vip"}]}


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code
    return body


@pytest.fixture
def world(db) -> None:
    insert_world(db, TODAY)


def preview(client, auth, definition, role: str = "analyst", **params):
    return client.post(f"{API}/segments/preview", json={"definition": definition},
                       headers=auth(role), params=params)


def test_preview_counts_and_samples(client, auth, world) -> None:
    body = preview(client, auth, VIP).json()
    assert body == {"as_of": "2026-06-15", "count": 2,
                    "sample": [{"member_id": 1, "tier": "gold"},
                               {"member_id": 3, "tier": "silver"}]}
    # a pending recharge is not a recharge; spend within 7 days; OR of both
    recharged = {"all": [{"field": "recharged_ever", "op": "eq", "value": True}]}
    assert preview(client, auth, recharged).json()["count"] == 1
    either = {"any": [recharged["all"][0], {"field": "city", "op": "eq", "value": "Shanghai"},
                      {"field": "spend_in_window", "op": "gt", "value": 0, "window_days": 7}]}
    assert [m["member_id"] for m in preview(client, auth, either).json()["sample"]] == [1, 2]
    # ages from birthdays read from the store: 1 is 36; the others have none
    aged = preview(client, auth, {"all": [{"field": "age", "op": "between", "value": [30, 40]},
                                          {"field": "gender", "op": "ne", "value": "male"}]})
    assert [m["member_id"] for m in aged.json()["sample"]] == [1]
    # member 2 had not joined twenty days ago; nobody is platinum
    early = preview(client, auth, {"all": [{"field": "joined_days", "op": "gte", "value": 0}]},
                    as_of="2026-05-26").json()
    assert early["count"] == 2 and early["as_of"] == "2026-05-26"
    none = preview(client, auth, {"all": [{"field": "tier", "op": "eq", "value": "platinum"}]})
    assert none.json() == {"as_of": "2026-06-15", "count": 0, "sample": []}


def test_invalid_definitions_are_422_with_the_path(client, auth, world) -> None:
    bad = {"all": [{"field": "shoe_size", "op": "eq", "value": 1},
                   {"any": [{"field": "age", "op": "has", "value": 1}]},
                   {"field": "age", "op": "gt", "value": "old"}]}
    body = problem(preview(client, auth, bad), 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == [
        "definition.all.0.field", "definition.all.1.any.0.op", "definition.all.2.value"]
    deep = {"field": "age", "op": "gt", "value": 1}
    for _ in range(6):
        deep = {"all": [deep]}
    body = problem(preview(client, auth, deep), 422, "validation_error")
    assert "nested more than 5 deep" in body["detail"]
    problem(preview(client, auth, VIP, as_of="2026-06-16"), 422, "validation_error")
    problem(client.post(f"{API}/segments/preview", json={}, headers=auth("admin")), 422,
            "validation_error")
    # saving checks the same way, and stores nothing
    resp = client.post(f"{API}/segments", json={"name": "bad", "definition": bad},
                       headers=auth("operator"))
    problem(resp, 422, "validation_error")
    assert client.get(f"{API}/segments", headers=auth("admin")).json()["items"] == []


def test_saved_segments_crud_and_audit(client, auth, world, db) -> None:
    op = auth("operator")
    resp = client.post(f"{API}/segments", json={"name": "VIPs", "description": "tagged",
                                                "definition": VIP}, headers=op)
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert made["name"] == "VIPs" and made["definition"] == VIP
    assert made["created_by"].startswith("api_key:")
    problem(client.post(f"{API}/segments", json={"name": "VIPs", "definition": VIP},
                        headers=op), 409, "segment_exists")
    other = client.post(f"{API}/segments", json={"name": "Men", "definition": {
        "all": [{"field": "gender", "op": "eq", "value": "male"}]}}, headers=op).json()
    page = client.get(f"{API}/segments", headers=auth("analyst"), params={"limit": 1}).json()
    assert [s["id"] for s in page["items"]] == [other["id"]]  # newest first
    rest = client.get(f"{API}/segments", headers=auth("analyst"),
                      params={"cursor": page["next_cursor"]}).json()
    assert [s["id"] for s in rest["items"]] == [made["id"]] and rest["next_cursor"] is None
    sid = made["id"]
    changed = client.patch(f"{API}/segments/{sid}", headers=op, json={
        "definition": {"any": [{"field": "tier", "op": "eq", "value": "gold"}]}}).json()
    assert changed["definition"]["any"][0]["value"] == "gold" and changed["name"] == "VIPs"
    problem(client.patch(f"{API}/segments/{sid}", headers=op, json={"name": "Men"}), 409,
            "segment_exists")
    body = problem(client.patch(f"{API}/segments/{sid}", headers=op, json={
        "definition": {"all": [{"field": "tier", "op": "gt", "value": "gold"}]}}), 422,
        "validation_error")
    assert body["errors"][0]["field"] == "definition.all.0.op"
    assert client.get(f"{API}/segments/{sid}", headers=auth("analyst")).json()["name"] == "VIPs"
    assert client.delete(f"{API}/segments/{other['id']}", headers=op).status_code == 204
    problem(client.get(f"{API}/segments/{other['id']}", headers=op), 404, "segment_not_found")
    with db.session() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_type == "segment").order_by(AuditEntry.id)).all()
    assert actions == ["segment.created", "segment.created", "segment.updated",
                       "segment.deleted"]


def test_a_snapshot_is_frozen_and_exported(client, auth, world, db) -> None:
    op = auth("operator")
    sid = client.post(f"{API}/segments", json={"name": "VIPs", "definition": VIP},
                      headers=op).json()["id"]
    resp = client.post(f"{API}/segments/{sid}/snapshots", headers=op)
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["member_count"] == 2 and first["as_of"] == "2026-06-15"
    assert first["definition"] == VIP
    # member 2 becomes a VIP and the definition changes: the snapshot does not
    tag(db, 2, "vip")
    client.patch(f"{API}/segments/{sid}", headers=op, json={"definition": {
        "all": [VIP["all"][0], {"field": "status", "op": "eq", "value": "active"}]}})
    second = client.post(f"{API}/segments/{sid}/snapshots", headers=op).json()
    assert second["member_count"] == 2 and second["id"] != first["id"]
    csv_path = f"{API}/segments/{sid}/snapshots/{first['id']}/members.csv"
    resp = client.get(csv_path, headers=auth("analyst"))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.text == "member_id\n1\n3\n" and resp.headers["x-total-count"] == "2"
    later = client.get(f"{API}/segments/{sid}/snapshots/{second['id']}/members.csv",
                       headers=op)
    assert later.text == "member_id\n1\n2\n"
    listed = client.get(f"{API}/segments/{sid}/snapshots", headers=auth("analyst")).json()
    assert [s["id"] for s in listed["items"]] == [second["id"], first["id"]]
    assert listed["items"][1]["definition"] == VIP
    # kept for the campaigns: a segment with snapshots is not deleted
    problem(client.delete(f"{API}/segments/{sid}", headers=op), 409, "segment_has_snapshots")
    # an Idempotency-Key makes a repeat return the first snapshot
    keyed = {**op, "Idempotency-Key": "snap-1"}
    one = client.post(f"{API}/segments/{sid}/snapshots", headers=keyed).json()
    again = client.post(f"{API}/segments/{sid}/snapshots", headers=keyed)
    assert again.json()["id"] == one["id"]
    assert again.headers.get("idempotent-replayed") == "true"


def test_unknown_segments_and_snapshots_are_404(client, auth, world) -> None:
    op = auth("operator")
    for method, path in [("GET", "/segments/99"), ("PATCH", "/segments/99"),
                         ("DELETE", "/segments/99"), ("POST", "/segments/99/snapshots"),
                         ("GET", "/segments/99/snapshots")]:
        kwargs = {"json": {}} if method == "PATCH" else {}
        problem(client.request(method, f"{API}{path}", headers=op, **kwargs), 404,
                "segment_not_found")
    a = client.post(f"{API}/segments", json={"name": "a", "definition": VIP}, headers=op)
    b = client.post(f"{API}/segments", json={"name": "b", "definition": VIP}, headers=op)
    snap = client.post(f"{API}/segments/{a.json()['id']}/snapshots", headers=op).json()
    problem(client.get(f"{API}/segments/{b.json()['id']}/snapshots/{snap['id']}/members.csv",
                       headers=op), 404, "snapshot_not_found")
    problem(client.get(f"{API}/segments/{a.json()['id']}/snapshots/999/members.csv",
                       headers=op), 404, "snapshot_not_found")


def test_who_may_do_what(client, auth, world) -> None:
    problem(preview(client, auth, VIP, role="till"), 403, "forbidden")
    problem(client.get(f"{API}/segments", headers=auth("till")), 403, "forbidden")
    problem(client.get(f"{API}/segments", headers=auth("finance")), 403, "forbidden")
    problem(client.post(f"{API}/segments", json={"name": "x", "definition": VIP},
                        headers=auth("analyst")), 403, "forbidden")
    made = client.post(f"{API}/segments", json={"name": "x", "definition": VIP},
                       headers=auth("admin"))
    assert made.status_code == 201
    problem(client.post(f"{API}/segments/{made.json()['id']}/snapshots",
                        headers=auth("analyst")), 403, "forbidden")
    assert client.get(f"{API}/segments", headers=auth("analyst")).status_code == 200
