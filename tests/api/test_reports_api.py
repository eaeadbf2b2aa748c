"""The liability report and the ledger check, over HTTP and on the command line."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.points import service as points_service
from memberops.wallet import service as wallet_service


def seed(make_uow, clock) -> None:
    with make_uow() as uow:
        member = members_service.register_member(uow, MemberCreate(phone="13800000001"))
        # ¥1,000 first recharge: principal 1,000, bonus 200 + 5% = 250.
        wallet_service.recharge(uow, member_id=member.id, amount=100_000, payment_ref="r1",
                                key="r1")
        points_service.award_bonus(uow, member_id=member.id, action="profile_completed",
                                   key="b1")
        points_service.earn_for_purchase(uow, member_id=member.id, amount_paid=12_345,
                                         reference="order-1", key="e1")
    clock.advance(timedelta(seconds=1))


def test_liabilities_report(client, auth, make_uow, clock) -> None:
    seed(make_uow, clock)
    report = client.get("/api/v1/reports/liabilities", headers=auth("finance")).json()
    assert report["stored_value"]["principal"] == 100_000
    assert report["stored_value"]["bonus"] == 25_000
    assert report["stored_value"]["total"] == 125_000
    points = report["points"]
    assert points["available"] == 50 and points["pending"] == 123
    assert points["by_expiry_month"] == [{"month": "2027-12", "points": 50}]
    assert client.get("/api/v1/reports/liabilities", headers=auth("till")).status_code == 403


def test_ledger_verify_endpoint(client, auth, make_uow, clock) -> None:
    seed(make_uow, clock)
    body = client.get("/api/v1/ledger/verify", headers=auth("analyst")).json()
    assert body["ok"] is True and body["postings"] > 0 and body["drift"] == []


def test_liabilities_cli(cli_env, make_uow, clock) -> None:
    seed(make_uow, clock)
    runner = CliRunner()
    result = runner.invoke(app, ["ledger", "liabilities", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["stored_value"]["total"] == 125_000 and data["points"]["pending"] == 123
    table = runner.invoke(app, ["ledger", "liabilities"], env={"COLUMNS": "120"})
    assert "¥1,250.00" in table.output and "2027-12" in table.output
