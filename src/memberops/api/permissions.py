"""The one table of who may call what: every API route names its permission here.

`create_app` refuses to start if a route is missing from this table, and
tests/api/test_permissions.py walks it for every role.
"""

from __future__ import annotations

from memberops.access.rules import Permission

API_PREFIX = "/api/v1"
PUBLIC = "public"

ROUTE_PERMISSIONS: dict[tuple[str, str], Permission | str] = {
    ("GET", "/api/v1/health"): PUBLIC,
    # members
    ("POST", "/api/v1/members"): Permission.MEMBERS_REGISTER,
    ("GET", "/api/v1/members"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/members/{member_id}"): Permission.MEMBERS_READ,
    ("PATCH", "/api/v1/members/{member_id}"): Permission.MEMBERS_WRITE,
    ("POST", "/api/v1/members/{member_id}/tags"): Permission.MEMBERS_WRITE,
    ("DELETE", "/api/v1/members/{member_id}/tags/{tag}"): Permission.MEMBERS_WRITE,
    ("PUT", "/api/v1/members/{member_id}/consents/{channel}"): Permission.MEMBERS_WRITE,
    ("POST", "/api/v1/members/{member_id}/status"): Permission.MEMBERS_WRITE,
    ("GET", "/api/v1/members/{member_id}/timeline"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/members/export"): Permission.MEMBERS_EXPORT,
    ("POST", "/api/v1/members/import"): Permission.MEMBERS_IMPORT,
    # access
    ("GET", "/api/v1/api-keys"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/api-keys"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): Permission.ACCESS_MANAGE,
    ("GET", "/api/v1/operators"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators/{operator_id}/disable"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators/{operator_id}/enable"): Permission.ACCESS_MANAGE,
    # programme configuration
    ("GET", "/api/v1/programme"): Permission.CONFIG_READ,
    ("GET", "/api/v1/programme/{kind}"): Permission.CONFIG_READ,
    ("PUT", "/api/v1/programme/{kind}"): Permission.CONFIG_WRITE,
    ("GET", "/api/v1/programme/{kind}/history"): Permission.CONFIG_READ,
    # audit
    ("GET", "/api/v1/audit"): Permission.AUDIT_READ,
}
