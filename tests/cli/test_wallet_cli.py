"""`memberops wallet …` as an operator runs it: output, exit codes, and refusals that change
nothing."""

from __future__ import annotations

from typer.testing import CliRunner

from memberops.cli.main import app
from tests.wallet_helpers import assert_consistent, new_member, set_status, snapshot, wallet

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, ["wallet", *args], input=input)


def test_recharge_show_pay_refund(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    result = run("recharge", str(member), "--amount", "100000", "--ref", "pay-1")
    assert result.exit_code == 0, result.output
    assert "settled, amount ¥1,000.00, bonus ¥250.00" in result.stdout
    result = run("pay", str(member), "--amount", "10000", "--ref", "p1", "--reference", "O-1")
    assert result.exit_code == 0, result.output
    assert "principal ¥80.00, bonus ¥20.00, cashback ¥1.00" in result.stdout
    result = run("refund", "p1", "--refund-ref", "r1", "--amount", "10000")
    assert result.exit_code == 0, result.output
    assert "cashback taken back ¥1.00" in result.stdout
    result = run("show", str(member))
    assert result.exit_code == 0, result.output
    assert "principal ¥1,000.00, bonus ¥250.00, total ¥1,250.00" in result.stdout
    assert "recharge" in result.stdout and "refund" in result.stdout  # the lots table
    assert_consistent(db, member)


def test_help_says_amounts_are_in_fen(cli_env) -> None:
    result = run("recharge", "--help")
    assert result.exit_code == 0 and "fen" in result.stdout


def test_refusals_exit_1_with_the_code_and_change_nothing(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    run("recharge", str(member), "--amount", "10000", "--ref", "pay-1")
    before = snapshot(db)
    for args, code in [
        (("recharge", str(member), "--amount", "0", "--ref", "pay-2"), "validation_error"),
        (("recharge", str(member), "--amount", "-5", "--ref", "pay-2"), "validation_error"),
        (("recharge", "999", "--amount", "10000", "--ref", "pay-2"), "member_not_found"),
        (("recharge", str(member), "--amount", "20000", "--ref", "pay-1"),
         "payment_ref_reused"),
        (("pay", str(member), "--amount", "999999", "--ref", "p1"), "insufficient_balance"),
        (("refund", "nope", "--refund-ref", "r1", "--amount", "1"), "payment_not_found"),
        (("confirm-payment", "pay-1", "--outcome", "failed"), "payment_outcome_conflict"),
    ]:
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert f"[{code}]" in result.stderr, (args, result.stderr)
    result = run("recharge", str(member), "--amount", "1.5", "--ref", "pay-2")
    assert result.exit_code == 2  # not an integer: refused by the command line itself
    assert snapshot(db) == before


def test_frozen_member(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    run("recharge", str(member), "--amount", "10000", "--ref", "pay-1")
    set_status(make_uow, member, "frozen")
    before = snapshot(db)
    result = run("pay", str(member), "--amount", "100", "--ref", "p1")
    assert result.exit_code == 1 and "[member_frozen]" in result.stderr
    assert snapshot(db) == before


def test_pending_recharge_confirmed_by_hand(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    result = run("recharge", str(member), "--amount", "10000", "--ref", "gw-1", "--pending")
    assert "pending, amount ¥100.00" in result.stdout
    result = run("confirm-payment", "gw-1", "--outcome", "confirmed")
    assert result.exit_code == 0 and "settled" in result.stdout
    assert wallet(db, member)["principal"] == 10_000


def test_review_list_approve_reject(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    held = run("recharge", str(member), "--amount", "600000", "--ref", "big-1")
    assert "pending_review" in held.stdout and "review_threshold" in held.stdout
    run("recharge", str(member), "--amount", "500000", "--ref", "big-2")
    listed = run("review", "list")
    assert listed.exit_code == 0 and "big-1" in listed.stdout and "2 held" in listed.stdout
    result = run("review", "approve", "1", "--reason", "known customer")
    assert result.exit_code == 0 and "settled" in result.stdout
    result = run("review", "reject", "2", "--reason", "card flagged")
    assert result.exit_code == 0 and "rejected" in result.stdout
    again = run("review", "reject", "1", "--reason", "changed my mind")
    assert again.exit_code == 1 and "[review_already_decided]" in again.stderr
    assert "0 held" in run("review", "list").stdout
    assert wallet(db, member)["principal"] == 600_000
    assert_consistent(db, member)


def test_cash_out_asks_first_unless_yes(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    run("recharge", str(member), "--amount", "100000", "--ref", "pay-1")
    before = snapshot(db)
    declined = run("cash-out", str(member), "--ref", "co-1", "--reason", "leaving", input="n\n")
    assert declined.exit_code == 1 and snapshot(db) == before
    result = run("cash-out", str(member), "--ref", "co-1", "--reason", "leaving", "--yes")
    assert result.exit_code == 0, result.output
    assert "principal ¥1,000.00 refunded, bonus ¥250.00 forfeited" in result.stdout
    assert wallet(db, member)["total"] == 0
    assert_consistent(db, member)
