"""`memberops report kpis` and `memberops report schedule` on the hand-computed world of
tests/analytics/test_kpis.py, stored in the test database."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook
from typer.testing import CliRunner

from memberops.cli.main import app
from tests.analytics.test_kpis import WORLD
from tests.analytics.test_kpis_store import store_world

runner = CliRunner()
MARCH = ["--from", "2026-03-01", "--to", "2026-03-31"]


def run(*args: str):
    return runner.invoke(app, ["report", *args], env={"COLUMNS": "160"})


def test_kpis_as_tables(cli_env, db) -> None:
    store_world(db, WORLD)
    result = run("kpis", *MARCH)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "KPIs 2026-03-01…2026-03-31 (all members); previous 2026-02-01…2026-02-28" in out
    assert "│ Orders " in out and "¥160.00" in out  # net sales 16,000 fen
    assert "Retention by month of joining" in out and "2026-03" in out
    store = run("kpis", *MARCH, "--store", "S1", "--tier", "silver")
    assert store.exit_code == 0, store.output
    assert "(store=S1, tier=silver)" in store.stdout


def test_kpis_as_json_csv_and_xlsx(cli_env, db, tmp_path) -> None:
    store_world(db, WORLD)
    as_json = run("kpis", *MARCH, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["metrics"]["orders"]["value"] == 3
    assert body["metrics"]["net_sales"]["previous"] == 6_000
    as_csv = run("kpis", *MARCH, "--format", "csv", "--channel", "app")
    assert as_csv.exit_code == 0, as_csv.output
    rows = {(r["section"], r["name"], r["key"]): r
            for r in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert rows[("members", "members_total", "")]["value"] == "2"
    assert rows[("breakdown", "members_new_by_channel", "app")]["value"] == "2"
    assert rows[("behaviour", "average_order_value", "")]["previous"] == ""  # none then
    target = tmp_path / "march.xlsx"
    as_xlsx = run("kpis", *MARCH, "--format", "xlsx", "--output", str(target))
    assert as_xlsx.exit_code == 0, as_xlsx.output
    book = load_workbook(target)
    assert book.sheetnames == ["Report", "KPIs", "Breakdowns", "Cohorts"]
    kpis = {row[1]: row for row in book["KPIs"].iter_rows(values_only=True)}
    assert kpis["orders"][5] == 3 and kpis["gmv"][5] == 27_000
    cohorts = list(book["Cohorts"].iter_rows(values_only=True))
    assert cohorts[1][:3] == ("2026-03", 3, 1 / 3)


def test_kpis_refuses_bad_input(cli_env) -> None:
    backwards = run("kpis", "--from", "2026-03-31", "--to", "2026-03-01")
    assert backwards.exit_code == 1 and "[validation_error]" in backwards.stderr
    assert "before from" in backwards.stderr
    bad_day = run("kpis", "--from", "2026-02-30", "--to", "2026-03-01")
    assert bad_day.exit_code == 2
    no_file = run("kpis", *MARCH, "--format", "xlsx")
    assert no_file.exit_code == 1 and "needs --output" in no_file.stderr


def test_schedule_writes_one_file_per_period(cli_env, db, tmp_path) -> None:
    store_world(db, WORLD)
    out = tmp_path / "reports"
    # Wednesday 4 March 2026: yesterday, and the week of 23 Feb – 1 Mar (ISO week 9)
    daily = run("schedule", "--period", "daily", "--out-dir", str(out), "--today", "2026-03-04")
    assert daily.exit_code == 0, daily.output
    weekly = run("schedule", "--period", "weekly", "--out-dir", str(out), "--today",
                 "2026-03-04", "--format", "json")
    assert weekly.exit_code == 0, weekly.output
    again = run("schedule", "--period", "weekly", "--out-dir", str(out), "--today",
                "2026-03-06", "--format", "json")
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in out.iterdir()) == ["kpis-daily-2026-03-03.xlsx",
                                                    "kpis-weekly-2026-W09.json"]
    week = json.loads((out / "kpis-weekly-2026-W09.json").read_text())
    assert week["period"] == {"from": "2026-02-23", "to": "2026-03-01"}
    # o5 on 20 Feb is the previous week's; m6 joined in the first minutes of 1 March
    assert week["metrics"]["members_new"]["value"] == 1
    assert week["metrics"]["orders"]["previous"] == 1
    day = load_workbook(out / "kpis-daily-2026-03-03.xlsx")
    assert ("period", "2026-03-03 … 2026-03-03") in day["Report"].iter_rows(values_only=True)
