"""Points (积分): balances, statements and lots; bonus actions, gift redemptions and manual
adjustments (each needs an Idempotency-Key); the gift catalogue."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.errors import ValidationFailed
from memberops.points import queries
from memberops.points import service as points_service
from memberops.points.schemas import (
    AdjustmentRead,
    AdjustmentRequest,
    BonusRead,
    BonusRequest,
    GiftCreate,
    GiftPage,
    GiftRead,
    GiftUpdate,
    LotPage,
    LotRead,
    PointsSummary,
    RedemptionRead,
    RedemptionRequest,
    StatementLineRead,
    StatementPage,
)
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["points"], dependencies=[Depends(authorize)])
MemberId = Annotated[int, Path(gt=0, description="member id")]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
LotStatus = Literal["pending", "available", "expired", "clawed_back"]
VALUE_MOVED = {409: {"description": "Idempotency-Key reused with another body"},
               422: {"description": "refused: insufficient_balance, member_frozen, …"}}


def ledger_key(request: Request, ctx: Context, purpose: str, member_id: int) -> str:
    """A ledger key from the caller's Idempotency-Key: scoped to the caller, like the key
    itself, and hashed so any header value fits."""
    header = request.headers.get("idempotency-key", "")
    digest = hashlib.sha256(f"{ctx.actor.kind}:{ctx.actor.id}:{header}".encode()).hexdigest()
    return f"points:{purpose}:{member_id}:{digest[:32]}"


def balance(uow: UnitOfWork, member_id: int) -> PointsSummary:
    return PointsSummary.of(queries.summary(uow.session, member_id, uow.clock.now(),
                                            uow.clock.tz))


@router.get("/members/{member_id}/points", response_model=PointsSummary)
def points_summary(member_id: MemberId,
                   ctx: Annotated[Context, Depends(authorize)]) -> PointsSummary:
    """Available and pending points, and when the available ones expire (soonest first)."""
    with ctx.uow(readonly=True) as uow:
        return balance(uow, member_id)


@router.get("/members/{member_id}/points/statement", response_model=StatementPage)
def points_statement(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                     limit: Limit = 100, before_id: int | None = None) -> StatementPage:
    """Every movement, newest first, with its reason, reference and both balances after."""
    with ctx.uow(readonly=True) as uow:
        lines = queries.statement(uow.session, member_id, limit=limit,
                                  before_entry_id=before_id)
    return StatementPage(items=[StatementLineRead.of(ln) for ln in lines],
                         next_before_id=lines[-1].entry_id if len(lines) == limit else None)


@router.get("/members/{member_id}/points/lots", response_model=LotPage)
def points_lots(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                status: LotStatus | None = None, limit: Limit = 100,
                before_id: int | None = None) -> LotPage:
    """The member's lots, newest first: what remains of each and when it expires."""
    with ctx.uow(readonly=True) as uow:
        lots = queries.lots(uow.session, member_id, status=status, limit=limit,
                            before_id=before_id)
        return LotPage(items=[LotRead.of(lot) for lot in lots],
                       next_before_id=lots[-1].id if len(lots) == limit else None)


@router.post("/members/{member_id}/points/bonus", status_code=201, response_model=BonusRead,
             responses=VALUE_MOVED)
async def award_bonus(member_id: MemberId, body: BonusRequest, request: Request,
                      ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Award a bonus action (check_in, review, profile_completed, referral) within its
    limits; the points are available at once."""
    key = ledger_key(request, ctx, "bonus", member_id)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        lot = points_service.award_bonus(uow, member_id=member_id, action=body.action,
                                         reference=body.reference, key=key)
        return 201, BonusRead(action=body.action, points=lot.original, lot=LotRead.of(lot),
                              balance=balance(uow, member_id)).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/members/{member_id}/points/redemptions", status_code=201,
             response_model=RedemptionRead, responses=VALUE_MOVED)
async def redeem_gift(member_id: MemberId, body: RedemptionRequest, request: Request,
                      ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Redeem a gift for points; the stock is never oversold, `redemption_ref` is unique."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        # The ledger key comes from the business reference: one redemption per reference.
        redemption = points_service.redeem_gift(
            uow, member_id=member_id, sku=body.sku, quantity=body.quantity,
            redemption_ref=body.redemption_ref, key=f"points:redeem:{body.redemption_ref}")
        return 201, RedemptionRead.of(redemption, balance(uow, member_id)).model_dump(
            mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/members/{member_id}/points/adjustments", status_code=201,
             response_model=AdjustmentRead, responses=VALUE_MOVED)
async def adjust_points(member_id: MemberId, body: AdjustmentRequest, request: Request,
                        ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Add or take away points by hand, with a reason (admin only)."""
    key = ledger_key(request, ctx, "adjust", member_id)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        done = points_service.adjust(uow, member_id=member_id, points=body.points,
                                     reason=body.reason, key=key)
        return 201, AdjustmentRead(member_id=member_id, points=done.points, reason=done.reason,
                                   entry_id=done.entry_id, lot_id=done.lot_id,
                                   balance=balance(uow, member_id)).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


# --- gift catalogue -------------------------------------------------------------------

def _encode_cursor(sku: str) -> str:
    return base64.urlsafe_b64encode(sku.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        sku = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sku = ""
    if not sku:
        raise ValidationFailed("invalid cursor; start again without it", code="invalid_cursor")
    return sku


@router.get("/gifts", response_model=GiftPage)
def list_gifts(ctx: Annotated[Context, Depends(authorize)], active: bool | None = None,
               limit: Limit = 100, cursor: str | None = None) -> GiftPage:
    """The gift catalogue in sku order."""
    after = _decode_cursor(cursor) if cursor else None
    with ctx.uow(readonly=True) as uow:
        items = queries.gifts(uow.session, active=active, limit=limit, after_sku=after)
        return GiftPage(items=[GiftRead.of(i) for i in items],
                        next_cursor=_encode_cursor(items[-1].sku) if len(items) == limit
                        else None)


@router.post("/gifts", status_code=201, response_model=GiftRead,
             responses={409: {"description": "sku already exists (gift_exists)"}})
async def create_gift(body: GiftCreate, request: Request,
                      ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Add a gift to the catalogue."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        item = points_service.create_gift(uow, **body.model_dump())
        return 201, GiftRead.of(item).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=False)


@router.patch("/gifts/{sku}", response_model=GiftRead)
def update_gift(sku: str, body: GiftUpdate,
                ctx: Annotated[Context, Depends(authorize)]) -> GiftRead:
    """Change a gift's name, price, stock on hand or whether it is offered."""
    with ctx.uow() as uow:
        item = points_service.update_gift(uow, sku, **body.model_dump(exclude_unset=True))
        return GiftRead.of(item)
