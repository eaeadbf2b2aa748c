"""16+ threads at once on orders — on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (the member
row locked FOR UPDATE, the order row FOR UPDATE for a refund, unique order_ref and
refund_ref): one order_ref sent by many threads is one order and one wallet debit; one
order_ref claimed by several members is one order and clean 409s; N coupons each sent in 4
concurrent orders are each used once; concurrent partial refunds never exceed what was
paid and, when they add up to the whole, reverse exactly the whole. (A gift's stock under
concurrent redemptions is tests/concurrency/test_points_races.py's.)"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from memberops.coupons.models import Coupon
from memberops.errors import DomainError
from memberops.ledger.models import LedgerEntry
from memberops.orders import service
from memberops.orders.models import Order, OrderRefund
from memberops.orders.schemas import RefundCreate
from memberops.wallet.models import WalletPayment
from tests import wallet_helpers
from tests.orders_helpers import (
    YUAN,
    coupon,
    coupon_status,
    member,
    order,
    pending_points,
    place,
    points_available,
)

THREADS = 16


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


def count(db, model, *where: Any) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def entries(db, kind: str) -> int:
    return count(db, LedgerEntry, LedgerEntry.kind == kind)


def test_one_order_ref_sent_by_many_threads_is_one_order(make_uow, db) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=2_000)
    code = coupon(make_uow, m)
    wallet_before = wallet_helpers.wallet(db, m)["total"]
    body = order(m, "O-1", coupon_codes=[code], points_to_use=1_000, wallet_amount=100 * YUAN)

    def act(_: int) -> str:
        with make_uow() as uow:
            o = service.place(uow, body)
            return f"{o.id}:{o.payable}:{o.points_earned}"
    outcomes = together(THREADS * 2, act)

    # every thread gets the one order back (its twins wait for the member lock, then find it)
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("ok:"), outcomes
    assert count(db, Order) == 1
    assert count(db, WalletPayment) == 1 and entries(db, "wallet.payment") == 1
    assert entries(db, "points.deduction") == 1
    assert coupon_status(db, code) == "used"
    assert wallet_helpers.wallet(db, m)["total"] == wallet_before - 10_000 + 100  # 1% back
    assert points_available(db, m) == 1_000
    payable, earned = (int(x) for x in outcomes[0].split(":")[2:])
    assert payable == 30_000 - 3_000 - 1_000 and pending_points(db, m) == earned == 260
    wallet_helpers.assert_consistent(db)


def test_one_order_ref_claimed_by_several_members_is_one_order(make_uow, db) -> None:
    members = [member(make_uow, n, wallet=1_000 * YUAN, points=1_000) for n in range(4)]
    before = {m: (wallet_helpers.wallet(db, m)["total"], points_available(db, m))
              for m in members}

    def act(i: int) -> str:
        m = members[i % len(members)]
        with make_uow() as uow:
            return str(service.place(uow, order(m, "O-1", points_to_use=500,
                                                wallet_amount=5_000)).member_id)
    outcomes = together(THREADS, act)

    winners = {o for o in outcomes if o.startswith("ok:")}
    assert len(winners) == 1, outcomes
    winner = int(next(iter(winners))[3:])
    # the winner's own retries get its order back; every other member a clean 409
    assert outcomes.count(f"ok:{winner}") == THREADS // len(members)
    assert outcomes.count("order_ref_reused") == THREADS - THREADS // len(members), outcomes
    assert count(db, Order) == 1 and count(db, WalletPayment) == 1
    assert entries(db, "points.deduction") == 1
    for m in members:
        spent = (5_000 - 50, 500) if m == winner else (0, 0)
        assert (wallet_helpers.wallet(db, m)["total"], points_available(db, m)) == (
            before[m][0] - spent[0], before[m][1] - spent[1]), m
    wallet_helpers.assert_consistent(db)


def test_n_coupons_each_sent_in_four_concurrent_orders_are_each_used_once(make_uow,
                                                                           db) -> None:
    n = THREADS // 4
    members = [member(make_uow, i) for i in range(n)]
    codes = [coupon(make_uow, m) for m in members]  # 满200减30, one to each member

    def act(i: int) -> int:
        m, code = members[i % n], codes[i % n]
        with make_uow() as uow:
            return service.place(uow, order(m, f"O-{i}", coupon_codes=[code])).coupon_discount
    outcomes = together(THREADS, act)

    assert outcomes.count(f"ok:{30 * YUAN}") == n, outcomes
    assert outcomes.count("coupon_used") == THREADS - n, outcomes
    with db.session(readonly=True) as s:
        orders = s.execute(select(Order.member_id, Order.order_ref, Order.coupon_discount)
                           ).all()
        used = s.execute(select(Coupon.code, Coupon.member_id, Coupon.order_ref)
                         .where(Coupon.status == "used")).all()
    assert sorted(o.member_id for o in orders) == sorted(members)  # one order each
    assert all(o.coupon_discount == 30 * YUAN for o in orders)
    assert sorted(u.code for u in used) == sorted(codes)
    assert {(u.member_id, u.order_ref) for u in used} == {(o.member_id, o.order_ref)
                                                          for o in orders}


def _refund(make_uow, ref: str, **fields: Any) -> str:
    with make_uow() as uow:
        row, _ = service.refund(uow, "O-1", RefundCreate(refund_ref=ref, **fields))
        return str(row.id)


def test_concurrent_partial_refunds_never_exceed_what_was_paid(make_uow, db) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=5_000, tier="silver")
    o = place(make_uow, order(m, items=[("LATTE", 3, 3_300), ("CAKE", 2, 2_850)],
                              points_to_use=3_000, wallet_amount=5_000))
    paid = (o.points_value, o.wallet_paid, o.external_paid)
    each = 1_500  # 16 asked, 10 fit in the 15,288 paid
    refs = [f"R-{i}" for i in range(THREADS)]
    submissions = refs + refs  # every refund arrives twice
    outcomes = together(len(submissions),
                        lambda i: _refund(make_uow, submissions[i], amount=each))

    by_ref: dict[str, set[str]] = defaultdict(set)
    for ref, got in zip(submissions, outcomes, strict=True):
        by_ref[ref].add(got)
    done = [ref for ref, got in by_ref.items() if any(g.startswith("ok:") for g in got)]
    assert all(len(got) == 1 for got in by_ref.values()), by_ref  # twins: one answer
    assert len(done) == sum(paid) // each == 10, outcomes
    assert {g for got in by_ref.values() for g in got if not g.startswith("ok:")} == {
        "refund_exceeds_order"}
    with db.session(readonly=True) as s:
        after = s.execute(select(Order).where(Order.id == o.id)).scalar_one()
        refunds = s.execute(select(OrderRefund)).scalars().all()
    assert len(refunds) == 10 and all(r.amount == each for r in refunds)
    assert after.refunded == sum(r.amount for r in refunds) == 10 * each <= sum(paid)
    assert after.refunded_points_value == sum(r.points_value for r in refunds) <= paid[0]
    assert after.refunded_wallet == sum(r.wallet_refunded for r in refunds) <= paid[1]
    assert after.refunded_external == sum(r.external_refunded for r in refunds) <= paid[2]
    assert after.refunded_points == sum(r.points_returned for r in refunds) <= o.points_used
    assert after.clawed_points == sum(r.points_clawed for r in refunds) <= o.points_earned
    assert entries(db, "wallet.refund") == 10
    wallet_helpers.assert_consistent(db)


def test_concurrent_refunds_that_add_up_to_the_order_reverse_all_of_it(make_uow,
                                                                      db) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=5_000)
    wallet_before, points_before = wallet_helpers.wallet(db, m), points_available(db, m)
    # ¥320 paid as 3,000 points (¥30), ¥120 from the wallet and ¥170 outside; every cake
    # costs ¥20, so every refund below — a cake, or ¥20 by amount — takes ¥20.
    o = place(make_uow, order(m, items=[("LATTE", 1, 20_000), ("CAKE", 6, 2_000)],
                              points_to_use=3_000, wallet_amount=12_000))
    assert (o.paid_value, o.points_value, o.wallet_paid, o.external_paid) == (
        32_000, 3_000, 12_000, 17_000)
    asks: list[dict[str, Any]] = [{"items": [{"sku": "CAKE", "quantity": 1}]}] * 8 + \
        [{"amount": 2_000}] * 14  # 22 asks of ¥20 for ¥320: exactly 16 fit
    outcomes = together(len(asks), lambda i: _refund(make_uow, f"R-{i}", **asks[i]))

    assert sum(o.startswith("ok:") for o in outcomes) == 16, outcomes
    assert {g for g in outcomes if not g.startswith("ok:")} <= {
        "refund_exceeds_order", "order_fully_refunded", "refund_exceeds_items"}, outcomes
    with db.session(readonly=True) as s:
        after = s.execute(select(Order).where(Order.id == o.id)).scalar_one()
        cakes = next(line for line in after.lines if line.sku == "CAKE").refunded_quantity
        refunds = s.execute(select(OrderRefund)).scalars().all()
    assert cakes == sum(1 for r in refunds if r.items) <= 6
    assert (after.status, after.refunded) == ("refunded", 32_000)
    assert all(r.amount == 2_000 for r in refunds)
    # the sixteen reversals, each rounded, add up to exactly what was paid
    assert sum(r.points_value for r in refunds) == o.points_value
    assert sum(r.wallet_refunded for r in refunds) == o.wallet_paid
    assert sum(r.external_refunded for r in refunds) == o.external_paid
    assert sum(r.points_returned for r in refunds) == o.points_used
    assert sum(r.points_clawed for r in refunds) == o.points_earned
    assert wallet_helpers.wallet(db, m) == wallet_before  # cashback taken back too
    assert points_available(db, m) == points_before and pending_points(db, m) == 0
    wallet_helpers.assert_consistent(db)
