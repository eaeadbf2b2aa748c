"""Alembic environment: migrates the URL given in the config (see memberops.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, event

from memberops import models_registry
from memberops.db import Base

models_registry.load_all()
config = context.config
target_metadata = Base.metadata


def _sqlite_fk(dbapi_connection, _record):  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_fk)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
