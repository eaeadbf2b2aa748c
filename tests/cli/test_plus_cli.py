"""`memberops plus …` as an operator runs it: output, confirmation, exit codes, the expiry
job, and refusals that change nothing. The CLI runs on the real clock."""

from __future__ import annotations

from datetime import datetime

from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.plus import queries
from tests.conftest import SHANGHAI
from tests.plus_helpers import (
    PRICE,
    assert_consistent,
    buy,
    everything,
    funded,
    new_member,
    subscription,
    wallet,
)
from tests.wallet_helpers import set_status

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, ["plus", *args], input=input)


def test_buy_show_and_cancel_with_a_full_refund(cli_env, make_uow, db) -> None:
    member = funded(make_uow)
    start = wallet(db, member)
    bought = run("buy", str(member), "--plan", "PLUS", "--wallet")
    assert bought.exit_code == 0, bought.output
    assert f"member {member}: bought PLUS for ¥99.00 (wallet, ref plus-{member}-" \
        in bought.stdout
    assert "PLUS active, benefits until" in bought.stdout
    assert wallet(db, member)["total"] == start["total"] - PRICE + 99
    shown = run("show", str(member))
    assert shown.exit_code == 0, shown.output
    assert "3% extra off, points ×1.5" in shown.stdout
    assert "full refund of ¥99.00 to the wallet" in shown.stdout
    assert "purchase" in shown.stdout  # the periods table
    declined = run("cancel", str(member), "--reason", "not for me", input="n\n")
    assert declined.exit_code == 1 and "nothing changed" in declined.stderr
    assert subscription(db, member).status == "active"
    done = run("cancel", str(member), "--reason", "not for me", input="y\n")
    assert done.exit_code == 0, done.output
    assert "full refund of ¥99.00 to the wallet" in done.stdout
    assert "refunded)" in done.stdout
    assert wallet(db, member) == start
    assert subscription(db, member).status == "cancelled"
    assert_consistent(db, member)


def test_external_purchase_is_idempotent_on_its_reference(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    first = run("buy", str(member), "--external", "wx-42")
    assert first.exit_code == 0, first.output
    assert "(external, ref wx-42)" in first.stdout
    before = everything(db)
    again = run("buy", str(member), "--external", "wx-42")
    assert again.exit_code == 0 and again.stdout == first.stdout
    assert everything(db) == before
    renewed = run("buy", str(member), "--wallet", "--ref", "w-1")
    assert renewed.exit_code == 1 and "[insufficient_balance]" in renewed.stderr
    assert everything(db) == before


def test_refusals_exit_1_with_the_code_and_change_nothing(cli_env, make_uow, db) -> None:
    member, frozen = funded(make_uow, 1), funded(make_uow, 2)
    set_status(make_uow, frozen, "frozen")
    run("buy", str(member), "--external", "wx-1")
    before = everything(db)
    for args, code in [
        (("buy", str(member), "--plan", "GOLDPASS", "--external", "wx-2"), "unknown_plan"),
        (("buy", str(frozen), "--wallet"), "member_frozen"),
        (("buy", "999", "--external", "wx-3"), "member_not_found"),
        (("buy", str(frozen), "--external", "wx-1"), "member_frozen"),
        (("buy", str(member), "--wallet", "--ref", "wx-1"), "payment_ref_reused"),
        (("buy", str(member), "--external", "bad ref"), "validation_error"),
        (("show", str(frozen)), "plus_not_found"),
        (("cancel", str(frozen), "--reason", "why not", "--yes"), "member_frozen"),
        (("list", "--status", "gold"), "validation_error"),
        (("refund-paid", "plus-refund-9", "--settlement-ref", "b-1"), "refund_not_found"),
    ]:
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert f"[{code}]" in result.stderr, (args, result.stderr)
    for args in (("buy", str(member)), ("buy", str(member), "--wallet", "--external", "x"),
                 ("buy", str(member), "--external", "x", "--ref", "y")):
        result = run(*args)
        assert result.exit_code == 1 and "--wallet" in result.stderr, (args, result.output)
    assert everything(db) == before


def test_list_refunds_and_refund_paid(cli_env, make_uow, db) -> None:
    kept, refunded = new_member(make_uow, 1), new_member(make_uow, 2)
    run("buy", str(kept), "--external", "wx-1")
    run("buy", str(refunded), "--external", "wx-2")
    cancelled = run("cancel", str(refunded), "--reason", "unused", "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "due to the member (paid outside)" in cancelled.stdout
    listed = run("list", "--status", "active")
    assert listed.exit_code == 0, listed.output
    assert "1 shown" in listed.stdout and "external" in listed.stdout
    due = run("refunds", "--status", "due")
    assert due.exit_code == 0 and "wx-2" in due.stdout and "due" in due.stdout
    refund_ref = subscription_refund_ref(db, refunded)
    paid = run("refund-paid", refund_ref, "--settlement-ref", "bank-9")
    assert paid.exit_code == 0, paid.output
    assert f"refund {refund_ref} of ¥99.00 to member {refunded} recorded as paid (bank-9)" \
        in paid.stdout
    assert "wx-2" not in run("refunds", "--status", "due").stdout


def subscription_refund_ref(db, member_id: int) -> str:
    with db.session(readonly=True) as s:
        ref = queries.periods(s, member_id)[0].refund_ref
    assert ref is not None
    return ref


def test_expire_with_progress_is_safe_to_rerun(cli_env, make_uow, db, clock) -> None:
    old, current = new_member(make_uow, 1), new_member(make_uow, 2)
    buy(make_uow, current, "wx-now", payment="external")  # runs into 2027
    clock.set(datetime(2024, 3, 1, 12, tzinfo=SHANGHAI))
    buy(make_uow, old, "wx-2024", payment="external")  # ended 2025-03-01
    expired = run("expire")
    assert expired.exit_code == 0, expired.output
    assert "expired 1 paid memberships (1 due)" in expired.stdout
    assert "expiring" in expired.stdout  # the progress bar
    assert "expired 0 paid memberships (0 due)" in run("expire").stdout
    assert (subscription(db, old).status, subscription(db, current).status) == (
        "expired", "active")
