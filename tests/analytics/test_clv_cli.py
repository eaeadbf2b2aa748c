"""`memberops analytics clv …` as an analyst runs it: JSON and tables, and bad input
refused with one line and an exit code, never a traceback."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memberops.cli.main import app

runner = CliRunner()
SAMPLE = Path(str(files("memberops.analytics").joinpath("data", "cdnow_sample_transactions.csv")))
COLUMNS = ["--customer-col", "customer_id", "--date-col", "date", "--amount-col", "spend"]


def fit(*args: str):
    return runner.invoke(app, ["analytics", "clv", "fit", *args])


def test_fit_prints_the_published_estimates_as_json() -> None:
    done = fit("--transactions", str(SAMPLE), *COLUMNS, "--calibration-end", "1997-09-30",
               "--holdout-end", "1998-06-30", "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert set(out["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(out["gamma_gamma"]) == {"p", "q", "gamma"}
    bg, gg = out["bgnbd"], out["gamma_gamma"]
    assert [round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert round(bg["log_likelihood"], 1) == -9582.4
    assert [round(gg[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert out["customers"] == 2_357 and out["repeat_customers"] == 946
    holdout = out["holdout"]
    assert holdout["periods"] == 39
    assert holdout["actual"] == sum(g["actual"] for g in holdout["by_calibration_repeat_purchases"])
    assert [g["repeat_purchases"] for g in holdout["by_calibration_repeat_purchases"]] == [
        "0", "1", "2", "3", "4", "5", "6", "7+"]
    pred = out["predictions"]
    assert pred["horizon"] == 39 and pred["clv_total"] > 0 and pred["clv_mean"] > 0
    assert 0 < pred["mean_probability_alive"] <= 1


def test_fit_in_days_with_a_longer_horizon_shows_a_table() -> None:
    done = fit("--transactions", str(SAMPLE), *COLUMNS, "--calibration-end", "1997-09-30",
               "--time-unit", "days", "--horizon", "365", "--discount-rate", "0.05")
    assert done.exit_code == 0, done.output
    assert "2,357 customers, 946 bought again" in done.stdout
    assert "BG/NBD" in done.stdout and "Gamma-Gamma" in done.stdout
    assert "next 365 days" in done.stdout and "5.0% a year" in done.stdout
    assert "holdout" not in done.stdout


def test_cdnow_shows_ours_beside_the_published() -> None:
    shown = runner.invoke(app, ["analytics", "clv", "cdnow"])
    assert shown.exit_code == 0, shown.output
    assert "published" in shown.stdout and "0.2426" in shown.stdout
    assert "holdout to 1998-06-30" in shown.stdout
    done = runner.invoke(app, ["analytics", "clv", "cdnow", "--json"])
    out = json.loads(done.stdout)
    assert out["published"]["bgnbd"]["r"] == 0.243
    assert abs(out["bgnbd"]["r"] - out["published"]["bgnbd"]["r"]) < 0.0005
    assert out["holdout"]["actual"] > 0


@pytest.mark.parametrize(("text", "code"), [
    ("", "empty_file"),
    ("customer_id,when,spend\n1,1997-01-01,2.5\n", "missing_column"),
    ("customer_id,date,spend\n1,1997-01-01,2.5\n1,1997-13-01,3\n", "bad_date"),
    ("customer_id,date,spend\n1,1997-01-01,two\n", "bad_amount"),
    ("customer_id,date,spend\n1,1997-01-01,-2\n", "negative_amount"),
    ("customer_id,date,spend\n1,1998-01-01,2\n", "calibration_before_first_purchase"),
    ("customer_id,date,spend\n1,1997-01-01,2\n2,1997-02-01,2\n", "no_repeat_purchases"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(text, encoding="utf-8")
    refused = fit("--transactions", str(path), *COLUMNS, "--calibration-end", "1997-09-30")
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith("error:") and f"[{code}]" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "Traceback" not in refused.output
    assert isinstance(refused.exception, SystemExit)  # a clean exit, not an escaped error


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    for args in (["--calibration-end", "30/09/1997"],
                 ["--calibration-end", "1997-09-30", "--time-unit", "months"],
                 ["--calibration-end", "1997-09-30", "--horizon", "0"]):
        refused = fit("--transactions", str(SAMPLE), *COLUMNS, *args)
        assert refused.exit_code == 2, (args, refused.output)
    missing = fit("--transactions", str(tmp_path / "nope.csv"), *COLUMNS,
                  "--calibration-end", "1997-09-30")
    assert missing.exit_code == 2
    early = fit("--transactions", str(SAMPLE), *COLUMNS, "--calibration-end", "1997-09-30",
                "--holdout-end", "1997-09-01")
    assert early.exit_code == 1 and "[bad_holdout]" in early.stderr
