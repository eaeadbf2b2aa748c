"""`memberops analytics …`: customer lifetime value (BG/NBD and Gamma-Gamma) on any
transaction file, and the reproduction of the published CDNOW estimates; member insight
(RFM, lifecycle, pyramid, churn, one member) from the live store is in `cli/insight.py`.

These commands read files, not the database. NumPy and SciPy are imported inside the
commands: SciPy takes about half a second to load, which no other command should pay.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from memberops.cli import crosssell, segments
from memberops.cli.common import console, handle_errors
from memberops.cli.insight import register as register_insight

if TYPE_CHECKING:
    from memberops.analytics.clv_report import ClvReport

app = typer.Typer(help="Analytics (分析): customer lifetime value, member insight (RFM, "
                       "lifecycle, value pyramid, churn risk).", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value (CLV): BG/NBD purchases and "
                           "Gamma-Gamma spend, fitted by maximum likelihood.",
                      no_args_is_help=True)
app.add_typer(clv_app, name="clv")
register_insight(app)
app.add_typer(crosssell.app, name="crosssell")
app.add_typer(segments.app, name="segments")


class Unit(StrEnum):
    weeks = "weeks"
    days = "days"


def _day(value: datetime | None) -> Any:
    return None if value is None else value.date()


@clv_app.command("fit")
@handle_errors
def fit(
    transactions: Path = typer.Option(..., "--transactions", exists=True, dir_okay=False,
                                      readable=True, help="CSV of purchases, with a header"),
    customer_col: str = typer.Option(..., "--customer-col", help="column of customer ids"),
    date_col: str = typer.Option(..., "--date-col", help="column of dates, YYYY-MM-DD"),
    amount_col: str = typer.Option(..., "--amount-col", help="column of amounts spent"),
    calibration_end: datetime = typer.Option(..., "--calibration-end", formats=["%Y-%m-%d"],
                                             help="last day fitted on, YYYY-MM-DD"),
    time_unit: Unit = typer.Option(Unit.weeks, "--time-unit", help="unit of time"),
    horizon: int = typer.Option(39, "--horizon", min=1,
                                help="periods ahead for the predictions and CLV"),
    discount_rate: float = typer.Option(0.1, "--discount-rate", min=0.0,
                                        help="annual discount rate of the CLV"),
    holdout_end: datetime | None = typer.Option(
        None, "--holdout-end", formats=["%Y-%m-%d"],
        help="also compare predicted with actual repeat purchases up to this day"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to the calibration end; predict."""
    from memberops.analytics import clv_report
    from memberops.analytics.clv_summary import read_transactions

    tx = read_transactions(transactions, customer_col=customer_col, date_col=date_col,
                           amount_col=amount_col)
    report = clv_report.build(tx, calibration_end=calibration_end.date(),
                              time_unit=time_unit.value, horizon=horizon,
                              discount_rate=discount_rate, holdout_end=_day(holdout_end))
    if as_json:
        print(json.dumps(clv_report.as_json(report)))
        return
    _show(report)


@clv_app.command("cdnow")
@handle_errors
def cdnow(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Fit on the shipped CDNOW sample as the papers do (39 weeks, then a 39-week holdout)
    and show our estimates beside the published ones."""
    from memberops.analytics import cdnow as sample
    from memberops.analytics import clv_report

    report = clv_report.build(sample.load_sample(), calibration_end=sample.CALIBRATION_END,
                              time_unit="weeks", holdout_end=sample.HOLDOUT_END)
    if as_json:
        out = clv_report.as_json(report)
        out["published"] = {"bgnbd": clv_report.bgnbd_json(sample.PUBLISHED_BGNBD),
                            "gamma_gamma": clv_report.gamma_gamma_json(
                                sample.PUBLISHED_GAMMA_GAMMA)}
        print(json.dumps(out))
        return
    table = Table("model", "parameter", "published", "ours",
                  title="CDNOW sample: published estimates and ours")
    ours_bg = clv_report.bgnbd_json(report.bgnbd)
    for name, value in clv_report.bgnbd_json(sample.PUBLISHED_BGNBD).items():
        table.add_row("BG/NBD", name, f"{value:g}", f"{ours_bg[name]:.4f}")
    ours_gg = clv_report.gamma_gamma_json(report.gamma_gamma)
    for name, value in clv_report.gamma_gamma_json(sample.PUBLISHED_GAMMA_GAMMA).items():
        table.add_row("Gamma-Gamma", name, f"{value:g}", f"{ours_gg[name]:.4f}")
    console.print(table)
    _show_holdout(report)


def _show(report: ClvReport) -> None:
    bg, gg, pred = report.bgnbd, report.gamma_gamma, report.predictions
    console.print(f"{report.customers:,} customers, {report.repeat_customers:,} bought again; "
                  f"calibration to {report.calibration_end.isoformat()}, in {report.time_unit}",
                  highlight=False)
    table = Table("model", "parameters",
                  title=f"maximum-likelihood estimates (fitted in {report.fit_seconds:.3f} s)")
    table.add_row("BG/NBD", f"r {bg.r:.4f}  α {bg.alpha:.4f}  a {bg.a:.4f}  b {bg.b:.4f}\n"
                            f"log-likelihood {bg.log_likelihood:,.2f}")
    table.add_row("Gamma-Gamma", f"p {gg.p:.4f}  q {gg.q:.4f}  γ {gg.gamma:.4f}")
    console.print(table)
    console.print(f"next {pred.horizon} {report.time_unit}: {pred.expected_purchases:,.1f} "
                  f"expected purchases, mean P(alive) {pred.mean_probability_alive:.3f}",
                  highlight=False)
    console.print(f"CLV at {pred.discount_rate:.1%} a year: total {pred.clv_total:,.2f}, "
                  f"mean {pred.clv_mean:,.2f} per customer", highlight=False)
    _show_holdout(report)


def _show_holdout(report: ClvReport) -> None:
    h = report.holdout
    if h is None:
        return
    table = Table("repeat purchases in calibration", "customers", "actual", "predicted",
                  title=f"holdout to {h.end.isoformat()} ({h.periods:g} {report.time_unit}): "
                        "repeat transactions")
    for g in h.groups:
        table.add_row(g.label, f"{g.customers:,}", f"{g.actual:,}", f"{g.predicted:,.1f}")
    table.add_row("all", f"{report.customers:,}", f"{h.actual:,}", f"{h.predicted:,.1f}")
    console.print(table)
    if h.actual:
        console.print(f"predicted / actual: {h.predicted / h.actual:.3f}", highlight=False)
    console.print(f"from first-purchase dates alone: {h.predicted_unconditional:,.1f} "
                  "predicted", highlight=False)
