"""The audit log, for admins: newest first, filtered, paged by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.audit import queries
from memberops.audit.models import AuditEntry

router = APIRouter(prefix=API_PREFIX, tags=["audit"], dependencies=[Depends(authorize)])


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor: dict[str, str]
    action: str
    target: dict[str, str]
    changes: dict[str, Any]
    reason: str | None
    request_id: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditRead:
        return cls(id=e.id, at=e.at,
                   actor={"kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name,
                          "role": e.actor_role},
                   action=e.action, target={"type": e.target_type, "id": e.target_id},
                   changes=e.changes, reason=e.reason, request_id=e.request_id)


class AuditPage(BaseModel):
    items: list[AuditRead]
    next_before_id: int | None


@router.get("/audit", response_model=AuditPage)
def list_audit(
    ctx: Annotated[Context, Depends(authorize)],
    action: str | None = None, actor: str | None = None, target_type: str | None = None,
    target_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, before_id: int | None = None,
) -> AuditPage:
    filters = queries.AuditFilter(action=action, actor=actor, target_type=target_type,
                                  target_id=target_id, since=since, until=until)
    with ctx.uow(readonly=True) as uow:
        rows = queries.list_entries(uow.session, filters, limit=limit, before_id=before_id)
        items = [AuditRead.of(e) for e in rows]
    return AuditPage(items=items, next_before_id=items[-1].id if len(items) == limit else None)
