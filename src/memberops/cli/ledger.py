"""`memberops ledger …`: verification of every balance, and account statements."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from memberops.cli.common import console, err_console, handle_errors, open_db, settings, uow
from memberops.ledger import queries
from memberops.points import queries as points_queries
from memberops.wallet import queries as wallet_queries

app = typer.Typer(help="The double-entry ledger: verify, statements.", no_args_is_help=True)


@app.command("verify")
@handle_errors
def verify(as_json: bool = typer.Option(False, "--json", help="machine-readable report")) -> None:
    """Recompute every balance from the postings; exit 1 on any drift, listing it."""
    db = open_db()
    with uow(db, readonly=True) as work:
        report = queries.verify(work.session)
    if as_json:
        print(json.dumps({"ok": report.ok, "accounts": report.accounts,
                          "postings": report.postings,
                          "drift": [{"account": a, "asset": s, "cached": c, "computed": p}
                                    for a, s, c, p in report.drift],
                          "asset_totals": report.asset_totals,
                          "negative": [{"account": a, "asset": s, "balance": b}
                                       for a, s, b in report.negative]}))
    elif report.ok:
        console.print(f"[green]ledger verified[/]: {report.accounts} accounts, "
                      f"{report.postings} postings; every balance matches its postings and "
                      "every asset sums to zero")
    else:
        _print_problems(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_problems(report: queries.Verification) -> None:
    if report.drift:
        table = Table("account", "asset", "cached balance", "from postings", "difference",
                      title="balances that disagree with their postings")
        for account, asset, cached, computed in report.drift:
            table.add_row(account, asset, str(cached), str(computed), str(cached - computed))
        err_console.print(table)
    for asset, total in report.asset_totals.items():
        err_console.print(f"[red]{asset} does not sum to zero:[/] {total}")
    for account, asset, balance in report.negative:
        err_console.print(f"[red]{account} is below zero:[/] {balance} {asset}")
    err_console.print("[bold red]ledger verification failed[/]")


@app.command("statement")
@handle_errors
def statement(address: str = typer.Argument(..., help="e.g. member:42:wallet:principal"),
              asset: str = typer.Option("CNY", help="CNY (fen) or POINTS"),
              limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """An account's movements, newest first, with the balance after each."""
    db = open_db()
    with uow(db, readonly=True) as work:
        lines = queries.statement(work.session, address, asset, limit=limit)
    table = Table("entry", "at (UTC)", "kind", "reference", "amount", "balance after",
                  "counterparty", "reason")
    for line in lines:
        table.add_row(str(line.entry_id), f"{line.at:%Y-%m-%d %H:%M:%S}", line.kind,
                      line.reference or "", f"{line.amount:+d}", str(line.balance_after),
                      line.counterparty, line.reason or "")
    console.print(table)


@app.command("liabilities")
@handle_errors
def liabilities(as_json: bool = typer.Option(False, "--json")) -> None:
    """What the programme owes: points by expiry month and stored value (principal, bonus)."""
    db = open_db()
    with uow(db, readonly=True) as work:
        points = points_queries.liability(work.session, settings().tz).as_dict()
        stored = wallet_queries.liability(work.session)
    if as_json:
        print(json.dumps({"points": points, "stored_value": stored}))
        return
    table = Table("expires in", "points", title="outstanding points (available)")
    for row in points["by_expiry_month"]:
        table.add_row(row["month"], f"{row['points']:,}")
    table.add_row("[b]total[/]", f"[b]{points['available']:,}[/]")
    console.print(table)
    console.print(f"pending (return window): {points['pending']:,} points")
    money = Table("stored value", "amount", title="outstanding stored value")
    for key in ("principal", "bonus", "total"):
        money.add_row(key, f"¥{stored[key] / 100:,.2f}")
    console.print(money)
    console.print(f"wallets holding value: {stored['wallets']:,}")
