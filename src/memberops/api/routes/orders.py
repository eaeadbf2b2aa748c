"""Orders (the checkout integration, API.md): quote without side effects, commit
atomically, refund fully or in part; list per member and per store. Commits and refunds
need an Idempotency-Key; order_ref and refund_ref are unique besides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.paging import id_cursor
from memberops.api.permissions import API_PREFIX
from memberops.orders import queries, service
from memberops.orders.schemas import (
    OrderCreate,
    OrderPage,
    OrderRead,
    RefundCreate,
    RefundRead,
)
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["orders"], dependencies=[Depends(authorize)])
Ctx = Annotated[Context, Depends(authorize)]
OrderRef = Annotated[str, Path(min_length=1, max_length=100)]
MemberId = Annotated[int, Path(gt=0, description="member id")]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
KEYED = {409: {"description": "reference or Idempotency-Key reused with another body"},
         422: {"description": "invalid input or a rule refused it; nothing changed"}}


def _page(rows: list[Any], limit: int) -> OrderPage:
    return OrderPage(items=[OrderRead.of(r) for r in rows],
                     next_cursor=str(rows[-1].id) if len(rows) == limit else None)


@router.post("/orders/quote", response_model=OrderRead, responses=KEYED)
def quote(body: OrderCreate, ctx: Ctx) -> OrderRead:
    """The order as `POST /orders` would commit it now; nothing is stored. `points_earned`
    is the estimate before the daily and monthly earning caps."""
    with ctx.uow(readonly=True) as uow:
        priced = service.quote(uow, body)
    p = priced.pricing
    return OrderRead.model_validate({
        "order_ref": body.order_ref, "member_id": body.member_id, "store": body.store,
        "channel": body.channel, "status": "quoted", "tier": priced.tier.code,
        "plus": priced.plus is not None, "total": p.subtotal,
        "discounts": {"tier": p.tier_discount, "plus": p.plus_discount,
                      "coupons": p.coupon_discount, "total": p.discounts},
        "coupons": [{"code": c.code, "kind": c.kind, "discount": c.discount,
                     "target": c.target, "gift_sku": c.gift_sku} for c in priced.coupons],
        "points_used": p.points_used, "points_value": p.points_value, "payable": p.payable,
        "wallet_paid": p.wallet_paid, "external_paid": p.external_paid,
        "points_earned": priced.points_estimate, "refunded": 0,
        "items": [{"line_no": i + 1, "sku": x.sku, "category": x.category,
                   "quantity": x.quantity, "unit_price": x.unit_price, "net": net,
                   "refunded_quantity": 0}
                  for i, (x, net) in enumerate(zip(priced.lines, p.line_nets, strict=True))]})


@router.post("/orders", status_code=201, response_model=OrderRead, responses=KEYED)
async def place(body: OrderCreate, request: Request, ctx: Ctx) -> JSONResponse:
    """Commit an order atomically: coupons redeemed, points spent, wallet paid, points
    earned (pending for the return window), tier counted. The same order_ref with the same
    content returns the first order."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        return 201, OrderRead.of(service.place(uow, body)).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.get("/orders/{order_ref}", response_model=OrderRead)
def get_order(order_ref: OrderRef, ctx: Ctx) -> OrderRead:
    with ctx.uow(readonly=True) as uow:
        return OrderRead.of(queries.get(uow.session, order_ref))


@router.get("/orders/{order_ref}/refunds", response_model=list[RefundRead])
def list_refunds(order_ref: OrderRef, ctx: Ctx) -> list[RefundRead]:
    with ctx.uow(readonly=True) as uow:
        order = queries.get(uow.session, order_ref)
        return [RefundRead.of(r, order) for r in queries.refunds(uow.session, order)]


@router.post("/orders/{order_ref}/refunds", status_code=201, response_model=RefundRead,
             responses=KEYED)
async def refund(order_ref: OrderRef, body: RefundCreate, request: Request,
                 ctx: Ctx) -> JSONResponse:
    """Refund by items or by amount; reversed pro rata over points, wallet and outside
    payment, earned points clawed back; coupons released on a full refund."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row, order = service.refund(uow, order_ref, body)
        return 201, RefundRead.of(row, order).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.get("/orders", response_model=OrderPage)
def list_orders(ctx: Ctx, store: Annotated[str | None, Query(max_length=60)] = None,
                limit: Limit = 50, cursor: str | None = None) -> OrderPage:
    """Orders newest first, optionally of one store."""
    with ctx.uow(readonly=True) as uow:
        rows = queries.orders(uow.session, store=store, limit=limit,
                              before_id=id_cursor(cursor))
        return _page(rows, limit)


@router.get("/members/{member_id}/orders", response_model=OrderPage)
def member_orders(member_id: MemberId, ctx: Ctx, limit: Limit = 50,
                  cursor: str | None = None) -> OrderPage:
    """A member's orders, newest first."""
    with ctx.uow(readonly=True) as uow:
        rows = queries.orders(uow.session, member_id=member_id, limit=limit,
                              before_id=id_cursor(cursor))
        return _page(rows, limit)
