"""`memberops apikey …` and `memberops operator …`."""

from __future__ import annotations

import typer
from rich.table import Table

from memberops.access import service
from memberops.cli.common import console, fail, handle_errors, open_db, uow

apikey_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
operator_app = typer.Typer(help="Console operator accounts.", no_args_is_help=True)


@apikey_app.command("create")
@handle_errors
def create_key(role: str = typer.Option(..., help="admin, operator, analyst, finance or till"),
               name: str = typer.Option("", help="what the key is for")) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    db = open_db()
    with uow(db) as work:
        issued = service.create_api_key(work, role=role, name=name or f"{role} key")
        key_id = issued.key.id
    console.print(f"created API key {key_id} ({role}); store it now, it is not shown again:")
    print(issued.secret)


@apikey_app.command("list")
@handle_errors
def list_keys() -> None:
    """List keys (never their secrets)."""
    db = open_db()
    with uow(db, readonly=True) as work:
        table = Table("id", "name", "prefix", "role", "created", "last used", "revoked")
        for k in service.list_api_keys(work.session):
            table.add_row(str(k.id), k.name, k.prefix + "…", k.role,
                          f"{k.created_at:%Y-%m-%d %H:%M}",
                          f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                          f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    console.print(table)


@apikey_app.command("revoke")
@handle_errors
def revoke_key(key_id: int = typer.Argument(..., help="id from `apikey list`"),
               yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Revoke a key at once; clients using it get 401 from then on."""
    if not yes and not typer.confirm(f"Revoke API key {key_id}? Clients using it will stop"):
        raise fail("not revoked")
    db = open_db()
    with uow(db) as work:
        service.revoke_api_key(work, key_id)
    console.print(f"API key {key_id} revoked")


@operator_app.command("create")
@handle_errors
def create_operator(
    username: str = typer.Option(..., help="sign-in name"),
    role: str = typer.Option(..., help="admin, operator, analyst, finance or till"),
    display_name: str = typer.Option("", help="name shown in the console"),
    language: str = typer.Option("zh-CN", help="zh-CN or en"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="MEMBEROPS_OPERATOR_PASSWORD",
                                 help="asked for when not given (min 10 characters)"),
) -> None:
    """Create a console operator account."""
    db = open_db()
    with uow(db) as work:
        operator = service.create_operator(work, username=username, password=password,
                                           role=role, display_name=display_name or None,
                                           language=language)
        console.print(f"operator {operator.username} ({operator.role}) created, id {operator.id}")


@operator_app.command("list")
@handle_errors
def list_operators() -> None:
    db = open_db()
    with uow(db, readonly=True) as work:
        table = Table("id", "username", "name", "role", "language", "active", "last sign-in")
        for o in service.list_operators(work.session):
            table.add_row(str(o.id), o.username, o.display_name, o.role, o.language,
                          "yes" if o.active else "no",
                          f"{o.last_login_at:%Y-%m-%d %H:%M}" if o.last_login_at else "never")
    console.print(table)
