"""Stored value (储值): recharges, the payment callback, the review queue, wallet payments,
refunds and cash-outs. Every POST that moves value needs an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.paging import id_cursor
from memberops.api.permissions import API_PREFIX
from memberops.uow import UnitOfWork
from memberops.wallet import queries, service, whatif
from memberops.wallet.schemas import (
    CashOutCreate,
    CashOutRead,
    LotList,
    LotRead,
    PaymentCallback,
    PaymentPage,
    PaymentRead,
    RechargeCreate,
    RechargePage,
    RechargeRead,
    RechargeWhatIfRead,
    RefundCreate,
    RefundRead,
    ReviewDecision,
    Statement,
    StatementLineRead,
    WalletPayCreate,
    WalletRead,
)

router = APIRouter(prefix=API_PREFIX, tags=["wallet"], dependencies=[Depends(authorize)])
MemberId = Annotated[int, Path(gt=0, description="member id")]
RechargeId = Annotated[int, Path(gt=0, description="recharge id")]
Ref = Annotated[str, Path(min_length=1, max_length=120)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Ctx = Annotated[Context, Depends(authorize)]
KEYED = {409: {"description": "reference or Idempotency-Key reused with another body"},
         422: {"description": "invalid input or a rule refused it; nothing changed"}}


def _next(items: list[Any], limit: int, attr: str = "id") -> str | None:
    return str(getattr(items[-1], attr)) if len(items) == limit else None


@router.post("/members/{member_id}/recharges", status_code=201, response_model=RechargeRead,
             responses=KEYED)
async def recharge(member_id: MemberId, body: RechargeCreate, request: Request,
                   ctx: Ctx) -> JSONResponse:
    """Recharge a wallet: settled at once when paid and passed; pending until the payment
    callback; pending_review when held; rejected by a risk rule (all 201)."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.recharge(uow, member_id=member_id, amount=body.amount,
                               payment_ref=body.payment_ref, payment=body.payment)
        return 201, RechargeRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.get("/members/{member_id}/recharges", response_model=RechargePage)
def list_recharges(member_id: MemberId, ctx: Ctx, limit: Limit = 50,
                   cursor: str | None = None) -> RechargePage:
    """A member's recharges, newest first."""
    with ctx.uow(readonly=True) as uow:
        rows = queries.recharges(uow.session, member_id, limit=limit,
                                 before_id=id_cursor(cursor))
        return RechargePage(items=[RechargeRead.of(r) for r in rows],
                            next_cursor=_next(rows, limit))


@router.get("/members/{member_id}/wallet", response_model=WalletRead)
def wallet(member_id: MemberId, ctx: Ctx) -> WalletRead:
    """The member's balances in fen: principal, bonus and their total."""
    with ctx.uow(readonly=True) as uow:
        return WalletRead(**queries.wallet(uow.session, member_id))


@router.get("/members/{member_id}/wallet/statement", response_model=Statement)
def statement(member_id: MemberId, ctx: Ctx, limit: Limit = 100,
              cursor: str | None = None) -> Statement:
    """Every wallet movement, newest first, with principal and bonus after it."""
    with ctx.uow(readonly=True) as uow:
        lines = queries.statement(uow.session, member_id, limit=limit,
                                  before_entry_id=id_cursor(cursor))
    return Statement(items=[StatementLineRead.of(x) for x in lines],
                     next_cursor=_next(lines, limit, "entry_id"))


@router.get("/members/{member_id}/wallet/lots", response_model=LotList)
def wallet_lots(member_id: MemberId, ctx: Ctx,
                include_empty: Annotated[bool, Query(description="spent lots too")] = False,
                ) -> LotList:
    """The member's principal and bonus lots, oldest first (the order they are spent)."""
    with ctx.uow(readonly=True) as uow:
        queries.wallet(uow.session, member_id)  # 404 for an unknown member
        rows = queries.lots(uow.session, member_id, include_empty=include_empty)
        return LotList(items=[LotRead.of(r) for r in rows])


@router.get("/members/{member_id}/wallet/payments", response_model=PaymentPage)
def list_payments(member_id: MemberId, ctx: Ctx, limit: Limit = 50,
                  cursor: str | None = None) -> PaymentPage:
    """A member's wallet payments, newest first, with what was refunded of each."""
    with ctx.uow(readonly=True) as uow:
        rows = queries.payments(uow.session, member_id, limit=limit,
                                before_id=id_cursor(cursor))
        return PaymentPage(items=[PaymentRead.of(r) for r in rows],
                           next_cursor=_next(rows, limit))


@router.post("/payments/{payment_ref}/callback", response_model=RechargeRead, responses=KEYED)
async def payment_callback(payment_ref: Ref, body: PaymentCallback, request: Request,
                           ctx: Ctx) -> JSONResponse:
    """The payment gateway confirms or fails a recharge's payment; repeats are no-ops."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.confirm_payment(uow, payment_ref=payment_ref, outcome=body.outcome)
        return 200, RechargeRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.get("/recharges/review", response_model=RechargePage)
def review_queue(ctx: Ctx, limit: Limit = 100, cursor: str | None = None) -> RechargePage:
    """Recharges held for review, oldest first."""
    with ctx.uow(readonly=True) as uow:
        rows = queries.review_queue(uow.session, limit=limit, after_id=id_cursor(cursor))
        return RechargePage(items=[RechargeRead.of(r) for r in rows],
                            next_cursor=_next(rows, limit))


@router.post("/recharges/what-if", response_model=RechargeWhatIfRead)
def recharge_what_if(ctx: Ctx, proposed: Annotated[dict[str, Any], Body(
        description="a whole recharge scheme, as `PUT /programme/recharge_scheme` takes it")],
                     ) -> RechargeWhatIfRead:
    """Replay the recharges settled in the last 12 months under a proposed scheme: the bonus
    cost before and after, and the recharges and members it changes. Nothing is changed."""
    with ctx.uow(readonly=True) as uow:
        return RechargeWhatIfRead.of(whatif.what_if(uow.session, proposed, now=uow.clock.now(),
                                                    tz=uow.clock.tz))


@router.post("/recharges/{recharge_id}/approve", response_model=RechargeRead, responses=KEYED)
async def approve(recharge_id: RechargeId, body: ReviewDecision, request: Request,
                  ctx: Ctx) -> JSONResponse:
    """Approve a held recharge (finance or admin): credited now if paid."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.approve(uow, recharge_id, body.reason)
        return 200, RechargeRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/recharges/{recharge_id}/reject", response_model=RechargeRead, responses=KEYED)
async def reject(recharge_id: RechargeId, body: ReviewDecision, request: Request,
                 ctx: Ctx) -> JSONResponse:
    """Reject a held recharge (finance or admin): nothing is credited."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.reject(uow, recharge_id, body.reason)
        return 200, RechargeRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/members/{member_id}/wallet/payments", status_code=201,
             response_model=PaymentRead, responses=KEYED)
async def pay(member_id: MemberId, body: WalletPayCreate, request: Request,
              ctx: Ctx) -> JSONResponse:
    """Pay from the wallet: principal and bonus in proportion, then 1% cashback as bonus."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.pay(uow, member_id=member_id, amount=body.amount,
                          payment_ref=body.payment_ref, reference=body.reference)
        return 201, PaymentRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/wallet/payments/{payment_ref}/refunds", status_code=201,
             response_model=RefundRead, responses=KEYED)
async def refund(payment_ref: Ref, body: RefundCreate, request: Request,
                 ctx: Ctx) -> JSONResponse:
    """Refund part or all of a wallet payment to where it came from, cashback taken back."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.refund_payment(uow, payment_ref=payment_ref, refund_ref=body.refund_ref,
                                     amount=body.amount)
        return 201, RefundRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/members/{member_id}/wallet/cash-out", status_code=201,
             response_model=CashOutRead, responses=KEYED)
async def cash_out(member_id: MemberId, body: CashOutCreate, request: Request,
                   ctx: Ctx) -> JSONResponse:
    """Cash the wallet out: principal refunded, bonus forfeited (the member stays open)."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.cash_out(uow, member_id=member_id, cash_out_ref=body.cash_out_ref,
                               reason=body.reason)
        return 201, CashOutRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)
