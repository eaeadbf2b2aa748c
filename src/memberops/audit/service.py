"""Recording who changed what: every write calls `record` inside its unit of work."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert

from memberops.audit.models import AuditEntry
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork

AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(_plain(v) for v in value) if isinstance(value, set | frozenset) \
            else [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value changed, as {field: {"before": …, "after": …}}."""
    changed: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            changed[name] = {"before": old, "after": new}
    return changed


# Prepared (memberops.prepared): every write records, payments and recharges included.
INSERT_ENTRY = Prepared(insert(AUDIT).values({
    name: bindparam(name) for name in (
        "at", "actor_kind", "actor_id", "actor_name", "actor_role", "action", "target_type",
        "target_id", "changes", "reason", "request_id")}), many=True)


def record(uow: UnitOfWork, *, action: str, target_type: str, target_id: object,
           changes: dict[str, dict[str, Any]] | None = None, reason: str | None = None) -> None:
    """Append one audit entry for the unit of work's actor and request."""
    actor = uow.actor
    INSERT_ENTRY.executemany(uow.session, [dict(
        at=uow.clock.now(), actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name,
        actor_role=actor.role, action=action, target_type=target_type,
        target_id=str(target_id), changes=changes or {}, reason=reason,
        request_id=uow.request_id,
    )])
