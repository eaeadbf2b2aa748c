"""Member use cases against a real database: given / when / then."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.errors import Conflict, NotFound, RuleViolated, ValidationFailed
from memberops.members import queries, service
from memberops.members.models import Member
from memberops.members.schemas import MemberCreate, MemberUpdate
from memberops.outbox import OutboxEvent


def register(make_uow, **fields):
    with make_uow() as uow:
        return service.register_member(uow, MemberCreate(**fields)).id


def count(db, model) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_registration_records_audit_and_timeline(make_uow, db) -> None:
    member_id = register(make_uow, phone="13800000001", name="李雷", tags=["vip"],
                         consents={"sms": True, "email": False})
    with make_uow(readonly=True) as uow:
        entry = uow.session.execute(select(AuditEntry)).scalar_one()
        member = queries.get(uow.session, member_id)
        consents = {c.channel: c for c in member.consents}
        timeline = queries.timeline(uow.session, member_id)
    assert entry.action == "member.registered" and entry.target_id == str(member_id)
    assert entry.actor_name == "test-admin" and entry.request_id == "test-request"
    assert entry.changes["phone"] == {"before": None, "after": "+8613800000001"}
    assert consents["sms"].granted and consents["sms"].granted_at is not None
    assert not consents["email"].granted and consents["email"].revoked_at is not None
    assert [t.kind for t in timeline] == ["member.registered"]
    assert timeline[0].actor == "operator:test-admin"


def test_duplicate_phone_in_another_spelling_is_refused_and_writes_nothing(make_uow, db) -> None:
    register(make_uow, phone="13800000001")
    with pytest.raises(Conflict) as err, make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="+86 138-0000-0001"))
    assert err.value.code == "member_exists"
    assert count(db, Member) == 1 and count(db, AuditEntry) == 1 and count(db, OutboxEvent) == 1


def test_birthday_in_future_is_refused(make_uow, clock, db) -> None:
    tomorrow = clock.today() + timedelta(days=1)
    with pytest.raises(ValidationFailed) as err, make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001", birthday=tomorrow))
    assert err.value.errors[0]["field"] == "birthday"
    assert count(db, Member) == 0


def test_unknown_referrer_is_refused(make_uow, db) -> None:
    with pytest.raises(ValidationFailed) as err, make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001", referrer_id=999))
    assert err.value.code == "referrer_not_found"
    assert count(db, Member) == 0


def test_referral_cycle_and_self_referral_are_refused(make_uow, db) -> None:
    a = register(make_uow, phone="13800000001")
    b = register(make_uow, phone="13800000002", referrer_id=a)
    c = register(make_uow, phone="13800000003", referrer_id=b)
    with pytest.raises(RuleViolated) as cycle, make_uow() as uow:
        service.update_member(uow, a, MemberUpdate(referrer_id=c))
    assert cycle.value.code == "referral_cycle"
    with pytest.raises(RuleViolated) as self_ref, make_uow() as uow:
        service.update_member(uow, a, MemberUpdate(referrer_id=a))
    assert self_ref.value.code == "self_referral"
    with make_uow(readonly=True) as uow:
        assert queries.get(uow.session, a).referrer_id is None


def test_update_changes_only_sent_fields_and_audits_before_after(make_uow) -> None:
    member_id = register(make_uow, phone="13800000001", name="Old", email="a@example.com")
    with make_uow() as uow:
        service.update_member(uow, member_id, MemberUpdate(name="New", email=None))
    with make_uow(readonly=True) as uow:
        member = queries.get(uow.session, member_id)
        entry = uow.session.execute(select(AuditEntry).where(
            AuditEntry.action == "member.updated")).scalar_one()
    assert member.name == "New" and member.email is None and member.phone == "+8613800000001"
    assert entry.changes == {"email": {"before": "a@example.com", "after": None},
                             "name": {"before": "Old", "after": "New"}}


def test_changing_phone_to_anothers_is_refused(make_uow) -> None:
    register(make_uow, phone="13800000001")
    b = register(make_uow, phone="13800000002")
    with pytest.raises(Conflict), make_uow() as uow:
        service.update_member(uow, b, MemberUpdate(phone="13800000001"))


def test_tags_added_and_removed(make_uow) -> None:
    member_id = register(make_uow, phone="13800000001", tags=["a"])
    with make_uow() as uow:
        service.add_tags(uow, member_id, ["b", "a", "c"])
    with make_uow() as uow:
        service.remove_tag(uow, member_id, "a")
    with pytest.raises(NotFound), make_uow() as uow:
        service.remove_tag(uow, member_id, "zzz")
    with make_uow(readonly=True) as uow:
        assert queries.get(uow.session, member_id).tag_names == ["b", "c"]
        kinds = [t.summary for t in queries.timeline(uow.session, member_id)]
    assert kinds[:2] == ["-a", "+b +c"]


def test_consent_revocation_keeps_grant_time(make_uow, clock) -> None:
    member_id = register(make_uow, phone="13800000001", consents={"sms": True})
    granted_at = clock.now()
    clock.advance(timedelta(days=3))
    with make_uow() as uow:
        service.set_consent(uow, member_id, "sms", False)
    with make_uow(readonly=True) as uow:
        sms = queries.get(uow.session, member_id).consents[0]
    assert not sms.granted and sms.granted_at == granted_at and sms.revoked_at == clock.now()


def test_status_transitions_need_reason_and_closed_is_final(make_uow) -> None:
    member_id = register(make_uow, phone="13800000001")
    with make_uow() as uow:
        service.change_status(uow, member_id, "frozen", "suspected fraud")
    with make_uow() as uow:
        service.change_status(uow, member_id, "active", "cleared by finance")
    with make_uow() as uow:
        service.change_status(uow, member_id, "closed", "member asked")
    with pytest.raises(RuleViolated), make_uow() as uow:
        service.change_status(uow, member_id, "active", "reopen")
    with make_uow(readonly=True) as uow:
        member = queries.get(uow.session, member_id)
        entries = uow.session.execute(select(AuditEntry).where(
            AuditEntry.action == "member.status_changed").order_by(AuditEntry.id)).scalars()
        reasons = [e.reason for e in entries]
    assert member.status == "closed" and member.status_reason == "member asked"
    assert reasons == ["suspected fraud", "cleared by finance", "member asked"]


def test_search_filters_and_cursor_pages_through_everything(make_uow, clock) -> None:
    ids = []
    for i in range(7):
        ids.append(register(make_uow, phone=f"1390000000{i}", name=f"张{i}",
                            region={"province": "广东", "city": "深圳" if i % 2 else "广州"},
                            tags=["vip"] if i < 3 else [], channel="app" if i % 3 else "store",
                            joined_at=clock.now() - timedelta(days=10 * i)))
    with make_uow(readonly=True) as uow:
        seen, cursor = [], None
        while True:
            page = queries.search(uow.session, queries.MemberFilter(), limit=3, cursor=cursor)
            seen += [m.id for m in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert seen == sorted(ids, reverse=True)
        by_join = queries.search(uow.session, queries.MemberFilter(), sort="joined_at", limit=10)
        assert [m.id for m in by_join.items] == list(reversed(ids))
        f = queries.MemberFilter
        assert queries.count(uow.session, f(tag="vip")) == 3
        assert queries.count(uow.session, f(region="深圳")) == 3
        assert queries.count(uow.session, f(channel="store")) == 3
        assert queries.count(uow.session, f(q="张1")) == 1
        assert queries.count(uow.session, f(q="00003")) == 1
        assert queries.count(uow.session, f(phone="139 0000 0004")) == 1
        # joined_to is exclusive: the member who joined exactly now is not counted.
        assert queries.count(uow.session, f(
            joined_from=clock.now() - timedelta(days=25), joined_to=clock.now())) == 2


def test_birthday_oldest_bound(make_uow) -> None:
    with pytest.raises(ValidationFailed), make_uow() as uow:
        service.register_member(uow, MemberCreate(phone="13800000001",
                                                  birthday=date(1850, 1, 1)))
