"""The audit log viewer: entries made through the services, newest first and formatted;
each filter; paging through a long log; an entry's details; the CSV export (and its own
audit entry); bad dates; admins only; the Chinese labels; links that open it filtered."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from memberops.audit import service as audit
from memberops.audit.models import AuditEntry
from memberops.members import service as members_service
from memberops.members.schemas import MemberUpdate
from memberops.uow import Actor
from tests.console.conftest import Console
from tests.wallet_helpers import new_member

pytestmark = pytest.mark.anyio

CLERK = Actor(kind="operator", id="9", name="clerk", role="operator")


def rows(app: Console) -> list[dict[str, Any]]:
    return list(app.user.find(marker="audit-table").elements.pop().rows)


def text_of(app: Console, marker: str) -> str:
    return str(app.user.find(marker=marker).elements.pop().text)


async def search(app: Console, *, refused: bool = False, **fields: str) -> None:
    """Fill the filter form and search; wait for the table to be redrawn (unless the form
    is expected to be refused)."""
    table = app.user.find(marker="audit-table").elements.pop()
    shown = table.rows
    for name, value in fields.items():
        app.user.find(marker=f"audit-{name.replace('_', '-')}").clear().type(value)
    app.user.find(marker="audit-apply").click()
    deadline = time.monotonic() + 5
    while not refused and table.rows is shown and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


@pytest.fixture
def scene(console_app: Console) -> dict[str, int]:
    """On 15 June: 张三 joins and is renamed by the admin; on 17 June the clerk freezes her
    and registers 李四 (clock moved between days)."""
    zhang = new_member(console_app.make_uow, 1, name="张三")
    console_app.clock.advance(timedelta(minutes=5))
    with console_app.make_uow() as uow:
        members_service.update_member(uow, zhang, MemberUpdate(name="张三丰"))
    console_app.clock.advance(timedelta(days=2))
    with console_app.make_uow(CLERK) as uow:
        members_service.change_status(uow, zhang, "frozen", "可疑交易")
    li = new_member(console_app.make_uow, 2, name="李四")
    return {"zhang": zhang, "li": li}


def count(app: Console, **where: str) -> int:
    with app.db.session(readonly=True) as session:
        stmt = select(func.count()).select_from(AuditEntry)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        return int(session.execute(stmt).scalar_one())


async def test_entries_appear_newest_first_with_formatted_values(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/audit")
    await console_app.user.should_see("Audit log")
    table = rows(console_app)
    assert [r["action"] for r in table] == [
        "operator.signed_in", "operator.created", "member.registered", "member.status_changed",
        "member.updated", "member.registered"]
    frozen = table[3]
    assert (frozen["at"], frozen["actor"], frozen["role"], frozen["target"]) == (
        "2026-06-17 10:05", "clerk", "operator", f"member {scene['zhang']}")
    assert frozen["changes"] == "status: active → frozen" and frozen["reason"] == "可疑交易"
    renamed = table[4]
    assert renamed["changes"] == "name: 张三 → 张三丰" and renamed["at"] == "2026-06-15 10:05"
    total = count(console_app)
    assert text_of(console_app, "audit-range") == f"Entries 1–{total} of {total}"


async def test_each_filter_narrows_the_log(console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/audit")
    await search(console_app, actor="clerk")
    assert {r["actor"] for r in rows(console_app)} == {"clerk"}
    assert len(rows(console_app)) == count(console_app, actor_name="clerk") == 1
    await search(console_app, actor="", action="member.registered")
    assert [r["target"] for r in rows(console_app)] == [f"member {scene['li']}",
                                                        f"member {scene['zhang']}"]
    await search(console_app, action="", target_type="member", target_id=str(scene["zhang"]))
    assert [r["action"] for r in rows(console_app)] == [
        "member.status_changed", "member.updated", "member.registered"]
    await search(console_app, target_type="", target_id="", to="2026-06-15")
    assert {r["at"][:10] for r in rows(console_app)} == {"2026-06-15"}
    await search(console_app, **{"from": "2026-06-16", "to": "2026-06-17"})
    assert {r["action"] for r in rows(console_app)} == {
        "member.status_changed", "member.registered", "operator.created", "operator.signed_in"}
    await search(console_app, action="no.such.action")
    await console_app.user.should_see("No entries match.")
    assert rows(console_app) == []
    console_app.user.find(marker="audit-clear").click()
    await console_app.user.should_see(f"of {count(console_app)}")


async def test_bad_dates_are_refused_and_the_table_stays(console_app: Console,
                                                         scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/audit")
    before = rows(console_app)
    await search(console_app, refused=True, **{"from": "2026-13-01"})
    await console_app.user.should_see("Write dates as YYYY-MM-DD.")
    await search(console_app, refused=True, **{"from": "2026-06-17", "to": "2026-06-15"})
    await console_app.user.should_see("The start date is after the end date.")
    assert rows(console_app) == before


async def test_paging_through_a_long_log(console_app: Console) -> None:
    with console_app.make_uow() as uow:
        for n in range(1, 121):
            audit.record(uow, action="test.entry", target_type="thing", target_id=n)
    await console_app.sign_in("admin", then="/audit?action=test.entry")
    assert [r["target"] for r in rows(console_app)][:2] == ["thing 120", "thing 119"]
    assert text_of(console_app, "audit-range") == "Entries 1–50 of 120"
    assert not console_app.user.find(marker="audit-newer").elements.pop().enabled
    console_app.user.find(marker="audit-older").click()
    await console_app.user.should_see("Entries 51–100 of 120")
    assert rows(console_app)[0]["target"] == "thing 70"
    console_app.user.find(marker="audit-older").click()
    await console_app.user.should_see("Entries 101–120 of 120")
    assert rows(console_app)[-1]["target"] == "thing 1"
    assert not console_app.user.find(marker="audit-older").elements.pop().enabled
    console_app.user.find(marker="audit-newer").click()
    await console_app.user.should_see("Entries 51–100 of 120")
    console_app.user.find(marker="audit-newer").click()
    await console_app.user.should_see("Entries 1–50 of 120")
    assert rows(console_app)[0]["target"] == "thing 120"


async def test_an_entry_shows_its_changes_reason_and_request(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/audit?action=member.status_changed")
    (row,) = rows(console_app)
    console_app.user.find(marker="audit-table").trigger("details", {"id": row["id"]})
    await console_app.user.should_see(marker="audit-details")
    await console_app.user.should_see(f"member.status_changed · member {scene['zhang']}")
    await console_app.user.should_see("2026-06-17 10:05 by clerk (operator 9, operator)")
    await console_app.user.should_see("Reason: 可疑交易")
    await console_app.user.should_see("Request id: test-request")
    befores = {e.text for e in console_app.user.find(marker="audit-before").elements}
    afters = {e.text for e in console_app.user.find(marker="audit-after").elements}
    assert "active" in befores and "frozen" in afters


async def test_the_export_holds_the_filtered_entries_and_is_audited(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/audit")
    await search(console_app, target_type="member", target_id=str(scene["zhang"]))
    console_app.user.find(marker="audit-export").click()
    response = await console_app.user.download.next()
    await console_app.user.should_see("Exported 3 entries.")
    lines = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [x["action"] for x in lines] == [
        "member.status_changed", "member.updated", "member.registered"]
    assert lines[0]["at"] == "2026-06-17T10:05:00+08:00"
    assert lines[0]["reason"] == "可疑交易" and '"after": "frozen"' in lines[0]["changes"]
    with console_app.db.session(readonly=True) as session:
        exported = session.execute(select(AuditEntry).where(
            AuditEntry.action == "audit.exported")).scalar_one()
    assert exported.actor_name == "admin-op"
    assert exported.changes["rows"]["after"] == 3
    assert exported.changes["filters"]["after"] == {"target_type": "member",
                                                   "target_id": str(scene["zhang"])}


@pytest.mark.parametrize("role", ["operator", "analyst", "finance"])
async def test_only_admins_read_the_log(console_app: Console, role: str) -> None:
    await console_app.sign_in(role, then="/audit")
    await console_app.user.should_see(marker="denied")
    await console_app.user.should_not_see(marker="audit-table")
    await console_app.user.should_not_see(marker="audit-export")


async def test_the_log_in_chinese(console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", language="zh-CN", then="/audit")
    await console_app.user.should_see("审计日志")
    await console_app.user.should_see("导出 CSV")
    total = count(console_app)
    assert text_of(console_app, "audit-range") == f"第 1–{total} 条，共 {total} 条"
    await search(console_app, **{"from": "2026-06-18"})
    await console_app.user.should_see("没有符合条件的记录。")
