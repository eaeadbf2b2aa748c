"""Programme configuration over HTTP and CLI: validated, versioned, audited."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from memberops.cli.main import app


def test_reference_programme_is_in_force_until_changed(client, auth) -> None:
    scheme = client.get("/api/v1/programme/recharge_scheme", headers=auth("analyst")).json()
    assert scheme["version"] == 0
    rows = {r["min_amount"]: r["bonus"] for r in scheme["data"]["bonus_rows"]}
    assert rows == {10_000: 1_000, 50_000: 8_000, 100_000: 20_000}
    risk = client.get("/api/v1/programme/risk_rules", headers=auth("finance")).json()["data"]
    assert risk["review_threshold"] == 500_000 and risk["daily_limit"] == 2_000_000


def test_change_is_validated_versioned_and_audited(client, auth) -> None:
    url, admin = "/api/v1/programme/risk_rules", auth("operator")
    current = client.get(url, headers=admin).json()["data"]
    bad = client.put(url, headers=admin, json={**current, "velocity_count": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "velocity_count"
    unknown = client.put(url, headers=admin, json={**current, "surprise": 1})
    assert unknown.status_code == 422
    assert client.get(url, headers=admin).json()["version"] == 0
    saved = client.put(url, params={"note": "tighter after fraud wave"}, headers=admin,
                       json={**current, "review_threshold": 300_000})
    assert saved.status_code == 200 and saved.json()["version"] == 1
    history = client.get(f"{url}/history", headers=admin).json()
    assert [h["version"] for h in history] == [1] and history[0]["note"].startswith("tighter")
    audit = client.get("/api/v1/audit", params={"action": "programme.changed"},
                       headers=auth("admin")).json()["items"][0]
    assert audit["changes"] == {"review_threshold": {"before": 500_000, "after": 300_000}}
    assert client.put(url, headers=auth("analyst"), json=current).status_code == 403
    assert client.get("/api/v1/programme/nope", headers=admin).status_code == 404


def test_cli_show_set_history(cli_env, tmp_path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["programme", "show", "wallet"])
    assert shown.exit_code == 0 and "cashback_pct" in shown.output
    good = tmp_path / "wallet.json"
    good.write_text(json.dumps({"cashback_pct": 2, "balance_cap": 500_000}))
    assert runner.invoke(app, ["programme", "set", "wallet", "-f", str(good)]).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cashback_pct": -1}))
    refused = runner.invoke(app, ["programme", "set", "wallet", "-f", str(bad)])
    assert refused.exit_code == 1 and "cashback_pct" in refused.output
    assert "1" in runner.invoke(app, ["programme", "history", "wallet"]).output
    assert runner.invoke(app, ["programme", "show", "nope"]).exit_code == 1
