"""The demo member base: a small run through the members service, then what it left behind."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.clock import FixedClock
from memberops.db import Database
from memberops.demo import DemoPlan
from memberops.demo.members import (
    MemberSpec,
    batches,
    generate_members,
    plan_members,
    seasonality,
)
from memberops.members import queries, rules, service
from memberops.members.models import Member
from memberops.members.queries import MemberFilter
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent

PLAN = DemoPlan(members=300, batch_size=40)


@pytest.fixture
def loaded(db: Database, clock: FixedClock) -> list[Member]:
    """Given the demo's member base of 300, registered through the service."""
    calls: list[tuple[str, int, int]] = []
    ids = generate_members(db, PLAN, clock, progress=lambda *call: calls.append(call))
    assert len(ids) == 300
    assert calls[0] == ("members", 0, 300) and calls[-1] == ("members", 300, 300)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)
    with db.session(readonly=True) as session:
        return list(queries.iterate(session, MemberFilter()))


def test_count_and_join_window(loaded: list[Member], clock: FixedClock) -> None:
    now = clock.now()
    assert len(loaded) == 300
    joined = sorted(m.joined_at for m in loaded)
    assert joined[-1] <= now, "nobody joins in the future"
    assert joined[0] >= now - timedelta(days=730)
    # spread over the two years, not bunched: every half-year has members, growing
    halves = Counter(min(int((now - j).days // 183), 3) for j in joined)
    assert set(halves) == {0, 1, 2, 3}
    assert halves[0] > halves[3], "a growing programme: more joins lately than two years ago"


def test_regions_and_channels(loaded: list[Member]) -> None:
    provinces = Counter(m.province for m in loaded if m.province)
    assert len(provinces) >= 8
    assert provinces.most_common(1)[0][0] in {"广东", "浙江", "江苏", "上海"}
    assert all(m.city for m in loaded if m.province)
    channels = Counter(m.channel for m in loaded)
    assert set(channels) == set(rules.CHANNELS)
    assert channels["store"] + channels["mini_program"] > len(loaded) / 2


def test_referrals_point_to_earlier_members(loaded: list[Member]) -> None:
    by_id = {m.id: m for m in loaded}
    referred = [m for m in loaded if m.channel == "referral"]
    assert referred
    for member in referred:
        referrer = by_id[member.referrer_id]
        assert referrer.joined_at < member.joined_at
    assert all(m.referrer_id is None for m in loaded if m.channel != "referral")


def test_profiles_are_valid_and_plausible(loaded: list[Member], clock: FixedClock) -> None:
    today = clock.today()
    phones = [m.phone for m in loaded]
    assert len(set(phones)) == len(phones)
    assert all(rules.normalise_phone(p) == p and p.startswith("+861") for p in phones)
    birthdays = [m.birthday for m in loaded if m.birthday]
    assert len(birthdays) > 0.7 * len(loaded)
    ages = [(today - b).days / 365.25 for b in birthdays]
    assert all(b <= today for b in birthdays)
    assert min(ages) >= 17.9 and max(ages) <= 66
    assert 24 <= sorted(ages)[len(ages) // 2] <= 40, "a coffee chain's members are young"
    assert {m.gender for m in loaded} <= set(rules.GENDERS)
    assert Counter(m.gender for m in loaded)["female"] > len(loaded) * 0.4
    assert sum(1 for m in loaded if m.name) > 0.9 * len(loaded)
    emails = [m.email for m in loaded if m.email]
    assert 0.1 * len(loaded) < len(emails) < 0.6 * len(loaded)
    assert all(e.endswith(".example.com") for e in emails), "never a real mailbox"
    assert all(1 <= len(m.tag_names) <= 4 for m in loaded if m.tags)
    assert len({t for m in loaded for t in m.tag_names}) >= 8


def test_consents_follow_the_channel(loaded: list[Member]) -> None:
    def granted(channel: str, members: list[Member]) -> float:
        rows = [c for m in members for c in m.consents if c.channel == channel]
        return sum(c.granted for c in rows) / max(len(rows), 1)

    assert all(any(c.channel == "sms" for c in m.consents) for m in loaded)
    assert 0.55 < granted("sms", loaded) < 0.85
    mini = [m for m in loaded if m.channel == "mini_program"]
    assert granted("wechat", mini) > 0.6
    store = [m for m in loaded if m.channel == "store"]
    assert not any(c.channel in ("wechat", "push") for m in store for c in m.consents)
    assert all(m.email for m in loaded for c in m.consents if c.channel == "email")


def test_each_member_has_audit_and_timeline_at_its_join(db: Database,
                                                        loaded: list[Member]) -> None:
    with db.session(readonly=True) as session:
        audits = session.execute(select(AuditEntry).where(
            AuditEntry.action == "member.registered")).scalars().all()
        events = session.execute(select(OutboxEvent).where(
            OutboxEvent.event_type == "member.registered")).scalars().all()
        assert session.execute(select(func.count()).select_from(Member)).scalar_one() == 300
    joined = {str(m.id): m.joined_at for m in loaded}
    assert len(audits) == 300 and {a.target_id for a in audits} == set(joined)
    assert all(a.at == joined[a.target_id] and a.actor_name == "demo" for a in audits)
    assert len(events) == 300 and all(e.actor == "system:demo" for e in events)
    # timeline events are stamped when their batch commits: on the day of the join
    for event in events:
        joined_at = joined[str(event.member_id)]
        assert joined_at <= event.occurred_at < joined_at + timedelta(days=1)


def test_same_seed_same_data(loaded: list[Member], clock: FixedClock) -> None:
    first = plan_members(PLAN, clock.now(), clock.tz)
    assert first == plan_members(PLAN, clock.now(), clock.tz)
    assert first != plan_members(DemoPlan(members=300, seed=PLAN.seed + 1), clock.now(), clock.tz)
    # and the database holds exactly the plan, in join order
    ordered = sorted(loaded, key=lambda m: m.id)
    assert [m.phone for m in ordered] == [s.phone for s in first]
    assert [m.joined_at for m in ordered] == [s.joined_at for s in first]
    assert [m.name for m in ordered] == [s.name for s in first]


def test_seasons_lift_sales_festivals_and_weekends() -> None:
    ordinary = seasonality(date(2025, 3, 12))  # a Wednesday in March
    assert ordinary == 1.0
    assert seasonality(date(2025, 3, 15)) > ordinary  # Saturday
    assert seasonality(date(2025, 1, 25)) > seasonality(date(2025, 3, 15))  # before 春节
    assert seasonality(date(2025, 6, 18)) > 2 * ordinary  # 618
    assert seasonality(date(2025, 11, 11)) >= 3 * ordinary  # Double 11
    assert seasonality(date(2025, 11, 11)) > seasonality(date(2025, 11, 1))


def test_batches_stay_within_a_business_day(clock: FixedClock) -> None:
    specs = plan_members(DemoPlan(members=500), clock.now(), clock.tz)
    chunks = batches(specs, 7, clock.tz)
    assert [i for chunk in chunks for i in chunk] == list(range(500))
    for chunk in chunks:
        assert len(chunk) <= 7
        days = {specs[i].joined_at.astimezone(clock.tz).date() for i in chunk}
        assert len(days) == 1


def test_a_phone_already_taken_is_skipped(db: Database, clock: FixedClock, make_uow) -> None:
    spec: MemberSpec = plan_members(DemoPlan(members=20), clock.now(), clock.tz)[5]
    with make_uow() as uow:
        service.register_member(uow, MemberCreate(phone=spec.phone))
    ids = generate_members(db, DemoPlan(members=20), clock)
    assert len(ids) == 19
    with db.session(readonly=True) as session:
        assert session.execute(select(func.count()).select_from(Member)).scalar_one() == 20


def test_join_times_are_whole_seconds_and_never_after_now(clock: FixedClock) -> None:
    now = clock.now().replace(microsecond=654321)
    specs = plan_members(DemoPlan(members=200, history_days=2), now, clock.tz)
    assert all(s.joined_at.microsecond == 0 and s.joined_at <= now for s in specs)
    assert len({s.joined_at for s in specs}) == 200
