"""Wallet payments, cashback and refunds against a real database: proportional spending,
lots oldest first, partial refunds that add back exactly, and the cashback clawback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberops.errors import Conflict, InsufficientBalance, NotFound, RuleViolated
from memberops.ledger import service as ledger_service
from memberops.wallet import queries, rules, service
from memberops.wallet.models import WalletPayment, WalletRefund
from tests.wallet_helpers import (
    YUAN,
    assert_consistent,
    configure,
    new_member,
    set_status,
    snapshot,
    wallet,
)


def funded(make_uow, clock, *yuans: int, n: int = 1) -> int:
    """A member with these recharges settled (spread out, so no risk rule interferes)."""
    member = new_member(make_uow, n)
    for i, yuan in enumerate(yuans):
        clock.advance(timedelta(hours=1))
        with make_uow() as uow:
            service.recharge(uow, member_id=member, amount=yuan * YUAN,
                             payment_ref=f"m{member}-r{i}")
    return member


def pay(make_uow, member_id: int, amount: int, ref: str, **kw) -> WalletPayment:
    with make_uow() as uow:
        return service.pay(uow, member_id=member_id, amount=amount, payment_ref=ref, **kw)


def refund(make_uow, payment_ref: str, amount: int, ref: str) -> WalletRefund:
    with make_uow() as uow:
        return service.refund_payment(uow, payment_ref=payment_ref, refund_ref=ref,
                                      amount=amount)


def test_payment_spends_principal_and_bonus_in_proportion_and_earns_cashback(
        make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)  # principal 100,000, bonus 25,000
    paid = pay(make_uow, member, 10_000, "order-1", reference="O-1")
    # bonus part = 10,000 × 25,000 / 125,000 = 2,000; cashback 1% = 100
    assert (paid.principal_part, paid.bonus_part, paid.cashback) == (8_000, 2_000, 100)
    assert wallet(db, member) == {"principal": 92_000, "bonus": 23_100, "total": 115_100}
    with db.session(readonly=True) as s:
        lots = queries.lots(s, member)
        lines = queries.statement(s, member)
    assert [(lot.kind, lot.source, lot.remaining) for lot in lots] == [
        ("principal", "recharge", 92_000), ("bonus", "recharge", 23_000),
        ("bonus", "cashback", 100)]
    # one entry: principal and bonus spent, the cashback credited back to bonus
    assert [(x.kind, x.principal, x.bonus) for x in lines[:1]] == [
        ("wallet.payment", -8_000, -1_900)]
    assert lots[2].entry_id == paid.entry_id
    assert_consistent(db, member)


def test_odd_fen_is_taken_from_principal(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 100)  # principal 10,000, bonus 1,500
    paid = pay(make_uow, member, 1, "p1")
    assert (paid.principal_part, paid.bonus_part, paid.cashback) == (1, 0, 0)
    paid = pay(make_uow, member, 115, "p2")  # 115 × 1,500 / 11,499 = 15.0…
    assert (paid.principal_part, paid.bonus_part) == (100, 15)
    assert_consistent(db, member)


def test_lots_are_consumed_oldest_first_within_each_kind(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 100, 100)  # lots: P 10,000, B 1,500, P 10,000, B 1,000
    pay(make_uow, member, 15_000, "p1")
    with db.session(readonly=True) as s:
        lots = [(lot.kind, lot.original, lot.remaining)
                for lot in queries.lots(s, member, include_empty=True)]
    # bonus part = 15,000 × 2,500 / 22,500 = 1,666; principal 13,334
    assert lots[:4] == [("principal", 10_000, 0), ("bonus", 1_500, 0),
                        ("principal", 10_000, 6_666), ("bonus", 1_000, 834)]
    assert_consistent(db, member)


def test_insufficient_balance_is_422_and_changes_nothing(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 100)
    before = snapshot(db)
    with pytest.raises(InsufficientBalance) as err:
        pay(make_uow, member, 11_501, "p1")
    assert err.value.code == "insufficient_balance"
    assert err.value.extra == {"available": 11_500, "requested": 11_501}
    assert snapshot(db) == before
    assert pay(make_uow, member, 11_500, "p1").amount == 11_500  # all of it is fine
    assert wallet(db, member) == {"principal": 0, "bonus": 115, "total": 115}
    assert_consistent(db, member)


def test_same_payment_ref_returns_the_first_payment_other_content_409(
        make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    first = pay(make_uow, member, 5_000, "p1")
    before = snapshot(db)
    assert pay(make_uow, member, 5_000, "p1").id == first.id
    assert snapshot(db) == before
    with pytest.raises(Conflict) as err:
        pay(make_uow, member, 5_001, "p1")
    assert err.value.code == "payment_ref_reused"
    assert snapshot(db) == before


def test_frozen_member_can_neither_pay_nor_be_refunded(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    pay(make_uow, member, 5_000, "p1")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    for attempt in (lambda: pay(make_uow, member, 100, "p2"),
                    lambda: refund(make_uow, "p1", 100, "r1")):
        with pytest.raises(RuleViolated) as err:
            attempt()
        assert err.value.code == "member_frozen"
    assert snapshot(db) == before
    set_status(make_uow, member, "active")
    assert refund(make_uow, "p1", 100, "r1").amount == 100
    assert_consistent(db, member)


def test_full_refund_returns_each_part_and_takes_back_the_cashback(
        make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    start = wallet(db, member)
    pay(make_uow, member, 10_000, "p1")
    back = refund(make_uow, "p1", 10_000, "r1")
    assert (back.principal_part, back.bonus_part, back.cashback_clawback) == (8_000, 2_000, 100)
    assert wallet(db, member) == start
    with db.session(readonly=True) as s:
        assert ledger_service.balance(s, rules.CASHBACK, "CNY") == 0
        assert queries.payment_by_ref(s, "p1").refunded == 10_000
    assert_consistent(db, member)


def test_partial_refunds_add_back_to_exactly_the_payment(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 100, 500)  # principal 60,000, bonus 1,500 + 8,000
    start = wallet(db, member)
    paid = pay(make_uow, member, 33_333, "p1")
    parts = [refund(make_uow, "p1", amount, f"r{i}")
             for i, amount in enumerate((1, 9_999, 3_333, 7, 19_993))]
    assert sum(p.principal_part for p in parts) == paid.principal_part
    assert sum(p.bonus_part for p in parts) == paid.bonus_part
    assert sum(p.cashback_clawback for p in parts) == paid.cashback == 333
    assert wallet(db, member) == start
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        refund(make_uow, "p1", 1, "r-more")
    assert err.value.code == "refund_exceeds_payment"
    assert snapshot(db) == before
    assert_consistent(db, member)


def test_refund_beyond_what_is_left_is_422(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    pay(make_uow, member, 5_000, "p1")
    refund(make_uow, "p1", 3_000, "r1")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as err:
        refund(make_uow, "p1", 2_001, "r2")
    assert err.value.code == "refund_exceeds_payment"
    assert err.value.extra["refundable"] == 2_000
    assert snapshot(db) == before


def test_same_refund_ref_returns_the_first_refund_other_content_409(
        make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    pay(make_uow, member, 5_000, "p1")
    pay(make_uow, member, 5_000, "p2")
    first = refund(make_uow, "p1", 1_000, "r1")
    before = snapshot(db)
    assert refund(make_uow, "p1", 1_000, "r1").id == first.id
    for payment_ref, amount in (("p1", 1_001), ("p2", 1_000)):
        with pytest.raises(Conflict) as err:
            refund(make_uow, payment_ref, amount, "r1")
        assert err.value.code == "refund_ref_reused"
    assert snapshot(db) == before
    with pytest.raises(NotFound) as missing:
        refund(make_uow, "nope", 1, "r9")
    assert missing.value.code == "payment_not_found"


def test_spent_cashback_is_taken_from_bonus_then_principal(make_uow, db, clock) -> None:
    configure(make_uow, "recharge_scheme", bonus_rows=[], first_recharge_pct=0)
    configure(make_uow, "wallet", cashback_pct=10)  # large, so the effect is visible
    member = funded(make_uow, clock, 100)  # principal 10,000, no bonus at all
    pay(make_uow, member, 10_000, "p1")  # all principal; cashback 1,000 as bonus
    pay(make_uow, member, 1_000, "p2")  # spends that cashback (wallet: bonus only)
    assert wallet(db, member) == {"principal": 0, "bonus": 100, "total": 100}
    back = refund(make_uow, "p1", 5_000, "r1")  # 5,000 back; clawback 500
    # bonus held 100 (+0 refunded bonus): 100 from bonus, the other 400 from principal
    assert (back.principal_part, back.bonus_part, back.cashback_clawback) == (5_000, 0, 500)
    assert wallet(db, member) == {"principal": 4_600, "bonus": 0, "total": 4_600}
    assert_consistent(db, member)


def test_cash_out_refunds_principal_and_forfeits_bonus(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    pay(make_uow, member, 10_000, "p1")
    with make_uow() as uow:
        out = service.cash_out(uow, member_id=member, cash_out_ref="co-1",
                               reason="member moves away")
    assert (out.principal_refunded, out.bonus_forfeited) == (92_000, 23_100)
    assert wallet(db, member) == {"principal": 0, "bonus": 0, "total": 0}
    with db.session(readonly=True) as s:
        assert queries.lots(s, member) == []
        assert ledger_service.balance(s, rules.CASH_OUT, "CNY") == 92_000
        assert ledger_service.balance(s, rules.BONUS_FORFEITED, "CNY") == 23_100
    with make_uow() as uow:  # a retry returns the first cash-out
        assert service.cash_out(uow, member_id=member, cash_out_ref="co-1",
                                reason="member moves away").id == out.id
    assert_consistent(db, member)


def test_refund_after_cash_out_is_credited_to_the_emptied_wallet(make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    pay(make_uow, member, 10_000, "p1")
    with make_uow() as uow:
        service.cash_out(uow, member_id=member, cash_out_ref="co-1", reason="leaving")
    refund(make_uow, "p1", 10_000, "r1")  # the cashback comes out of the returned bonus
    assert wallet(db, member) == {"principal": 8_000, "bonus": 1_900, "total": 9_900}
    assert_consistent(db, member)


def test_cash_out_is_refused_for_frozen_members_and_pending_recharges(
        make_uow, db, clock) -> None:
    member = funded(make_uow, clock, 1_000)
    with make_uow() as uow:
        service.recharge(uow, member_id=member, amount=10_000, payment_ref="later",
                         payment="pending")
    before = snapshot(db)
    with pytest.raises(Conflict) as err, make_uow() as uow:
        service.cash_out(uow, member_id=member, cash_out_ref="co-1", reason="leaving")
    assert err.value.code == "recharges_outstanding" and snapshot(db) == before
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    with pytest.raises(RuleViolated) as frozen, make_uow() as uow:
        service.cash_out(uow, member_id=member, cash_out_ref="co-1", reason="leaving")
    assert frozen.value.code == "member_frozen"
    assert snapshot(db) == before


def test_cash_out_ref_of_another_member_is_409(make_uow, db, clock) -> None:
    a = funded(make_uow, clock, 100, n=1)
    b = funded(make_uow, clock, 100, n=2)
    with make_uow() as uow:
        service.cash_out(uow, member_id=a, cash_out_ref="co-1", reason="leaving")
    before = snapshot(db)
    with pytest.raises(Conflict) as err, make_uow() as uow:
        service.cash_out(uow, member_id=b, cash_out_ref="co-1", reason="leaving")
    assert err.value.code == "cash_out_ref_reused" and snapshot(db) == before


def test_empty_wallet_cash_out_records_zeroes_without_an_entry(make_uow, db) -> None:
    member = new_member(make_uow)
    with make_uow() as uow:
        out = service.cash_out(uow, member_id=member, cash_out_ref="co-1", reason="leaving")
    assert (out.principal_refunded, out.bonus_forfeited, out.entry_id) == (0, 0, None)


def test_liability_sums_what_members_hold(make_uow, db, clock) -> None:
    a = funded(make_uow, clock, 1_000, n=1)
    funded(make_uow, clock, 100, n=2)
    pay(make_uow, a, 10_000, "p1")
    with db.session(readonly=True) as s:
        owed = queries.liability(s)
    assert owed == {"principal": 92_000 + 10_000, "bonus": 23_100 + 1_500,
                    "total": 126_600, "wallets": 2}
