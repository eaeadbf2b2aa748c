"""Reading the audit log for the console: counts, the values a filter offers, and the CSV
export (every matching entry, newest first, in the programme's time; the export audited)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from memberops.audit import exporting, queries
from memberops.audit import service as audit
from memberops.audit.models import AuditEntry
from memberops.audit.queries import AuditFilter
from memberops.uow import Actor

CLERK = Actor(kind="operator", id="9", name="clerk", role="operator")


def _entries(make_uow, clock, n: int, *, action: str = "member.updated", actor=None) -> None:
    for i in range(n):
        clock.advance(timedelta(minutes=1))
        with make_uow(actor) if actor else make_uow() as uow:
            audit.record(uow, action=action, target_type="member", target_id=i + 1,
                         changes=audit.diff({"name": "张三"}, {"name": f"李四{i}"}),
                         reason="更正姓名")


def test_count_and_known_values_follow_the_filter(make_uow, db, clock) -> None:
    _entries(make_uow, clock, 3)
    _entries(make_uow, clock, 2, action="points.adjusted", actor=CLERK)
    with db.session(readonly=True) as s:
        assert queries.count_entries(s, AuditFilter()) == 5
        assert queries.count_entries(s, AuditFilter(actor="clerk")) == 2
        assert queries.count_entries(s, AuditFilter(action="member.updated",
                                                    target_id="2")) == 1
        assert queries.known_values(s) == (["member.updated", "points.adjusted"], ["member"])


def test_the_export_holds_every_matching_entry_newest_first_and_is_audited(
        make_uow, db, clock) -> None:
    _entries(make_uow, clock, 5)
    _entries(make_uow, clock, 1, action="points.adjusted")
    with make_uow() as uow:
        data, count = exporting.export_csv(uow, AuditFilter(action="member.updated"))
    assert count == 5 and data.startswith(exporting.BOM.encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == exporting.HEADER
    assert [r[8] for r in rows[1:]] == ["5", "4", "3", "2", "1"]
    first = dict(zip(exporting.HEADER, rows[-1], strict=True))
    assert first["at"] == "2026-06-15T10:01:00+08:00"
    assert json.loads(first["changes"]) == {"name": {"before": "张三", "after": "李四0"}}
    assert first["reason"] == "更正姓名" and first["request_id"] == "test-request"
    with db.session(readonly=True) as s:
        recorded = s.execute(select(AuditEntry).where(
            AuditEntry.action == "audit.exported")).scalar_one()
    assert recorded.changes == {"filters": {"before": None,
                                            "after": {"action": "member.updated"}},
                                "rows": {"before": None, "after": 5}}


def test_the_export_reads_in_batches_and_stops_at_its_limit(make_uow, db, clock,
                                                            monkeypatch) -> None:
    monkeypatch.setattr(exporting, "BATCH", 2)
    _entries(make_uow, clock, 5)
    with db.session(readonly=True) as s:
        assert [e.target_id for e in exporting.entries(s, AuditFilter())] == [
            "5", "4", "3", "2", "1"]
        assert len(list(exporting.entries(s, AuditFilter(), limit=3))) == 3


def test_a_reason_a_spreadsheet_would_run_is_exported_as_text(make_uow) -> None:
    with make_uow() as uow:
        audit.record(uow, action="member.updated", target_type="member", target_id=1,
                     reason="=HYPERLINK(\"http://evil.example\",\"click\")")
    with make_uow() as uow:
        data, _ = exporting.export_csv(uow, AuditFilter(action="member.updated"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))
    reason = rows[0].index("reason")
    assert rows[1][reason] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
