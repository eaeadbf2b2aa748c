"""`memberops analytics rfm | lifecycle | pyramid | churn … | member` over a store: tables,
CSV and JSON that are the analytics' own figures, model files, and refusals as one line
with an exit code."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from memberops.analytics import churn, purchases, rfm
from memberops.cli.main import app
from tests.insight_helpers import AS_OF, insert_history, synthetic

runner = CliRunner()
DAY = ["--as-of", AS_OF.isoformat()]


@pytest.fixture
def history(db, cli_env):
    members, orders = synthetic(120, seed=5)
    insert_history(db, members, orders)
    return purchases.load(cli_env, "Asia/Shanghai")


def run(*args: str):
    return runner.invoke(app, ["analytics", *args])


def test_rfm_table_csv_and_json(history, tmp_path) -> None:
    counts = rfm.segment_counts(rfm.rfm(history, AS_OF))
    champions = counts.filter(counts["segment"] == "champions")["members"].item()
    # the table of counts
    done = run("rfm", *DAY)
    assert done.exit_code == 0, done.output
    assert "RFM segments as of 2026-06-30 (120 members" in done.stdout
    assert "Champions" in done.stdout and f"│ {champions}" in done.stdout
    # every member as CSV on stdout
    done = run("rfm", *DAY, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 120 and rows[0]["member_id"] == "1"
    assert sum(r["segment"] == "champions" for r in rows) == champions
    # JSON to a file, with the counts
    target = tmp_path / "rfm.json"
    done = run("rfm", *DAY, "--format", "json", "--output", str(target))
    assert done.exit_code == 0, done.output
    out = json.loads(target.read_text())
    assert out["as_of"] == "2026-06-30" and len(out["members"]) == 120
    assert [s["members"] for s in out["segments"]] == counts["members"].to_list()
    # the table, and every member to a CSV file
    done = run("rfm", *DAY, "--output", str(tmp_path / "rfm.csv"))
    assert "Champions" in done.stdout
    assert len((tmp_path / "rfm.csv").read_text().splitlines()) == 121


def test_lifecycle_and_pyramid(history) -> None:
    done = run("lifecycle", *DAY, "--format", "json", "--silent-days", "60")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["thresholds"]["silent_days"] == 60
    assert sum(s["members"] for s in out["stages"]) == 120
    done = run("lifecycle", *DAY)
    assert "lifecycle stages" in done.stdout and "churned" in done.stdout
    done = run("pyramid", *DAY)
    assert done.exit_code == 0, done.output
    assert "top_1" in done.stdout and "no_spend" in done.stdout
    out = json.loads(run("pyramid", *DAY, "--format", "json").stdout)
    assert sum(layer["members"] for layer in out["layers"]) == 120


def test_churn_evaluate_reports_the_models_and_baselines(history) -> None:
    found, _ = churn.evaluate(history, AS_OF)
    done = run("churn", "evaluate", *DAY, "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["auc"] == pytest.approx(found.auc)
    assert (out["train_members"], out["test_members"]) == (found.train_members,
                                                           found.test_members)
    done = run("churn", "evaluate", *DAY)
    assert "recency" in done.stdout and "bgnbd" in done.stdout and "(chosen)" in done.stdout


def test_churn_train_then_score_with_the_saved_model(history, tmp_path) -> None:
    models = tmp_path / "models"
    done = run("churn", "train", *DAY, "--model-dir", str(models), "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["model"].endswith("churn-v1.joblib")
    assert out["cutoff"] == (AS_OF - timedelta(days=90)).isoformat()
    assert out["kind"] == out["evaluation"]["chosen"]
    assert (models / "churn-v1.json").exists()
    # scoring with the newest model in the folder
    target = tmp_path / "scores.csv"
    done = run("churn", "score", *DAY, "--model-dir", str(models), "--output", str(target))
    assert done.exit_code == 0, done.output
    assert "churn risk in the 90 days after 2026-06-30" in done.stdout
    rows = list(csv.DictReader(target.open()))
    expected = churn.score(churn.load_model(models / "churn-v1.joblib"), history, AS_OF)
    assert len(rows) == 120
    assert [float(r["churn_probability"]) for r in rows] == pytest.approx(
        expected["churn_probability"].to_list())
    # and without a model, one is trained for the run
    done = run("churn", "score", *DAY)
    assert done.stdout.splitlines()[0] == "member_id,churn_probability"
    assert len(done.stdout.splitlines()) == 121


def test_one_member(history) -> None:
    done = run("member", "3", *DAY, "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["member_id"] == 3 and out["as_of"] == "2026-06-30"
    assert len(out["churn"]["factors"]) == 3
    done = run("member", "3", *DAY)
    assert "member 3 as of 2026-06-30" in done.stdout and "churn risk" in done.stdout


def test_refusals(history, tmp_path) -> None:
    done = run("member", "999", *DAY)
    assert done.exit_code == 1 and "[member_not_found]" in done.stderr
    done = run("rfm", "--as-of", "2999-01-01")
    assert done.exit_code == 1 and "after today" in done.stderr
    done = run("churn", "score", *DAY, "--model-dir", str(tmp_path / "none"))
    assert done.exit_code == 1 and "no churn model" in done.stderr
    done = run("churn", "evaluate", *DAY, "--cutoff", "2026-06-01")
    assert done.exit_code == 1 and "[cutoff_too_late]" in done.stderr
