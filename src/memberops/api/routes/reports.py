"""Finance reports: what the programme owes its members, and the ledger's own check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.ledger import queries as ledger_queries
from memberops.points import queries as points_queries
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
