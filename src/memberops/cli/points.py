"""`memberops points …`: balances, statements, adjustments, bonus actions, gifts,
redemptions, and the release and expiry jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, tzinfo

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from memberops.cli.common import console, handle_errors, open_db, settings, uow
from memberops.clock import SystemClock
from memberops.jobs import points as points_jobs
from memberops.points import queries
from memberops.points import service as points_service

app = typer.Typer(help="Points (积分): balances, statements, adjustments, gifts, jobs.",
                  no_args_is_help=True)
gifts_app = typer.Typer(help="The gift catalogue.", no_args_is_help=True)
app.add_typer(gifts_app, name="gifts")


def _when(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _change(amount: int, after: int) -> str:
    return f"{amount:+d} → {after}" if amount else str(after)


@app.command("show")
@handle_errors
def show(member_id: int = typer.Argument(..., min=1)) -> None:
    """Available and pending points, and when the available ones expire."""
    db = open_db()
    with uow(db, readonly=True) as work:
        summary = queries.summary(work.session, member_id, work.clock.now(), work.clock.tz)
    console.print(f"member {member_id}: [bold]{summary['available']}[/] points available, "
                  f"{summary['pending']} pending")
    if summary["expiring"]:
        table = Table("usable until", "points", title="expiring")
        for row in summary["expiring"]:
            table.add_row(row["date"].isoformat(), str(row["points"]))
        console.print(table)


@app.command("statement")
@handle_errors
def statement(member_id: int = typer.Argument(..., min=1),
              limit: int = typer.Option(50, min=1, max=queries.MAX_LIMIT)) -> None:
    """Every movement, newest first, with its reason, reference and balances after."""
    db = open_db()
    with uow(db, readonly=True) as work:
        lines = queries.statement(work.session, member_id, limit=limit)
        tz = work.clock.tz
    table = Table("when", "movement", "reference: reason", "available", "pending",
                  title=f"member {member_id} points")
    for ln in lines:
        note = ": ".join(part for part in (ln.reference, ln.reason) if part)
        table.add_row(_when(ln.at, tz), ln.kind.removeprefix("points."), escape(note),
                      _change(ln.available_change, ln.available_after),
                      _change(ln.pending_change, ln.pending_after))
    console.print(table)


@app.command("adjust")
@handle_errors
def adjust(member_id: int = typer.Argument(..., min=1),
           points: int = typer.Option(..., "--points", help="signed: -50 takes 50 away"),
           reason: str = typer.Option(..., "--reason", help="why (kept in the audit log)"),
           yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
           ) -> None:
    """Add or take away points by hand, with a reason."""
    if not yes:
        typer.confirm(f"Adjust member {member_id}'s points by {points:+d} ({reason})?",
                      abort=True)
    db = open_db()
    with uow(db) as work:
        done = points_service.adjust(work, member_id=member_id, points=points, reason=reason,
                                     key=f"points:adjust:{member_id}:cli:{uuid.uuid4().hex}")
        after = queries.summary(work.session, member_id, work.clock.now(), work.clock.tz)
    console.print(f"adjusted member {member_id} by {done.points:+d} points; "
                  f"{after['available']} available", highlight=False)


@app.command("bonus")
@handle_errors
def bonus(member_id: int = typer.Argument(..., min=1),
          action: str = typer.Option(..., "--action",
                                     help="check_in, review, profile_completed, referral"),
          reference: str | None = typer.Option(None, "--reference",
                                               help="review id; member:<id> for a referral"),
          ) -> None:
    """Award a bonus action's points (available at once) within its limits."""
    db = open_db()
    with uow(db) as work:
        lot = points_service.award_bonus(work, member_id=member_id, action=action,
                                         reference=reference,
                                         key=f"points:bonus:{member_id}:cli:{uuid.uuid4().hex}")
    console.print(f"awarded {lot.original} points to member {member_id} for {action}",
                  highlight=False)


@app.command("redeem")
@handle_errors
def redeem(member_id: int = typer.Argument(..., min=1),
           sku: str = typer.Option(..., "--sku"),
           quantity: int = typer.Option(1, "--quantity", min=1),
           ref: str = typer.Option(..., "--ref", help="unique redemption reference")) -> None:
    """Redeem a gift for points; rerunning with the same --ref returns the same redemption."""
    db = open_db()
    with uow(db) as work:
        done = points_service.redeem_gift(work, member_id=member_id, sku=sku,
                                          quantity=quantity, redemption_ref=ref,
                                          key=f"points:redeem:{ref}")
    console.print(f"redeemed {done.quantity} × {sku} for {done.points} points "
                  f"(redemption {done.id}, ref {escape(ref)})", highlight=False)


# --- gifts ----------------------------------------------------------------------------

@gifts_app.command("list")
@handle_errors
def gifts_list(all_: bool = typer.Option(False, "--all", help="include inactive gifts")) -> None:
    """The catalogue in sku order."""
    db = open_db()
    with uow(db, readonly=True) as work:
        items = queries.gifts(work.session, active=None if all_ else True,
                              limit=queries.MAX_LIMIT)
    table = Table("sku", "name", "points", "stock", "active", title="gifts")
    for item in items:
        table.add_row(escape(item.sku), escape(item.name), str(item.points_price),
                      str(item.stock), "yes" if item.active else "no")
    console.print(table)


@gifts_app.command("add")
@handle_errors
def gifts_add(sku: str = typer.Option(..., "--sku"), name: str = typer.Option(..., "--name"),
              price: int = typer.Option(..., "--price", help="points per item"),
              stock: int = typer.Option(0, "--stock"),
              inactive: bool = typer.Option(False, "--inactive")) -> None:
    """Add a gift to the catalogue."""
    db = open_db()
    with uow(db) as work:
        item = points_service.create_gift(work, sku=sku, name=name, points_price=price,
                                          stock=stock, active=not inactive)
    console.print(f"added gift {escape(item.sku)}: {item.points_price} points, "
                  f"{item.stock} in stock", highlight=False)


@gifts_app.command("set-stock")
@handle_errors
def gifts_set_stock(sku: str = typer.Argument(...), stock: int = typer.Argument(...)) -> None:
    """Set the count on hand of a gift."""
    db = open_db()
    with uow(db) as work:
        item = points_service.update_gift(work, sku, stock=stock)
    console.print(f"gift {escape(item.sku)}: {item.stock} in stock", highlight=False)


# --- jobs -----------------------------------------------------------------------------

def _run_job(label: str, job: Callable[..., points_jobs.JobReport]) -> points_jobs.JobReport:
    db = open_db()
    bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console)
    task = bar.add_task(label, total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        return job(db, SystemClock(tz=settings().tz), progress=advance)


@app.command("release-due")
@handle_errors
def release_due() -> None:
    """Make pending points available once their return window has passed (safe to rerun)."""
    report = _run_job("releasing", points_jobs.release_due)
    console.print(f"released {report.points} points for {report.members} members"
                  + (f"; {report.skipped} frozen or closed skipped" if report.skipped else ""),
                  highlight=False)


@app.command("expire-due")
@handle_errors
def expire_due() -> None:
    """Expire points whose expiry has come (safe to rerun)."""
    report = _run_job("expiring", points_jobs.expire_due)
    console.print(f"expired {report.points} points for {report.members} members"
                  + (f"; {report.skipped} frozen or closed skipped" if report.skipped else ""),
                  highlight=False)
