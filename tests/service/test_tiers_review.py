"""The retention review (保级) job and manual floors: kept at 80% of the threshold, one
step down below it, re-checked a year later, floors that hold and floors that end; the job
is idempotent and resumable, one member per transaction."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from memberops.errors import NotFound, RuleViolated, ValidationFailed
from memberops.jobs import tiers as tier_jobs
from memberops.members import service as members_service
from memberops.tiers import queries
from memberops.tiers import service as tiers_service
from tests.conftest import SHANGHAI
from tests.tiers_helpers import (
    events,
    floor,
    history,
    ladder_data,
    new_member,
    save_ladder,
    snapshot,
    spend,
    state,
    tier,
)

MARCH = datetime(2026, 3, 1, 12, tzinfo=SHANGHAI)  # before the tier's first year starts


def gold_member(make_uow, n: int = 1) -> int:
    """A member who reached gold on 2026-06-15 (the clock's day) with a spend made in March:
    the review on 2027-06-15 looks at 2026-06-15 … 2027-06-14 and that spend is not in it."""
    member = new_member(make_uow, n)
    spend(make_uow, member, 5_000, f"march-{n}", at=MARCH)
    return member


def at(clock, day: date, hour: int = 3) -> None:
    clock.set(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def test_kept_at_eighty_percent_of_the_threshold_and_rechecked_a_year_later(make_uow, db,
                                                                          clock) -> None:
    member = gold_member(make_uow)
    assert state(db, member).review_due == date(2027, 6, 15)
    at(clock, date(2026, 12, 1))
    spend(make_uow, member, 4_000, "dec")
    at(clock, date(2027, 6, 14))
    assert tier_jobs.review_due(db, clock).members == 0  # not yet its anniversary
    at(clock, date(2027, 6, 15))
    report = tier_jobs.review_due(db, clock)
    assert (report.members, report.kept, report.downgraded) == (1, 1, 0)
    assert tier(db, member) == "gold" and state(db, member).review_due == date(2028, 6, 15)
    assert history(db, member)[-1] == ("gold", "gold", "retention_kept")
    assert events(db, member)[-1][0] == "tier.retained"
    before = snapshot(db)
    assert tier_jobs.review_due(db, clock).members == 0  # the second run changes nothing
    assert snapshot(db) == before


def test_below_eighty_percent_drops_one_step(make_uow, db, clock) -> None:
    member = gold_member(make_uow)
    at(clock, date(2026, 12, 1))
    spend(make_uow, member, 3_999.99, "dec")
    at(clock, date(2027, 6, 15))
    report = tier_jobs.review_due(db, clock)
    assert (report.kept, report.downgraded) == (0, 1)
    assert tier(db, member) == "silver"  # one step, though 3,999.99 is silver's own level
    assert state(db, member).review_due == date(2028, 6, 15)
    assert history(db, member)[-1] == ("gold", "silver", "retention_downgrade")
    kind, payload = events(db, member)[-1]
    assert (kind, payload["before"], payload["after"]) == ("tier.changed", "gold", "silver")


def test_diamond_with_nothing_drops_one_step_a_year_even_when_the_job_catches_up(
        make_uow, db, clock) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 20_000, "big", at=MARCH)
    assert tier(db, member) == "diamond"
    at(clock, date(2029, 6, 20))  # the job has not run for three years
    report = tier_jobs.review_due(db, clock)
    assert report.downgraded == 3
    assert history(db, member)[1:] == [("diamond", "gold", "retention_downgrade"),
                                       ("gold", "silver", "retention_downgrade"),
                                       ("silver", "regular", "retention_downgrade")]
    assert tier(db, member) == "regular" and state(db, member).review_due is None
    assert tier_jobs.review_due(db, clock).members == 0


def test_as_of_reviews_up_to_that_day_only_and_never_the_future(make_uow, db, clock) -> None:
    member = gold_member(make_uow)
    at(clock, date(2028, 7, 1))
    report = tier_jobs.review_due(db, clock, as_of=date(2027, 6, 15))
    assert report.downgraded == 1 and tier(db, member) == "silver"
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as future:
        tier_jobs.review_due(db, clock, as_of=date(2028, 7, 2))
    assert future.value.code == "as_of_in_future" and snapshot(db) == before


def test_a_floor_raises_at_once_and_holds_the_tier_until_it_ends(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    floor(make_uow, member, "gold", date(2026, 9, 30), reason="VIP complaint")
    assert tier(db, member) == "gold"
    found = state(db, member)
    assert (found.floor_tier, found.floor_until, found.held_by_floor, found.review_due) == \
        ("gold", date(2026, 9, 30), True, date(2026, 10, 1))
    assert history(db, member) == [("regular", "gold", "manual_floor")]
    assert [e for e, _ in events(db, member)] == ["tier.changed", "tier.floor_set"]
    at(clock, date(2026, 9, 30))
    assert tier_jobs.review_due(db, clock).members == 0  # its last day: still in force
    at(clock, date(2026, 10, 1))
    report = tier_jobs.review_due(db, clock)
    assert (report.floors_lifted, report.downgraded) == (1, 1)
    assert history(db, member)[1:] == [("gold", "gold", "floor_expired"),
                                       ("gold", "silver", "retention_downgrade")]
    found = state(db, member)
    assert (found.floor_tier, found.held_by_floor, found.review_due) == \
        (None, False, date(2027, 10, 1))


def test_a_floor_in_force_stops_the_drop_at_the_review(make_uow, db, clock) -> None:
    member = gold_member(make_uow)
    floor(make_uow, member, "gold", date(2027, 12, 31))
    assert history(db, member)[-1] == ("gold", "gold", "manual_floor")
    assert state(db, member).review_due == date(2027, 6, 15)  # not held by it yet
    at(clock, date(2027, 6, 15))
    assert tier_jobs.review_due(db, clock).kept == 1
    assert tier(db, member) == "gold"
    found = state(db, member)
    assert (found.held_by_floor, found.review_due) == (True, date(2028, 1, 1))
    at(clock, date(2028, 1, 1))
    tier_jobs.review_due(db, clock)
    assert tier(db, member) == "silver"  # the floor ended: normal rules, one step


def test_a_lower_floor_does_not_stop_a_one_step_drop(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 20_000, "big", at=MARCH)
    floor(make_uow, member, "silver", date(2028, 1, 31))
    at(clock, date(2027, 6, 15))
    tier_jobs.review_due(db, clock)
    assert tier(db, member) == "gold"
    at(clock, date(2028, 6, 15))  # the floor ended before this review
    tier_jobs.review_due(db, clock)
    assert history(db, member)[-2:] == [("gold", "gold", "floor_expired"),
                                        ("gold", "silver", "retention_downgrade")]


def test_upgrading_past_a_floor_starts_a_year_of_its_own(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    floor(make_uow, member, "gold", date(2026, 12, 31))
    spend(make_uow, member, 20_000, "big")
    found = state(db, member)
    assert tier(db, member) == "diamond"
    assert (found.held_by_floor, found.review_due, found.floor_tier) == \
        (False, date(2027, 6, 15), "gold")


def test_the_same_floor_twice_changes_nothing_a_new_one_replaces_it(make_uow, db) -> None:
    member = new_member(make_uow)
    floor(make_uow, member, "gold", date(2026, 12, 31))
    before = snapshot(db)
    floor(make_uow, member, "gold", date(2026, 12, 31))
    assert snapshot(db) == before
    floor(make_uow, member, "gold", date(2027, 3, 31), reason="extended")
    found = state(db, member)
    assert (found.floor_until, found.floor_reason, found.review_due) == \
        (date(2027, 3, 31), "extended", date(2027, 4, 1))


def test_a_lower_floor_replacing_the_one_that_held_the_tier_reviews_at_once(make_uow, db,
                                                                          clock) -> None:
    member = new_member(make_uow)
    floor(make_uow, member, "diamond", date(2026, 12, 31))
    floor(make_uow, member, "silver", date(2026, 12, 31), reason="downgraded goodwill")
    assert tier(db, member) == "gold"  # reviewed now: one step down
    assert history(db, member)[-1] == ("diamond", "gold", "retention_downgrade")


def test_removing_a_floor_by_hand_reviews_the_tier_it_held(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 900, "o-1")
    floor(make_uow, member, "silver", date(2026, 12, 31))
    with make_uow() as uow:
        done = tiers_service.remove_floor(uow, member_id=member, reason="set by mistake")
    assert [(c.reason, c.to_tier) for c in done] == [("floor_removed", "silver"),
                                                     ("retention_downgrade", "regular")]
    assert tier(db, member) == "regular" and state(db, member).floor_tier is None
    assert events(db, member)[-2][1]["reason"] == "floor_removed"
    with pytest.raises(NotFound) as none, make_uow() as uow:
        tiers_service.remove_floor(uow, member_id=member, reason="again")
    assert none.value.code == "floor_not_found"


def test_removing_a_floor_that_held_nothing_changes_only_the_floor(make_uow, db) -> None:
    member = gold_member(make_uow)
    floor(make_uow, member, "gold", date(2026, 12, 31))
    with make_uow() as uow:
        done = tiers_service.remove_floor(uow, member_id=member, reason="no longer needed")
    assert [c.reason for c in done] == ["floor_removed"]
    assert tier(db, member) == "gold" and state(db, member).review_due == date(2027, 6, 15)


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"tier": "platinum"}, "unknown_tier", "tier"),
    ({"tier": "regular"}, "floor_too_low", "tier"),
    ({"until": date(2026, 6, 15)}, "floor_end_not_in_future", "until"),
    ({"until": date(2025, 1, 1)}, "floor_end_not_in_future", "until"),
    ({"until": "2027-01-01"}, "validation_error", "until"),
    ({"reason": "   "}, "validation_error", "reason"),
])
def test_bad_floors_are_refused_and_change_nothing(make_uow, db, kwargs, code, field) -> None:
    member = new_member(make_uow)
    before = snapshot(db)
    args = {"tier": "gold", "reason": "goodwill", "until": date(2026, 12, 31), **kwargs}
    with pytest.raises(ValidationFailed) as refused, make_uow() as uow:
        tiers_service.set_floor(uow, member_id=member, **args)
    assert (refused.value.code, refused.value.errors[0]["field"]) == (code, field)
    assert snapshot(db) == before


def test_floors_for_missing_and_closed_members(make_uow, db) -> None:
    with pytest.raises(NotFound), make_uow() as uow:
        tiers_service.set_floor(uow, member_id=999, tier="gold", reason="x",
                                until=date(2026, 12, 31))
    member = new_member(make_uow)
    with make_uow() as uow:
        members_service.change_status(uow, member, "closed", "left")
    with pytest.raises(RuleViolated) as closed, make_uow() as uow:
        tiers_service.set_floor(uow, member_id=member, tier="gold", reason="x",
                                until=date(2026, 12, 31))
    assert closed.value.code == "member_closed"


def test_the_job_is_resumable_one_member_at_a_time(make_uow, db, clock) -> None:
    members = [gold_member(make_uow, n) for n in range(1, 5)]
    at(clock, date(2027, 6, 15))
    seen: list[tuple[int, int]] = []

    def crash_after_two(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tier_jobs.review_due(db, clock, progress=crash_after_two)
    assert seen == [(0, 4), (1, 4), (2, 4)]
    assert [tier(db, m) for m in members] == ["silver", "silver", "gold", "gold"]
    rest = tier_jobs.review_due(db, clock)
    assert (rest.members, rest.downgraded) == (2, 2)
    before = snapshot(db)
    assert tier_jobs.review_due(db, clock) == tier_jobs.ReviewReport(
        date(2027, 6, 15), 0, 0, 0, 0, 0)
    assert snapshot(db) == before


def test_a_tier_the_ladder_dropped_is_placed_again_by_the_job(make_uow, db, clock) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 1_500, "o-1")
    data = ladder_data()
    data["tiers"][1]["code"] = "argent"
    save_ladder(make_uow, data)
    assert tier_jobs.due_members(db, date(2026, 6, 15)) == [member]
    report = tier_jobs.review_due(db, clock)
    assert report.other == 1 and tier(db, member) == "argent"
    assert history(db, member)[-1] == ("silver", "argent", "ladder_changed")


def test_history_pages_filters_and_sorts(make_uow, db, clock) -> None:
    member = gold_member(make_uow)
    floor(make_uow, member, "gold", date(2026, 12, 31))
    with make_uow() as uow:
        tiers_service.remove_floor(uow, member_id=member, reason="done")
    with db.session(readonly=True) as s:
        first = queries.history(s, member, limit=2)
        assert [r.reason for r in first.items] == ["floor_removed", "manual_floor"]
        rest = queries.history(s, member, limit=2, cursor=first.next_cursor)
        assert [r.reason for r in rest.items] == ["upgrade"] and rest.next_cursor is None
        oldest = queries.history(s, member, sort="at", limit=1)
        assert oldest.items[0].reason == "upgrade"
        only = queries.history(s, member, reason="manual_floor")
        assert [r.note for r in only.items] == ["complaint goodwill"]
        for bad in ({"sort": "x"}, {"limit": 0}, {"reason": "nope"},
                    {"cursor": first.next_cursor, "sort": "at"}):
            with pytest.raises(ValidationFailed):
                queries.history(s, member, **bad)


def test_status_shows_progress_the_next_tier_and_what_keeping_it_takes(make_uow, db,
                                                                      clock) -> None:
    member = gold_member(make_uow)
    spend(make_uow, member, 1_000, "o-2")
    with db.session(readonly=True) as s:
        found = queries.status(s, member, clock.now(), clock.tz)
    assert found.tier.code == "gold" and found.activity.net_spend == 600_000
    assert found.next is not None and found.next.tier == "diamond"
    assert [(n.criterion, n.missing) for n in found.next.needs] == [
        ("net_spend", 1_400_000), ("recharge", 1_000_000)]
    assert found.keep is not None and found.keep.by == date(2027, 6, 15)
    assert [(n.criterion, n.target, n.current) for n in found.keep.needs] == [
        ("net_spend", 400_000, 100_000)]  # the March spend is before this tier's year
