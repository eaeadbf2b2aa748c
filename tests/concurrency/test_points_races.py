"""16 threads at once on points: a gift is never oversold, a member's points are never
spent twice nor below zero, a once-a-day bonus is awarded once — on SQLite (BEGIN
IMMEDIATE) and on PostgreSQL (member row locked FOR UPDATE, conditional stock UPDATE)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from memberops.errors import DomainError
from memberops.ledger.models import LedgerEntry
from memberops.points import service
from memberops.points.models import GiftRedemption, PointsUse
from tests.points_helpers import assert_consistent, balances, gift, give, new_member, stock

THREADS = 16


def outcome(fn) -> str:
    try:
        return f"ok:{fn()}"
    except DomainError as exc:
        return exc.code


def test_sixteen_threads_redeeming_a_gift_with_stock_n_get_exactly_n(make_uow, db) -> None:
    members = [new_member(make_uow, n) for n in range(THREADS)]
    for member in members:
        give(make_uow, member, 1_000)
    gift(make_uow, "lamp", price=300, stock=5)

    def redeem(member_id: int) -> str:
        def work() -> int:
            with make_uow() as uow:
                return service.redeem_gift(uow, member_id=member_id, sku="lamp", quantity=1,
                                           redemption_ref=f"rd-{member_id}",
                                           key=f"points:redeem:rd-{member_id}").id
        return outcome(work)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(redeem, members))

    winners = [m for m, o in zip(members, outcomes, strict=True) if o.startswith("ok:")]
    assert len(winners) == 5, outcomes
    assert sorted(o for o in outcomes if not o.startswith("ok:")) == ["out_of_stock"] * 11
    assert stock(db, "lamp") == 0
    for member in members:
        assert balances(db, member) == ((700, 0) if member in winners else (1_000, 0))
    with db.session(readonly=True) as s:
        assert s.execute(select(func.count()).select_from(GiftRedemption)).scalar_one() == 5
    assert_consistent(db)


def test_duplicate_spends_from_one_member_apply_once_and_never_overdraw(make_uow, db) -> None:
    member = new_member(make_uow)
    for n, points in enumerate((400, 350, 250)):
        give(make_uow, member, points, key=f"seed-{n}")
    spends = [(f"spend-{n}", 37) for n in range(40)]  # 1,480 asked of 1,000
    submissions = spends + spends  # every spend arrives twice
    random.Random(3).shuffle(submissions)

    def submit(spend: tuple[str, int]) -> str:
        key, points = spend

        def work() -> int:
            with make_uow() as uow:
                return service.spend(uow, member_id=member, points=points, kind="deduction",
                                     reference=key, key=key).entry_id
        return outcome(work)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(submit, submissions))

    per_key: dict[str, set[str]] = {}
    for (key, _), result in zip(submissions, outcomes, strict=True):
        per_key.setdefault(key, set()).add(result)
    assert all(r.startswith("ok:") or r == "insufficient_balance" for r in outcomes)
    for results in per_key.values():  # a duplicate got the first entry back, or both refused
        assert len({r for r in results if r.startswith("ok:")}) <= 1
        assert len(results) == 1
    applied = [k for k, results in per_key.items() if next(iter(results)).startswith("ok:")]
    assert len(applied) == 1_000 // 37  # balance only falls: every refusal saw < 37 left
    assert balances(db, member) == (1_000 - 37 * len(applied), 0)
    with db.session(readonly=True) as s:
        used = s.execute(select(func.sum(PointsUse.points))).scalar_one()
        entries = s.execute(select(func.count()).select_from(LedgerEntry)
                            .where(LedgerEntry.kind == "points.deduction")).scalar_one()
    assert (used, entries) == (37 * len(applied), len(applied))
    assert_consistent(db)


def test_a_once_a_day_bonus_claimed_by_sixteen_threads_is_awarded_once(make_uow, db) -> None:
    member = new_member(make_uow)

    def check_in(n: int) -> str:
        def work() -> int:
            with make_uow() as uow:
                return service.award_bonus(uow, member_id=member, action="check_in",
                                           key=f"check-in-{n}").id
        return outcome(work)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(check_in, range(THREADS)))
    assert sum(o.startswith("ok:") for o in outcomes) == 1
    assert outcomes.count("bonus_already_claimed") == THREADS - 1
    assert balances(db, member) == (5, 0)
    assert_consistent(db)
