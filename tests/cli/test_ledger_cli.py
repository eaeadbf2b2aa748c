"""`memberops ledger verify` exits 0 on a sound ledger and 1, listing the drift, otherwise."""

from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.ledger import service
from memberops.ledger.models import LedgerBalance
from memberops.ledger.rules import Posting

runner = CliRunner()
A = "member:1:wallet:principal"


def seed(make_uow) -> None:
    with make_uow() as uow:
        service.post(uow, key="r1", kind="recharge",
                     postings=[Posting("system:wallet:payments_in", A, "CNY", 10_000)])
        service.post(uow, key="p1", kind="payment",
                     postings=[Posting(A, "system:wallet:spent_principal", "CNY", 2_500)])


def test_verify_passes_on_a_sound_ledger(cli_env, make_uow) -> None:
    seed(make_uow)
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "ledger verified" in result.output and "3 accounts" in result.output
    report = json.loads(runner.invoke(app, ["ledger", "verify", "--json"]).output)
    assert report["ok"] is True and report["postings"] == 2


def test_verify_fails_and_lists_the_drift(cli_env, make_uow, db) -> None:
    seed(make_uow)
    with db.session() as s:
        s.execute(update(LedgerBalance).where(LedgerBalance.address == A).values(balance=9_999))
        s.commit()
    result = runner.invoke(app, ["ledger", "verify", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["drift"] == [{"account": A, "asset": "CNY", "cached": 9_999,
                                "computed": 7_500}]
    assert report["asset_totals"] == {"CNY": 2_499}
    assert runner.invoke(app, ["ledger", "verify"]).exit_code == 1


def test_statement_lists_movements(cli_env, make_uow) -> None:
    seed(make_uow)
    result = runner.invoke(app, ["ledger", "statement", A], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "-2500" in result.output and "7500" in result.output
