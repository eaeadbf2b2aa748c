"""`memberops programme …`: show, change and list versions of the programme's rules."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.syntax import Syntax
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, uow
from memberops.programme import service
from memberops.programme.schemas import KINDS

app = typer.Typer(help="The programme's rules (earning rules, recharge scheme, wallet, risk).",
                  no_args_is_help=True)
KIND_HELP = "one of " + ", ".join(sorted(KINDS))


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise fail(f"unknown configuration {kind!r}; {KIND_HELP}")
    return kind


@app.command("show")
@handle_errors
def show(kind: str = typer.Argument(..., help=KIND_HELP)) -> None:
    """Print the configuration in force as JSON."""
    db = open_db()
    with uow(db, readonly=True) as work:
        version = service.current_version(work.session, _kind(kind))
        data = service.current(work.session, KINDS[kind]).model_dump(mode="json")
    console.print(f"{kind} version {version}" + (" (reference programme)" if not version else ""))
    console.print(Syntax(json.dumps(data, indent=2, ensure_ascii=False), "json"))


@app.command("set")
@handle_errors
def set_config(kind: str = typer.Argument(..., help=KIND_HELP),
               file: Path = typer.Option(..., "--file", "-f", exists=True, dir_okay=False,
                                         help="JSON with the whole configuration"),
               note: str = typer.Option("", help="why it changes (kept with the version)")) -> None:
    """Validate and store a new version from a JSON file; it is in force at once."""
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"{file} must hold a JSON object")
    db = open_db()
    with uow(db) as work:
        version = service.save(work, _kind(kind), data, note or None)
    console.print(f"{kind} version {version} saved and in force")


@app.command("history")
@handle_errors
def history(kind: str = typer.Argument(..., help=KIND_HELP)) -> None:
    """List the stored versions, newest first."""
    db = open_db()
    with uow(db, readonly=True) as work:
        versions = service.history(work.session, _kind(kind))
    table = Table("version", "saved at (UTC)", "by", "note")
    for v in versions:
        table.add_row(str(v.version), f"{v.created_at:%Y-%m-%d %H:%M}", v.created_by, v.note or "")
    console.print(table if versions else f"{kind}: no saved versions; the reference programme "
                  "is in force")
