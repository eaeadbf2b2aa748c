"""Roles and permissions: the one table that says who may do what.

Each API route names one permission (see `memberops.api.permissions`); each role
holds a set of permissions. A test walks both tables against every role.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    FINANCE = "finance"
    TILL = "till"


class Permission(StrEnum):
    MEMBERS_READ = "members.read"          # look a member up, search, timeline
    MEMBERS_REGISTER = "members.register"  # create a member (a till does this)
    MEMBERS_WRITE = "members.write"        # edit profile, tags, consent, status
    MEMBERS_IMPORT = "members.import"
    MEMBERS_EXPORT = "members.export"      # bulk personal data leaves the system
    AUDIT_READ = "audit.read"
    ACCESS_MANAGE = "access.manage"        # operators and API keys
    CONFIG_WRITE = "config.write"          # programme configuration (later issues)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({
        Permission.MEMBERS_READ, Permission.MEMBERS_REGISTER, Permission.MEMBERS_WRITE,
        Permission.MEMBERS_IMPORT, Permission.MEMBERS_EXPORT, Permission.CONFIG_WRITE,
    }),
    # Analysts read and export for analysis; they change nothing.
    Role.ANALYST: frozenset({Permission.MEMBERS_READ, Permission.MEMBERS_EXPORT}),
    Role.FINANCE: frozenset({Permission.MEMBERS_READ, Permission.MEMBERS_EXPORT}),
    # A till registers and looks up the member at the counter, nothing more.
    Role.TILL: frozenset({Permission.MEMBERS_READ, Permission.MEMBERS_REGISTER}),
}


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
