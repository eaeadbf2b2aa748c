"""The FastAPI application: /api/v1 with its docs, errors, auth and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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


def _check_permission_table(app: FastAPI) -> None:
    # The OpenAPI document is FastAPI's public list of every route and method.
    routes = {(method.upper(), path) for path, ops in app.openapi()["paths"].items()
              for method in ops if path.startswith(API_PREFIX)}
    missing = routes - set(ROUTE_PERMISSIONS)
    stale = set(ROUTE_PERMISSIONS) - routes
    if missing or stale:
        raise RuntimeError(f"permission table out of step: missing {sorted(missing)}, "
                           f"stale {sorted(stale)}")


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
