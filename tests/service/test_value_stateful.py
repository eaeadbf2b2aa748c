"""Stateful property test: the ledger, the wallet and points against a plain-Python model.

Hypothesis drives random sequences of recharges, wallet payments, refunds, points
adjustments and spends — valid and invalid, new and replayed references — and after every
step the real system and the model must agree: which requests were accepted, the error
code of each refusal, every member's principal, bonus and points, and that the ledger
verifies. A replay with the same reference and content returns the first result; with
other content it is refused. 100 examples × 50 steps.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from memberops.db import Database
from memberops.errors import DomainError
from memberops.ledger import queries as ledger_queries
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.points import queries as points_queries
from memberops.points import service as points_service
from memberops.uow import UnitOfWork
from memberops.wallet import queries as wallet_queries
from memberops.wallet import service as wallet_service
from tests.conftest import ADMIN, ON_POSTGRES, _empty_all

MEMBERS = 3
REVIEW_AT = 500_000  # PROGRAMME.md: ¥5,000 or more waits for review
ROWS = ((100_000, 20_000), (50_000, 8_000), (10_000, 1_000))  # ≥ amount → bonus, fen
AMOUNTS = st.sampled_from([0, -500, 50, 100, 9_999, 10_000, 12_345, 50_000, 100_000,
                           500_000, 10**13])
REFS = st.sampled_from([f"r{i}" for i in range(8)])


def expected_bonus(amount: int, settled_total: int, settled_count: int) -> int:
    row = next((bonus for least, bonus in ROWS if amount >= least), 0)
    first = amount * 5 // 100 if settled_count == 0 else 0
    loyal = amount * 5 // 100 if settled_total >= 300_000 else 0
    return row + first + loyal


@dataclass
class Wallet:
    principal: int = 0
    bonus: int = 0
    settled_total: int = 0
    settled_count: int = 0
    points: int = 0


@dataclass
class Payment:
    member: int
    amount: int
    principal: int
    bonus: int
    cashback: int
    refunded: int = 0


@dataclass
class Model:
    wallets: dict[int, Wallet] = field(default_factory=dict)
    frozen: set[int] = field(default_factory=set)
    recharges: dict[str, tuple[int, int]] = field(default_factory=dict)  # ref → member, amount
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, tuple[str, int]] = field(default_factory=dict)  # ref → payment, amount
    point_keys: dict[str, tuple[str, int, int]] = field(default_factory=dict)


class ValueMachine(RuleBasedStateMachine):
    def __init__(self, fresh_db, clock) -> None:
        super().__init__()
        self.db: Database = fresh_db()
        self.clock = clock
        self.model = Model()
        self.ids: list[int] = []
        with self.uow() as uow:
            for i in range(MEMBERS):
                member = members_service.register_member(
                    uow, MemberCreate(phone=f"1380000{i:04d}"))
                self.ids.append(member.id)
                self.model.wallets[member.id] = Wallet()

    def teardown(self) -> None:
        self.db.dispose()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, actor=ADMIN, clock=self.clock)

    def attempt(self, fn) -> str:
        """Run one use case in its own unit of work: 'ok' or the refusal's code."""
        try:
            with self.uow() as uow:
                fn(uow)
            return "ok"
        except DomainError as exc:
            return exc.code

    # --- expectations shared by the rules ------------------------------------------------

    def refusal(self, member: int, amount: int, low: int = 1) -> str | None:
        if not low <= amount <= 5_000_000:
            return "validation_error"
        if member in self.model.frozen:
            return "member_frozen"
        return None

    # --- rules ---------------------------------------------------------------------------

    @rule(m=st.integers(0, MEMBERS - 1), amount=AMOUNTS, ref=REFS)
    def recharge(self, m: int, amount: int, ref: str) -> None:
        member = self.ids[m]
        # A day apart, so the velocity and daily limits (tested on their own) stay quiet.
        self.clock.advance(timedelta(days=1, minutes=1))
        expected = self.refusal(member, amount, low=100)
        known = self.model.recharges.get(ref)
        if expected is None and known is not None:
            expected = None if known == (member, amount) else "payment_ref_reused"
        got = self.attempt(lambda uow: wallet_service.recharge(
            uow, member_id=member, amount=amount, payment_ref=ref, key=f"k-{ref}"))
        assert got == (expected or "ok"), (got, expected)
        if got == "ok" and known is None:
            self.model.recharges[ref] = (member, amount)
            if amount < REVIEW_AT:  # held ones credit nothing until approved
                w = self.model.wallets[member]
                w.bonus += expected_bonus(amount, w.settled_total, w.settled_count)
                w.principal += amount
                w.settled_total += amount
                w.settled_count += 1

    @rule(m=st.integers(0, MEMBERS - 1), amount=AMOUNTS, ref=REFS)
    def pay(self, m: int, amount: int, ref: str) -> None:
        member, w = self.ids[m], self.model.wallets[self.ids[m]]
        ref = f"pay-{ref}"
        expected = self.refusal(member, amount)
        known = self.model.payments.get(ref)
        if expected is None and known is not None:
            expected = None if (known.member, known.amount) == (member, amount) \
                else "payment_ref_reused"
        elif expected is None and amount > w.principal + w.bonus:
            expected = "insufficient_balance"
        got = self.attempt(lambda uow: wallet_service.pay(
            uow, member_id=member, amount=amount, payment_ref=ref))
        assert got == (expected or "ok"), (got, expected)
        if got == "ok" and known is None:
            bonus_part = amount * w.bonus // (w.principal + w.bonus)
            cashback = amount // 100
            self.model.payments[ref] = Payment(member, amount, amount - bonus_part,
                                               bonus_part, cashback)
            w.principal -= amount - bonus_part
            w.bonus += cashback - bonus_part

    @rule(data=st.data(), amount=AMOUNTS, ref=REFS)
    def refund(self, data: st.DataObject, amount: int, ref: str) -> None:
        if not self.model.payments:
            return
        pay_ref = data.draw(st.sampled_from(sorted(self.model.payments)))
        p, ref = self.model.payments[pay_ref], f"refund-{ref}"
        expected = self.refusal(p.member, amount)
        known = self.model.refunds.get(ref)
        if expected is None and known is not None:
            expected = None if known == (pay_ref, amount) else "refund_ref_reused"
        elif expected is None and amount > p.amount - p.refunded:
            expected = "refund_exceeds_payment"
        got = self.attempt(lambda uow: wallet_service.refund_payment(
            uow, payment_ref=pay_ref, refund_ref=ref, amount=amount))
        assert got == (expected or "ok"), (got, expected)
        if got == "ok" and known is None:
            self.model.refunds[ref] = (pay_ref, amount)
            self._apply_refund(p, amount)

    def _apply_refund(self, p: Payment, amount: int) -> None:
        w, before, after = self.model.wallets[p.member], p.refunded, p.refunded + amount
        back_bonus = p.bonus * after // p.amount - p.bonus * before // p.amount
        claw = p.cashback * after // p.amount - p.cashback * before // p.amount
        w.principal += amount - back_bonus
        w.bonus += back_bonus
        from_bonus = min(claw, w.bonus)
        w.bonus -= from_bonus
        w.principal -= claw - from_bonus
        p.refunded = after

    @rule(m=st.integers(0, MEMBERS - 1), points=st.sampled_from([-300, -20, 0, 15, 250, 10**12]),
          key=REFS)
    def adjust_points(self, m: int, points: int, key: str) -> None:
        self._points("adjust", m, points, key)

    @rule(m=st.integers(0, MEMBERS - 1), points=st.sampled_from([-1, 0, 5, 40, 400]),
          key=REFS)
    def spend_points(self, m: int, points: int, key: str) -> None:
        self._points("spend", m, points, key)

    def _points(self, verb: str, m: int, points: int, key: str) -> None:
        member, w = self.ids[m], self.model.wallets[self.ids[m]]
        key = f"{verb}-{key}"
        valid = points != 0 and abs(points) <= 10**9 and (verb == "adjust" or points > 0)
        known = self.model.point_keys.get(key)
        change = points if verb == "adjust" else -points
        if not valid:
            expected = "validation_error"
        elif member in self.model.frozen:
            expected = "member_frozen"
        elif known is not None:
            expected = "ok" if known == (verb, member, points) else "idempotency_key_reused"
        elif w.points + change < 0:
            expected = "insufficient_balance"
        else:
            expected = "ok"
        if verb == "adjust":
            got = self.attempt(lambda uow: points_service.adjust(
                uow, member_id=member, points=points, reason="model check", key=key))
        else:
            got = self.attempt(lambda uow: points_service.spend(
                uow, member_id=member, points=points, kind="deduction", reference=key,
                key=key))
        assert got == expected, (verb, got, expected)
        if got == "ok" and known is None:
            self.model.point_keys[key] = (verb, member, points)
            w.points += change

    @rule(m=st.integers(0, MEMBERS - 1))
    def toggle_freeze(self, m: int) -> None:
        member = self.ids[m]
        frozen = member in self.model.frozen
        with self.uow() as uow:
            members_service.change_status(uow, member, "active" if frozen else "frozen",
                                          "model check")
        self.model.frozen ^= {member}

    # --- what must hold after every step ------------------------------------------------

    @invariant()
    def balances_agree_and_ledger_verifies(self) -> None:
        with self.db.session(readonly=True) as s:
            for member, w in self.model.wallets.items():
                assert wallet_queries.balances(s, member) == (w.principal, w.bonus), member
                summary = points_queries.summary(s, member, self.clock.now())
                assert summary["available"] == w.points, member
            report = ledger_queries.verify(s)
        assert report.ok, report


@pytest.fixture
def fresh_db(migrated: str, tmp_path: Path):
    counter = iter(range(10**6))

    def make() -> Database:
        if ON_POSTGRES:
            _empty_all(migrated)
            return Database(migrated)
        path = tmp_path / f"model-{next(counter)}.db"
        shutil.copyfile(migrated, path)
        return Database(f"sqlite:///{path}")
    return make


def test_value_against_model(fresh_db, clock) -> None:
    start = clock.now()

    def machine() -> ValueMachine:
        clock.set(start)
        return ValueMachine(fresh_db, clock)

    run_state_machine_as_test(machine, settings=settings(
        max_examples=100, stateful_step_count=50, deadline=None,
        suppress_health_check=list(HealthCheck)))
