"""Paid membership (PLUS, 付费会员): buy or renew, a member's subscription, cancel under the
7-day rule, members by plan status, and refunds for finance. Value-moving POSTs need an
Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.plus import queries, service
from memberops.plus.models import PlusSubscription
from memberops.plus.schemas import (
    CancellationRead,
    PeriodRead,
    PlusBuy,
    PlusCancel,
    PurchaseRead,
    RefundPage,
    RefundSettle,
    SubscriptionPage,
    SubscriptionRead,
)
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["plus"], dependencies=[Depends(authorize)])
MemberId = Annotated[int, Path(gt=0, description="member id")]
Ref = Annotated[str, Path(min_length=1, max_length=120)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Ctx = Annotated[Context, Depends(authorize)]
KEYED = {409: {"description": "reference or Idempotency-Key reused with another body, or "
                              "nothing to cancel"},
         422: {"description": "invalid input or a rule refused it; nothing changed"}}


def _read(uow: UnitOfWork, sub: PlusSubscription, *, history: bool = True) -> SubscriptionRead:
    now = uow.clock.now()
    return SubscriptionRead.of(
        sub, now, preview=queries.cancel_preview(uow.session, sub, now, uow.clock.tz),
        periods=queries.periods(uow.session, sub.member_id) if history else None)


@router.get("/members/{member_id}/plus", response_model=SubscriptionRead,
            responses={404: {"description": "member_not_found or plus_not_found"}})
def get_subscription(member_id: MemberId, ctx: Ctx) -> SubscriptionRead:
    """The member's paid membership: status, end date, whether it is in force, what
    cancelling now would refund, and every period bought (newest first)."""
    with ctx.uow(readonly=True) as uow:
        return _read(uow, queries.subscription(uow.session, member_id))


@router.post("/members/{member_id}/plus", status_code=201, response_model=PurchaseRead,
             responses=KEYED)
async def buy(member_id: MemberId, body: PlusBuy, request: Request, ctx: Ctx) -> JSONResponse:
    """Buy or renew a plan: paid from the wallet now, or outside (external, the reference
    recorded for finance). A renewal extends from the current end date while in force."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        done = service.buy(uow, member_id=member_id, plan=body.plan, payment=body.payment,
                           payment_ref=body.payment_ref, amount=body.amount)
        answer = PurchaseRead(purchase=PeriodRead.of(done.period),
                              subscription=_read(uow, done.subscription, history=False))
        return 201, answer.model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/members/{member_id}/plus/cancel", response_model=CancellationRead,
             responses={**KEYED, 404: {"description": "member_not_found or plus_not_found"}})
async def cancel(member_id: MemberId, body: PlusCancel, request: Request,
                 ctx: Ctx) -> JSONResponse:
    """Cancel: within the plan's days (7) of the latest purchase and unused, a full refund
    (to the wallet, or due to the member for external payments) and the membership ends;
    otherwise no refund and the benefits run to the end date."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        done = service.cancel(uow, member_id=member_id, reason=body.reason)
        answer = CancellationRead(refund=done.terms.refund, refund_status=done.refund_status,
                                  refund_ref=done.period.refund_ref, why=done.terms.why,
                                  subscription=_read(uow, done.subscription, history=False))
        return 200, answer.model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)


@router.get("/plus/members", response_model=SubscriptionPage)
def list_members(
    ctx: Ctx,
    status: Annotated[str | None, Query(description="active | cancelled | expired")] = None,
    plan: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 50, cursor: str | None = None,
    sort: Annotated[str, Query(description="one of " + ", ".join(queries.SORTS))] = "-id",
) -> SubscriptionPage:
    """Paid memberships by status and plan, newest first unless sorted by ends_at."""
    with ctx.uow(readonly=True) as uow:
        page = queries.search(uow.session, status=status, plan=plan, limit=limit,
                              cursor=cursor, sort=sort)
        now = uow.clock.now()
        return SubscriptionPage(items=[SubscriptionRead.of(s, now) for s in page.items],
                                next_cursor=page.next_cursor)


@router.get("/plus/refunds", response_model=RefundPage)
def list_refunds(
    ctx: Ctx, status: Annotated[str | None, Query(description="due | refunded")] = None,
    limit: Limit = 50, cursor: str | None = None,
) -> RefundPage:
    """Cancelled periods with a refund, newest first: `due` ones are owed to members who
    paid outside the programme; `refunded` ones went back to the wallet or were paid out."""
    with ctx.uow(readonly=True) as uow:
        page = queries.refunds(uow.session, status=status, limit=limit, cursor=cursor)
        return RefundPage(items=[PeriodRead.of(p) for p in page.items],
                          next_cursor=page.next_cursor)


@router.post("/plus/refunds/{refund_ref}/settle", response_model=PeriodRead, responses=KEYED)
async def settle_refund(refund_ref: Ref, body: RefundSettle, request: Request,
                        ctx: Ctx) -> JSONResponse:
    """Record that a refund due on an external payment was paid out (finance)."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        row = service.settle_refund(uow, refund_ref=refund_ref,
                                    settlement_ref=body.settlement_ref)
        return 200, PeriodRead.of(row).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=True)
