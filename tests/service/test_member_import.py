"""Member import and export against a real database: what is written, and what is not."""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from memberops.audit.models import AuditEntry
from memberops.clock import FixedClock
from memberops.errors import ValidationFailed
from memberops.members import exporting, importing, queries, service
from memberops.members.models import Member, MemberConsent, MemberTag
from memberops.members.queries import MemberFilter
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent
from memberops.uow import UnitOfWork

MakeUow = Callable[..., UnitOfWork]

GOOD = (
    "phone,name,email,birthday,gender,province,city,channel,tags,joined_at,"
    "consent_sms,consent_email\n"
    "13812345678,王小明,wang@example.com,1990-05-01,男,广东,深圳,小程序,vip|coffee,"
    "2024-01-05,是,否\n"
    "13912345678,李雷,,1985/12/24,female,北京,北京,app,student,2025-03-01 09:30,,true\n"
    "+86 137 0000 0001,,,,,,,,,,,\n"
)


def run_import(make_uow: MakeUow, data: str | bytes, *, skip_invalid: bool = False,
               name: str = "members.csv") -> importing.ImportReport:
    raw = data.encode() if isinstance(data, str) else data
    with make_uow() as uow:
        return importing.import_members(uow, raw, file_name=name, skip_invalid=skip_invalid)


def counts(make_uow: MakeUow) -> dict[str, int]:
    with make_uow(readonly=True) as uow:
        return {model.__tablename__: uow.session.execute(
            select(func.count()).select_from(model)).scalar_one()
            for model in (Member, MemberTag, MemberConsent, OutboxEvent, AuditEntry)}


def refused(make_uow: MakeUow, data: str | bytes, **kwargs: bool) -> ValidationFailed:
    before = counts(make_uow)
    with pytest.raises(ValidationFailed) as caught:
        run_import(make_uow, data, **kwargs)
    assert counts(make_uow) == before, "a refused import must write nothing"
    return caught.value


def test_a_good_file_imports_and_the_members_are_searchable(make_uow: MakeUow) -> None:
    report = run_import(make_uow, GOOD)

    assert (report.total, report.imported, report.rejected) == (3, 3, [])
    assert gc.isenabled(), "the import pauses the garbage collector only while it runs"
    with make_uow(readonly=True) as uow:
        found = queries.search(uow.session, MemberFilter(q="王小明")).items
        assert [m.phone for m in found] == ["+8613812345678"]
        wang = found[0]
        assert (wang.gender, wang.channel, wang.city) == ("male", "mini_program", "深圳")
        assert wang.tag_names == ["coffee", "vip"]
        assert {c.channel: c.granted for c in wang.consents} == {"sms": True, "email": False}
        assert wang.joined_at.astimezone(uow.clock.tz).isoformat() == \
            "2024-01-05T00:00:00+08:00"
        students = queries.search(uow.session, MemberFilter(tag="student")).items
        assert [m.name for m in students] == ["李雷"]
        bare = queries.search(uow.session, MemberFilter(phone="13700000001")).items[0]
        assert (bare.gender, bare.channel, bare.tier, bare.status) == \
            ("unknown", "store", "regular", "active")
        assert bare.joined_at == uow.clock.now()


def test_each_imported_member_has_a_registered_event_and_the_import_is_audited(
        make_uow: MakeUow) -> None:
    run_import(make_uow, GOOD, name="spring.csv")

    with make_uow(readonly=True) as uow:
        member = queries.search(uow.session, MemberFilter(phone="13912345678")).items[0]
        timeline = queries.timeline(uow.session, member.id)
        assert [(t.kind, t.data["source"], t.summary) for t in timeline] == [
            ("member.registered", "import", "Joined via app")]
        assert timeline[0].actor == "operator:test-admin"
        entries = uow.session.execute(select(AuditEntry)).scalars().all()
    assert [(e.action, e.target_id) for e in entries] == [("members.imported", "spring.csv")]
    assert entries[0].changes["imported"]["after"] == 3
    assert entries[0].changes["rejected"]["after"] == 0
    assert counts(make_uow)["outbox"] == 3


def test_one_bad_row_means_nothing_is_written_and_every_bad_row_is_reported(
        make_uow: MakeUow) -> None:
    bad = GOOD + "13600000000,,broken@,,,,,,,,,\n" + "12,,,2099-01-01,,,,,,,,\n"

    error = refused(make_uow, bad)

    assert error.code == "import_invalid"
    assert error.detail.startswith("2 of 5 rows are invalid")
    assert [(e["line"], e["field"]) for e in error.errors] == [
        (5, "email"), (6, "birthday"), (6, "phone")]
    assert all(e["reason"] for e in error.errors)
    assert counts(make_uow)["members"] == 0


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(make_uow: MakeUow) -> None:
    bad = GOOD + "13600000000,,broken@,,,,,,,,,\n"

    report = run_import(make_uow, bad, skip_invalid=True)

    assert (report.imported, [r.line for r in report.rejected]) == (3, [5])
    assert counts(make_uow)["members"] == 3
    rejects = list(csv.reader(io.StringIO(importing.rejects_csv(report.header,
                                                                report.rejected))))
    assert rejects[1][0] == "13600000000" and rejects[1][-3:-1] == ["5", "email"]
    with make_uow(readonly=True) as uow:
        audit = uow.session.execute(select(AuditEntry)).scalar_one()
    assert audit.changes["rejected"]["after"] == 1


def test_duplicate_phones_in_the_file_are_rejected_not_merged(make_uow: MakeUow) -> None:
    error = refused(make_uow, "phone,name\n13812345678,A\n138-1234-5678,B\n")
    assert error.errors == [{"line": 3, "field": "phone", "reason": "duplicate of line 2"}]

    report = run_import(make_uow, "phone,name\n13812345678,A\n138-1234-5678,B\n",
                        skip_invalid=True)
    assert report.imported == 1
    with make_uow(readonly=True) as uow:
        assert [m.name for m in queries.search(uow.session, MemberFilter()).items] == ["A"]


def test_phones_already_registered_are_rejected(make_uow: MakeUow) -> None:
    with make_uow() as uow:
        existing = service.register_member(uow, MemberCreate(phone="13812345678", name="Old"))
    error = refused(make_uow, "phone,name\n13812345678,New\n13912345678,Other\n")
    assert error.errors == [{"line": 2, "field": "phone",
                             "reason": f"already a member (id {existing.id})"}]
    with make_uow(readonly=True) as uow:
        assert queries.get(uow.session, existing.id).name == "Old"


@pytest.mark.parametrize(("header", "code"), [
    ("phone,name,nickname", "import_header"),
    ("name,email", "import_header"),
    ("phone,name,phone", "import_header"),
])
def test_a_wrong_header_writes_nothing(make_uow: MakeUow, header: str, code: str) -> None:
    error = refused(make_uow, f"{header}\n13812345678,A,B\n", skip_invalid=True)
    assert error.code == code and error.errors[0]["line"] == 1


def test_bom_utf8_and_gbk_files_import_their_chinese_names(make_uow: MakeUow) -> None:
    run_import(make_uow, "\ufeff手机号,姓名\n13812345678,王小明\n".encode())
    run_import(make_uow, "手机号,姓名,城市\n13912345678,李雷,广州\n".encode("gbk"))
    with make_uow(readonly=True) as uow:
        names = {m.phone: (m.name, m.city) for m in
                 queries.search(uow.session, MemberFilter()).items}
    assert names == {"+8613812345678": ("王小明", None), "+8613912345678": ("李雷", "广州")}


def test_an_undecodable_or_empty_file_is_refused(make_uow: MakeUow) -> None:
    assert refused(make_uow, b"phone,name\n13812345678,\x80\xff\n").code == "import_encoding"
    assert refused(make_uow, b"").code == "import_empty"
    assert refused(make_uow, b"phone,name\n").code == "import_empty"


def test_referrers_link_to_existing_members_and_earlier_rows(make_uow: MakeUow) -> None:
    with make_uow() as uow:
        boss = service.register_member(uow, MemberCreate(phone="13500000000"))
    run_import(make_uow, "phone,referrer_phone\n13800000001,13500000000\n"
                         "13800000002,13800000001\n")
    with make_uow(readonly=True) as uow:
        first = queries.search(uow.session, MemberFilter(phone="13800000001")).items[0]
        second = queries.search(uow.session, MemberFilter(phone="13800000002")).items[0]
        assert first.referrer_id == boss.id and second.referrer_id == first.id
        assert queries.timeline(uow.session, second.id)[0].data["referrer_id"] == first.id


def test_a_large_file_is_written_in_chunks(make_uow: MakeUow,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "WRITE_CHUNK", 7)
    lines = [f"1380000{i:04d},m{i},t{i % 3}" + (f",1380000{i - 1:04d}" if i % 5 else ",")
             for i in range(30)]
    report = run_import(make_uow, "phone,name,tags,referrer_phone\n" + "\n".join(lines))
    assert report.imported == 30
    with make_uow(readonly=True) as uow:
        referred = queries.search(uow.session, MemberFilter(phone="13800000029")).items[0]
        assert queries.get(uow.session, referred.referrer_id or 0).name == "m28"
        assert queries.count(uow.session, MemberFilter(tag="t1")) == 10
    assert counts(make_uow)["outbox"] == 30


def export_csv(make_uow: MakeUow, filters: MemberFilter | None = None) -> str:
    with make_uow(readonly=True) as uow:
        rows = exporting.records(uow.session, filters or MemberFilter(), uow.clock.tz)
        return b"".join(exporting.csv_chunks(rows)).decode("utf-8")


def empty_members(make_uow: MakeUow) -> None:
    with make_uow() as uow:
        for sql in ("DELETE FROM outbox", "DELETE FROM member_tags",
                    "DELETE FROM member_consents", "UPDATE members SET referrer_id = NULL",
                    "DELETE FROM members"):
            uow.session.execute(text(sql))


def without_ids(export: str) -> list[list[str]]:
    return [row[1:] for row in csv.reader(io.StringIO(export.removeprefix("\ufeff")))]


def test_an_export_imports_back_into_an_empty_database_unchanged(make_uow: MakeUow,
                                                                 clock: FixedClock) -> None:
    run_import(make_uow, GOOD)
    with make_uow() as uow:
        wang = queries.search(uow.session, MemberFilter(q="王小明")).items[0]
        service.register_member(uow, MemberCreate(
            phone="13600000000", name='=HYPERLINK("x"), "quoted"', referrer_id=wang.id,
            tags=["a b"], consents={"push": True, "wechat": False}))
    first = export_csv(make_uow)
    assert first.startswith("\ufeffid,phone,name,")

    empty_members(make_uow)
    report = run_import(make_uow, first.encode("utf-8"), name="export.csv")

    assert report.imported == 4 and report.header.ignored == ["id", "tier", "status"]
    assert without_ids(export_csv(make_uow)) == without_ids(first)
    # A spreadsheet opening the export shows the name; it does not run it; and the
    # import reads back the name as it was.
    names = [row[1] for row in without_ids(first)]
    assert '\'=HYPERLINK("x"), "quoted"' in names
    with make_uow(readonly=True) as uow:
        again = queries.search(uow.session, MemberFilter(phone="13600000000")).items[0]
    assert again.name == '=HYPERLINK("x"), "quoted"'


def test_export_follows_the_search_filters(make_uow: MakeUow) -> None:
    run_import(make_uow, GOOD)
    only = without_ids(export_csv(make_uow, MemberFilter(region="北京")))
    assert len(only) == 2 and only[1][:2] == ["+8613912345678", "李雷"]
