"""The members list: search by each criterion and by several at once, sorting and paging
through the database, the CSV and XLSX exports (audited), a row opening the member page,
the role check and the Chinese labels."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from nicegui import ui
from openpyxl import load_workbook
from sqlalchemy import select

from memberops.analytics import segments as segment_rules
from memberops.audit.models import AuditEntry
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.segments import service as segments_service
from tests.console.conftest import Console
from tests.tiers_helpers import floor

pytestmark = pytest.mark.anyio

# name, phone, tags, days since joining
PEOPLE = [("王芳", "13812341234", ["vip"], 1), ("李娜", "13900005678", [], 2),
          ("张伟", "13700001234", ["vip", "wine"], 3), ("Alice Chen", "13600009999", [], 4)]


async def sign_in(app: Console, role: str, *, language: str = "en",
                  then: str = "/members") -> None:
    await app.sign_in(role, language=language, then=then, wait_for="count")

def register(app: Console, name: str, phone: str, tags: list[str], days: int) -> int:
    with app.make_uow() as uow:
        return members_service.register_member(uow, MemberCreate(
            phone=phone, name=name, tags=tags,
            joined_at=app.clock.now() - timedelta(days=days))).id


def people(app: Console) -> dict[str, int]:
    return {name: register(app, name, phone, tags, days)
            for name, phone, tags, days in PEOPLE}


def table(app: Console) -> ui.table:
    return next(iter(app.user.find(marker="members").elements))  # type: ignore[return-value]


async def names(app: Console, expect: Callable[[list[str]], bool] | None = None,
                field: str = "name") -> list[str]:
    """The names (or another column) on the table once the search (off the event loop) has
    answered."""
    for _ in range(200):  # up to 10 s on a busy machine
        shown = [row[field] for row in table(app).rows]
        if expect is None or expect(shown):
            return shown
        await asyncio.sleep(0.05)
    return shown


async def search(app: Console, marker: str, text: str) -> None:
    app.user.find(marker=marker).type(text).trigger("keydown.enter")
    await asyncio.sleep(0)


def choose(app: Console, marker: str, value: Any) -> None:
    element: Any = next(iter(app.user.find(marker=marker).elements))
    element.value = value  # what choosing in the drop-down does


async def test_the_list_shows_members_newest_first_with_masked_phones(
        console_app: Console) -> None:
    people(console_app)
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    assert await names(console_app) == ["王芳", "李娜", "张伟", "Alice Chen"]
    first = table(console_app).rows[0]
    assert first["phone"] == "138****1234"
    assert first["tier"] == "Regular"
    assert first["tags"] == "vip"
    assert first["joined"] == (date(2026, 6, 15) - timedelta(days=1)).isoformat()


@pytest.mark.parametrize(("text", "expected"), [
    ("13812341234", ["王芳"]),         # a whole phone number
    ("+86 138 1234 1234", ["王芳"]),   # written another way
    ("1234", ["王芳", "张伟"]),         # the last four digits
    ("5678", ["李娜"]),
    ("张", ["张伟"]),                   # part of a name
    ("alice", ["Alice Chen"]),
])
async def test_search_by_phone_its_ending_or_name(console_app: Console, text: str,
                                                  expected: list[str]) -> None:
    people(console_app)
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    await search(console_app, "search", text)
    assert await names(console_app, lambda n: n == expected) == expected
    await console_app.user.should_see(
        f"{len(expected)} {'member' if len(expected) == 1 else 'members'}")


async def test_search_by_tag_tier_and_status_and_they_combine(console_app: Console) -> None:
    ids = people(console_app)
    floor(console_app.make_uow, ids["张伟"], "gold", date(2026, 12, 31))
    with console_app.make_uow() as uow:
        members_service.change_status(uow, ids["王芳"], "frozen", "lost card")
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    await search(console_app, "tag", "vip")
    assert await names(console_app, lambda n: len(n) == 2) == ["王芳", "张伟"]
    choose(console_app, "tier", "gold")
    assert await names(console_app, lambda n: n == ["张伟"]) == ["张伟"]
    assert table(console_app).rows[0]["tier"] == "Gold"
    choose(console_app, "tier", None)
    choose(console_app, "status", "frozen")
    assert await names(console_app, lambda n: n == ["王芳"]) == ["王芳"]
    assert table(console_app).rows[0]["status"] == "Frozen"
    await search(console_app, "search", "5678")  # vip, frozen and ending 5678: nobody
    assert await names(console_app, lambda n: n == []) == []
    await console_app.user.should_see("0 members")


async def test_search_by_a_saved_segment_uses_its_latest_snapshot(console_app: Console) -> None:
    ids = people(console_app)
    with console_app.make_uow() as uow:
        segment = segments_service.create(uow, name="Wine lovers", definition={
            "all": [{"field": "tag", "op": "has", "value": "wine"}]})
    data = segment_rules.load(console_app.db.url, "Asia/Shanghai")
    with console_app.make_uow() as uow:
        segments_service.take_snapshot(uow, segment.id, data=data, as_of=date(2026, 6, 15))
    with console_app.make_uow() as uow:  # tagged after the snapshot: not in it
        members_service.add_tags(uow, ids["李娜"], ["wine"])
    await sign_in(console_app, "analyst")
    await console_app.user.should_see("4 members", retries=100)
    choose(console_app, "segment", segment.id)
    assert await names(console_app, lambda n: n == ["张伟"]) == ["张伟"]
    await console_app.user.should_see("1 member")


async def test_two_digits_are_no_phone_ending_but_a_name_fragment(
        console_app: Console) -> None:
    people(console_app)
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    await search(console_app, "search", "34")
    assert await names(console_app, lambda n: n == []) == []


async def test_sorting_and_paging_go_through_the_database(console_app: Console) -> None:
    for n in range(30):
        register(console_app, f"M{n:02d}", f"1370000{n:04d}", [], n)
    await sign_in(console_app, "admin")
    await console_app.user.should_see("30 members")
    first = await names(console_app)
    assert first == [f"M{n:02d}" for n in range(25)]  # newest first, 25 a page
    grid = table(console_app)
    assert grid.pagination["rowsNumber"] == 30
    page = {**grid.pagination, "page": 2}
    app_table = console_app.user.find(marker="members")
    app_table.trigger("request", {"pagination": page})
    assert await names(console_app, lambda n: len(n) == 5) == [f"M{n:02d}" for n in
                                                                range(25, 30)]
    assert table(console_app).pagination["page"] == 2
    back = {**table(console_app).pagination, "page": 1}
    app_table.trigger("request", {"pagination": back})
    assert await names(console_app, lambda n: len(n) == 25) == first
    by_name = {**table(console_app).pagination, "sortBy": "name", "descending": True}
    app_table.trigger("request", {"pagination": by_name})
    expected = [f"M{n:02d}" for n in range(29, 4, -1)]
    assert await names(console_app, lambda n: n == expected) == expected
    last = {**table(console_app).pagination, "page": 2}  # after a sort: page 2 of that
    app_table.trigger("request", {"pagination": last})
    expected = [f"M{n:02d}" for n in range(4, -1, -1)]
    assert await names(console_app, lambda n: n == expected) == expected
    ten = {**table(console_app).pagination, "rowsPerPage": 10, "sortBy": "joined",
           "descending": False}
    app_table.trigger("request", {"pagination": ten})
    expected = [f"M{n:02d}" for n in range(29, 19, -1)]  # oldest first
    assert await names(console_app, lambda n: n == expected) == expected
    jump = {**table(console_app).pagination, "page": 3}  # never seen: by offset
    app_table.trigger("request", {"pagination": jump})
    expected = [f"M{n:02d}" for n in range(9, -1, -1)]
    assert await names(console_app, lambda n: n == expected) == expected


async def test_tiers_sort_by_their_place_on_the_ladder(console_app: Console) -> None:
    ids = people(console_app)  # all Regular; then one Gold, one Silver
    floor(console_app.make_uow, ids["李娜"], "gold", date(2026, 12, 31))
    floor(console_app.make_uow, ids["张伟"], "silver", date(2026, 12, 31))
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    by_tier = {**table(console_app).pagination, "sortBy": "tier", "descending": True}
    console_app.user.find(marker="members").trigger("request", {"pagination": by_tier})
    tiers = await names(console_app, lambda t: t[:2] == ["Gold", "Silver"], field="tier")
    assert tiers == ["Gold", "Silver", "Regular", "Regular"]  # not by code: g, s, r


async def test_a_row_opens_the_member_page(console_app: Console,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ids = people(console_app)
    await sign_in(console_app, "admin")
    await console_app.user.should_see("4 members", retries=100)
    opened: list[str] = []  # where the browser is sent (the member page is tested apart)
    monkeypatch.setattr(console_app.user.navigate, "to", opened.append)
    row = next(r for r in table(console_app).rows if r["name"] == "李娜")
    console_app.user.find(marker="members").trigger("rowClick", [{}, row, 1])
    assert opened == [f"/members/{ids['李娜']}"]


def exports(app: Console) -> list[tuple[str, dict[str, Any]]]:
    with app.db.session(readonly=True) as session:
        return [(e.target_id, e.changes) for e in session.execute(
            select(AuditEntry).where(AuditEntry.action == "members.exported")).scalars()]


async def test_export_csv_holds_the_search_and_is_audited(console_app: Console) -> None:
    people(console_app)
    await sign_in(console_app, "finance")  # finance may export
    await console_app.user.should_see("4 members", retries=100)
    await search(console_app, "tag", "vip")
    await names(console_app, lambda n: len(n) == 2)
    console_app.user.find(marker="export-csv").click()
    response = await console_app.user.download.next(timeout=5)
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["name"] for r in rows) == ["张伟", "王芳"]
    assert {r["phone"] for r in rows} == {"+8613812341234", "+8613700001234"}
    await console_app.user.should_see("Exported 2 members.")
    [(fmt, changes)] = exports(console_app)
    assert fmt == "csv"
    assert changes["rows"]["after"] == 2
    assert changes["filters"]["after"] == {"tag": "vip"}


async def test_export_xlsx_of_a_segment_names_the_snapshot_in_the_audit(
        console_app: Console) -> None:
    people(console_app)
    with console_app.make_uow() as uow:
        segment = segments_service.create(uow, name="VIP", definition={
            "all": [{"field": "tag", "op": "has", "value": "vip"}]})
    data = segment_rules.load(console_app.db.url, "Asia/Shanghai")
    with console_app.make_uow() as uow:
        snapshot = segments_service.take_snapshot(uow, segment.id, data=data,
                                                  as_of=date(2026, 6, 15))
    await sign_in(console_app, "operator")
    await console_app.user.should_see("4 members", retries=100)
    choose(console_app, "segment", segment.id)
    await names(console_app, lambda n: len(n) == 2)
    console_app.user.find(marker="export-xlsx").click()
    response = await console_app.user.download.next(timeout=5)
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.values)
    header = list(values[0])
    assert sorted(row[header.index("name")] for row in values[1:]) == ["张伟", "王芳"]
    [(fmt, changes)] = exports(console_app)
    assert fmt == "xlsx"
    assert changes["filters"]["after"] == {
        "among": f"segment {segment.id} snapshot {snapshot.id}"}


async def test_a_role_without_members_read_is_refused(console_app: Console) -> None:
    # Every console role reads members; the page's check is the frame's, shown for an
    # operator whose role lost the permission: here, an unknown role read from the DB.
    await sign_in(console_app, "analyst")
    await console_app.user.should_see(marker="export-csv")  # analysts export too
    from memberops.access.models import Operator
    with console_app.make_uow() as uow:
        operator = uow.session.execute(
            select(Operator).where(Operator.username == "analyst-op")).scalar_one()
        operator.role = "retired"
    await console_app.user.open("/members")
    await console_app.user.should_see(marker="denied")
    await console_app.user.should_not_see(marker="members")


async def test_chinese_labels(console_app: Console) -> None:
    people(console_app)
    await sign_in(console_app, "admin", language="zh-CN")
    await console_app.user.should_see("共 4 位会员")
    await console_app.user.should_see("导出 CSV")
    assert [c["label"] for c in table(console_app).columns][:2] == ["ID", "姓名"]
    assert table(console_app).rows[0]["status"] == "正常"
