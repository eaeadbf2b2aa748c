"""The console under NiceGUI's simulated user: the real pages, sessions and database, with
the browser replaced by NiceGUI's test client (tests/console/test_browser.py uses a real
Chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nicegui import Client, background_tasks, core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing import User
from nicegui.testing import general as nicegui_testing

from memberops import console
from memberops.access import service as access_service
from memberops.api.deps import build_services
from memberops.clock import FixedClock
from memberops.config import Settings
from memberops.db import Database
from memberops.uow import UnitOfWork

PASSWORD = "correct horse battery"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class PatientUser(User):
    """NiceGUI's simulated user, waiting up to 5 s (not 0.3) for what should appear: an
    action's work runs in a worker thread, and on a loaded machine (CI beside a benchmark,
    PostgreSQL) a refund took longer than NiceGUI's default three tries."""

    async def should_see(self, target: Any = None, *, kind: Any = None,  # type: ignore[override]
                         marker: str | list[str] | None = None,
                         content: str | list[str] | None = None, retries: int = 50) -> None:
        await super().should_see(target, kind=kind, marker=marker, content=content,
                                 retries=retries)


@dataclass
class Console:
    """A simulated browser on the console, and the means to set the scene."""

    user: User
    db: Database
    clock: FixedClock
    make_uow: Callable[..., UnitOfWork]

    def operator(self, role: str, *, language: str = "en", username: str | None = None,
                 ) -> str:
        """An operator account of `role` (made once); its username."""
        username = username or f"{role}-op"
        with self.make_uow() as uow:
            known = {o.username for o in access_service.list_operators(uow.session)}
            if username not in known:
                access_service.create_operator(uow, username=username, password=PASSWORD,
                                               role=role, language=language,
                                               display_name=f"{role.title()} Op")
        return username

    async def sign_in(self, role: str = "admin", *, language: str = "en", then: str = "/",
                      wait_for: str | None = None) -> None:
        """Sign in through the sign-in page as an operator of `role` (made once), which then
        opens `then`; with `wait_for`, until the element of that marker is on the page."""
        username = self.operator(role, language=language)
        await self.user.open(f"/signin?lang=en&next={then}")
        self.user.find(marker="username").type(username)
        self.user.find(marker="password").type(PASSWORD)
        self.user.find(marker="submit").click()
        # Argon2 and the navigation take a moment on a busy machine.
        await self.user.should_see(marker="signout", retries=100)
        if wait_for is not None:
            await self.user.should_see(marker=wait_for, retries=100)


@contextlib.contextmanager
def _reset_globals() -> Iterator[None]:
    """NiceGUI's own reset of its process-wide state between tests, without its two full
    garbage collections (0.2–0.4 s each in a process this size; every object they would
    find is dropped by the reset itself) and without unloading our page modules."""
    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        with nicegui_testing.nicegui_reset_globals():
            gc.collect = collect
            yield
            Client.page_routes.clear()  # keeps our modules imported (see the reset's end)
            gc.collect = lambda generation=2: 0
    finally:
        gc.collect = collect


# NiceGUI's loops that live as long as a client does; everything else a page starts is
# work that ends (an action's handler, the cards it reads again, the insight's read).
_CLIENT_LOOPS = ("outbox loop",)


async def _settle(started: set[asyncio.Task], seconds: float = 10.0) -> None:
    """Let the pages' work still in flight when a test ends finish before the app stops.
    A test ends once it has seen what it checks, while the action that showed it may still
    be reading its cards again; stopping the app cancels that, and a card's refresh
    cancelled before it began leaves its coroutine never awaited (a RuntimeWarning at some
    later test's garbage collection). An operator's open page would have finished it."""
    pending = {task for task in background_tasks.running_tasks - started
               if not task.get_name().startswith(_CLIENT_LOOPS)}
    if pending:
        await asyncio.wait(pending, timeout=seconds)


@pytest.fixture
async def console_app(db: Database, clock: FixedClock, tmp_path: Path,
                      make_uow: Callable[..., UnitOfWork],
                      request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    """The console's pages on a fresh database, with a simulated browser. The server's
    keeper of the dashboard's opening board runs only where a test marks itself
    `keeps_dashboard_ready` (the others set their scene after the start)."""
    services = build_services(Settings(database_url=db.url), db, clock)
    keep = request.node.get_closest_marker("keeps_dashboard_ready") is not None
    with _reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            console.mount(FastAPI(), services, state_dir=tmp_path / "console-state",
                          keep_dashboard_ready=keep)
            async with core.app.router.lifespan_context(core.app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app), base_url="http://test") as client:
                started = set(background_tasks.running_tasks)
                yield Console(PatientUser(client), db, clock, make_uow)
                await _settle(started)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download
