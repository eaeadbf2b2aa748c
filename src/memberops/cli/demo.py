"""`memberops demo`: a SQLite database with a realistic member base and two years of orders,
stored value, points, coupons and PLUS, then the API serving it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, settings
from memberops.cli.serve import run_server
from memberops.clock import SystemClock
from memberops.config import get_settings
from memberops.demo import DEFAULT_SEED, DemoPlan
from memberops.demo import Progress as ProgressCallback
from memberops.money import Money

# The demo's generators (Faker, the history, its summary) load when the demo runs, not
# with every other `memberops` command.
if TYPE_CHECKING:
    from memberops.demo.runner import DemoResult
    from memberops.demo.summary import DemoFigures

STEP_LABELS = {"members": "Registering members",
               "orders": "Playing the history (orders)",
               "verify": "Verifying the ledger"}


def _port_taken(host: str, port: int) -> bool:
    """Whether the server could not listen there: checked before minutes of generation."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return False  # an unknown host name: let the server report it
    with socket.socket(family, kind, proto) as sock:
        # As uvicorn does, so that a port left in TIME_WAIT by a stopped server counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


@contextmanager
def _progress_bar() -> Iterator[ProgressCallback]:
    """A Rich progress bar with one line per demo step, fed by the runner's callback."""
    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(STEP_LABELS.get(step, step), total=total)
            bar.update(tasks[step], completed=done, total=total)
        yield update


def _base_url(host: str, port: int) -> str:
    # A server listening on every interface is reached on this machine by loopback.
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _database_line(result: DemoResult) -> str:
    if result.kept:
        return f"{result.path} (kept: the existing demo database was reused)"
    if result.replaced:
        return f"{result.path} (replaced the previous demo database)"
    return f"{result.path} (new)"


def _order_rows(grid: Table, found: DemoFigures) -> None:
    """Orders, coupons, tiers and PLUS at a glance."""
    o, c = found.orders, found.coupons
    grid.add_row("Orders", f"{o.orders:,} orders by {o.members:,} members in {o.stores:,} "
                 f"stores, {Money(o.revenue).format()} paid; {o.refunds:,} refunds "
                 f"({Money(o.refunded).format()}); {o.with_coupon:,} with a coupon, "
                 f"{o.with_points:,} with points, {o.with_wallet:,} from the wallet")
    grid.add_row("Coupons", f"{c.issued:,} issued, {c.used:,} used, {c.expired:,} expired, "
                 f"{c.open:,} open")
    tiers = found.tiers or {}
    held = ", ".join(f"{count:,} {code}" for code, count in tiers.items())
    grid.add_row("Tiers", f"{held}; {found.plus:,} PLUS")


def _value_rows(grid: Table, found: DemoFigures) -> None:
    """Stored value and points at a glance: flows, and what the programme owes."""
    r = found.recharges
    grid.add_row("Recharges", f"{r.settled:,} settled; {r.held:,} held for review "
                 f"({r.approved:,} approved, {r.rejected_on_review:,} rejected, "
                 f"{r.waiting_review:,} waiting); {r.rejected_by_rule:,} refused by risk "
                 f"rules; {r.failed:,} failed, {r.awaiting_payment:,} awaiting payment")
    grid.add_row("Wallet", f"{found.wallet_payments:,} payments, {found.wallet_refunds:,} "
                 f"refunds, {found.cash_outs:,} cash-outs")
    grid.add_row("Points", f"{found.points_issued:,} issued, {found.points_adjusted:+,} "
                 f"adjusted, {found.points_redeemed:,} redeemed, {found.points_expired:,} "
                 "expired")
    owed, points = found.wallet_owed, found.points_owed
    grid.add_row("Owed", f"{Money(owed['total']).format()} stored value (principal "
                 f"{Money(owed['principal']).format()}, bonus {Money(owed['bonus']).format()}) "
                 f"in {owed['wallets']:,} wallets; {points.available + points.pending:,} "
                 f"points ({points.pending:,} pending)")


def _summary(result: DemoResult, base: str) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    made = "" if result.kept else f", demo made in {result.seconds:.1f} s"
    grid.add_row("Database", _database_line(result))
    grid.add_row("Members", f"{result.members:,}{made}")
    _order_rows(grid, result.figures)
    _value_rows(grid, result.figures)
    grid.add_row("Console", f"{base}/console")
    grid.add_row("API", f"{base}/api/v1")
    grid.add_row("Docs", f"{base}/docs")
    grid.add_row("Sign-in", f"username {result.username}")
    grid.add_row("Password", result.password or "unchanged (shown when this demo was made)")
    grid.add_row("API key", f"{result.api_key} (admin; shown once)")
    return Panel(grid, title="memberops demo", title_align="left", border_style="green",
                 expand=False)


@handle_errors
def demo(
    members: int = typer.Option(5000, "--members", min=1, max=1_000_000,
                                help="how many members to generate"),
    seed: int = typer.Option(DEFAULT_SEED, help="the same seed gives the same member base "
                             "and history (relative to today)"),
    days: int = typer.Option(730, "--days", min=30, max=1825,
                             help="how far back the history goes (members join over it)"),
    database: Path = typer.Option(Path("memberops-demo.db"), "--database",
                                  help="SQLite file; an earlier demo there is replaced"),
    keep: bool = typer.Option(False, "--keep",
                              help="reuse an existing demo database instead of regenerating"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    no_serve: bool = typer.Option(False, "--no-serve",
                                  help="generate and print, then exit (for scripts)"),
) -> None:
    """Make a demo database (members, two years of orders, wallet, points, coupons and PLUS),
    print how to get in, and serve it."""
    if not no_serve and _port_taken(host, port):
        raise fail(f"{host}:{port} is already in use; choose another --port")
    clock = SystemClock(tz=settings().tz)
    with _progress_bar() as progress:
        from memberops.demo.runner import run_demo

        result = run_demo(DemoPlan(members=members, seed=seed, history_days=days), database,
                          keep=keep, clock=clock, progress=progress)
    # The server (and any command run from here) reads its database from the settings.
    os.environ["MEMBEROPS_DATABASE_URL"] = result.url
    get_settings.cache_clear()
    base = _base_url(host, port)
    console.print(_summary(result, base))
    console.print("Try it:", style="bold")
    # Printed unwrapped, so that it can be copied from the terminal in one piece.
    console.print(f'curl -H "Authorization: Bearer {result.api_key}" '
                  f'"{base}/api/v1/members?limit=5"', soft_wrap=True, highlight=False)
    if no_serve:
        console.print(f"Not serving (--no-serve). Later: MEMBEROPS_DATABASE_URL={result.url} "
                      f"memberops serve --port {port}", soft_wrap=True, highlight=False)
        return
    console.print(f"Serving on {base} — press Ctrl+C to stop.", highlight=False)
    run_server(host, port)
