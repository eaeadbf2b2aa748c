"""Walks the permission table: every route, every role, with and without a key."""

from __future__ import annotations

import re

import pytest

from memberops.access.rules import ROLE_PERMISSIONS, Permission, Role, allows
from memberops.api.permissions import PUBLIC, ROUTE_PERMISSIONS

SAMPLE_PATH_VALUES = {"refund_ref": "plus-refund-1",
                      "member_id": "1", "tag": "vip", "channel": "sms", "key_id": "1",
                      "kind": "risk_rules", "payment_ref": "pay-1", "recharge_id": "1",
                      "operator_id": "1", "sku": "gift-1",
                      "template_id": "1", "code": "ABCD-EFGH-JKMN", "order_ref": "O-1",
                      "segment_id": "1", "snapshot_id": "1"}
PROTECTED = sorted((m, p) for (m, p), perm in ROUTE_PERMISSIONS.items() if perm != PUBLIC)


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES[m.group(1)], path)


def call(client, method: str, path: str, headers: dict[str, str]):
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, concrete(path), headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_route_needs_a_key(client, method: str, path: str) -> None:
    resp = call(client, method, path, {})
    assert resp.status_code == 401, (method, path, resp.text)
    bad = call(client, method, path, {"Authorization": "Bearer mo_not-a-real-key"})
    assert bad.status_code == 401


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_gets_exactly_its_permissions(client, auth, role: str) -> None:
    headers = auth(role)
    for method, path in PROTECTED:
        permission = ROUTE_PERMISSIONS[(method, path)]
        assert isinstance(permission, Permission)
        resp = call(client, method, path, headers)
        if allows(role, permission):
            assert resp.status_code != 403, (role, method, path, resp.text)
        else:
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            assert resp.json()["code"] == "forbidden"


def test_role_table_says_what_the_issue_says() -> None:
    till, analyst = ROLE_PERMISSIONS[Role.TILL], ROLE_PERMISSIONS[Role.ANALYST]
    assert Permission.MEMBERS_REGISTER in till and Permission.MEMBERS_READ in till
    assert Permission.MEMBERS_EXPORT not in till and Permission.CONFIG_WRITE not in till
    assert not analyst & {Permission.MEMBERS_WRITE, Permission.MEMBERS_REGISTER,
                          Permission.MEMBERS_IMPORT, Permission.CONFIG_WRITE,
                          Permission.ACCESS_MANAGE}
    holders = [r for r, perms in ROLE_PERMISSIONS.items() if Permission.ACCESS_MANAGE in perms]
    assert holders == [Role.ADMIN]
    assert [r for r, p in ROLE_PERMISSIONS.items() if Permission.AUDIT_READ in p] == [Role.ADMIN]
    assert [r for r, p in ROLE_PERMISSIONS.items() if Permission.TIERS_FLOOR in p] == [Role.ADMIN]
    assert Permission.TIERS_SIMULATE in analyst and Permission.TIERS_SIMULATE not in till
    assert Permission.REPORTS_READ in analyst and Permission.REPORTS_READ not in till


def test_revoked_key_is_refused_at_once(client, auth) -> None:
    admin = auth("admin")
    created = client.post("/api/v1/api-keys", headers=admin,
                          json={"role": "till", "name": "till 3"}).json()
    till = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/members", headers=till).status_code == 200
    revoked = client.post(f"/api/v1/api-keys/{created['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/members", headers=till).status_code == 401


def test_the_permission_table_covers_what_the_openapi_document_lists(client) -> None:
    # The start-up check reads the routes, not the (slow to build) document: both must
    # name the same routes and methods.
    from memberops.api.app import public_routes
    from memberops.api.permissions import API_PREFIX

    listed = {(method.upper(), path)
              for path, operations in client.app.openapi()["paths"].items()
              if path.startswith(API_PREFIX) for method in operations}
    assert public_routes(client.app) == listed == set(ROUTE_PERMISSIONS)


def test_a_route_without_a_permission_stops_the_start(client, monkeypatch) -> None:
    from memberops.api import app as app_module
    from memberops.api.permissions import API_PREFIX

    @client.app.get(f"{API_PREFIX}/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    monkeypatch.setattr(app_module, "_TABLE_CHECKED", False)
    with pytest.raises(RuntimeError, match=r"missing \[\('GET', '/api/v1/forgotten'\)\]"):
        app_module._check_permission_table(client.app)
