"""`memberops db …`: migrations."""

from __future__ import annotations

import typer

from memberops import migrate
from memberops.cli.common import console, handle_errors, settings

app = typer.Typer(help="Database schema: create, migrate, inspect.", no_args_is_help=True)


@app.command("upgrade")
@handle_errors
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create or migrate the database named by MEMBEROPS_DATABASE_URL."""
    url = settings().database_url
    migrate.upgrade(url, revision)
    shown = migrate.head_revision() if revision == "head" else revision
    console.print(f"database at revision [bold]{shown}[/]")


@app.command("current")
@handle_errors
def current() -> None:
    """Show the database's revision and whether it matches this code."""
    url = settings().database_url
    problem = migrate.schema_problem(url)
    console.print(problem or f"up to date (revision {migrate.head_revision()})")
    if problem:
        raise typer.Exit(3)
