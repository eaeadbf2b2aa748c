"""`memberops report …`: the programme's KPIs for a date range (beside the previous period
and the same period a year before) as tables, CSV, Excel or JSON; and the daily or weekly
report file for a scheduler (cron). Definitions: docs/metrics.md.

Polars and the ADBC drivers are imported inside the commands: no other command should pay
for loading them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from memberops.cli.common import console, err_console, fail, handle_errors, open_db, settings, uow
from memberops.clock import SystemClock

if TYPE_CHECKING:
    from memberops.analytics.kpi_period import Filters, Period
    from memberops.analytics.kpis import KpiReport

app = typer.Typer(help="Reports (报表): the programme's KPIs.", no_args_is_help=True)
DAY = ["%Y-%m-%d"]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


class Every(StrEnum):
    daily = "daily"
    weekly = "weekly"


def build(period: Period, filters: Filters) -> KpiReport:
    """Read the store (with a status line on stderr) and compute the report."""
    from memberops.analytics import kpis
    from memberops.programme import service as programme_service
    from memberops.programme.schemas import MarketingSpend

    cfg = settings()
    db = open_db()
    try:
        with uow(db, readonly=True) as work:
            spend = programme_service.current(work.session, MarketingSpend)
            now = work.clock.now()
    finally:
        db.dispose()
    with err_console.status("Reading the store…"):
        tables = kpis.load_frames(cfg.database_url)
    with err_console.status("Computing the KPIs…"):
        return kpis.compute_kpis(tables, period, filters, time_zone=cfg.timezone, as_of=now,
                                 spend=spend)


@app.command("kpis")
@handle_errors
def kpis_command(
    first: datetime = typer.Option(..., "--from", formats=DAY, help="first day, YYYY-MM-DD"),
    last: datetime = typer.Option(..., "--to", formats=DAY, help="last day (included)"),
    store: str | None = typer.Option(None, "--store", help="orders at this store; members "
                                     "whose first order was there"),
    channel: str | None = typer.Option(None, "--channel", help="members' join channel"),
    region: str | None = typer.Option(None, "--region", help="members' province or city"),
    tier: str | None = typer.Option(None, "--tier", help="members' tier at the period's end"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv, xlsx or json"),
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False,
                                       help="write to this file (needed for xlsx)"),
) -> None:
    """The KPIs of a date range (programme time zone) beside the period before it and the
    same period a year earlier."""
    from memberops.analytics.kpi_period import Filters, Period

    if fmt is Format.xlsx and output is None:
        raise fail("--format xlsx needs --output FILE")
    if fmt is Format.table and output is not None:
        raise fail("--output writes csv, xlsx or json: choose one with --format")
    report = build(Period(first.date(), last.date()),
                   Filters(store=store, channel=channel, region=region, tier=tier))
    if fmt is Format.table:
        show(report)
        return
    if output is None:
        _write(report, fmt, sys.stdout)
        return
    _save(report, fmt, output)
    err_console.print(f"wrote {output}")


@app.command("schedule")
@handle_errors
def schedule(
    every: Every = typer.Option(..., "--period", help="daily (yesterday) or weekly (the "
                                "last complete Monday–Sunday week)"),
    out_dir: Path = typer.Option(..., "--out-dir", file_okay=False,
                                 help="folder for the report files (created if missing)"),
    fmt: Format = typer.Option(Format.xlsx, "--format", help="xlsx, csv or json"),
    today: datetime | None = typer.Option(None, "--today", formats=DAY,
                                          help="run as if today were this day (backfill)"),
) -> None:
    """Write the KPI report of the last complete day or week to OUT_DIR, named by the
    period (kpis-daily-2026-03-04.xlsx, kpis-weekly-2026-W10.xlsx); running it again
    replaces the same file."""
    from memberops.analytics.kpi_period import Filters, last_complete, period_name

    if fmt is Format.table:
        raise fail("a scheduled report is a file: --format xlsx, csv or json")
    day = today.date() if today else SystemClock(tz=settings().tz).today()
    period = last_complete(every.value, day)
    report = build(period, Filters())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"kpis-{every.value}-{period_name(every.value, period)}.{fmt.value}"
    _save(report, fmt, target)
    console.print(str(target))


def _write(report: KpiReport, fmt: Format, stream: Any) -> None:
    from memberops.analytics import kpi_export, kpis

    if fmt is Format.csv:
        kpi_export.write_csv(report, stream)
    else:
        stream.write(json.dumps(kpis.as_json(report), ensure_ascii=False) + "\n")


def _save(report: KpiReport, fmt: Format, target: Path) -> None:
    """Write next to the target, then rename: a reader never sees half a file, and a rerun
    replaces the file whole."""
    from memberops.analytics import kpi_export

    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        if fmt is Format.xlsx:
            kpi_export.write_xlsx(report, Path(temp))
        else:
            with open(temp, "w", encoding="utf-8", newline="") as stream:
                _write(report, fmt, stream)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def show(report: KpiReport) -> None:
    """The report as Rich tables: KPIs by group, breakdowns, and the cohort matrix."""
    from memberops.analytics import kpis
    from memberops.analytics.kpi_export import display, display_change

    body = kpis.as_json(report)
    filters = ", ".join(f"{k}={v}" for k, v in body["filters"].items() if v) or "all members"
    console.print(f"KPIs {_span(body['period'])} ({filters}); previous {_span(body['previous'])},"
                  f" a year ago {_span(body['year_ago'])}; definitions in docs/metrics.md")
    table = Table("group", "metric", "value", "previous", "Δ", "year ago", "Δ year")
    group = ""
    for metric in kpis.METRICS:
        m = body["metrics"][metric.name]
        table.add_row(metric.group if metric.group != group else "", metric.label,
                      display(metric.unit, m["value"]), display(metric.unit, m["previous"]),
                      display_change(metric.unit, m["previous_change"]),
                      display(metric.unit, m["year_ago"]),
                      display_change(metric.unit, m["year_ago_change"]))
        group = metric.group
    console.print(table)
    for name, found in body["breakdowns"].items():
        if not found["rows"]:
            continue
        unit = kpis.BREAKDOWNS[name][0]
        part = Table("", "value", "previous", "Δ", "year ago", "Δ year", title=found["label"])
        for row in found["rows"]:
            part.add_row(row["key"], display(unit, row["value"]),
                         display(unit, row["previous"]),
                         display_change(unit, row["previous_change"]),
                         display(unit, row["year_ago"]),
                         display_change(unit, row["year_ago_change"]))
        console.print(part)
    _show_cohorts(body["cohorts"])


def _show_cohorts(cohorts: dict[str, Any]) -> None:
    table = Table("cohort", "members", *(f"m{o}" for o in range(cohorts["offsets"])),
                  title="Retention by month of joining (share ordering in each month after)")
    for row in cohorts["rows"]:
        table.add_row(row["cohort"], f"{row['members']:,}",
                      *("" if s is None else f"{s:.0%}" for s in row["retention"]))
    console.print(table)


def _span(period: dict[str, str]) -> str:
    return f"{period['from']}…{period['to']}"
