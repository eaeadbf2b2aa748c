"""The ledger against a real database: posting, replays, refusals, reversals, holds, verify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from memberops.errors import (
    Conflict,
    IdempotencyMismatch,
    InsufficientBalance,
    ValidationFailed,
)
from memberops.ledger import queries, service
from memberops.ledger.models import LedgerBalance
from memberops.ledger.rules import Posting

CASH, A, B = "system:cash", "member:1:wallet:principal", "member:2:wallet:principal"


def fund(make_uow, account: str, amount: int, key: str) -> None:
    with make_uow() as uow:
        service.post(uow, key=key, kind="recharge",
                     postings=[Posting(CASH, account, "CNY", amount)])


def bal(db, account: str, asset: str = "CNY") -> int:
    with db.session(readonly=True) as s:
        return service.balance(s, account, asset)


def test_posting_moves_value_and_system_may_go_negative(make_uow, db) -> None:
    fund(make_uow, A, 10_000, "r1")
    with make_uow() as uow:
        service.post(uow, key="p1", kind="payment", postings=[Posting(A, B, "CNY", 2_500)])
    assert (bal(db, A), bal(db, B), bal(db, CASH)) == (7_500, 2_500, -10_000)
    with db.session(readonly=True) as s:
        assert queries.verify(s).ok


def test_same_key_same_input_returns_first_entry_once(make_uow, db) -> None:
    fund(make_uow, A, 100, "r1")
    with make_uow() as uow:
        first = service.post(uow, key="r1", kind="recharge",
                             postings=[Posting(CASH, A, "CNY", 100)]).id
    assert bal(db, A) == 100
    with make_uow() as uow:
        assert service.post(uow, key="r1", kind="recharge",
                            postings=[Posting(CASH, A, "CNY", 100)]).id == first


def test_same_key_other_input_is_refused(make_uow, db) -> None:
    fund(make_uow, A, 100, "r1")
    with pytest.raises(IdempotencyMismatch), make_uow() as uow:
        service.post(uow, key="r1", kind="recharge", postings=[Posting(CASH, A, "CNY", 101)])
    assert bal(db, A) == 100


def test_overdraft_is_refused_and_changes_nothing(make_uow, db) -> None:
    fund(make_uow, A, 100, "r1")
    with pytest.raises(InsufficientBalance) as err, make_uow() as uow:
        service.post(uow, key="p1", kind="payment", postings=[
            Posting(A, B, "CNY", 60), Posting(A, B, "CNY", 50)])
    assert err.value.extra["available"] == 100 and err.value.extra["requested"] == 110
    assert (bal(db, A), bal(db, B)) == (100, 0)


def test_invalid_posting_is_a_validation_error(make_uow) -> None:
    with pytest.raises(ValidationFailed), make_uow() as uow:
        service.post(uow, key="x", kind="k", postings=[Posting(A, B, "CNY", 0)])


def test_reversal_restores_balances_once(make_uow, db) -> None:
    fund(make_uow, A, 500, "r1")
    with make_uow() as uow:
        pay = service.post(uow, key="p1", kind="payment", postings=[Posting(A, B, "CNY", 200)])
    with make_uow() as uow:
        rev = service.reverse(uow, pay.id, key="p1:rev", reason="refund")
    assert (bal(db, A), bal(db, B)) == (500, 0)
    with pytest.raises(Conflict), make_uow() as uow:
        service.reverse(uow, pay.id, key="p1:rev2", reason="again")
    with pytest.raises(Conflict), make_uow() as uow:
        service.reverse(uow, rev.id, key="rev:rev", reason="undo the undo")
    assert (bal(db, A), bal(db, B)) == (500, 0)


def test_entries_and_postings_are_append_only(make_uow, db) -> None:
    fund(make_uow, A, 500, "r1")
    for table in ("ledger_entries", "ledger_postings"):
        with db.session() as s, pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(f"DELETE FROM {table}"))


def test_hold_capture_partial_returns_rest(make_uow, db, clock) -> None:
    fund(make_uow, A, 1_000, "r1")
    with make_uow() as uow:
        hold_id = service.hold(uow, key="h1", source=A, destination=B, asset="CNY",
                               amount=600, expires_at=clock.now() + timedelta(minutes=15)).id
    assert (bal(db, A), bal(db, f"hold:{hold_id}")) == (400, 600)
    with make_uow() as uow:
        service.capture_hold(uow, hold_id, 450)
    assert (bal(db, A), bal(db, B), bal(db, f"hold:{hold_id}")) == (550, 450, 0)
    with pytest.raises(Conflict), make_uow() as uow:
        service.release_hold(uow, hold_id)
    assert (bal(db, A), bal(db, B)) == (550, 450)


def test_hold_expiry_job_releases_due_holds_once(make_uow, db, clock) -> None:
    fund(make_uow, A, 1_000, "r1")
    with make_uow() as uow:
        h = service.hold(uow, key="h1", source=A, destination=B, asset="CNY", amount=300,
                         expires_at=clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))
    with make_uow(readonly=True) as uow:
        due = service.due_holds(uow.session, clock.now())
    assert due == [h.id]
    with make_uow() as uow:
        service.release_hold(uow, h.id, expired=True)
    with make_uow(readonly=True) as uow:
        assert service.due_holds(uow.session, clock.now()) == []
    assert bal(db, A) == 1_000


def test_hold_beyond_balance_is_refused(make_uow, db) -> None:
    fund(make_uow, A, 100, "r1")
    with pytest.raises(InsufficientBalance), make_uow() as uow:
        service.hold(uow, key="h1", source=A, destination=B, asset="CNY", amount=101)
    assert bal(db, A) == 100


def test_verify_finds_drift_in_the_balance_cache(make_uow, db) -> None:
    fund(make_uow, A, 100, "r1")
    with db.session() as s:
        s.execute(update(LedgerBalance).where(LedgerBalance.address == A).values(balance=90))
        s.commit()
    with db.session(readonly=True) as s:
        report = queries.verify(s)
    assert not report.ok
    assert report.drift == [(A, "CNY", 90, 100)]
    assert report.asset_totals == {"CNY": -10}


def test_statement_shows_balance_after_each_movement(make_uow, db) -> None:
    fund(make_uow, A, 1_000, "r1")
    with make_uow() as uow:
        service.post(uow, key="p1", kind="payment", reference="order-1",
                     postings=[Posting(A, B, "CNY", 300)])
    fund(make_uow, A, 50, "r2")
    with db.session(readonly=True) as s:
        lines = queries.statement(s, A, "CNY")
    assert [(line.kind, line.amount, line.balance_after) for line in lines] == [
        ("recharge", 50, 750), ("payment", -300, 700), ("recharge", 1_000, 1_000)]
    assert lines[1].reference == "order-1" and lines[1].counterparty == B
