"""The FastAPI application: /api/v1 with its docs, errors, auth and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute

from memberops import __version__
from memberops.api import errors
from memberops.api.deps import build_services
from memberops.api.middleware import RequestContextMiddleware
from memberops.api.permissions import API_PREFIX, ROUTE_PERMISSIONS
from memberops.api.routes import (
    access,
    audit,
    coupons,
    crosssell,
    health,
    insight,
    member_files,
    members,
    orders,
    plus,
    points,
    programme,
    reports,
    segments,
    tiers,
    wallet,
)
from memberops.clock import Clock, SystemClock
from memberops.config import Settings, get_settings
from memberops.db import Database
from memberops.migrate import require_current

UPLOAD_PATHS = (f"{API_PREFIX}/members/import",)


def public_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) of the API that its OpenAPI document lists, read from the
    routes as the document's builder reads them (`iter_route_contexts` walks the included
    routers). Not from the document itself: building it takes a second."""
    found = set()
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema \
                and (path := context.path_format or "").startswith(API_PREFIX):
            found |= {(method.upper(), path) for method in context.methods or ()}
    return found


_TABLE_CHECKED = False


def _check_permission_table(app: FastAPI) -> None:
    """Refuse to start when a route has no permission or the table names a route that is
    gone. Once per process: every app built here has the same routes, and walking them
    makes FastAPI prepare every route (0.4 s; the test suite builds an app per test)."""
    global _TABLE_CHECKED
    if _TABLE_CHECKED:
        return
    routes = public_routes(app)
    missing = routes - set(ROUTE_PERMISSIONS)
    stale = set(ROUTE_PERMISSIONS) - routes
    if missing or stale:
        raise RuntimeError(f"permission table out of step: missing {sorted(missing)}, "
                           f"stale {sorted(stale)}")
    _TABLE_CHECKED = True


def create_app(settings: Settings | None = None, *, db: Database | None = None,
               clock: Clock | None = None, check_schema: bool = True) -> FastAPI:
    """Build the app; refuses to start on a database that is not at the code's schema."""
    settings = settings or get_settings()
    db = db or Database(settings.database_url)
    clock = clock or SystemClock(tz=settings.tz)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if check_schema:
            require_current(db.url)
        yield

    app = FastAPI(
        title="memberops API", version=__version__, lifespan=lifespan,
        description="Membership operations: members, access and audit (see API.md).",
        docs_url="/docs", openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.services = build_services(settings, db, clock)
    errors.install(app)
    for module in (health, member_files, members, access, audit, programme, wallet, points,
                   coupons, reports, plus, tiers, orders, crosssell, insight, segments):
        app.include_router(module.router)
    app.add_middleware(RequestContextMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes, upload_paths=UPLOAD_PATHS)
    _check_permission_table(app)
    return app
