"""`memberops tiers …`: the ladder and members per tier, a member's tier and history,
manual floors, the retention review job, and what-if replays of a proposed ladder."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, settings, uow
from memberops.clock import SystemClock
from memberops.db import Database
from memberops.jobs import tiers as tier_jobs
from memberops.money import Money
from memberops.programme import service as programme_service
from memberops.tiers import queries
from memberops.tiers import service as tiers_service
from memberops.tiers.rules import Need

app = typer.Typer(help="Member tiers (会员等级): ladder, members' tiers, floors, review, "
                       "what-if.", no_args_is_help=True)
DAY = typer.Option(..., formats=["%Y-%m-%d"], help="YYYY-MM-DD")


def _fen(value: int) -> str:
    return Money(value).format()


def _need(n: Need) -> str:
    show = str if n.criterion == "orders" else _fen
    label = n.criterion.replace("_", " ")
    return f"{label} {show(n.current)} of {show(n.target)}" + (
        f" ({show(n.missing)} to go)" if n.missing else " ✓")


@app.command("show")
@handle_errors
def show(member_id: int | None = typer.Argument(None, min=1,
                                                help="a member; none: the ladder")) -> None:
    """The ladder and members per tier; or one member's tier, progress and floor."""
    db = open_db()
    if member_id is None:
        _show_ladder(db)
        return
    with uow(db, readonly=True) as work:
        found = queries.status(work.session, member_id, work.clock.now(), work.clock.tz)
    perks = found.tier
    flags = [name for name, on in (("free shipping", perks.free_shipping),
                                   ("birthday coupon", perks.birthday_coupon),
                                   ("priority service", perks.priority_service)) if on]
    console.print(f"member {member_id}: [bold]{perks.code}[/] ({perks.name_zh} "
                  f"{perks.name_en}) — {perks.discount_pct}% off, points "
                  f"×{perks.points_multiplier_pct / 100:g}"
                  + (f", {', '.join(flags)}" if flags else ""), highlight=False)
    act = found.activity
    console.print(f"last 12 months: net spend {_fen(act.net_spend)}, {act.orders} orders, "
                  f"recharged {_fen(act.recharge)}", highlight=False)
    if found.next is not None:
        console.print(f"next: {found.next.tier} — any of: "
                      + "; ".join(_need(n) for n in found.next.needs), highlight=False)
    if found.keep is not None:
        console.print(f"anniversary {found.keep.by}: to keep {found.keep.tier}, any of: "
                      + "; ".join(_need(n) for n in found.keep.needs), highlight=False)
    if found.floor is not None:
        console.print(f"floor: {found.floor.tier} until {found.floor.until} "
                      f"({escape(found.floor.reason)})", highlight=False)


def _yuan(fen: int) -> str:
    """¥1,000 for whole yuan, ¥1,000.50 otherwise: a ladder reads at a glance."""
    return f"¥{fen // 100:,}" if fen % 100 == 0 else _fen(fen)


def _show_ladder(db: Database) -> None:
    with uow(db, readonly=True) as work:
        ladder = queries.ladder(work.session)
        version = programme_service.current_version(work.session, "tiers")
        counts = queries.counts(work.session)
    table = Table("tier", "qualifies at (any)", "off", "points", "perks", "members",
                  title=f"tier ladder v{version}: {ladder.window_months}-month window, kept "
                        f"at {ladder.retention_pct}% after {ladder.hold_months} months")
    for tier in ladder.tiers:
        q = tier.qualify
        at = [f"{_yuan(q.net_spend)} spent" if q.net_spend else "",
              f"{q.orders} orders" if q.orders else "",
              f"{_yuan(q.recharge)} recharged" if q.recharge else ""]
        b = tier.benefits
        flags = [n for n, on in (("birthday-coupon", b.birthday_coupon),
                                 ("free-shipping", b.free_shipping),
                                 ("priority-service", b.priority_service)) if on]
        table.add_row(f"{tier.code} {tier.name_zh}", "\n".join(a for a in at if a) or "—",
                      f"{b.discount_pct}%", f"×{b.points_multiplier_pct / 100:g}",
                      "\n".join(flags) or "—", str(counts.pop(tier.code, 0)))
    console.print(table)
    for code, n in sorted(counts.items()):
        console.print(f"{n} members on {code!r}, which the ladder no longer has "
                      "(placed again by `memberops tiers review`)", highlight=False)


@app.command("history")
@handle_errors
def history(member_id: int = typer.Argument(..., min=1),
            limit: int = typer.Option(50, min=1, max=queries.MAX_LIMIT),
            reason: str | None = typer.Option(None, help="only entries with this reason"),
            ) -> None:
    """The member's tier history, newest first."""
    db = open_db()
    with uow(db, readonly=True) as work:
        page = queries.history(work.session, member_id, reason=reason, limit=limit)
        tz = work.clock.tz
    table = Table("when", "from", "to", "reason", "note", "by",
                  title=f"member {member_id} tier history")
    for row in page.items:
        table.add_row(row.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), row.from_tier,
                      row.to_tier, row.reason.replace("_", " "), escape(row.note or ""),
                      escape(row.actor))
    console.print(table)


@app.command("floor")
@handle_errors
def floor(member_id: int = typer.Argument(..., min=1),
          tier: str = typer.Option(..., "--tier", help="the lowest tier the member can hold"),
          reason: str = typer.Option(..., "--reason", help="why (kept in the history)"),
          until: datetime = DAY) -> None:
    """Set a floor through --until (inclusive); the member is raised to it at once."""
    db = open_db()
    with uow(db) as work:
        tiers_service.set_floor(work, member_id=member_id, tier=tier, reason=reason,
                                until=until.date())
        held = queries.status(work.session, member_id, work.clock.now(), work.clock.tz)
    console.print(f"member {member_id}: floor {escape(tier)} until {until.date()}; "
                  f"tier now {held.tier.code}", highlight=False)


@app.command("unfloor")
@handle_errors
def unfloor(member_id: int = typer.Argument(..., min=1),
            reason: str = typer.Option(..., "--reason", help="why (kept in the history)"),
            ) -> None:
    """Remove the member's floor now; a tier it alone held is reviewed at once."""
    db = open_db()
    with uow(db) as work:
        done = tiers_service.remove_floor(work, member_id=member_id, reason=reason)
    console.print(f"member {member_id}: floor removed; tier {done[-1].to_tier}"
                  + (f" ({done[-1].reason.replace('_', ' ')})" if len(done) > 1 else ""),
                  highlight=False)


@app.command("review")
@handle_errors
def review(as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"],
        help="review anniversaries up to this day (default today)")) -> None:
    """The retention review (保级): keep or drop one step at each anniversary; lift ended
    floors. One member per transaction; safe to rerun."""
    db = open_db()
    bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console)
    task = bar.add_task("reviewing", total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        report = tier_jobs.review_due(db, SystemClock(tz=settings().tz),
                                      as_of=as_of.date() if as_of else None, progress=advance)
    console.print(f"reviewed {report.members} members as of {report.as_of}: {report.kept} "
                  f"kept, {report.downgraded} down one step, {report.floors_lifted} floors "
                  f"lifted" + (f", {report.other} placed on the new ladder"
                               if report.other else ""), highlight=False)


@app.command("what-if")
@handle_errors
def what_if(file: Path = typer.Option(..., "--file", "-f", exists=True, dir_okay=False,
                                      help="JSON with a whole proposed ladder")) -> None:
    """Replay the last 12 months under a proposed ladder: moves per tier and the change in
    discount cost. Nothing is changed."""
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file} is not valid JSON: {exc}") from None
    db = open_db()
    with uow(db, readonly=True) as work:
        report = tiers_service.what_if(work, data)
    result = report.result
    table = Table("tier", "now", "ladder in force", "proposed", "up", "down",
                  title=f"what-if over {report.window_from.date()} … {report.window_to.date()}"
                        f" ({result.members} members)")
    for code, row in result.tiers.items():
        table.add_row(code, str(row.current), str(row.baseline), str(row.proposed),
                      str(row.up), str(row.down))
    console.print(table)
    console.print(f"{result.up} members would move up, {result.down} down; discount cost "
                  f"{_fen(result.discount_baseline)} → {_fen(result.discount_proposed)} "
                  f"({'+' if result.discount_change >= 0 else ''}"
                  f"{_fen(result.discount_change)}) on {_fen(result.spend)} net spend",
                  highlight=False)
    if result.moves:
        console.print("moves: " + ", ".join(f"{a} → {b}: {n}" for (a, b), n in
                                            sorted(result.moves.items())), highlight=False)
