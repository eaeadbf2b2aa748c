"""Reading the audit log: newest first, filtered, with keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberops.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_entries(session: Session, filters: AuditFilter, *, limit: int = 50,
                 before_id: int | None = None, after_id: int | None = None) -> list[AuditEntry]:
    """Entries matching the filter, newest first (or oldest first after `after_id`)."""
    stmt = _filtered(select(AuditEntry), filters)
    if after_id is not None:
        stmt = stmt.where(AuditEntry.id > after_id).order_by(AuditEntry.id.asc())
    else:
        if before_id is not None:
            stmt = stmt.where(AuditEntry.id < before_id)
        stmt = stmt.order_by(AuditEntry.id.desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def _filtered(stmt: Any, filters: AuditFilter) -> Any:
    conditions = [column == value for column, value in (
        (AuditEntry.action, filters.action), (AuditEntry.actor_name, filters.actor),
        (AuditEntry.target_type, filters.target_type),
        (AuditEntry.target_id, filters.target_id)) if value]
    if filters.since:
        conditions.append(AuditEntry.at >= filters.since)
    if filters.until:
        conditions.append(AuditEntry.at < filters.until)
    return stmt.where(*conditions)


def count_entries(session: Session, filters: AuditFilter) -> int:
    """How many entries match the filter (the console shows it beside the pager)."""
    return int(session.execute(_filtered(select(func.count()).select_from(AuditEntry),
                                         filters)).scalar_one())


def known_values(session: Session) -> tuple[list[str], list[str]]:
    """The actions and target types the log holds, sorted: what a filter can choose from.
    Both columns lead an index, so this stays cheap on a large log."""
    actions = session.execute(select(AuditEntry.action).distinct()).scalars()
    targets = session.execute(select(AuditEntry.target_type).distinct()).scalars()
    return sorted(actions), sorted(targets)
