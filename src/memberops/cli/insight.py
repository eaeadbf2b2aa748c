"""`memberops analytics rfm | lifecycle | pyramid | member | churn …`: member insight from
the live store (docs/insight.md).

Every command reads the store named by MEMBEROPS_DATABASE_URL and writes nothing to it;
`churn train` writes a model file where it is told. The date defaults to today in the
programme's time zone. Polars, SciPy and scikit-learn are imported inside the commands.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer
from rich.table import Table

from memberops.cli.common import (
    as_of_date,
    console,
    err_console,
    fail,
    handle_errors,
    open_db,
    settings,
    uow,
)
from memberops.clock import SystemClock

if TYPE_CHECKING:
    import polars as pl

    from memberops.analytics.churn import ChurnModel, Evaluation
    from memberops.analytics.purchases import Store

DAY = ["%Y-%m-%d"]
churn_app = typer.Typer(help="Churn risk (流失预警): evaluate, train and score.",
                        no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


AS_OF = typer.Option(None, "--as-of", formats=DAY,
                     help="the day to look from, YYYY-MM-DD [default: today]")
FORMAT = typer.Option(Format.table, "--format", help="table (the counts), csv or json (every "
                                                       "member)")
OUTPUT = typer.Option(None, "--output", "-o", dir_okay=False,
                      help="write every member's rows to this file (csv unless --format "
                           "json)")
HORIZON = typer.Option(90, "--horizon-days", min=1, max=730,
                       help="churned: no purchase in this many days after the cutoff")


def register(app: typer.Typer) -> None:
    """Add the insight commands to `memberops analytics`."""
    app.command("rfm")(rfm_command)
    app.command("lifecycle")(lifecycle_command)
    app.command("pyramid")(pyramid_command)
    app.command("member")(member_command)
    app.add_typer(churn_app, name="churn")


def _store() -> Store:
    from memberops.analytics import purchases

    cfg = settings()
    with err_console.status("Reading the store…"):
        return purchases.load(cfg.database_url, cfg.timezone)


def _tier_levels() -> dict[str, int]:
    """Tier code → level in the ladder in force."""
    from memberops.programme import service as programme_service
    from memberops.programme.schemas import TierLadder

    db = open_db()
    try:
        with uow(db, readonly=True) as work:
            ladder = programme_service.current(work.session, TierLadder)
    finally:
        db.dispose()
    return {tier.code: level for level, tier in enumerate(ladder.tiers)}


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
            for row in frame.iter_rows(named=True)]


def _export(frame: pl.DataFrame, fmt: Format, output: Path | None,
            summary: dict[str, Any]) -> None:
    """Every member's rows: JSON with the summary, or CSV; to the file or stdout."""
    stream: TextIO
    with (output.open("w", encoding="utf-8", newline="") if output else
          _stdout()) as stream:
        if fmt is Format.json:
            stream.write(json.dumps({**summary, "members": _rows(frame)},
                                    ensure_ascii=False) + "\n")
        else:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(frame.columns)
            for row in _rows(frame):
                writer.writerow(["" if v is None else v for v in row.values()])
    if output:
        err_console.print(f"wrote {frame.height:,} members to {output}")


class _stdout:
    """sys.stdout as a context manager that is not closed on exit."""

    def __enter__(self) -> TextIO:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()


def _counts_table(title: str | None, frame: pl.DataFrame, columns: list[tuple[str, str]]) -> None:
    table = Table(*(label for _, label in columns), title=title)
    for row in frame.iter_rows(named=True):
        table.add_row(*(_cell(row[name]) for name, _ in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def _whole_yuan(fen: int) -> str:
    return f"¥{fen / 100:,.0f}"


# ---------------------------------------------------------------------------- RFM


@handle_errors
def rfm_command(
    as_of: datetime | None = AS_OF,
    window_days: int = typer.Option(365, "--window-days", min=1, max=3650,
                                    help="frequency and monetary over this many days"),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
) -> None:
    """RFM scores (quintiles 1–5) and segments: the count per segment, or every member."""
    from memberops.analytics import rfm

    day = as_of_date(as_of)
    scored = rfm.rfm(_store(), day, window_days)
    counts = rfm.segment_counts(scored)
    summary = {"as_of": day.isoformat(), "window_days": window_days,
               "segments": _rows(counts)}
    if fmt is not Format.table or output:
        _export(scored, fmt, output, summary)
        if fmt is not Format.table:
            return
    _counts_table(f"RFM segments as of {day.isoformat()} ({scored.height:,} members, "
                  f"{window_days}-day window)",
                  counts.with_columns(counts["monetary"].map_elements(
                      _yuan, return_dtype=str)),
                  [("name", "segment"), ("members", "members"), ("share", "share"),
                   ("monetary", "spend in window")])


# ---------------------------------------------------------------------------- lifecycle


@handle_errors
def lifecycle_command(
    as_of: datetime | None = AS_OF,
    new_days: int = typer.Option(30, "--new-days", min=0, help="new: joined within"),
    silent_days: int = typer.Option(90, "--silent-days", min=1,
                                    help="silent: no purchase for at least"),
    churned_days: int = typer.Option(180, "--churned-days", min=2,
                                     help="churned: no purchase for at least"),
    mature_purchases: int = typer.Option(12, "--mature-purchases", min=1,
                                         help="mature: purchases in 365 days, at least"),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
) -> None:
    """Lifecycle stages (new, active, mature, silent, churned): the count per stage, or
    every member."""
    from dataclasses import asdict

    from memberops.analytics import lifecycle

    day = as_of_date(as_of)
    thresholds = lifecycle.Thresholds(new_days=new_days, silent_days=silent_days,
                                      churned_days=churned_days,
                                      mature_purchases=mature_purchases)
    staged = lifecycle.lifecycle(_store(), day, thresholds)
    counts = lifecycle.stage_counts(staged)
    summary = {"as_of": day.isoformat(), "thresholds": asdict(thresholds),
               "stages": _rows(counts)}
    if fmt is not Format.table or output:
        _export(staged, fmt, output, summary)
        if fmt is not Format.table:
            return
    _counts_table(f"lifecycle stages as of {day.isoformat()} ({staged.height:,} members)",
                  counts, [("stage", "stage"), ("members", "members"), ("share", "share")])


@handle_errors
def pyramid_command(
    as_of: datetime | None = AS_OF,
    window_days: int = typer.Option(365, "--window-days", min=1, max=3650,
                                    help="net spend over this many days"),
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
) -> None:
    """The value pyramid: top 1 %, next 4 %, next 15 %, next 30 %, the rest of the members
    who spent in the window, and those who did not; members and share of spend per layer."""
    from memberops.analytics import lifecycle
    from memberops.analytics import purchases as buys

    day = as_of_date(as_of)
    store = _store()
    layered = lifecycle.pyramid(buys.summary(buys.members_as_of(store, day),
                                             buys.purchases_as_of(store, day), day,
                                             window_days))
    layers = lifecycle.pyramid_layers(layered)
    summary = {"as_of": day.isoformat(), "window_days": window_days, "layers": _rows(layers)}
    if fmt is not Format.table or output:
        _export(layered, fmt, output, summary)
        if fmt is not Format.table:
            return
    shown = layers.with_columns(*(layers[c].map_elements(_whole_yuan, return_dtype=str)
                                  .fill_null("") for c in ("spend", "min_spend",
                                                           "max_spend")))
    _counts_table(f"value pyramid as of {day.isoformat()} (net spend over {window_days} "
                  "days)", shown,
                  [("layer", "layer"), ("members", "members"), ("member_share", "of members"),
                   ("spend", "spend"), ("spend_share", "of spend"), ("min_spend", "lowest"),
                   ("max_spend", "highest")])


# ---------------------------------------------------------------------------- churn


@churn_app.command("evaluate")
@handle_errors
def churn_evaluate(
    as_of: datetime | None = AS_OF,
    cutoff: datetime | None = typer.Option(
        None, "--cutoff", formats=DAY,
        help="test cutoff C: test labels from (C, C + N], training at C − N "
             "[default: as-of − N]"),
    horizon_days: int = HORIZON,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """ROC AUC on a held-out period of both models beside the baselines (recency alone,
    BG/NBD expected purchases), with the sizes and churn rates of both periods."""
    from memberops.analytics import churn

    day = as_of_date(as_of)
    with err_console.status("Training and testing…"):
        found, _ = churn.evaluate(_store(), day, horizon_days,
                                  None if cutoff is None else cutoff.date(), _tier_levels())
    if as_json:
        print(json.dumps(churn.evaluation_json(found)))
        return
    _show_evaluation(found)


def _show_evaluation(found: Evaluation) -> None:
    console.print(
        f"train: cutoff {found.train_cutoff.isoformat()}, {found.train_members:,} members, "
        f"{found.train_churn_rate:.1%} churned in the next {found.horizon_days} days\n"
        f"test:  cutoff {found.test_cutoff.isoformat()}, {found.test_members:,} members, "
        f"{found.test_churn_rate:.1%} churned", highlight=False)
    table = Table("score", "ROC AUC, all members",
                  f"ROC AUC, {found.recent_buyers:,} who bought in the last 365 days",
                  title="held-out period")
    for name, value in found.auc.items():
        mark = " (chosen)" if name == found.chosen else ""
        table.add_row(name + mark, _auc(value), _auc(found.auc_recent_buyers[name]))
    console.print(table)
    for note in found.notes:
        err_console.print(f"note: {note}")


def _auc(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@churn_app.command("train")
@handle_errors
def churn_train(
    as_of: datetime | None = AS_OF,
    horizon_days: int = HORIZON,
    model_dir: Path = typer.Option(Path("churn-models"), "--model-dir", file_okay=False,
                                   help="folder of the versioned model files"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Evaluate both models, then train the better one on the latest complete period
    (cutoff as-of − N) and save it as the next version in --model-dir."""
    from memberops.analytics import churn

    day = as_of_date(as_of)
    store, levels = _store(), _tier_levels()
    with err_console.status("Training and testing…"):
        found, _ = churn.evaluate(store, day, horizon_days, tier_levels=levels)
        model = churn.train(store, day, horizon_days, found.chosen, levels)
    path = churn.save_model(model, found, model_dir, trained_at=SystemClock().now())
    if as_json:
        print(json.dumps({"model": str(path), "kind": model.kind,
                          "cutoff": model.cutoff.isoformat(),
                          "evaluation": churn.evaluation_json(found)}))
        return
    _show_evaluation(found)
    console.print(f"saved {model.kind} trained at {model.cutoff.isoformat()} "
                  f"({model.train_members:,} members) to {path}", highlight=False)


def _model(path: Path | None, model_dir: Path | None) -> ChurnModel | None:
    from memberops.analytics import churn

    if path is not None:
        return churn.load_model(path)
    if model_dir is not None:
        latest = churn.latest_model(model_dir)
        if latest is None:
            raise fail(f"no churn model in {model_dir}: run `memberops analytics churn "
                       "train` first, or leave --model-dir out to train one now")
        return churn.load_model(latest)
    return None


MODEL = typer.Option(None, "--model", exists=True, dir_okay=False,
                     help="a model file from `churn train` [default: train one now]")
MODEL_DIR = typer.Option(None, "--model-dir", file_okay=False,
                         help="use the newest model in this folder")


@churn_app.command("score")
@handle_errors
def churn_score(
    as_of: datetime | None = AS_OF,
    horizon_days: int = HORIZON,
    model_path: Path | None = MODEL,
    model_dir: Path | None = MODEL_DIR,
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False,
                                       help="write member_id,churn_probability as CSV"),
) -> None:
    """The probability of churning in the next N days for every member, from a saved model
    or one trained now (logistic regression at as-of − N)."""
    from memberops.analytics import churn

    day = as_of_date(as_of)
    store, levels = _store(), _tier_levels()
    model = _model(model_path, model_dir)
    with err_console.status("Scoring…"):
        model = model or churn.train(store, day, horizon_days, tier_levels=levels)
        scored = churn.score(model, store, day, levels)
    if output:
        scored.write_csv(output)
        err_console.print(f"wrote {scored.height:,} members to {output}")
    else:
        scored.write_csv(sys.stdout)
        return
    console.print(f"churn risk in the {model.horizon_days} days after {day.isoformat()} "
                  f"({model.kind}, trained at {model.cutoff.isoformat()})", highlight=False,
                  soft_wrap=True)
    _counts_table(None, churn.risk_bands(scored),
                  [("band", "probability"), ("members", "members"), ("share", "share")])


# ---------------------------------------------------------------------------- one member


@handle_errors
def member_command(
    member_id: int = typer.Argument(..., min=1, help="member id"),
    as_of: datetime | None = AS_OF,
    model_path: Path | None = MODEL,
    model_dir: Path | None = MODEL_DIR,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """One member: RFM scores and segment, lifecycle stage, value layer, CLV and churn risk
    with its three main factors."""
    from memberops.analytics import insight

    day = as_of_date(as_of)
    store, levels = _store(), _tier_levels()
    with err_console.status("Computing…"):
        found = insight.member_insight(store, member_id, day, model=_model(model_path,
                                                                            model_dir),
                                       options=insight.Options(tier_levels=levels))
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    _show_member(found)


def _show_member(found: dict[str, Any]) -> None:
    r, life, value, risk = found["rfm"], found["lifecycle"], found["clv"], found["churn"]
    table = Table("", "", title=f"member {found['member_id']} as of {found['as_of']}",
                  show_header=False)
    recency = "never bought" if r["recency_days"] is None else f"{r['recency_days']} days"
    table.add_row("RFM", f"R{r['r_score'] or '-'} F{r['f_score'] or '-'} "
                         f"M{r['m_score'] or '-'}: {r['segment_name']}")
    table.add_row("", f"last purchase {recency} ago; {r['frequency']} purchases and "
                      f"{_yuan(r['monetary'])} in {r['window_days']} days")
    table.add_row("lifecycle", f"{life['stage']} ({life['days_since_joined']} days a member, "
                               f"{life['days_inactive']} days inactive)")
    table.add_row("value layer", found["value_layer"])
    if value is not None:
        clv = "—" if value["clv_12m"] is None else _yuan(value["clv_12m"])
        table.add_row("CLV", f"{value['expected_purchases_90d']:.2f} purchases expected in "
                             f"90 days, P(alive) {value['probability_alive']:.2f}, "
                             f"12 months {clv}")
    if risk is not None:
        table.add_row("churn risk", f"{risk['probability']:.1%} in {risk['horizon_days']} "
                                    f"days ({risk['model']})")
        for f in risk["factors"]:
            table.add_row("", f"{f['direction']} it: {f['feature']} = {f['value']:g} "
                              f"({f['contribution']:+.3f})")
    console.print(table)
    for note in found["notes"]:
        err_console.print(f"note: {note}")
