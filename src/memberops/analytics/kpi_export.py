"""The KPI report as files and text: long rows for CSV, a workbook for Excel, and the
display of each unit (¥ for fen, % for rates). No I/O beyond the stream or path given."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

from memberops.analytics.kpis import BREAKDOWNS, METRICS, KpiReport, Unit, as_json

COLUMNS = ["section", "name", "label", "unit", "key", "value", "previous",
           "previous_change", "year_ago", "year_ago_change"]


def rows(report: KpiReport) -> list[dict[str, Any]]:
    """One row per metric, per breakdown key and per cohort cell (raw numbers: fen,
    points, fractions)."""
    body = as_json(report)
    out: list[dict[str, Any]] = []
    for metric in METRICS:
        figures = body["metrics"][metric.name]
        out.append({"section": metric.group, "name": metric.name, "label": metric.label,
                    "unit": metric.unit, "key": "", **_figures(figures)})
    for name, (unit, label) in BREAKDOWNS.items():
        for row in body["breakdowns"][name]["rows"]:
            out.append({"section": "breakdown", "name": name, "label": label, "unit": unit,
                        "key": row["key"], **_figures(row)})
    for cohort in body["cohorts"]["rows"]:
        out.append({"section": "cohort", "name": "cohort_members", "label": "Cohort size",
                    "unit": "count", "key": cohort["cohort"], "value": cohort["members"]})
        for offset, share in enumerate(cohort["retention"]):
            out.append({"section": "cohort", "name": f"retention_m{offset}",
                        "label": f"Retention, month {offset}", "unit": "ratio",
                        "key": cohort["cohort"], "value": share})
    return out


def _figures(found: dict[str, Any]) -> dict[str, Any]:
    return {k: found[k] for k in ("value", "previous", "previous_change", "year_ago",
                                  "year_ago_change")}


def write_csv(report: KpiReport, stream: TextIO) -> None:
    """The rows as CSV with a header; empty cells for missing values."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows(report):
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in COLUMNS})


def write_xlsx(report: KpiReport, path: Path) -> None:
    """A workbook: the report's terms, the KPIs, the breakdowns and the cohort matrix."""
    from openpyxl import Workbook  # only the xlsx export pays for importing it

    book = Workbook()
    about = book.active
    about.title = "Report"
    body = as_json(report)
    for label, value in (("period", _span(body["period"])), ("previous", _span(body["previous"])),
                         ("year ago", _span(body["year_ago"])), ("as of", body["as_of"]),
                         ("time zone", body["time_zone"]),
                         *((f"filter: {k}", v or "all") for k, v in body["filters"].items()),
                         ("definitions", "docs/metrics.md")):
        about.append([label, value])
    table = rows(report)
    for title, section in (("KPIs", lambda r: r["section"] not in ("breakdown", "cohort")),
                           ("Breakdowns", lambda r: r["section"] == "breakdown")):
        sheet = book.create_sheet(title)
        sheet.append(COLUMNS)
        for row in filter(section, table):
            sheet.append([row.get(c) for c in COLUMNS])
    cohorts = book.create_sheet("Cohorts")
    cohorts.append(["cohort", "members", *(f"m{o}" for o in range(body["cohorts"]["offsets"]))])
    for cohort in body["cohorts"]["rows"]:
        cohorts.append([cohort["cohort"], cohort["members"], *cohort["retention"]])
    book.save(path)


def _span(period: dict[str, str]) -> str:
    return f"{period['from']} … {period['to']}"


def display(unit: Unit, value: int | float | None) -> str:
    """A value as an operator reads it: ¥1,234.50, 12.5%, 3.2 days, 1,200."""
    if value is None:
        return "—"
    if unit == "fen":
        return f"¥{value / 100:,.2f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "times":
        return f"×{value:.2f}"
    return f"{value:,}"


def display_change(unit: Unit, change: float | None) -> str:
    """A change: percentage points for a rate, per cent for anything else."""
    if change is None:
        return "—"
    if unit == "ratio":
        return f"{change * 100:+.1f} pt"
    return f"{change:+.1%}"
