"""Freezing, unfreezing, closing and showing a member from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.members import queries, service
from memberops.members.schemas import MemberCreate

runner = CliRunner()


def test_freeze_unfreeze_close_and_show(cli_env, make_uow, db) -> None:
    with make_uow() as uow:
        member_id = service.register_member(uow, MemberCreate(phone="13800000001",
                                                              name="周杰")).id
    refused = runner.invoke(app, ["members", "freeze", str(member_id), "--reason", "fraud"],
                            input="n\n")
    assert refused.exit_code == 1 and "nothing changed" in refused.output
    frozen = runner.invoke(app, ["members", "freeze", str(member_id), "--reason",
                                 "chargeback", "--yes"])
    assert frozen.exit_code == 0 and "now frozen" in frozen.output
    again = runner.invoke(app, ["members", "freeze", str(member_id), "--reason", "again", "-y"])
    assert again.exit_code == 1 and "already frozen" in again.output
    assert runner.invoke(app, ["members", "unfreeze", str(member_id), "--reason",
                               "cleared"]).exit_code == 0
    shown = runner.invoke(app, ["members", "show", str(member_id)], env={"COLUMNS": "150"})
    assert "周杰" in shown.output and "Status frozen → active: cleared" in shown.output
    assert runner.invoke(app, ["members", "close", str(member_id), "--reason", "asked",
                               "-y"]).exit_code == 0
    with db.session(readonly=True) as s:
        assert queries.get(s, member_id).status == "closed"
    missing = runner.invoke(app, ["members", "show", "999"])
    assert missing.exit_code == 1 and "member_not_found" in missing.output
