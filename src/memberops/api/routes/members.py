"""Members (会员档案): register, look up, search, edit, tag, consent, status, timeline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.coupons import service as coupons_service
from memberops.members import queries, service
from memberops.members.queries import MemberFilter
from memberops.members.schemas import (
    ConsentChange,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    StatusChange,
    TagsChange,
    TimelineEntry,
)
from memberops.tiers import queries as tier_queries
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["members"], dependencies=[Depends(authorize)])
MemberId = Annotated[int, Path(gt=0, description="member id")]


class MemberPage(BaseModel):
    items: list[MemberRead]
    next_cursor: str | None


class Timeline(BaseModel):
    items: list[TimelineEntry]
    next_before_id: int | None


def _day_start(ctx: Context, day: date | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=ctx.services.clock.tz)


def member_filter(
    ctx: Annotated[Context, Depends(authorize)],
    phone: str | None = None, email: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name/phone/email fragment")] = None,
    tag: str | None = None, tier: str | None = None, status: str | None = None,
    region: Annotated[str | None, Query(description="province or city")] = None,
    channel: str | None = None, referrer_id: int | None = None,
    joined_from: Annotated[date | None, Query(description="first day, inclusive")] = None,
    joined_to: Annotated[date | None, Query(description="last day, inclusive")] = None,
) -> MemberFilter:
    """Search criteria shared by the list and the export; days are programme-local."""
    return MemberFilter(
        phone=phone, email=email, q=q, tag=tag, tier=tier, status=status, region=region,
        channel=channel, referrer_id=referrer_id, joined_from=_day_start(ctx, joined_from),
        joined_to=_day_start(ctx, joined_to + timedelta(days=1) if joined_to else None))


@router.post("/members", status_code=201, response_model=MemberRead,
             responses={409: {"description": "phone already registered (member_exists)"}})
async def register_member(body: MemberCreate, request: Request,
                          ctx: Annotated[Context, Depends(authorize)]) -> JSONResponse:
    """Register a member, with the welcome coupons of the active welcome templates. An
    optional Idempotency-Key makes till retries safe."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        member = service.register_member(uow, body)
        # In the registration's unit of work: the member joins with the coupon or not at
        # all (issue_welcome never refuses a registration).
        coupons_service.issue_welcome(uow, member.id)
        return 201, MemberRead.of(member).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=False)


@router.get("/members", response_model=MemberPage)
def search_members(
    ctx: Annotated[Context, Depends(authorize)],
    filters: Annotated[MemberFilter, Depends(member_filter)],
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: str | None = None,
    sort: Annotated[str, Query(description="one of " + ", ".join(queries.SORTS))] = "-id",
) -> MemberPage:
    """Search members, newest first by default, with an opaque cursor for the next page;
    `tier` sorts by the place on the ladder in force, lowest first."""
    with ctx.uow(readonly=True) as uow:
        order = tuple(t.code for t in tier_queries.ladder(uow.session).tiers) \
            if sort.lstrip("-") == "tier" else ()
        page = queries.search(uow.session, filters, limit=limit, cursor=cursor, sort=sort,
                              tier_order=order)
        return MemberPage(items=[MemberRead.of(m) for m in page.items],
                          next_cursor=page.next_cursor)


@router.get("/members/{member_id}", response_model=MemberRead)
def get_member(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    with ctx.uow(readonly=True) as uow:
        return MemberRead.of(queries.get(uow.session, member_id))


@router.patch("/members/{member_id}", response_model=MemberRead)
def update_member(member_id: MemberId, body: MemberUpdate,
                  ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    """Change profile fields; only the fields sent change."""
    with ctx.uow() as uow:
        return MemberRead.of(service.update_member(uow, member_id, body))


@router.post("/members/{member_id}/tags", response_model=MemberRead)
def add_tags(member_id: MemberId, body: TagsChange,
             ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    with ctx.uow() as uow:
        return MemberRead.of(service.add_tags(uow, member_id, body.tags))


@router.delete("/members/{member_id}/tags/{tag}", response_model=MemberRead)
def remove_tag(member_id: MemberId, tag: str,
               ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    with ctx.uow() as uow:
        return MemberRead.of(service.remove_tag(uow, member_id, tag))


@router.put("/members/{member_id}/consents/{channel}", response_model=MemberRead)
def set_consent(member_id: MemberId, channel: str, body: ConsentChange,
                ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    """Grant or revoke marketing consent on sms, email, push or wechat."""
    with ctx.uow() as uow:
        return MemberRead.of(service.set_consent(uow, member_id, channel, body.granted,
                                                 body.source))


@router.post("/members/{member_id}/status", response_model=MemberRead)
def change_status(member_id: MemberId, body: StatusChange,
                  ctx: Annotated[Context, Depends(authorize)]) -> MemberRead:
    """Freeze, unfreeze (status active) or close a member, with a reason."""
    with ctx.uow() as uow:
        return MemberRead.of(service.change_status(uow, member_id, body.status, body.reason))


@router.get("/members/{member_id}/timeline", response_model=Timeline)
def member_timeline(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    before_id: int | None = None) -> Timeline:
    """What happened to the member, newest first: what, when and by whom."""
    with ctx.uow(readonly=True) as uow:
        items = queries.timeline(uow.session, member_id, limit=limit, before_id=before_id)
    return Timeline(items=items,
                    next_before_id=items[-1].id if len(items) == limit else None)
