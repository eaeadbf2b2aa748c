"""Reports: the programme's KPIs, what the programme owes its members, and the ledger's
own check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from memberops.analytics import kpis
from memberops.analytics.kpi_period import Filters, Period
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.ledger import queries as ledger_queries
from memberops.points import queries as points_queries
from memberops.programme import service as programme_service
from memberops.programme.schemas import MarketingSpend
from memberops.wallet import queries as wallet_queries

router = APIRouter(prefix=API_PREFIX, tags=["reports"], dependencies=[Depends(authorize)])


@router.get("/reports/liabilities")
def liabilities(ctx: Annotated[Context, Depends(authorize)]) -> dict[str, Any]:
    """Outstanding points by expiry month (and pending), outstanding stored value
    (principal and bonus, in fen)."""
    with ctx.uow(readonly=True) as uow:
        points = points_queries.liability(uow.session, ctx.services.clock.tz).as_dict()
        stored_value = wallet_queries.liability(uow.session)
    return {"as_of": ctx.services.clock.now().isoformat(), "points": points,
            "stored_value": stored_value}


@router.get("/ledger/verify")
def verify_ledger(ctx: Annotated[Context, Depends(authorize)]) -> dict[str, Any]:
    """Recompute every balance from the postings: `ok` is false on any drift."""
    with ctx.uow(readonly=True) as uow:
        report = ledger_queries.verify(uow.session)
    return {"ok": report.ok, "accounts": report.accounts, "postings": report.postings,
            "drift": [{"account": a, "asset": s, "cached": c, "computed": p}
                      for a, s, c, p in report.drift],
            "asset_totals": report.asset_totals,
            "negative": [{"account": a, "asset": s, "balance": b}
                         for a, s, b in report.negative]}


Filter = Annotated[str | None, Query(max_length=60)]


@router.get("/reports/kpis")
def kpi_report(ctx: Annotated[Context, Depends(authorize)],
               first: Annotated[date, Query(alias="from", description="first day")],
               last: Annotated[date, Query(alias="to", description="last day, included")],
               store: Filter = None, channel: Filter = None, region: Filter = None,
               tier: Filter = None) -> dict[str, Any]:
    """The KPIs of a date range in the programme's time zone — each with the previous
    period and the same period a year earlier (value and change) — the breakdowns and the
    monthly retention cohorts. Definitions: docs/metrics.md. Money in fen, rates as
    fractions; a change is relative, except a rate's, which is its difference."""
    period = Period(first, last)
    filters = Filters(store=store, channel=channel, region=region, tier=tier)
    with ctx.uow(readonly=True) as uow:
        spend = programme_service.current(uow.session, MarketingSpend)
    # Read straight from the store over ADBC (a sync route: this runs in the threadpool).
    report = kpis.compute_kpis(kpis.load_frames(ctx.services.db.url), period, filters,
                               time_zone=ctx.services.settings.timezone,
                               as_of=ctx.services.clock.now(), spend=spend)
    return kpis.as_json(report)
