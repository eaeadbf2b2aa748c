"""`memberops wallet what-if`: a proposed recharge scheme replayed on the last 12 months."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.programme.schemas import RechargeScheme
from memberops.wallet import service
from tests.wallet_helpers import YUAN, new_member, snapshot

runner = CliRunner()


def test_what_if_from_a_file_changes_nothing(cli_env, make_uow, db, tmp_path) -> None:
    with make_uow() as uow:
        service.recharge(uow, member_id=new_member(make_uow, 1), amount=500 * YUAN,
                         payment_ref="r-1")
    proposed = RechargeScheme().model_dump(mode="json")
    proposed["first_recharge_pct"] = 0
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(proposed), encoding="utf-8")
    before = snapshot(db)
    done = runner.invoke(app, ["wallet", "what-if", "--file", str(path)])
    assert done.exit_code == 0, done.output
    assert "1 recharges by 1 members, ¥500.00" in done.stdout
    assert "bonus ¥105.00 → ¥80.00 (-¥25.00)" in done.stdout
    assert snapshot(db) == before
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"min_amount": 0}))
    refused = runner.invoke(app, ["wallet", "what-if", "--file", str(bad)])
    assert refused.exit_code == 1 and "[validation_error]" in refused.stderr
