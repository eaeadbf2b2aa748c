"""Member search for the console: by the phone's last digits, within another domain's set of
members (a segment snapshot's), by tier, from an offset; and the newest snapshot of each
segment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from memberops.analytics import segments as segment_rules
from memberops.audit.models import AuditEntry
from memberops.errors import ValidationFailed
from memberops.members import exporting, queries
from memberops.members.queries import MemberFilter, MemberSet
from memberops.segments import service as segments_service
from tests.points_helpers import new_member
from tests.tiers_helpers import floor


def ids(make_uow, filters: MemberFilter, **kwargs) -> list[int]:
    with make_uow(readonly=True) as uow:
        return [m.id for m in queries.search(uow.session, filters, **kwargs).items]


def test_the_phone_ending_matches_the_last_digits_only(make_uow) -> None:
    a = new_member(make_uow, 1234)   # +8613900001234
    b = new_member(make_uow, 5123)   # +8613900005123: 123 inside, not at the end
    assert ids(make_uow, MemberFilter(phone_ending="1234")) == [a]
    assert ids(make_uow, MemberFilter(phone_ending="123"), sort="id") == [b]  # not a
    assert ids(make_uow, MemberFilter(phone_ending="5123")) == [b]


@pytest.mark.parametrize("ending", ["12", "12a4", "1" * 16])
def test_a_phone_ending_is_3_to_15_digits(make_uow, ending: str) -> None:
    with pytest.raises(ValidationFailed, match="phone_ending"):
        ids(make_uow, MemberFilter(phone_ending=ending))


def test_among_narrows_to_a_set_of_ids_and_combines(make_uow) -> None:
    a, b, c = (new_member(make_uow, n, tags=["t"] if n != 2 else []) for n in (1, 2, 3))
    chosen = MemberSet("a and b", select(queries.Member.id).where(
        queries.Member.id.in_([a, b])))
    assert ids(make_uow, MemberFilter(among=chosen), sort="id") == [a, b]
    assert ids(make_uow, MemberFilter(among=chosen, tag="t"), sort="id") == [a]
    with make_uow(readonly=True) as uow:
        assert queries.count(uow.session, MemberFilter(among=chosen)) == 2
    assert c not in ids(make_uow, MemberFilter(among=chosen))


def test_sort_by_tier_and_walk_its_cursor(make_uow) -> None:
    members = [new_member(make_uow, n) for n in range(1, 6)]
    floor(make_uow, members[1], "gold", date(2026, 12, 31))
    floor(make_uow, members[3], "silver", date(2026, 12, 31))
    assert ids(make_uow, MemberFilter(), sort="tier", limit=5) == [
        members[1], members[0], members[2], members[4], members[3]]  # by code: g, r…, s
    ladder = ("regular", "silver", "gold", "diamond")
    with make_uow(readonly=True) as uow:
        by_rank = queries.search(uow.session, MemberFilter(), sort="tier", limit=5,
                                 tier_order=ladder)
        first = queries.search(uow.session, MemberFilter(), sort="-tier", limit=2,
                               tier_order=ladder)
        rest = queries.search(uow.session, MemberFilter(), sort="-tier", limit=5,
                              cursor=first.next_cursor, tier_order=ladder)
    assert [m.id for m in by_rank.items] == [
        members[0], members[2], members[4], members[3], members[1]]  # regular…, silver, gold
    assert [m.id for m in first.items + rest.items] == [
        members[1], members[3], members[4], members[2], members[0]]


def test_an_offset_skips_rows_in_the_order_asked(make_uow) -> None:
    members = [new_member(make_uow, n) for n in range(1, 8)]
    assert ids(make_uow, MemberFilter(), sort="id", limit=3, offset=3) == members[3:6]
    with make_uow(readonly=True) as uow:
        page = queries.search(uow.session, MemberFilter(), sort="id", limit=3, offset=3)
        after = queries.search(uow.session, MemberFilter(), sort="id", limit=3,
                               cursor=page.next_cursor)
    assert [m.id for m in after.items] == members[6:]


@pytest.mark.parametrize("kwargs", [{"offset": -1}, {"offset": 2, "cursor": "x"}])
def test_an_offset_is_not_negative_nor_with_a_cursor(make_uow, kwargs) -> None:
    with pytest.raises(ValidationFailed, match="offset"):
        ids(make_uow, MemberFilter(), **kwargs)


def test_the_export_audit_names_a_set_by_its_label(make_uow) -> None:
    chosen = MemberSet("segment 3 snapshot 7", select(queries.Member.id))
    with make_uow() as uow:
        exporting.record_export(uow, MemberFilter(tag="vip", among=chosen), fmt="csv", rows=4)
    with make_uow(readonly=True) as uow:
        entry = uow.session.execute(select(AuditEntry).where(
            AuditEntry.action == "members.exported")).scalar_one()
    assert entry.changes["filters"]["after"] == {"tag": "vip", "among": "segment 3 snapshot 7"}


def test_latest_snapshots_and_their_member_ids(make_uow, db) -> None:
    a = new_member(make_uow, 1, tags=["vip"])
    b = new_member(make_uow, 2)
    with make_uow() as uow:
        vip = segments_service.create(uow, name="VIP", definition={
            "all": [{"field": "tag", "op": "has", "value": "vip"}]})
        everyone = segments_service.create(uow, name="All", definition={
            "all": [{"field": "status", "op": "eq", "value": "active"}]})
        unsnapped = segments_service.create(uow, name="None yet", definition={
            "all": [{"field": "status", "op": "eq", "value": "frozen"}]})
    data = segment_rules.load(db.url, "Asia/Shanghai")
    with make_uow() as uow:
        segments_service.take_snapshot(uow, vip.id, data=data, as_of=date(2026, 6, 15))
        newest = segments_service.take_snapshot(uow, vip.id, data=data,
                                                as_of=date(2026, 6, 15))
        whole = segments_service.take_snapshot(uow, everyone.id, data=data,
                                               as_of=date(2026, 6, 15))
    with make_uow(readonly=True) as uow:
        latest = segments_service.latest_snapshots(uow, [vip.id, everyone.id, unsnapped.id])
        assert {k: v.id for k, v in latest.items()} == {vip.id: newest.id,
                                                        everyone.id: whole.id}
        assert segments_service.latest_snapshots(uow, []) == {}
        assert list(uow.session.scalars(segments_service.member_ids(newest.id))) == [a]
        assert sorted(uow.session.scalars(segments_service.member_ids(whole.id))) == [a, b]


def test_a_name_fragment_ignores_case_on_every_database(make_uow) -> None:
    alice = new_member(make_uow, 1, name="Alice Chen")
    new_member(make_uow, 2, name="Bob")
    assert ids(make_uow, MemberFilter(q="alice")) == [alice]
    assert ids(make_uow, MemberFilter(q="CHEN")) == [alice]
