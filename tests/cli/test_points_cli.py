"""`memberops points …` as an operator runs it: output, confirmation, exit codes, jobs."""

from __future__ import annotations

from datetime import datetime

from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.points import service
from tests.conftest import SHANGHAI
from tests.points_helpers import (
    YUAN,
    assert_consistent,
    balances,
    give,
    new_member,
    snapshot,
    stock,
)

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, ["points", *args], input=input)


def test_show_and_statement(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 120)
    shown = run("show", str(member))
    assert shown.exit_code == 0, shown.output
    assert f"member {member}: 120 points available, 0 pending" in shown.stdout
    assert "2027-12-31" in shown.stdout
    statement = run("statement", str(member))
    assert statement.exit_code == 0, statement.output
    assert "award" in statement.stdout and "+120 → 120" in statement.stdout
    missing = run("show", "999")
    assert missing.exit_code == 1 and "[member_not_found]" in missing.stderr


def test_adjust_asks_first_unless_yes(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    declined = run("adjust", str(member), "--points", "50", "--reason", "goodwill", input="n\n")
    assert declined.exit_code == 1 and balances(db, member) == (0, 0)
    done = run("adjust", str(member), "--points", "50", "--reason", "goodwill", input="y\n")
    assert done.exit_code == 0, done.output
    assert "adjusted member" in done.stdout and "50 available" in done.stdout
    taken = run("adjust", str(member), "--points", "-20", "--reason", "double", "--yes")
    assert taken.exit_code == 0, taken.output
    assert balances(db, member) == (30, 0)
    before = snapshot(db)
    refused = run("adjust", str(member), "--points", "-31", "--reason", "too much", "--yes")
    assert refused.exit_code == 1 and "[insufficient_balance]" in refused.stderr
    for bad in (["--points", "0", "--reason", "zero"], ["--points", "5", "--reason", " "]):
        result = run("adjust", str(member), *bad, "--yes")
        assert result.exit_code == 1 and "[validation_error]" in result.stderr
    assert run("adjust", str(member), "--points", "1.5", "--reason", "x", "--yes").exit_code \
        == 2  # not an integer: refused by the command line itself
    assert snapshot(db) == before
    assert_consistent(db)


def test_bonus(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    first = run("bonus", str(member), "--action", "check_in")
    assert first.exit_code == 0 and "awarded 5 points" in first.stdout
    again = run("bonus", str(member), "--action", "check_in")
    assert again.exit_code == 1 and "[bonus_already_claimed]" in again.stderr
    unknown = run("bonus", str(member), "--action", "dance")
    assert unknown.exit_code == 1 and "[unknown_bonus_action]" in unknown.stderr
    assert balances(db, member) == (5, 0)


def test_gifts_and_redemption(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 1_000)
    added = run("gifts", "add", "--sku", "mug", "--name", "Coffee mug", "--price", "300",
                "--stock", "2")
    assert added.exit_code == 0, added.output
    assert run("gifts", "set-stock", "mug", "1").exit_code == 0
    listed = run("gifts", "list")
    assert listed.exit_code == 0 and "Coffee mug" in listed.stdout
    redeemed = run("redeem", str(member), "--sku", "mug", "--quantity", "1", "--ref", "rd-1")
    assert redeemed.exit_code == 0, redeemed.output
    assert "for 300 points" in redeemed.stdout
    rerun = run("redeem", str(member), "--sku", "mug", "--quantity", "1", "--ref", "rd-1")
    assert rerun.exit_code == 0  # the same redemption, not a second one
    sold_out = run("redeem", str(member), "--sku", "mug", "--ref", "rd-2")
    assert sold_out.exit_code == 1 and "[out_of_stock]" in sold_out.stderr
    unknown = run("redeem", str(member), "--sku", "vase", "--ref", "rd-3")
    assert unknown.exit_code == 1 and "[gift_not_found]" in unknown.stderr
    assert stock(db, "mug") == 0 and balances(db, member) == (700, 0)
    missing = run("gifts", "set-stock", "vase", "3")
    assert missing.exit_code == 1 and "[gift_not_found]" in missing.stderr


def test_release_and_expiry_jobs_with_progress_are_safe_to_rerun(cli_env, make_uow, db,
                                                                clock) -> None:
    member = new_member(make_uow)
    # The CLI runs on the real clock; these purchases are long past their window, and the
    # 2024 one past its expiry (the end of 2025).
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=100 * YUAN,
                                  reference="o-1", key="e1")
    clock.set(datetime(2024, 3, 1, 12, tzinfo=SHANGHAI))  # a Friday
    with make_uow() as uow:
        service.earn_for_purchase(uow, member_id=member, amount_paid=40 * YUAN,
                                  reference="o-2024", key="e2")
    released = run("release-due")
    assert released.exit_code == 0, released.output
    assert "released 140 points for 1 members" in released.stdout
    assert "releasing" in released.stdout  # the progress bar
    expired = run("expire-due")
    assert expired.exit_code == 0 and "expired 40 points for 1 members" in expired.stdout
    assert "released 0 points for 0 members" in run("release-due").stdout
    assert "expired 0 points for 0 members" in run("expire-due").stdout
    assert balances(db, member) == (100, 0)
    assert_consistent(db)
