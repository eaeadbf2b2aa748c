"""`memberops serve`: the API, its docs and the operators' console."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from memberops import logs
from memberops.cli.common import handle_errors, settings
from memberops.migrate import require_current

# The web stack (FastAPI, the API's routes with the analytics they serve, NiceGUI, uvicorn)
# is imported by the functions that serve, not here: this module is imported by every
# `memberops` command, and those imports took 2.5 of the CLI's 3.5 s start-up.
if TYPE_CHECKING:
    from fastapi import FastAPI


def served_app() -> FastAPI:
    """The app as each server process builds it (uvicorn's factory for --workers)."""
    from memberops.api.app import create_app

    cfg = settings()
    logs.configure(cfg.log_level, cfg.log_format)
    return create_app(cfg)


def app_with_console() -> FastAPI:
    """The API with the console at /console: one server process (see memberops.console)."""
    from memberops import console
    from memberops.api.app import create_app

    cfg = settings()
    app = create_app(cfg)
    console.mount(app, app.state.services)
    return app


def run_server(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    cfg = settings()
    logs.configure(cfg.log_level, cfg.log_format)
    require_current(cfg.database_url)
    if workers == 1:
        uvicorn.run(app_with_console(), host=host, port=port, log_config=None,
                    access_log=False)
    else:
        # Several processes: each has its own pool and its own rate-limit counters. The
        # console keeps each open page in the process that served it, so it is left out.
        uvicorn.run("memberops.cli.serve:served_app", factory=True, workers=workers,
                    host=host, port=port, log_config=None, access_log=False)


@handle_errors
def serve(host: str = typer.Option("127.0.0.1", help="address to listen on"),
          port: int = typer.Option(8000, min=1, max=65535),
          workers: int = typer.Option(
              1, min=1, max=64, help="server processes (the console is served with 1)"),
          ) -> None:
    """Serve the API (/api/v1), its docs (/docs) and the console (/console, one process);
    refuses an unmigrated database."""
    run_server(host, port, workers)
