"""`memberops tiers …` as an operator runs it: output, exit codes, the review job with its
progress bar, floors and what-if."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from typer.testing import CliRunner

from memberops.cli.main import app
from tests.conftest import SHANGHAI
from tests.tiers_helpers import floor, history, ladder_data, new_member, snapshot, spend, tier

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["tiers", *args])


def test_show_the_ladder_and_a_member(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    spend(make_uow, member, 5_200, "o-1")
    ladder = run("show")
    assert ladder.exit_code == 0, ladder.output
    assert "tier ladder v0" in ladder.stdout and "diamond 钻石" in ladder.stdout
    assert "¥10,000 recharged" in ladder.stdout and "priority-service" in ladder.stdout
    assert re.search(r"gold 金卡\s+│ ¥5,000 spent\s+│ 5%\s+│ ×1.5 .*│ 1 ", ladder.stdout)
    shown = run("show", str(member))
    assert shown.exit_code == 0, shown.output
    assert f"member {member}: gold (金卡 Gold) — 5% off, points ×1.5" in shown.stdout
    assert "net spend ¥5,200.00, 1 orders" in shown.stdout
    assert "next: diamond" in shown.stdout and "¥14,800.00 to go" in shown.stdout
    missing = run("show", "999")
    assert missing.exit_code == 1 and "[member_not_found]" in missing.stderr


def test_floor_unfloor_and_history(cli_env, make_uow, db) -> None:
    member = new_member(make_uow)
    done = run("floor", str(member), "--tier", "gold", "--reason", "VIP complaint",
               "--until", "2099-12-31")
    assert done.exit_code == 0, done.output
    assert "floor gold until 2099-12-31; tier now gold" in done.stdout
    assert tier(db, member) == "gold"
    before = snapshot(db)
    for bad, code in ((["--tier", "platinum", "--until", "2099-12-31"], "unknown_tier"),
                      (["--tier", "gold", "--until", "2001-01-01"],
                       "floor_end_not_in_future")):
        refused = run("floor", str(member), "--reason", "x", *bad)
        assert refused.exit_code == 1 and f"[{code}]" in refused.stderr, refused.output
    assert run("floor", str(member), "--tier", "gold", "--reason", "x",
               "--until", "31/12/2099").exit_code == 2  # not a date: the command line says
    assert snapshot(db) == before
    shown = run("history", str(member))
    assert shown.exit_code == 0 and "manual floor" in shown.stdout
    removed = run("unfloor", str(member), "--reason", "resolved")
    assert removed.exit_code == 0, removed.output
    assert "floor removed; tier silver (retention downgrade)" in removed.stdout
    again = run("unfloor", str(member), "--reason", "resolved")
    assert again.exit_code == 1 and "[floor_not_found]" in again.stderr


def test_review_runs_the_job_with_a_progress_bar(cli_env, make_uow, db, clock) -> None:
    # The CLI reads the real clock: the member's tier was reached long ago.
    clock.set(datetime(2024, 6, 15, 10, tzinfo=SHANGHAI))
    member = new_member(make_uow)
    floor(make_uow, member, "gold", date(2024, 12, 31))
    done = run("review")
    assert done.exit_code == 0, done.output
    assert "reviewing" in done.stdout
    assert "reviewed 1 members" in done.stdout and "2 down one step, 1 floors lifted" in \
        done.stdout  # the floor ended on 2025-01-01: reviewed then, and a year later
    assert history(db, member) == [("regular", "gold", "manual_floor"),
                                   ("gold", "gold", "floor_expired"),
                                   ("gold", "silver", "retention_downgrade"),
                                   ("silver", "regular", "retention_downgrade")]
    again = run("review")
    assert again.exit_code == 0 and "reviewed 0 members" in again.stdout
    future = run("review", "--as-of", "2999-01-01")
    assert future.exit_code == 1 and "[as_of_in_future]" in future.stderr


def test_what_if_from_a_file_changes_nothing(cli_env, make_uow, db, tmp_path) -> None:
    spend(make_uow, new_member(make_uow), 1_500, "o-1")
    proposed = ladder_data()
    proposed["tiers"][1]["qualify"]["net_spend"] = 200_000
    path = tmp_path / "ladder.json"
    path.write_text(json.dumps(proposed, ensure_ascii=False), encoding="utf-8")
    before = snapshot(db)
    done = run("what-if", "--file", str(path))
    assert done.exit_code == 0, done.output
    assert "0 members would move up, 1 down" in done.stdout
    assert "silver → regular: 1" in done.stdout and "-¥30.00" in done.stdout
    assert snapshot(db) == before
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tiers": []}))
    refused = run("what-if", "--file", str(bad))
    assert refused.exit_code == 1 and "[validation_error]" in refused.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert run("what-if", "--file", str(broken)).exit_code == 1
