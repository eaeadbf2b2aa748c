"""`memberops audit tail`: the newest audit entries, optionally following new ones."""

from __future__ import annotations

import json
import time

import typer
from rich.table import Table

from memberops.audit import queries
from memberops.audit.models import AuditEntry
from memberops.cli.common import console, handle_errors, open_db, uow

app = typer.Typer(help="The audit log (append-only).", no_args_is_help=True)


def _changes(entry: AuditEntry) -> str:
    parts = [f"{k}: {json.dumps(v.get('before'), ensure_ascii=False)} → "
             f"{json.dumps(v.get('after'), ensure_ascii=False)}"
             for k, v in entry.changes.items() if isinstance(v, dict)]
    return "; ".join(parts)


def _table(entries: list[AuditEntry]) -> Table:
    table = Table("id", "at (UTC)", "actor")
    table.add_column("action", no_wrap=True)
    table.add_column("target", no_wrap=True)
    for name in ("changes", "reason", "request"):
        table.add_column(name, overflow="fold")
    for e in entries:
        table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", f"{e.actor_kind}:{e.actor_name}",
                      e.action, f"{e.target_type}:{e.target_id}", _changes(e), e.reason or "",
                      e.request_id or "")
    return table


@app.command("tail")
@handle_errors
def tail(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000),
    action: str | None = typer.Option(None, help="only this action, e.g. member.updated"),
    target_type: str | None = typer.Option(None, "--target-type"),
    target_id: str | None = typer.Option(None, "--target-id"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new entries"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Print the newest audit entries (oldest of them first)."""
    db = open_db()
    filters = queries.AuditFilter(action=action, target_type=target_type, target_id=target_id)
    with uow(db, readonly=True) as work:
        entries = list(reversed(queries.list_entries(work.session, filters, limit=limit)))
    _print(entries, as_json)
    last_id = entries[-1].id if entries else 0
    while follow:
        time.sleep(1.0)
        with uow(db, readonly=True) as work:
            entries = queries.list_entries(work.session, filters, limit=500, after_id=last_id)
        if entries:
            _print(entries, as_json)
            last_id = entries[-1].id


def _print(entries: list[AuditEntry], as_json: bool) -> None:
    if as_json:
        for e in entries:
            print(json.dumps({"id": e.id, "at": e.at.isoformat(), "actor": {
                "kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name,
                "role": e.actor_role}, "action": e.action,
                "target": {"type": e.target_type, "id": e.target_id}, "changes": e.changes,
                "reason": e.reason, "request_id": e.request_id}, ensure_ascii=False))
    elif entries:
        console.print(_table(entries))
