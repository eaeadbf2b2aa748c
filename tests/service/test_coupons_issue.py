"""Issuing coupons: windows by validity kind, budget, per-member limit, tiers, paused and
ended templates, frozen members, lists with a report per refused row, the welcome coupon
on joining and the birthday job (once a year, at Shanghai's month boundary)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from memberops.coupons import codes, service
from memberops.coupons.models import Coupon
from memberops.coupons.service import Target
from memberops.errors import Conflict, NotFound, RuleViolated, ValidationFailed
from memberops.jobs import coupons as jobs
from tests.conftest import SHANGHAI
from tests.coupons_helpers import (
    audits,
    coupon_row,
    events,
    issue,
    issued_count,
    new_member,
    phone,
    reference,
    set_status,
    set_tier,
    snapshot,
    template,
)


def refused(make_uow, template_id: int, member_id: int, error=RuleViolated) -> str:
    with pytest.raises(error) as err, make_uow() as uow:
        service.issue(uow, template_id=template_id, member_id=member_id)
    return err.value.code


def test_issuing_gives_a_fresh_code_and_a_window_by_validity(make_uow, db, clock) -> None:
    member = new_member(make_uow, birthday=date(1990, 8, 20))
    days = template(make_uow, "days", valid_days=14)
    fixed = template(make_uow, "fixed", validity="fixed", valid_days=None,
                     starts_on=date(2026, 7, 1), ends_on=date(2026, 7, 31))
    bday = template(make_uow, "bday", validity="birthday_month", valid_days=None)
    windows = {}
    for template_id in (days, fixed, bday):
        c = coupon_row(db, issue(make_uow, template_id, member))
        assert codes.CODE_RE.match(c.code) and c.status == "issued" and c.source == "manual"
        windows[template_id] = (c.valid_from.astimezone(SHANGHAI),
                                c.valid_until.astimezone(SHANGHAI))
    assert windows[days] == (clock.now(), datetime(2026, 6, 30, tzinfo=SHANGHAI))
    assert windows[fixed] == (datetime(2026, 7, 1, tzinfo=SHANGHAI),
                              datetime(2026, 8, 1, tzinfo=SHANGHAI))
    assert windows[bday] == (datetime(2026, 8, 1, tzinfo=SHANGHAI),
                             datetime(2026, 9, 1, tzinfo=SHANGHAI))
    assert issued_count(db, days) == (1, 1)
    entry = audits(db, "coupons.issued")[0]
    assert (entry.target_type, entry.target_id) == ("member", str(member))
    issued = events(db, "coupons.issued")
    assert [e["member_id"] for e in issued] == [member] * 3
    assert issued[0]["template"] == "template days"


def test_the_budget_is_never_exceeded(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=2)
    members = [new_member(make_uow, n) for n in range(3)]
    issue(make_uow, template_id, members[0])
    issue(make_uow, template_id, members[1])
    before = snapshot(db)
    assert refused(make_uow, template_id, members[2], Conflict) == "coupon_budget_exhausted"
    assert snapshot(db) == before and issued_count(db, template_id) == (2, 2)


def test_the_per_member_limit_counts_every_coupon_ever_issued(make_uow, db) -> None:
    template_id = template(make_uow, "t", per_member_limit=2)
    member = new_member(make_uow)
    issue(make_uow, template_id, member)
    issue(make_uow, template_id, member)
    before = snapshot(db)
    assert refused(make_uow, template_id, member) == "coupon_limit_reached"
    assert snapshot(db) == before
    issue(make_uow, template_id, new_member(make_uow, 2))  # another member is not limited


def test_tiers_paused_ended_frozen_and_missing_birthdays_are_refused(make_uow, db) -> None:
    gold_only = template(make_uow, "gold", eligible_tiers=["gold", "diamond"])
    paused = template(make_uow, "paused", status="paused")
    ended = template(make_uow, "ended", validity="fixed", valid_days=None,
                     ends_on=date(2026, 6, 14))
    bday = template(make_uow, "bday", validity="birthday_month", valid_days=None)
    member = new_member(make_uow)
    frozen = new_member(make_uow, 2)
    set_status(make_uow, frozen, "frozen")
    before = snapshot(db)
    assert refused(make_uow, gold_only, member) == "coupon_tier_ineligible"
    assert refused(make_uow, paused, member) == "coupon_template_paused"
    assert refused(make_uow, ended, member) == "coupon_template_ended"
    assert refused(make_uow, bday, member) == "coupon_no_birthday"
    assert refused(make_uow, gold_only, frozen) == "member_frozen"
    assert refused(make_uow, gold_only, 999, NotFound) == "member_not_found"
    assert refused(make_uow, 999, member, NotFound) == "coupon_template_not_found"
    assert snapshot(db) == before
    set_tier(make_uow, member, "gold")
    issue(make_uow, gold_only, member)


def test_a_list_gets_a_coupon_per_good_row_and_a_reason_per_bad_one(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=4, eligible_tiers=["silver", "gold"])
    members = [new_member(make_uow, n, tier="silver") for n in range(1, 5)]
    regular = new_member(make_uow, 9)
    frozen = new_member(make_uow, 8, tier="gold")
    set_status(make_uow, frozen, "frozen")
    targets = [Target(1, str(members[0]), "id"), Target(2, phone(2), "phone"),
               Target(3, "139 0000 0003", "phone"), Target(4, str(members[0]), "id"),
               Target(5, str(regular), "id"), Target(6, str(frozen), "id"),
               Target(7, "13800009999", "phone"), Target(8, "abc", "id"),
               Target(9, str(members[3]), "id")]
    with make_uow() as uow:
        report = service.issue_many(uow, template_id=template_id, targets=targets,
                                    batch_ref="spring")
    assert [(i.line, i.member_id) for i in report.issued] == [
        (1, members[0]), (2, members[1]), (3, members[2]), (9, members[3])]
    assert [(e.line, e.reason) for e in report.errors] == [
        (4, "duplicate_member"), (5, "coupon_tier_ineligible"), (6, "member_frozen"),
        (7, "member_not_found"), (8, "member_not_found")]
    assert len({i.code for i in report.issued}) == 4
    assert issued_count(db, template_id) == (4, 4)
    # one audit line for the whole batch, with its count; one event per coupon
    [entry] = audits(db, "coupons.issued")
    assert (entry.target_type, entry.changes["issued"]["after"],
            entry.changes["refused"]["after"], entry.changes["batch_ref"]["after"]) == (
        "coupon_template", 4, 5, "spring")
    assert len(events(db, "coupons.issued")) == 4
    # the budget is used up: the next list is refused row by row, nothing written
    before = snapshot(db)
    with make_uow() as uow:
        again = service.issue_many(uow, template_id=template_id,
                                   targets=[Target(1, str(new_member(make_uow, 20,
                                                                     tier="gold")), "id")])
    assert [e.reason for e in again.errors] == ["coupon_budget_exhausted"]
    after = snapshot(db)
    assert (after["coupons"], after["templates"]) == (before["coupons"], before["templates"])


def test_a_list_stops_at_the_budget(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=3)
    members = [new_member(make_uow, n) for n in range(1, 6)]
    with make_uow() as uow:
        report = service.issue_many(uow, template_id=template_id,
                                    targets=[Target(n, str(m), "id")
                                             for n, m in enumerate(members, 1)])
    assert len(report.issued) == 3
    assert [(e.line, e.reason) for e in report.errors] == [
        (4, "coupon_budget_exhausted"), (5, "coupon_budget_exhausted")]
    assert issued_count(db, template_id) == (3, 3)


def test_member_files_are_read_with_or_without_a_header() -> None:
    assert [(t.line, t.ref, t.kind) for t in service.read_member_list(
        b"12\n\n13800138000\r\n+8613900000001\n")] == [
        (1, "12", "id"), (3, "13800138000", "phone"), (4, "+8613900000001", "phone")]
    with_header = "姓名,手机号\n张三,13800138000\n李四,\n".encode("gbk")
    assert [(t.line, t.ref, t.kind) for t in service.read_member_list(with_header)] == [
        (2, "13800138000", "phone"), (3, "", "phone")]
    assert [t.ref for t in service.read_member_list(b"\xef\xbb\xbfmember_id\n7\n8\n")] == [
        "7", "8"]
    for bad, code in ((b"", "list_empty"), (b"\n\n", "list_empty"),
                      (b"member_id\n", "list_empty"), (b"name,city\nx,y\n", "list_header"),
                      (b"\xff\xfe\x00", "list_encoding")):
        with pytest.raises(ValidationFailed) as err:
            service.read_member_list(bad)
        assert err.value.code == code


def test_welcome_coupon_on_joining_once(make_uow, db, clock) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow)
    with make_uow() as uow:
        [given] = service.issue_welcome(uow, member)
        code = given.code
    c = coupon_row(db, code)
    assert (c.template_id, c.source, c.issue_key) == (ids["welcome"], "welcome",
                                                      f"welcome:{ids['welcome']}:{member}")
    assert c.valid_until == datetime(2026, 7, 16, tzinfo=SHANGHAI)  # 30 days after joining
    before = snapshot(db)
    with make_uow() as uow:  # again: the same member gets nothing more
        assert service.issue_welcome(uow, member) == []
    assert snapshot(db) == before


def test_welcome_never_refuses_the_registration(make_uow, db) -> None:
    template(make_uow, "w1", trigger="welcome", quantity=1)
    template(make_uow, "w2", trigger="welcome", eligible_tiers=["gold"])
    first, second = new_member(make_uow, 1), new_member(make_uow, 2)
    with make_uow() as uow:
        assert len(service.issue_welcome(uow, first)) == 1
    with make_uow() as uow:  # budget used up, tier not eligible: no coupon, no error
        assert service.issue_welcome(uow, second) == []
    with make_uow() as uow:
        assert service.issue_welcome(uow, 999) == []


def run_birthday_job(db, clock, at: datetime):
    clock.set(at)
    return jobs.issue_birthday(db, clock)


def test_birthday_job_issues_once_a_year_to_eligible_members(make_uow, db, clock) -> None:
    ids = reference(make_uow)
    clock.set(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    july_silver = new_member(make_uow, 1, tier="silver", birthday=date(1990, 7, 9))
    july_regular = new_member(make_uow, 2, birthday=date(1991, 7, 1))
    july_gold_frozen = new_member(make_uow, 3, tier="gold", birthday=date(1985, 7, 31))
    august_gold = new_member(make_uow, 4, tier="gold", birthday=date(1980, 8, 1))
    set_status(make_uow, july_gold_frozen, "frozen")

    report = run_birthday_job(db, clock, datetime(2026, 7, 1, 0, 30, tzinfo=SHANGHAI))
    assert (report.templates, report.issued, report.already) == (1, 1, 0)
    with db.session(readonly=True) as s:
        [c] = s.execute(select(Coupon).where(Coupon.template_id == ids["birthday"])).scalars()
    assert (c.member_id, c.source, c.issue_key) == (
        july_silver, "birthday", f"birthday:{ids['birthday']}:{july_silver}:2026")
    assert (c.valid_from, c.valid_until) == (datetime(2026, 7, 1, tzinfo=SHANGHAI),
                                             datetime(2026, 8, 1, tzinfo=SHANGHAI))
    before = snapshot(db)
    again = run_birthday_job(db, clock, datetime(2026, 7, 2, 9, 0, tzinfo=SHANGHAI))
    assert (again.issued, again.already) == (0, 1) and snapshot(db) == before
    # unfrozen later in the month: caught up; the regular member never qualifies
    set_status(make_uow, july_gold_frozen, "active")
    assert run_birthday_job(db, clock, datetime(2026, 7, 20, tzinfo=SHANGHAI)).issued == 1
    # next year: again, once
    assert run_birthday_job(db, clock, datetime(2027, 7, 3, tzinfo=SHANGHAI)).issued == 2
    with db.session(readonly=True) as s:
        holders = s.execute(select(Coupon.member_id, func.count()).group_by(Coupon.member_id)
                            ).all()
    assert sorted(holders) == [(july_silver, 2), (july_gold_frozen, 2)]
    assert july_regular not in dict(holders) and august_gold not in dict(holders)


def test_birthday_month_begins_at_shanghai_midnight(make_uow, db, clock) -> None:
    reference(make_uow)
    clock.set(datetime(2026, 5, 1, tzinfo=SHANGHAI))
    member = new_member(make_uow, tier="gold", birthday=date(1990, 6, 15))
    # 23:59 on 31 May in Shanghai: not June yet
    assert run_birthday_job(db, clock, datetime(2026, 5, 31, 23, 59, tzinfo=SHANGHAI)
                            ).issued == 0
    # 00:01 on 1 June in Shanghai is still 31 May in UTC: the month has begun
    report = run_birthday_job(db, clock, datetime(2026, 6, 1, 0, 1, tzinfo=SHANGHAI))
    assert report.issued == 1
    with db.session(readonly=True) as s:
        c = s.execute(select(Coupon).where(Coupon.member_id == member)).scalar_one()
    assert c.valid_from == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)  # 1 June 00:00 Shanghai


def test_a_paused_birthday_template_issues_nothing(make_uow, db, clock) -> None:
    ids = reference(make_uow)
    clock.set(datetime(2026, 5, 1, tzinfo=SHANGHAI))
    new_member(make_uow, tier="gold", birthday=date(1990, 6, 15))
    with make_uow() as uow:
        service.set_status(uow, ids["birthday"], "paused")
    report = run_birthday_job(db, clock, datetime(2026, 6, 2, tzinfo=SHANGHAI))
    assert (report.templates, report.issued) == (0, 0)


def test_codes_are_unique_across_many_issues(make_uow, db) -> None:
    template_id = template(make_uow, "t")
    members = [new_member(make_uow, n) for n in range(1, 41)]
    with make_uow() as uow:
        service.issue_many(uow, template_id=template_id,
                           targets=[Target(n, str(m), "id") for n, m in enumerate(members, 1)])
    with make_uow() as uow:
        service.issue_many(uow, template_id=template_id,
                           targets=[Target(n, str(m), "id") for n, m in enumerate(members, 1)])
    with db.session(readonly=True) as s:
        made = list(s.execute(select(Coupon.code)).scalars())
    assert len(made) == len(set(made)) == 80
    assert all(codes.CODE_RE.match(c) for c in made)
