"""`memberops analytics crosssell …`: association rules between categories (or skus),
a member's recommendations, and the evaluation of the recommenders on a held-out period.

Every command reads the store named by MEMBEROPS_DATABASE_URL and writes nothing. The
evaluation is the one anyone can rerun: it prints precision@10, recall@10 and the hit
rate per method and which method wins (docs/crosssell.md).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from memberops.cli.common import console, handle_errors, open_db, settings, uow

if TYPE_CHECKING:
    from memberops.analytics.recommend import Evaluation

app = typer.Typer(help="Cross-sell: association rules, recommendations and their evaluation.",
                  no_args_is_help=True)


class Level(StrEnum):
    category = "category"
    sku = "sku"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Method(StrEnum):
    itemknn = "itemknn"
    buy_again = "buy_again"
    popular = "popular"


RULE_COLUMNS = ("antecedent", "consequent", "support", "confidence", "lift", "count")


@app.command("rules")
@handle_errors
def rules(
    min_support: float = typer.Option(0.01, "--min-support", min=0.0, max=1.0,
                                      help="share of orders an itemset must appear in"),
    min_confidence: float = typer.Option(0.1, "--min-confidence", min=0.0, max=1.0,
                                         help="share of the antecedent's orders with the "
                                              "consequent"),
    top: int = typer.Option(20, "--top", min=1, help="rules shown, strongest first"),
    level: Level = typer.Option(Level.category, "--level", help="items: categories or skus"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json"),
) -> None:
    """Association rules mined with FP-growth from every kept order (by lift, then
    confidence)."""
    from memberops.analytics import crosssell

    report = crosssell.association_rules(settings().database_url, level=level.value,
                                         min_support=min_support,
                                         min_confidence=min_confidence)
    shown = report.rules[:top]
    if fmt is Format.json:
        print(json.dumps({"level": report.level, "baskets": report.baskets,
                          "min_support": report.min_support,
                          "min_confidence": report.min_confidence,
                          "itemsets": report.itemsets, "total_rules": len(report.rules),
                          "rules": [r.as_dict() for r in shown]}))
        return
    if fmt is Format.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(RULE_COLUMNS)
        for r in shown:
            writer.writerow([" + ".join(r.antecedent), " + ".join(r.consequent),
                             f"{r.support:.6f}", f"{r.confidence:.6f}", f"{r.lift:.6f}",
                             r.count])
        print(out.getvalue(), end="")
        return
    table = Table("antecedent", "→ consequent", "support", "confidence", "lift", "orders",
                  title=f"{len(shown)} of {len(report.rules)} rules over {report.baskets:,} "
                        f"orders ({report.level}; support ≥ {min_support:g}, "
                        f"confidence ≥ {min_confidence:g})")
    for r in shown:
        table.add_row(" + ".join(r.antecedent), " + ".join(r.consequent),
                      f"{r.support:.3f}", f"{r.confidence:.3f}", f"{r.lift:.2f}",
                      f"{r.count:,}")
    console.print(table)


@app.command("recommend")
@handle_errors
def recommend(
    member_id: int = typer.Argument(..., min=1, help="member id"),
    method: Method | None = typer.Option(None, "--method",
                                         help="default: MEMBEROPS_RECOMMEND_METHOD "
                                              "(itemknn, the evaluation's winner)"),
    top: int = typer.Option(10, "--top", min=1, max=100, help="skus listed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """A member's top skus from their orders (and everyone's) up to now."""
    from memberops.analytics import crosssell
    from memberops.clock import SystemClock
    from memberops.members import service as members

    cfg = settings()
    db = open_db()
    try:
        with uow(db, readonly=True) as work:
            members.get_member(work, member_id)  # an unknown member is an error, not a list
    finally:
        # Closed before the ADBC read: two SQLite libraries must not hold the same file
        # in one process (docs/crosssell.md).
        db.dispose()
    chosen = method.value if method else cfg.recommend_method
    now = SystemClock(tz=cfg.tz).now()
    model, _ = crosssell.fit_sales(crosssell.read_sales(cfg.database_url), now)
    found = crosssell.recommendations(model, member_id, method=chosen, k=top)
    if as_json:
        print(json.dumps({"member_id": member_id, "method": chosen, "as_of": now.isoformat(),
                          "items": [vars(r) for r in found]}))
        return
    table = Table("#", "sku", "category", "score", "bought before",
                  title=f"member {member_id}: top {len(found)} by {chosen}")
    for r in found:
        table.add_row(str(r.rank), r.sku, r.category, f"{r.score:.4f}",
                      f"{r.orders} order{'s' if r.orders > 1 else ''}" if r.orders else "")
    console.print(table)


@app.command("evaluate")
@handle_errors
def evaluate(
    cutoff: datetime | None = typer.Option(
        None, "--cutoff", formats=["%Y-%m-%d"],
        help="first day of the test period (local midnight); default: the last "
             "--test-days days with orders"),
    test_days: int = typer.Option(60, "--test-days", min=1, help="length of the test period"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Train every method on the orders before the cutoff, score their top 10 on what each
    member bought in the test period, and say which method wins."""
    from memberops.analytics import crosssell

    cfg = settings()
    result = crosssell.evaluation(cfg.database_url, tz=cfg.tz,
                                  cutoff=cutoff.date() if cutoff else None,
                                  test_days=test_days)
    if as_json:
        print(json.dumps(_evaluation_json(result, cfg.recommend_method)))
        return
    _show_evaluation(result, cfg.recommend_method, cfg.tz)


def _evaluation_json(ev: Evaluation, default: str) -> dict[str, Any]:
    from memberops.analytics import recommend

    rival = _rival(ev)
    out: dict[str, Any] = {
        "cutoff": ev.cutoff.isoformat(), "end": ev.end.isoformat(), "k": ev.k,
        "train_orders": ev.train_orders, "test_orders": ev.test_orders,
        "members_evaluated": int(ev.members.size), "cold_members": ev.cold_members,
        "methods": [{"method": s.method, "precision_at_k": s.precision,
                     "recall_at_k": s.recall, "hit_rate": s.hit_rate} for s in ev.scores],
        "best": ev.best, "default": default}
    if rival:
        p = recommend.paired(ev, ev.best, rival)
        out["best_vs_runner_up"] = {"runner_up": rival, "difference": p.difference,
                                    "standard_error": p.standard_error,
                                    "members_better": p.a_better,
                                    "members_worse": p.b_better}
    return out


def _rival(ev: Evaluation) -> str | None:
    """The best of the other methods."""
    others = [s for s in ev.scores if s.method != ev.best]
    if not others:
        return None
    return max(others, key=lambda s: (s.precision, s.recall, s.hit_rate)).method


def _show_evaluation(ev: Evaluation, default: str, tz: Any) -> None:
    from memberops.analytics import recommend

    start, end = ev.cutoff.astimezone(tz), ev.end.astimezone(tz)
    console.print(f"trained on {ev.train_orders:,} orders before {start:%Y-%m-%d}; tested on "
                  f"{ev.test_orders:,} orders from {start:%Y-%m-%d} to {end:%Y-%m-%d} "
                  f"(exclusive); {ev.members.size:,} members evaluated, "
                  f"{ev.cold_members:,} of them without history (they get the popular list)",
                  highlight=False)
    table = Table("method", f"precision@{ev.k}", f"recall@{ev.k}", "hit rate",
                  title="top-10 recommendations against what each member bought")
    for s in ev.scores:
        mark = " (best)" if s.method == ev.best else ""
        table.add_row(s.method + mark, f"{s.precision:.4f}", f"{s.recall:.4f}",
                      f"{s.hit_rate:.4f}")
    console.print(table)
    rival = _rival(ev)
    if rival:
        p = recommend.paired(ev, ev.best, rival)
        console.print(f"{ev.best} wins: {p.difference:+.4f} precision@{ev.k} over {rival} "
                      f"(standard error {p.standard_error:.4f}; better for {p.a_better} "
                      f"members, worse for {p.b_better})", highlight=False)
    console.print(f"default method (MEMBEROPS_RECOMMEND_METHOD): {default}", highlight=False)
