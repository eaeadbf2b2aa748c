"""`memberops members show|freeze|unfreeze|close`: look a member up and change their status."""

from __future__ import annotations

import typer
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, uow
from memberops.members import queries, service


def _confirmed(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question):
        raise fail("nothing changed")


def show(member_id: int = typer.Argument(..., min=1)) -> None:
    """A member's profile, status and most recent activity."""
    db = open_db()
    with uow(db, readonly=True) as work:
        member = queries.get(work.session, member_id)
        events = queries.timeline(work.session, member_id, limit=10)
    table = Table(show_header=False)
    for label, value in (("id", member.id), ("phone", member.phone), ("name", member.name),
                         ("tier", member.tier), ("status", member.status),
                         ("status reason", member.status_reason), ("channel", member.channel),
                         ("region", " ".join(filter(None, (member.province, member.city)))),
                         ("tags", ", ".join(member.tag_names)),
                         ("joined", f"{member.joined_at:%Y-%m-%d %H:%M} UTC")):
        table.add_row(label, "" if value is None else str(value))
    console.print(table)
    for event in events:
        console.print(f"{event.at:%Y-%m-%d %H:%M}  {event.summary}  [dim]{event.actor}[/]",
                      highlight=False)


def _change(member_id: int, status: str, reason: str) -> None:
    db = open_db()
    with uow(db) as work:
        member = service.change_status(work, member_id, status, reason)
        console.print(f"member {member.id} is now {member.status}")


def freeze(member_id: int = typer.Argument(..., min=1),
           reason: str = typer.Option(..., help="why; kept in the audit log"),
           yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Freeze a member: no spending and no credits until unfrozen; balances stay as they are."""
    _confirmed(f"Freeze member {member_id}?", yes)
    _change(member_id, "frozen", reason)


def unfreeze(member_id: int = typer.Argument(..., min=1),
             reason: str = typer.Option(..., help="why; kept in the audit log")) -> None:
    """Make a frozen member active again."""
    _change(member_id, "active", reason)


def close(member_id: int = typer.Argument(..., min=1),
          reason: str = typer.Option(..., help="why; kept in the audit log"),
          yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Close a membership for good (cash out the wallet first)."""
    _confirmed(f"Close member {member_id}? This cannot be undone", yes)
    _change(member_id, "closed", reason)


def register(app: typer.Typer) -> None:
    for name, fn in (("show", show), ("freeze", freeze), ("unfreeze", unfreeze),
                     ("close", close)):
        app.command(name)(handle_errors(fn))
