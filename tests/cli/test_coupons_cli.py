"""`memberops coupons …` as an operator runs it: output, exit codes, files, jobs."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.coupons import codes
from tests.conftest import SHANGHAI
from tests.coupons_helpers import (
    coupon_row,
    issue,
    issued_count,
    new_member,
    phone,
    reference,
    snapshot,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_clock(monkeypatch, clock):
    """The commands read the system clock; here they read the test's."""
    monkeypatch.setattr("memberops.cli.common.SystemClock", lambda tz=None: clock)
    monkeypatch.setattr("memberops.cli.coupons.SystemClock", lambda tz=None: clock)
    return clock


def run(*args: str):
    return runner.invoke(app, ["coupons", *args])


def test_seed_create_and_list_templates(cli_env, db) -> None:
    seeded = run("seed")
    assert seeded.exit_code == 0, seeded.output
    assert "welcome" in seeded.stdout and "满200减30" in seeded.stdout
    made = run("template-create", "--code", "july", "--name", "July ¥15", "--kind",
               "amount_off", "--amount-off", "15", "--min-spend", "99.5", "--validity",
               "fixed", "--starts-on", "2026-07-01", "--ends-on", "2026-07-31",
               "--quantity", "500", "--tier", "gold", "--tier", "diamond")
    assert made.exit_code == 0, made.output
    assert "¥15 off on orders of ¥99.50 or more" in made.stdout
    listed = run("templates")
    assert listed.exit_code == 0, listed.output
    assert "july" in listed.stdout and "0/500" in listed.stdout
    before = snapshot(db)
    for bad, code in ((["--amount-off", "-3"], "validation_error"),
                      (["--amount-off", "1.234"], None),
                      (["--amount-off", "500", "--min-spend", "100"], "validation_error"),
                      (["--validity", "weekly"], "validation_error")):
        args = {"--code": "bad", "--name": "bad", "--kind": "amount_off",
                "--amount-off": "5", "--validity": "days", "--days": "7"}
        args.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        result = run("template-create", *[x for pair in args.items() for x in pair])
        assert result.exit_code == 1, result.output
        if code:
            assert f"[{code}]" in result.stderr
    assert snapshot(db) == before
    dup = run("template-create", "--code", "july", "--name", "x", "--kind", "amount_off",
              "--amount-off", "5", "--validity", "days", "--days", "3")
    assert dup.exit_code == 1 and "[coupon_template_exists]" in dup.stderr


def test_pause_and_resume(cli_env, make_uow) -> None:
    reference(make_uow)
    paused = run("template-pause", "spend200-off30", "--reason", "stock")
    assert paused.exit_code == 0 and "paused" in paused.stdout
    member = new_member(make_uow)
    refused = run("issue", "spend200-off30", "--member", str(member))
    assert refused.exit_code == 1 and "[coupon_template_paused]" in refused.stderr
    assert run("template-resume", "spend200-off30").exit_code == 0
    assert run("issue", "spend200-off30", "--member", str(member)).exit_code == 0
    missing = run("template-pause", "nope")
    assert missing.exit_code == 1 and "[coupon_template_not_found]" in missing.stderr


def test_issue_to_a_member_and_to_a_file(cli_env, make_uow, db, tmp_path) -> None:
    ids = reference(make_uow)
    members = [new_member(make_uow, n) for n in range(1, 4)]
    one = run("issue", "10-percent-off", "--member", str(members[0]))
    assert one.exit_code == 0, one.output
    code = one.stdout.split("issued coupon ")[1].split()[0]
    assert coupon_row(db, codes.normalise(code)).member_id == members[0]
    listing = tmp_path / "members.csv"
    listing.write_text(f"手机号\n{phone(2)}\n{phone(3)}\n13800009999\n{phone(2)}\n",
                       encoding="utf-8")
    batch = run("issue", str(ids["10-percent-off"]), "--file", str(listing))
    assert batch.exit_code == 0, batch.output
    assert "issued 2 of 4" in batch.stdout and "2 refused" in batch.stdout
    assert "member_not_found" in batch.stdout and "duplicate_member" in batch.stdout
    assert issued_count(db, ids["10-percent-off"]) == (3, 3)
    both = run("issue", "welcome")
    assert both.exit_code == 1 and "exactly one of --member or --file" in both.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    assert "[list_empty]" in run("issue", "welcome", "--file", str(empty)).stderr
    gone = run("issue", "welcome", "--member", "999")
    assert gone.exit_code == 1 and "[member_not_found]" in gone.stderr


def test_list_and_show(cli_env, make_uow) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow)
    code = issue(make_uow, ids["spend200-off30"], member)
    listed = run("list", str(member))
    assert listed.exit_code == 0, listed.output
    assert codes.display(code) in listed.stdout and "issued" in listed.stdout
    shown = run("show", code.lower())
    assert shown.exit_code == 0 and "满200减30" in shown.stdout
    assert "[coupon_not_found]" in run("show", "nope").stderr
    assert "[member_not_found]" in run("list", "999").stderr
    assert "[invalid_status]" in run("list", str(member), "--status", "lost").stderr


def test_expire_and_birthday_jobs(cli_env, make_uow, clock) -> None:
    ids = reference(make_uow)
    member = new_member(make_uow, birthday=date(1990, 6, 2), tier="gold")
    issue(make_uow, ids["spend200-off30"], member)
    clock.set(datetime(2027, 6, 3, 9, 0, tzinfo=SHANGHAI))  # the birthday month, next year
    expired = run("expire")
    assert expired.exit_code == 0 and "expired 1 coupons" in expired.stdout
    assert "expired 0 coupons" in run("expire").stdout
    born = run("birthday")
    assert born.exit_code == 0, born.output
    assert "1 issued" in born.stdout and "June 2027" in born.stdout
    assert "0 issued, 1 already had" in run("birthday").stdout
    assert "expired" in run("list", str(member)).stdout
