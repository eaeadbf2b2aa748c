"""Threads at once on coupons — on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (the template
row locked, `issued` raised by a conditional UPDATE; a coupon marked used by a conditional
UPDATE whose rowcount is checked): a budget of N under 4N issues gives exactly N, a
per-member limit holds, one coupon sent by many orders is redeemed once, and two birthday
runs at once give each member one coupon."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from sqlalchemy import func, select

from memberops.coupons import service
from memberops.coupons.models import Coupon
from memberops.coupons.service import Target
from memberops.errors import DomainError
from memberops.jobs import coupons as jobs
from tests.conftest import SHANGHAI
from tests.coupons_helpers import (
    YUAN,
    audits,
    coupon_row,
    issue,
    issued_count,
    new_member,
    order,
    reference,
    template,
)

THREADS = 16
BUDGET = THREADS // 4


def together(n: int, act) -> list[str]:
    """Run act(i) for i < n on n threads released at the same moment; each outcome is
    `ok:<value>` or the refusal's code."""
    start = threading.Barrier(n)

    def one(i: int) -> str:
        start.wait()
        try:
            return f"ok:{act(i)}"
        except DomainError as exc:
            return exc.code
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_a_budget_of_n_under_4n_concurrent_issues_gives_exactly_n(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=BUDGET)
    members = [new_member(make_uow, n) for n in range(THREADS)]

    def act(i: int) -> str:
        with make_uow() as uow:
            return service.issue(uow, template_id=template_id, member_id=members[i]).code
    outcomes = together(THREADS, act)

    assert sum(o.startswith("ok:") for o in outcomes) == BUDGET, outcomes
    assert sorted(o for o in outcomes if not o.startswith("ok:")) == [
        "coupon_budget_exhausted"] * (THREADS - BUDGET)
    assert issued_count(db, template_id) == (BUDGET, BUDGET)


def test_lists_and_single_issues_racing_never_pass_the_budget(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=10)
    members = [new_member(make_uow, n) for n in range(40)]

    def act(i: int) -> int:
        with make_uow() as uow:
            if i % 2:
                return 1 if service.issue(uow, template_id=template_id,
                                          member_id=members[i]) else 0
            chunk = members[i:i + 4]
            return len(service.issue_many(uow, template_id=template_id, targets=[
                Target(n, str(m), "id") for n, m in enumerate(chunk, 1)]).issued)
    outcomes = together(THREADS, act)

    given = sum(int(o[3:]) for o in outcomes if o.startswith("ok:"))
    assert given == 10, outcomes
    assert issued_count(db, template_id) == (10, 10)


def test_a_per_member_limit_holds_under_concurrent_issues(make_uow, db) -> None:
    template_id = template(make_uow, "t", per_member_limit=2)
    member = new_member(make_uow)

    def act(_: int) -> str:
        with make_uow() as uow:
            return service.issue(uow, template_id=template_id, member_id=member).code
    outcomes = together(THREADS, act)

    assert sum(o.startswith("ok:") for o in outcomes) == 2, outcomes
    assert outcomes.count("coupon_limit_reached") == THREADS - 2
    assert issued_count(db, template_id) == (2, 2)


def test_one_coupon_sent_by_many_orders_is_redeemed_once(make_uow, db) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow)
    code = issue(make_uow, ids["spend200-off30"], member)

    def act(i: int) -> int:
        with make_uow() as uow:
            [applied] = service.redeem(uow, member_id=member, codes=[code],
                                       order_ref=f"order-{i}",
                                       order_context=order(300 * YUAN))
            return applied.discount
    outcomes = together(THREADS, act)

    assert outcomes.count(f"ok:{30 * YUAN}") == 1, outcomes
    assert outcomes.count("coupon_used") == THREADS - 1
    winner = outcomes.index(f"ok:{30 * YUAN}")
    c = coupon_row(db, code)
    assert (c.status, c.order_ref, c.discount) == ("used", f"order-{winner}", 30 * YUAN)
    assert len(audits(db, "coupons.redeemed")) == 1


def test_one_order_retried_by_many_threads_redeems_once(make_uow, db) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow)
    code = issue(make_uow, ids["10-percent-off"], member)

    def act(_: int) -> int:
        with make_uow() as uow:
            return service.redeem(uow, member_id=member, codes=[code], order_ref="order-1",
                                  order_context=order(120 * YUAN))[0].discount
    outcomes = together(THREADS, act)

    # the first to commit takes the coupon; every other retry of the order gets its answer
    assert outcomes == [f"ok:{12 * YUAN}"] * THREADS, outcomes
    assert len(audits(db, "coupons.redeemed")) == 1
    assert coupon_row(db, code).order_ref == "order-1"


def test_two_birthday_runs_at_once_give_each_member_one_coupon(make_uow, db, clock) -> None:
    ids = reference(make_uow)
    clock.set(datetime(2026, 5, 1, tzinfo=SHANGHAI))
    members = [new_member(make_uow, n, tier="gold", birthday=date(1990, 6, 1 + n))
               for n in range(12)]
    clock.set(datetime(2026, 6, 1, 0, 5, tzinfo=SHANGHAI))

    outcomes = together(4, lambda _: jobs.issue_birthday(db, clock).issued)

    assert sum(int(o[3:]) for o in outcomes if o.startswith("ok:")) == len(members), outcomes
    with db.session(readonly=True) as s:
        per_member = s.execute(select(Coupon.member_id, func.count()).where(
            Coupon.template_id == ids["birthday"]).group_by(Coupon.member_id)).all()
    assert sorted(per_member) == [(m, 1) for m in members]
