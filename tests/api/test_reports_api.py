"""The liability report and the ledger check, over HTTP and on the command line."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from memberops.analytics.kpis import as_json, compute_kpis
from memberops.cli.main import app
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.points import service as points_service
from memberops.wallet import service as wallet_service
from tests.analytics.test_kpis import AS_OF, MARCH, TZ, WORLD, frames_of
from tests.analytics.test_kpis_store import store_world


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


# --- the KPI report (docs/metrics.md) ---------------------------------------------------

def test_kpi_report(client, auth, db, clock) -> None:
    # given the hand-computed world of tests/analytics/test_kpis.py; the app's clock stands
    # at that world's report time
    store_world(db, WORLD)
    assert clock.now() == AS_OF
    # when
    resp = client.get("/api/v1/reports/kpis", params={"from": "2026-03-01", "to": "2026-03-31"},
                      headers=auth("analyst"))
    # then every metric is the one computed from the same rows in memory
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = as_json(compute_kpis(frames_of(WORLD), MARCH, time_zone=TZ, as_of=AS_OF))
    assert body["metrics"] == expected["metrics"]
    orders = body["metrics"]["orders"]
    assert (orders["value"], orders["previous"], orders["year_ago"]) == (3, 1, 1)
    assert orders["previous_change"] == 2.0
    assert body["previous"] == {"from": "2026-02-01", "to": "2026-02-28"}
    assert body["cohorts"]["rows"][0]["cohort"] == "2026-03"
    assert body["cohorts"]["rows"][0]["members"] == 3


def test_kpi_report_filters_and_marketing_spend(client, auth, db) -> None:
    store_world(db, WORLD)
    put = client.put("/api/v1/programme/marketing_spend", headers=auth("admin"),
                     json={"spend": [{"channel": "app", "month": "2026-03", "amount": 31_000}]})
    assert put.status_code == 200, put.text
    app = client.get("/api/v1/reports/kpis", headers=auth("operator"), params={
        "from": "2026-03-01", "to": "2026-03-31", "channel": "app"}).json()
    assert app["filters"]["channel"] == "app"
    assert app["metrics"]["members_total"]["value"] == 2
    assert app["metrics"]["cac"]["value"] == 15_500  # ¥310 for m2 and m3
    store = client.get("/api/v1/reports/kpis", headers=auth("finance"), params={
        "from": "2026-03-01", "to": "2026-03-31", "store": "S1"}).json()
    assert store["metrics"]["orders"]["value"] == 2 and store["metrics"]["cac"]["value"] is None
    bad = client.put("/api/v1/programme/marketing_spend", headers=auth("admin"),
                     json={"spend": [{"channel": "app", "month": "March", "amount": 1}]})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_kpi_report_refusals(client, auth) -> None:
    url = "/api/v1/reports/kpis"
    march = {"from": "2026-03-01", "to": "2026-03-31"}
    till = client.get(url, params=march, headers=auth("till"))
    assert till.status_code == 403 and till.json()["code"] == "forbidden"
    analyst = auth("analyst")
    backwards = client.get(url, params={"from": "2026-03-31", "to": "2026-03-01"},
                           headers=analyst)
    assert backwards.status_code == 422, backwards.text
    assert backwards.json()["code"] == "validation_error"
    assert "before from" in backwards.json()["detail"]
    for params in ({"from": "2026-02-30", "to": "2026-03-01"}, {"to": "2026-03-01"},
                   {"from": "March", "to": "2026-03-01"},
                   {**march, "store": "x" * 61}):
        resp = client.get(url, params=params, headers=analyst)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["code"] == "validation_error"
        assert resp.headers["content-type"].startswith("application/problem+json")
