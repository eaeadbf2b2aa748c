"""Audit log export: the entries of a filter as CSV, newest first, and the export itself
recorded in the log (who took a copy of the log, and of which part, is itself audited).

The CSV is UTF-8 with a BOM, so Excel shows Chinese reasons correctly; times are in the
programme's time zone with their offset; `changes` is one JSON cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from memberops import cells
from memberops.audit import queries, service
from memberops.audit.models import AuditEntry
from memberops.audit.queries import AuditFilter
from memberops.uow import UnitOfWork

HEADER = ("id", "at", "actor_kind", "actor_id", "actor_name", "actor_role", "action",
          "target_type", "target_id", "changes", "reason", "request_id")
BATCH = 1000
MAX_ROWS = 100_000  # beyond this an export is a database dump, not a download
BOM = "\ufeff"


def file_name(now: datetime, tz: tzinfo) -> str:
    """audit-20260615-100000.csv, stamped with the programme-local time."""
    return f"audit-{now.astimezone(tz):%Y%m%d-%H%M%S}.csv"


def entries(session: Session, filters: AuditFilter, *, limit: int = MAX_ROWS,
            ) -> Iterator[AuditEntry]:
    """The matching entries, newest first, read a batch at a time; at most `limit`."""
    before_id: int | None = None
    left = limit
    while left > 0:
        batch = queries.list_entries(session, filters, limit=min(BATCH, left),
                                     before_id=before_id)
        yield from batch
        if len(batch) < min(BATCH, left):
            return
        left -= len(batch)
        before_id = batch[-1].id


def _record(entry: AuditEntry, tz: tzinfo) -> list[Any]:
    return [entry.id, entry.at.astimezone(tz).isoformat(timespec="seconds"), entry.actor_kind,
            entry.actor_id, entry.actor_name, entry.actor_role, entry.action,
            entry.target_type, entry.target_id,
            json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
            entry.reason or "", entry.request_id or ""]


def export_csv(uow: UnitOfWork, filters: AuditFilter, *, limit: int = MAX_ROWS,
               ) -> tuple[bytes, int]:
    """The filtered entries as CSV bytes and their count; the export is audited."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    count = 0
    for entry in entries(uow.session, filters, limit=limit):
        writer.writerow([cells.safe(str(value)) for value in _record(entry, uow.clock.tz)])
        count += 1
    criteria = {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(filters).items() if v is not None}
    service.record(uow, action="audit.exported", target_type="audit_export", target_id="csv",
                   changes=service.diff({}, {"filters": criteria, "rows": count}))
    return buffer.getvalue().encode("utf-8"), count
