"""16 threads at once on paid memberships: one purchase per reference however often it is
sent, renewals that each add a year, a cancellation racing the first use by orders, and the
expiry job racing a renewal — on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (the member row
locked FOR UPDATE, then the subscription row; unique references). Afterwards the ledger
verifies and no money was taken twice."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from memberops.errors import DomainError
from memberops.jobs import plus as plus_jobs
from memberops.ledger.models import LedgerEntry
from memberops.plus import queries, service
from memberops.plus.models import PlusPeriod, PlusSubscription
from memberops.wallet.models import WalletPayment, WalletRefund
from tests.conftest import SHANGHAI
from tests.plus_helpers import PRICE, assert_consistent, funded, new_member, wallet

THREADS = 16


def outcome(fn) -> str:
    try:
        return f"ok:{fn()}"
    except DomainError as exc:
        return exc.code


def count(db, model, *where) -> int:
    with db.session(readonly=True) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def purchase(make_uow, member_id: int, ref: str) -> str:
    def work() -> int:
        with make_uow() as uow:
            return service.buy(uow, member_id=member_id, plan="PLUS", payment="wallet",
                               payment_ref=ref).period.id
    return outcome(work)


def test_one_reference_sent_by_sixteen_threads_buys_once(make_uow, db) -> None:
    member = funded(make_uow, amount=100_000)
    start = wallet(db, member)["total"]
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda _: purchase(make_uow, member, "plus-1"),
                                 range(THREADS * 2)))
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("ok:"), outcomes
    assert count(db, PlusSubscription) == count(db, PlusPeriod) == 1
    assert count(db, WalletPayment, WalletPayment.payment_ref == "plus-1") == 1
    assert count(db, LedgerEntry, LedgerEntry.kind == "wallet.payment") == 1
    assert wallet(db, member)["total"] == start - PRICE + 99  # one debit, one cashback
    assert_consistent(db)


def test_one_reference_for_many_members_is_one_purchase(make_uow, db) -> None:
    members = [funded(make_uow, n) for n in range(1, THREADS + 1)]
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda m: purchase(make_uow, m, "shared-ref"), members))
    assert sum(o.startswith("ok:") for o in outcomes) == 1, outcomes
    assert {o for o in outcomes if not o.startswith("ok:")} == {"payment_ref_reused"}
    assert count(db, PlusPeriod) == count(db, WalletPayment) == 1
    assert_consistent(db)


def test_concurrent_renewals_each_add_a_year_back_to_back(make_uow, db) -> None:
    member = funded(make_uow, amount=200_000)  # ¥2,000: below the review threshold
    refs = [f"renew-{n}" for n in range(12)]
    submissions = refs + refs  # every renewal sent twice
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda ref: purchase(make_uow, member, ref), submissions))
    assert all(o.startswith("ok:") for o in outcomes), outcomes
    with db.session(readonly=True) as s:
        periods = sorted(queries.periods(s, member), key=lambda p: p.starts_at)
        sub = queries.subscription(s, member)
    assert len(periods) == 12
    start = datetime(2026, 6, 15, 10, tzinfo=SHANGHAI)
    assert periods[0].starts_at == start
    assert all(a.ends_at == b.starts_at for a, b in itertools.pairwise(periods))
    assert sub.ends_at == datetime(2038, 6, 15, 10, tzinfo=SHANGHAI)
    assert count(db, WalletPayment) == 12
    assert_consistent(db)


def test_cancellation_racing_first_use_refunds_only_if_unused(make_uow, db) -> None:
    for n in range(1, 7):
        member = funded(make_uow, n)
        with make_uow() as uow:
            service.buy(uow, member_id=member, plan="PLUS", payment="wallet",
                        payment_ref=f"plus-{n}")
        start = threading.Barrier(THREADS)

        def act(i: int, member: int = member, start: threading.Barrier = start,
                cancel_at: int = n) -> str:
            start.wait()
            with make_uow() as uow:
                if i == cancel_at:  # one cancellation among 15 orders, placed differently
                    done = service.cancel(uow, member_id=member, reason="race")
                    return f"refund:{done.terms.refund}"
                used = service.mark_used(uow, member_id=member, order_ref=f"o-{i}")
                return f"used:{used}"

        with ThreadPoolExecutor(THREADS) as pool:
            outcomes = list(pool.map(lambda i, act=act: outcome(lambda: act(i)),
                                     range(THREADS)))
        refund = next(o for o in outcomes if o.startswith("ok:refund:"))
        others = set(outcomes) - {refund}
        with db.session(readonly=True) as s:
            period = queries.periods(s, member)[0]
        refunds = count(db, WalletRefund, WalletRefund.member_id == member)
        if refund == f"ok:refund:{PRICE}":
            # refunded: no order had used it, and every order after it was refused
            assert others <= {"plus_not_active"} and period.used_at is None and refunds == 1
        else:
            # an order used it first: no refund, the benefits run on for the other orders
            assert refund == "ok:refund:0" and outcomes.count("ok:used:True") == 1
            assert others <= {"ok:used:True", "ok:used:False"}
            assert period.used_at is not None and refunds == 0
    assert_consistent(db)


def test_expiry_racing_a_renewal_leaves_one_active_year(make_uow, db, clock) -> None:
    members = [new_member(make_uow, n) for n in range(1, 9)]
    for member in members:
        with make_uow() as uow:
            service.buy(uow, member_id=member, plan="PLUS", payment="external",
                        payment_ref=f"wx-{member}")
    clock.set(datetime(2027, 7, 1, 12, tzinfo=SHANGHAI))
    start = threading.Barrier(len(members) + 1)

    def renew(member: int) -> str:
        start.wait()
        with make_uow() as uow:
            return service.buy(uow, member_id=member, plan="PLUS", payment="external",
                               payment_ref=f"wx-{member}-2").period.kind

    def expire() -> str:
        start.wait()
        return str(plus_jobs.expire_due(db, clock).expired)

    with ThreadPoolExecutor(len(members) + 1) as pool:
        jobs = [pool.submit(renew, m) for m in members] + [pool.submit(expire)]
        assert all(not isinstance(j.exception(), Exception) for j in jobs)
    with db.session(readonly=True) as s:
        subs = [queries.subscription(s, m) for m in members]
    assert {(s.status, s.ends_at) for s in subs} == {
        ("active", datetime(2028, 7, 1, 12, tzinfo=SHANGHAI))}
    assert all(s.started_at == clock.now() for s in subs)
    assert plus_jobs.expire_due(db, clock).due == 0
