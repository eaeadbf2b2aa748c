"""16+ threads on a few hot and many cold wallets: recharges, payments and refunds, every one
submitted twice. Afterwards nothing is lost or applied twice, no wallet is below zero, the
lots mirror the ledger and the ledger verifies. N submissions of one refund: one effect.
Runs on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (row locks) via the fixtures."""

from __future__ import annotations

import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from memberops.errors import DomainError
from memberops.ledger.models import LedgerEntry
from memberops.uow import Actor
from memberops.wallet import queries, service
from memberops.wallet.models import Recharge, WalletPayment, WalletRefund
from tests.wallet_helpers import assert_consistent, configure, new_member

THREADS = 16


def _members(make_uow, clock, count: int, start: int = 1) -> list[int]:
    members = []
    for n in range(start, start + count):
        member = new_member(make_uow, n)
        clock.advance(timedelta(seconds=1))
        with make_uow() as uow:
            service.recharge(uow, member_id=member, amount=100_000, payment_ref=f"seed-{n}")
        members.append(member)
    return members


def _plan(rng: random.Random, hot: list[int], cold: list[int]) -> list[tuple]:
    ops: list[tuple] = []
    paid: list[tuple[str, int]] = []
    for n in range(360):
        member = rng.choice(hot) if n % 3 else rng.choice(cold)
        roll = rng.random()
        if roll < 0.2:
            ops.append(("recharge", f"rc-{n}", member, rng.randint(1, 50) * 1_000))
        elif roll < 0.75 or not paid:
            amount = rng.randint(1, 40_000)
            ops.append(("pay", f"pay-{n}", member, amount))
            paid.append((f"pay-{n}", amount))
        else:
            payment_ref, amount = rng.choice(paid)
            ops.append(("refund", f"rf-{n}", payment_ref, rng.randint(1, amount)))
    return ops


def _submit(make_uow, op: tuple) -> str:
    kind, ref, target, amount = op
    try:
        with make_uow() as uow:
            if kind == "recharge":
                row_id = service.recharge(uow, member_id=target, amount=amount,
                                          payment_ref=ref).id
            elif kind == "pay":
                row_id = service.pay(uow, member_id=target, amount=amount,
                                     payment_ref=ref).id
            else:
                row_id = service.refund_payment(uow, payment_ref=target, refund_ref=ref,
                                                amount=amount).id
        return f"ok:{row_id}"
    except DomainError as exc:
        return exc.code


def _expected_balances(db) -> dict[int, int]:
    """Each member's wallet recomputed from the business rows alone."""
    want: dict[int, int] = defaultdict(int)
    with db.session(readonly=True) as s:
        for r in s.execute(select(Recharge).where(Recharge.status == "settled")).scalars():
            want[r.member_id] += r.amount + r.bonus
        for p in s.execute(select(WalletPayment)).scalars():
            want[p.member_id] += p.cashback - p.amount
        for f in s.execute(select(WalletRefund)).scalars():
            want[f.member_id] += f.amount - f.cashback_clawback
    return dict(want)


def test_mixed_movements_with_duplicates_apply_once_and_conserve_value(
        make_uow, db, clock) -> None:
    configure(make_uow, "risk_rules", velocity_count=10_000, daily_limit=10**11)
    hot = _members(make_uow, clock, 3)
    cold = _members(make_uow, clock, 40, start=100)
    ops = _plan(random.Random(11), hot, cold)
    submissions = ops + ops  # every movement arrives twice, interleaved by the pool
    random.Random(12).shuffle(submissions)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda op: _submit(make_uow, op), submissions))

    by_ref: dict[str, set[str]] = defaultdict(set)
    for op, outcome in zip(submissions, outcomes, strict=True):
        by_ref[op[1]].add(outcome)
    assert all(len({o for o in got if o.startswith("ok:")}) <= 1 for got in by_ref.values())
    allowed = {"insufficient_balance", "payment_not_found", "refund_exceeds_payment"}
    assert {o for got in by_ref.values() for o in got if not o.startswith("ok:")} <= allowed
    assert_consistent(db)
    with db.session(readonly=True) as s:
        for member, total in _expected_balances(db).items():
            assert queries.wallet(s, member)["total"] == total, member
        payments = s.execute(select(WalletPayment)).scalars().all()
        refunded = dict(s.execute(select(WalletRefund.payment_id, func.sum(WalletRefund.amount))
                                  .group_by(WalletRefund.payment_id)).all())
        kinds = dict(s.execute(select(LedgerEntry.kind, func.count())
                               .group_by(LedgerEntry.kind)).all())
    assert all(p.refunded == refunded.get(p.id, 0) <= p.amount for p in payments)
    assert kinds["wallet.payment"] == len(payments) > 100
    assert kinds["wallet.refund"] == _count(db, WalletRefund) > 10
    assert kinds["wallet.recharge"] == _count(db, Recharge)  # every recharge settled once
    ok_refs = {ref for ref, got in by_ref.items() if any(o.startswith("ok:") for o in got)}
    seeds = len(hot) + len(cold)
    assert len(ok_refs) == len(payments) + _count(db, WalletRefund) + \
        _count(db, Recharge) - seeds


def _count(db, model) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_n_concurrent_submissions_of_one_refund_have_one_effect(make_uow, db, clock) -> None:
    (member,) = _members(make_uow, clock, 1)
    with make_uow() as uow:
        service.pay(uow, member_id=member, amount=50_000, payment_ref="p1")
    before = queries_total(db, member)

    def submit(_: int) -> str:
        return _submit(make_uow, ("refund", "r1", "p1", 20_000))

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(submit, range(THREADS * 2)))

    assert len(set(outcomes)) == 1 and outcomes[0].startswith("ok:"), outcomes
    assert _count(db, WalletRefund) == 1
    with db.session(readonly=True) as s:
        assert queries.payment_by_ref(s, "p1").refunded == 20_000
    assert queries_total(db, member) == before + 20_000 - 200  # the refunded cashback
    assert_consistent(db, member)


def test_concurrent_refunds_of_one_payment_never_exceed_it(make_uow, db, clock) -> None:
    (member,) = _members(make_uow, clock, 1)
    with make_uow() as uow:
        service.pay(uow, member_id=member, amount=10_000, payment_ref="p1")

    def submit(n: int) -> str:
        return _submit(make_uow, ("refund", f"r{n}", "p1", 3_000))

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(submit, range(THREADS)))

    assert sum(o.startswith("ok:") for o in outcomes) == 3
    assert outcomes.count("refund_exceeds_payment") == THREADS - 3
    with db.session(readonly=True) as s:
        assert queries.payment_by_ref(s, "p1").refunded == 9_000
    assert_consistent(db, member)


def queries_total(db, member_id: int) -> int:
    with db.session(readonly=True) as s:
        return queries.wallet(s, member_id)["total"]


def test_concurrent_callbacks_and_reviews_settle_a_recharge_once(make_uow, db) -> None:
    finance = Actor(kind="operator", id="7", name="finance-1", role="finance")
    member = new_member(make_uow)
    with make_uow() as uow:
        service.recharge(uow, member_id=member, amount=10_000, payment_ref="gw-1",
                         payment="pending")
        held = service.recharge(uow, member_id=member, amount=600_000, payment_ref="gw-2").id

    def callback(_: int) -> str:
        try:
            with make_uow() as uow:
                return service.confirm_payment(uow, payment_ref="gw-1").status
        except DomainError as exc:
            return exc.code

    def approve(_: int) -> str:
        try:
            with make_uow(finance) as uow:
                return service.approve(uow, held, "verified").status
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(THREADS) as pool:
        callbacks = list(pool.map(callback, range(THREADS)))
        approvals = list(pool.map(approve, range(THREADS)))

    assert callbacks == ["settled"] * THREADS
    assert approvals.count("settled") == 1
    assert approvals.count("review_already_decided") == THREADS - 1
    # both were submitted before either settled: both carry the first-recharge 5%
    assert queries_total(db, member) == 10_000 + 1_500 + 600_000 + 50_000
    with db.session(readonly=True) as s:
        kinds = s.execute(select(LedgerEntry.kind)).scalars().all()
    assert kinds.count("wallet.recharge") == 2
    assert_consistent(db, member)
