"""Schema migrations with Alembic, and the start-up check that the schema matches the code."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine

from memberops.errors import SchemaOutOfDate

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic narrates every step at INFO; operators need only warnings and our one-line result.
logging.getLogger("alembic").setLevel(logging.WARNING)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the database at `url` to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migrations found"
    return head


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_problem(url: str) -> str | None:
    """None when the database is at the code's head; otherwise what to do, in one line."""
    engine = create_engine(url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "the database is not migrated: run `memberops db upgrade`"
    if current not in known_revisions():
        return (f"the database schema ({current}) is newer than this memberops (head {head}): "
                "upgrade memberops, or point MEMBEROPS_DATABASE_URL at another database")
    return (f"the database schema ({current}) is behind this memberops (head {head}): "
            "run `memberops db upgrade`")


def require_current(url: str) -> None:
    problem = schema_problem(url)
    if problem:
        raise SchemaOutOfDate(problem)
