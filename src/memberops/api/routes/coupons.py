"""Coupons (优惠券): templates (list, create, edit, pause, resume), issuing to one member or
a list (each needs an Idempotency-Key), a member's coupons, one coupon by code, and
validating codes against an order without side effects."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.coupons import queries
from memberops.coupons import service as coupons_service
from memberops.coupons.schemas import (
    CouponPage,
    CouponRead,
    CouponStatus,
    CouponVerdict,
    IssuedCoupon,
    IssueProblem,
    IssueRequest,
    IssueResult,
    Kind,
    TemplateCreate,
    TemplatePage,
    TemplateRead,
    TemplateStatus,
    TemplateUpdate,
    Trigger,
    ValidateRequest,
    ValidateResult,
)
from memberops.coupons.service import IssueReport
from memberops.errors import RuleViolated
from memberops.members import queries as member_queries
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["coupons"], dependencies=[Depends(authorize)])
TemplateId = Annotated[int, Path(gt=0, description="coupon template id")]
MemberId = Annotated[int, Path(gt=0, description="member id")]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
TemplateSort = Literal["-id", "id", "code", "-code"]
MemberCouponStatus = CouponStatus | Literal["usable"]
ISSUE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "budget used up (coupon_budget_exhausted), Idempotency-Key reused"},
    422: {"description": "refused: coupon_template_paused, coupon_tier_ineligible, "
                         "coupon_limit_reached, member_frozen, …"}}
CSV_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}}


class PauseRequest(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


def _result(report: IssueReport) -> dict[str, Any]:
    return IssueResult(
        template_id=report.template_id, batch_ref=report.batch_ref,
        requested=report.requested, issued=len(report.issued), refused=len(report.errors),
        coupons=[IssuedCoupon(line=i.line, member_id=i.member_id, code=i.code)
                 for i in report.issued],
        errors=[IssueProblem(line=e.line, member=e.member, reason=e.reason, detail=e.detail)
                for e in report.errors]).model_dump(mode="json")


# --- templates ------------------------------------------------------------------------

@router.get("/coupon-templates", response_model=TemplatePage)
def list_templates(ctx: Annotated[Context, Depends(authorize)],
                   status: TemplateStatus | None = None, kind: Kind | None = None,
                   trigger: Trigger | None = None, limit: Limit = 100,
                   cursor: str | None = None, sort: TemplateSort = "-id") -> TemplatePage:
    """Coupon templates, newest first unless `sort` says otherwise."""
    with ctx.uow(readonly=True) as uow:
        page = queries.templates(uow.session, status=status, kind=kind, trigger=trigger,
                                 limit=limit, cursor=cursor, sort=sort)
        return TemplatePage(items=[TemplateRead.of(t) for t in page.items],
                            next_cursor=page.next_cursor)


@router.post("/coupon-templates", status_code=201, response_model=TemplateRead,
             responses={409: {"description": "code already used (coupon_template_exists)"}})
async def create_template(body: TemplateCreate, request: Request,
                          ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Create a template: kind and discount, threshold, validity, budget, per-member limit,
    stacking, eligible tiers, automatic trigger."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        template = coupons_service.create_template(uow, body)
        return 201, TemplateRead.of(template).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=False)


@router.get("/coupon-templates/{template_id}", response_model=TemplateRead)
def get_template(template_id: TemplateId,
                 ctx: Annotated[Context, Depends(authorize)]) -> TemplateRead:
    """A template with how its coupons stand (issued, outstanding, used, expired)."""
    with ctx.uow(readonly=True) as uow:
        template = queries.template(uow.session, template_id)
        return TemplateRead.of(template, queries.template_counts(uow.session, template_id,
                                                                 uow.clock.now()))


@router.patch("/coupon-templates/{template_id}", response_model=TemplateRead,
              responses={409: {"description": "terms of a template in use "
                                              "(coupon_template_in_use)"}})
def update_template(template_id: TemplateId, body: TemplateUpdate,
                    ctx: Annotated[Context, Depends(authorize)]) -> TemplateRead:
    """Change a template; only the fields sent change (null clears an optional one)."""
    with ctx.uow() as uow:
        return TemplateRead.of(coupons_service.update_template(uow, template_id, body))


@router.post("/coupon-templates/{template_id}/pause", response_model=TemplateRead)
def pause_template(template_id: TemplateId, ctx: Annotated[Context, Depends(authorize)],
                   body: PauseRequest | None = None) -> TemplateRead:
    """Stop issuing from a template; coupons already issued stay usable."""
    with ctx.uow() as uow:
        return TemplateRead.of(coupons_service.set_status(
            uow, template_id, "paused", body.reason if body else None))


@router.post("/coupon-templates/{template_id}/resume", response_model=TemplateRead)
def resume_template(template_id: TemplateId,
                    ctx: Annotated[Context, Depends(authorize)]) -> TemplateRead:
    """Issue from a paused template again."""
    with ctx.uow() as uow:
        return TemplateRead.of(coupons_service.set_status(uow, template_id, "active"))


# --- issuing --------------------------------------------------------------------------

@router.post("/coupon-templates/{template_id}/issue", status_code=201,
             response_model=IssueResult, responses=ISSUE_RESPONSES)
async def issue(template_id: TemplateId, body: IssueRequest, request: Request,
                ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Issue to one member (`member_id`: a refusal is the error) or to a list
    (`member_ids` or `phones`: every refused row is reported with its line and reason)."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        if body.member_id is not None:
            made = coupons_service.issue(uow, template_id=template_id, member_id=body.member_id)
            return 201, IssueResult(
                template_id=template_id, batch_ref=None, requested=1, issued=1, refused=0,
                coupons=[IssuedCoupon(line=1, member_id=made.member_id, code=made.code)],
                errors=[]).model_dump(mode="json")
        targets = [coupons_service.Target(n, ref, "phone" if body.phones else "id")
                   for n, ref in enumerate(body.targets(), 1)]
        report = coupons_service.issue_many(uow, template_id=template_id, targets=targets,
                                            batch_ref=uuid.uuid4().hex[:16])
        return 201, _result(report)
    return await idempotent.run(request, ctx, work, required=True)


@router.post("/coupon-templates/{template_id}/issue-file", status_code=201,
             response_model=IssueResult, responses=ISSUE_RESPONSES, openapi_extra=CSV_BODY)
async def issue_file(template_id: TemplateId, request: Request,
                     ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Issue to the members listed in a CSV sent as the body (`text/csv`, UTF-8 or GBK):
    one member id or phone per line, or a header naming a `member_id` or `phone` (手机号)
    column. Every refused row is reported with its line and reason."""
    data = await request.body()

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        targets = coupons_service.read_member_list(data)
        report = coupons_service.issue_many(uow, template_id=template_id, targets=targets,
                                            batch_ref=uuid.uuid4().hex[:16])
        return 201, _result(report)
    return await idempotent.run(request, ctx, work, required=True)


# --- coupons --------------------------------------------------------------------------

@router.get("/members/{member_id}/coupons", response_model=CouponPage)
def member_coupons(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                   status: MemberCouponStatus | None = None,
                   template_id: Annotated[int | None, Query(gt=0)] = None,
                   limit: Limit = 100, cursor: str | None = None) -> CouponPage:
    """A member's coupons, newest first. `status`: issued (not yet expired), usable (valid
    now), used or expired."""
    with ctx.uow(readonly=True) as uow:
        now = uow.clock.now()
        page = queries.member_coupons(uow.session, member_id, now=now, status=status,
                                      template_id=template_id, limit=limit, cursor=cursor)
        return CouponPage(items=[CouponRead.of(c, t, now) for c, t in page.items],
                          next_cursor=page.next_cursor)


@router.get("/coupons/{code}", response_model=CouponRead)
def get_coupon(code: str, ctx: Annotated[Context, Depends(authorize)]) -> CouponRead:
    """One coupon by its code (case, spaces and dashes ignored)."""
    with ctx.uow(readonly=True) as uow:
        found, template = queries.coupon(uow.session, code)
        return CouponRead.of(found, template, uow.clock.now())


@router.post("/coupons/validate", response_model=ValidateResult)
def validate(body: ValidateRequest,
             ctx: Annotated[Context, Depends(authorize)]) -> ValidateResult:
    """Would these coupons apply to this member's order, and for how much? Each code gets
    its discount or the reason it does not apply (coupon_not_found, coupon_expired,
    coupon_not_yet_valid, coupon_used, coupon_not_owned, coupon_threshold_not_met,
    coupon_tier_ineligible, coupon_first_order_only, coupon_not_stackable, …). Nothing is
    written. `amount` is the goods amount after tier and PLUS discounts, in fen."""
    order = coupons_service.context(body.amount, body.shipping_fee, body.has_prior_paid_order)
    with ctx.uow(readonly=True) as uow:
        member = member_queries.get(uow.session, body.member_id)
        if member.status != "active":
            raise RuleViolated(f"member {member.id} is {member.status}",
                               code=f"member_{member.status}")
        result = coupons_service.evaluate(uow.session, member, body.codes, order,
                                          now=uow.clock.now())
    verdicts = [CouponVerdict(code=a.code, applies=True, kind=a.kind, discount=a.discount,
                              target=a.target, gift_sku=a.gift_sku) for a in result.applied]
    verdicts += [CouponVerdict(code=r.code, applies=False, reason=r.reason, detail=r.detail)
                 for r in result.refused]
    position = {code: n for n, code in enumerate(coupons_service.normalise_codes(body.codes))}
    verdicts.sort(key=lambda v: position.get(v.code, len(position)))
    return ValidateResult(applies=result.ok, discount=result.discount,
                          shipping_discount=result.shipping_discount,
                          payable=body.amount - result.discount, coupons=verdicts)
