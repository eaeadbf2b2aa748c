"""Segments: the saved list, the rule editor with its live count (nested groups, money in
yuan, the JSON view), validation messages, save / change / delete / snapshot / export with
their effects in the database, the roles (an analyst reads, finance has no segments) and
the Chinese labels."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from nicegui.storage import request_contextvar
from sqlalchemy import select

from memberops.analytics import segments as segment_rules
from memberops.audit.models import AuditEntry
from memberops.console import segments as segments_page
from memberops.segments import service as segments_service
from memberops.segments.models import Segment, SegmentSnapshot
from tests.console.conftest import Console
from tests.segments_helpers import insert_world

pytestmark = pytest.mark.anyio
TODAY = date(2026, 6, 15)
VIP = {"all": [{"field": "tag", "op": "has", "value": "vip"}]}
WAIT = 100  # retries of 0.1 s: the count is computed off the event loop


async def sign_in(app: Console, role: str, *, language: str = "en",
                  then: str = "/segments") -> None:
    await app.sign_in(role, language=language, then=then)

def world(app: Console) -> None:
    """Members 1 (gold, vip, Beijing, spent ¥30 five days ago), 2 (regular, Shanghai) and
    3 (silver, frozen, vip): tests/segments_helpers.py."""
    insert_world(app.db, TODAY)


def saved(app: Console, name: str = "VIP", definition: dict[str, Any] | None = None,
          snapshot: bool = False) -> int:
    with app.make_uow() as uow:
        segment_id = segments_service.create(uow, name=name, description="the best",
                                             definition=definition or VIP).id
    if snapshot:
        data = segment_rules.load(app.db.url, "Asia/Shanghai")
        with app.make_uow() as uow:
            segments_service.take_snapshot(uow, segment_id, data=data, as_of=TODAY)
    return segment_id


def element(app: Console, marker: str) -> Any:
    return next(iter(app.user.find(marker=marker).elements))


async def choose(app: Console, marker: str, value: Any) -> None:
    await app.user.should_see(marker=marker, retries=WAIT)  # the form redraws in a moment
    element(app, marker).value = value  # what choosing in a drop-down does


async def write(app: Console, marker: str, text: str) -> None:
    await app.user.should_see(marker=marker, retries=WAIT)
    app.user.find(marker=marker).clear().type(text)


def segments_in_db(app: Console) -> list[Segment]:
    with app.db.session(readonly=True) as session:
        found = list(session.execute(select(Segment).order_by(Segment.id)).scalars())
        session.expunge_all()
        return found


def audit_actions(app: Console) -> list[str]:
    with app.db.session(readonly=True) as session:
        return list(session.execute(select(AuditEntry.action)).scalars())


async def test_the_list_shows_saved_segments_with_their_last_snapshot(
        console_app: Console) -> None:
    world(console_app)
    saved(console_app, "VIP", snapshot=True)
    saved(console_app, "Beijing", {"all": [{"field": "city", "op": "eq", "value": "Beijing"}]})
    await sign_in(console_app, "analyst")
    await console_app.user.should_see(marker="segments")
    rows = element(console_app, "segments").rows
    assert [(r["name"], r["count"], r["snapshot"]) for r in rows] == [
        ("Beijing", "–", "–"), ("VIP", "2", "2026-06-15")]


async def test_the_count_follows_the_rules_and_groups(console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "operator")
    # A new segment starts from every active member (3 is frozen).
    await console_app.user.should_see("2 members today", retries=WAIT)
    await choose(console_app, "field-1", "tag")  # an empty tag: it says what is missing
    await console_app.user.should_see("Condition 1 · value: must be a non-empty string",
                                      retries=WAIT)
    await write(console_app, "value-1", "vip")
    await console_app.user.should_see("2 members today", retries=WAIT)
    console_app.user.find(marker="add-condition").click()
    await choose(console_app, "field-2", "tier")
    await choose(console_app, "op-2", "eq")
    await write(console_app, "value-2", "gold")
    await console_app.user.should_see("1 member today", retries=WAIT)  # vip AND gold
    await choose(console_app, "mode", "any")
    await console_app.user.should_see("2 members today", retries=WAIT)  # vip OR gold
    # A nested group: vip AND (Shanghai OR gold) → member 1.
    await choose(console_app, "mode", "all")
    console_app.user.find(marker="remove-2").click()
    console_app.user.find(marker="add-group").click()  # an "any" group with one condition
    await choose(console_app, "field-2.1", "city")
    await write(console_app, "value-2.1", "Shanghai")
    console_app.user.find(marker="add-condition-2").click()
    await choose(console_app, "field-2.2", "tier")
    await write(console_app, "value-2.2", "gold")
    await console_app.user.should_see("1 member today", retries=WAIT)
    assert segments_page.definition(segments_page.editable(
        {"all": [{"field": "tag", "op": "has", "value": "vip"}]})) == VIP
    text = element(console_app, "json").value
    assert '"any": [' in text and '"Shanghai"' in text


async def test_an_invalid_rule_shows_the_validation_message_instead_of_a_count(
        console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "admin")
    await choose(console_app, "field-1", "age")
    await choose(console_app, "op-1", "gte")
    await write(console_app, "value-1", "abc")
    await console_app.user.should_see("Condition 1 · value: must be a whole number",
                                      retries=WAIT)
    await console_app.user.should_not_see("members today")
    await write(console_app, "value-1", "30")  # member 1 was born in 1990
    await console_app.user.should_see("1 member today", retries=WAIT)


async def test_money_is_typed_in_yuan_and_stored_in_fen(console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "admin")
    await choose(console_app, "field-1", "spend_in_window")
    await choose(console_app, "op-1", "gte")
    await write(console_app, "value-1", "20")  # ¥20: member 1 spent ¥30 five days ago
    await console_app.user.should_see("1 member today", retries=WAIT)
    assert '"value": 2000' in element(console_app, "json").value
    assert '"window_days": 30' in element(console_app, "json").value
    await write(console_app, "window-1", "3")  # not in the last 3 days
    await console_app.user.should_see("0 members today", retries=WAIT)


async def test_the_json_view_applies_to_the_form_or_says_what_is_wrong(
        console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "admin")
    await write(console_app, "json", "{not json")
    console_app.user.find(marker="json-apply").click()
    await console_app.user.should_see("Not JSON:")
    await write(console_app, "json", '{"all": [{"field": "shoe_size", "op": "eq", "value": 42}]}')
    console_app.user.find(marker="json-apply").click()
    await console_app.user.should_see("Condition 1 · field: unknown field 'shoe_size'",
                                      retries=WAIT)
    await write(console_app, "json", '{"any": [{"field": "city", "op": "in", "value": '
                               '["Beijing", "Shanghai"]}, {"field": "recharge_total", '
                               '"op": "gte", "value": 10000}]}')
    console_app.user.find(marker="json-apply").click()
    await console_app.user.should_see("2 members today", retries=WAIT)
    assert element(console_app, "field-2").value == "recharge_total"
    assert element(console_app, "value-2").value == "100"  # ¥100
    assert element(console_app, "value-1").value == "Beijing, Shanghai"
    assert element(console_app, "mode").value == "any"


async def test_save_a_new_segment_and_open_it(console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "operator")
    await choose(console_app, "field-1", "tag")
    await write(console_app, "value-1", "vip")
    await write(console_app, "name", "VIP members")
    await write(console_app, "description", "for the summer campaign")
    console_app.user.find(marker="save").click()
    await console_app.user.should_see("Snapshots", retries=WAIT)  # the segment's own page
    [segment] = segments_in_db(console_app)
    assert (segment.name, segment.description, segment.definition) == (
        "VIP members", "for the summer campaign", VIP)
    assert console_app.user.back_history[-1] == f"/segments/{segment.id}"
    assert "segment.created" in audit_actions(console_app)


async def test_saving_without_a_name_or_with_an_invalid_rule_changes_nothing(
        console_app: Console) -> None:
    world(console_app)
    await sign_in(console_app, "admin")
    console_app.user.find(marker="save").click()
    await console_app.user.should_see("Not done: name: 1 to 100 characters", retries=WAIT)
    await write(console_app, "name", "Broken")
    await write(console_app, "value-1", "")  # status = nothing
    console_app.user.find(marker="save").click()
    await console_app.user.should_see("Not done: invalid segment definition", retries=WAIT)
    assert segments_in_db(console_app) == []


async def test_change_a_saved_segment(console_app: Console) -> None:
    world(console_app)
    segment_id = saved(console_app)
    await sign_in(console_app, "admin", then=f"/segments/{segment_id}")
    await console_app.user.should_see("2 members today", retries=WAIT)
    assert element(console_app, "value-1").value == "vip"
    await choose(console_app, "op-1", "not_has")
    await write(console_app, "name", "Not VIP")
    console_app.user.find(marker="save").click()
    await console_app.user.should_see("Saved.", retries=WAIT)
    [segment] = segments_in_db(console_app)
    assert segment.name == "Not VIP"
    assert segment.definition == {"all": [{"field": "tag", "op": "not_has", "value": "vip"}]}
    assert "segment.updated" in audit_actions(console_app)


async def test_delete_asks_first_and_cancel_keeps_it(console_app: Console) -> None:
    world(console_app)
    segment_id = saved(console_app)
    await sign_in(console_app, "admin", then=f"/segments/{segment_id}")
    console_app.user.find(marker="delete").click()
    console_app.user.find(marker="cancel").click()
    assert len(segments_in_db(console_app)) == 1
    console_app.user.find(marker="delete").click()
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("Deleted.", retries=WAIT)
    assert segments_in_db(console_app) == []
    assert "segment.deleted" in audit_actions(console_app)


async def test_a_segment_with_snapshots_is_not_deleted(console_app: Console) -> None:
    world(console_app)
    segment_id = saved(console_app, snapshot=True)
    await sign_in(console_app, "admin", then=f"/segments/{segment_id}")
    console_app.user.find(marker="delete").click()
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("they are kept for the campaigns", retries=WAIT)
    assert len(segments_in_db(console_app)) == 1


async def test_take_a_snapshot_and_export_its_members(console_app: Console) -> None:
    world(console_app)
    segment_id = saved(console_app)
    await sign_in(console_app, "operator", then=f"/segments/{segment_id}")
    await console_app.user.should_see(marker="no-snapshots")
    console_app.user.find(marker="take-snapshot").click()
    await console_app.user.should_see("Snapshot taken: 2 members.", retries=WAIT)
    with console_app.db.session(readonly=True) as session:
        snapshot = session.execute(select(SegmentSnapshot)).scalar_one()
        assert (snapshot.segment_id, snapshot.member_count, snapshot.as_of) == (
            segment_id, 2, TODAY)
    await console_app.user.should_see(marker=f"export-{snapshot.id}", retries=WAIT)
    console_app.user.find(marker=f"export-{snapshot.id}").click()
    response = await console_app.user.download.next(timeout=5)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["member_id"], ["1"], ["3"]]
    assert {"segment.snapshot_taken", "segment.snapshot_exported"} <= set(
        audit_actions(console_app))


async def test_an_analyst_previews_and_exports_but_saves_nothing(console_app: Console) -> None:
    world(console_app)
    segment_id = saved(console_app, snapshot=True)
    await sign_in(console_app, "analyst", then=f"/segments/{segment_id}")
    await console_app.user.should_see("2 members today", retries=WAIT)
    for marker in ("save", "delete", "take-snapshot"):
        await console_app.user.should_not_see(marker=marker)
    with console_app.db.session(readonly=True) as session:
        snapshot_id = session.execute(select(SegmentSnapshot.id)).scalar_one()
    console_app.user.find(marker=f"export-{snapshot_id}").click()  # exporting is reading
    await console_app.user.download.next(timeout=5)
    # A crafted call, as if the button were there, is refused and changes nothing.
    client = console_app.user.client
    assert client is not None
    with client:
        request_contextvar.set(client.request)
        done = await segments_page.save_segment(None, "Sneaky", "", VIP)
        taken = await segments_page.take_snapshot(segment_id)
    assert done is None and taken is None
    await console_app.user.should_see("Your role (analyst) may not do this.")
    assert [s.name for s in segments_in_db(console_app)] == ["VIP"]
    with console_app.db.session(readonly=True) as session:
        assert len(session.execute(select(SegmentSnapshot)).all()) == 1


async def test_finance_has_no_segments(console_app: Console) -> None:
    await sign_in(console_app, "finance")
    await console_app.user.should_see(marker="denied")
    await console_app.user.should_not_see(marker="segments")


async def test_an_unknown_segment(console_app: Console) -> None:
    await sign_in(console_app, "admin", then="/segments/999")
    await console_app.user.should_see("No segment with id 999.")


async def test_chinese_labels(console_app: Console) -> None:
    world(console_app)
    saved(console_app)
    await sign_in(console_app, "admin", language="zh-CN")
    await console_app.user.should_see("新建人群")
    assert "最近快照人数" in [c["label"] for c in element(console_app, "segments").columns]
    await console_app.user.should_see("今日共 2 人", retries=WAIT)  # the active members
    assert element(console_app, "mode").options["all"] == "全部满足（且）"
