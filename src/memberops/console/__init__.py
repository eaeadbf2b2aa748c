"""The operators' console (NiceGUI), served at /console beside the API.

One module per area; each has `register()`, which declares its pages. `mount` registers
them all and mounts NiceGUI's app on the API's FastAPI app. NiceGUI keeps each open
page's state in the server process, so the console is served by a single process
(`memberops serve --workers 1`, the default).
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import ui
from nicegui.storage import Storage

from memberops.api.deps import Services
from memberops.console import state

MOUNT_PATH = "/console"


def register_pages(services: Services) -> None:
    """Declare every console page (also what the console tests do)."""
    from memberops.console import (
        audit_log,
        dashboard,
        member,
        members,
        programme,
        review,
        segments,
        signin,
    )

    state.set_services(services)
    for module in (signin, dashboard, members, member, segments, programme, review, audit_log):
        module.register()


def mount(app: FastAPI, services: Services, *, state_dir: Path | None = None,
          keep_dashboard_ready: bool = True) -> None:
    """Serve the console at /console on `app` (the API's app). While it runs, the board
    the dashboard opens with is kept computed (unless not `keep_dashboard_ready`: tests
    that set their scene after the start)."""
    directory = state_dir or Path(services.settings.console_state_dir)
    Storage.path = directory.expanduser().resolve()
    nicegui_app.storage = Storage()  # picks up the path above
    register_pages(services)
    if keep_dashboard_ready:
        _keep_the_dashboard_ready(services)

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse(MOUNT_PATH + "/")

    @app.get(MOUNT_PATH, include_in_schema=False)
    def _console() -> RedirectResponse:
        return RedirectResponse(MOUNT_PATH + "/")

    secret = services.settings.console_secret or secrets.token_urlsafe(32)
    ui.run_with(app, mount_path=MOUNT_PATH, title="memberops", storage_secret=secret,
                show_welcome_message=False, favicon="💳")


def _keep_the_dashboard_ready(services: Services) -> None:
    """While the server runs, the board the dashboard opens with is kept computed."""
    from memberops.console import dashboard

    stops: list[threading.Event] = []

    def start() -> None:
        stops.append(dashboard.keep_opening_board(services))

    def stop() -> None:
        for event in stops:
            event.set()

    nicegui_app.on_startup(start)
    nicegui_app.on_shutdown(stop)
