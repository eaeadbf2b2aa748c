"""The CLI: migrations, the schema check, API keys, operators and the audit tail."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.config import get_settings

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_serve_refuses_an_unmigrated_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEMBEROPS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = run("serve", "--port", "8999")
    assert result.exit_code == 3
    assert "not migrated: run `memberops db upgrade`" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert run("db", "current").exit_code == 3
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "up to date" in run("db", "current").output
    get_settings.cache_clear()


def test_serve_refuses_a_newer_schema(cli_env) -> None:
    engine = create_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    result = run("serve")
    assert result.exit_code == 3
    assert "newer than this memberops" in result.output


def test_apikey_create_prints_key_alone_on_last_line_and_can_be_revoked(cli_env) -> None:
    created = run("apikey", "create", "--role", "till", "--name", "store 9")
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("mo_") and " " not in key
    listed = run("apikey", "list")
    assert "store 9" in listed.output and key not in listed.output
    refused = run("apikey", "revoke", "1", input="n\n")
    assert refused.exit_code == 1 and "not revoked" in refused.output
    assert run("apikey", "revoke", "1", "--yes").exit_code == 0
    again = run("apikey", "revoke", "1", "--yes")
    assert again.exit_code == 1 and "already revoked" in again.output


def test_apikey_with_unknown_role_is_a_clear_error(cli_env) -> None:
    result = run("apikey", "create", "--role", "root")
    assert result.exit_code == 1
    assert "unknown role 'root'" in result.output


def test_operator_create_and_list(cli_env) -> None:
    made = run("operator", "create", "--username", "Ops.Lead", "--role", "operator",
               input="a very long password\na very long password\n")
    assert made.exit_code == 0, made.output
    assert "ops.lead" in run("operator", "list").output
    short = run("operator", "create", "--username", "x2", "--role", "admin",
                "--password", "short")
    assert short.exit_code == 1 and "at least 10 characters" in short.output


def test_audit_tail_shows_recent_writes(cli_env) -> None:
    run("apikey", "create", "--role", "till")
    run("operator", "create", "--username", "amy", "--role", "analyst",
        "--password", "long enough password")
    result = run("audit", "tail", "--json")
    assert result.exit_code == 0
    entries = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [e["action"] for e in entries] == ["api_key.created", "operator.created"]
    assert entries[0]["actor"]["kind"] == "cli"
    table = run("audit", "tail", "-n", "1")
    assert "operator.created" in table.output and "api_key.created" not in table.output
