"""Tiers (会员等级): the ladder with member counts, a member's tier with progress and
history, manual floors (admin), and what-if replays of a proposed ladder."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query

from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.programme import service as programme_service
from memberops.tiers import queries
from memberops.tiers import service as tiers_service
from memberops.tiers.schemas import (
    FloorSet,
    HistoryPage,
    LadderRead,
    MemberTierRead,
    TierChangeRead,
    WhatIfRead,
)
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["tiers"], dependencies=[Depends(authorize)])
MemberId = Annotated[int, Path(gt=0, description="member id")]
Reason = Literal["upgrade", "retention_downgrade", "retention_kept", "manual_floor",
                 "floor_expired", "floor_removed", "ladder_changed"]


def _status(uow: UnitOfWork, member_id: int) -> MemberTierRead:
    return MemberTierRead.of(queries.status(uow.session, member_id, uow.clock.now(),
                                            uow.clock.tz))


@router.get("/tiers", response_model=LadderRead)
def ladder(ctx: Annotated[Context, Depends(authorize)]) -> LadderRead:
    """The ladder in force (thresholds, windows, benefits) and how many members hold each
    tier now. Change it with `PUT /programme/tiers`."""
    with ctx.uow(readonly=True) as uow:
        found = queries.ladder(uow.session)
        version = programme_service.current_version(uow.session, "tiers")
        return LadderRead.of(found, version, queries.counts(uow.session))


@router.post("/tiers/what-if", response_model=WhatIfRead)
def what_if(ctx: Annotated[Context, Depends(authorize)],
            proposed: Annotated[dict[str, Any], Body(
                description="a whole ladder, as `PUT /programme/tiers` takes it")]) -> WhatIfRead:
    """Replay the last window of activity under a proposed ladder: per tier, who would move
    up or down, and the change in discount cost. Nothing is changed."""
    with ctx.uow(readonly=True) as uow:
        return WhatIfRead.of(tiers_service.what_if(uow, proposed))


@router.get("/members/{member_id}/tier", response_model=MemberTierRead)
def member_tier(member_id: MemberId,
                ctx: Annotated[Context, Depends(authorize)]) -> MemberTierRead:
    """The member's tier and benefits, activity over the window, what the next tier needs,
    the anniversary (next retention review) and what keeping the tier needs, the floor."""
    with ctx.uow(readonly=True) as uow:
        return _status(uow, member_id)


@router.get("/members/{member_id}/tier/history", response_model=HistoryPage)
def tier_history(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                 reason: Reason | None = None,
                 limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
                 cursor: str | None = None,
                 sort: Annotated[Literal["-at", "at"], Query(
                     description="-at newest first (default), at oldest first")] = "-at",
                 ) -> HistoryPage:
    """Every change of the member's tier, review and floor, with reason, actor and time."""
    with ctx.uow(readonly=True) as uow:
        page = queries.history(uow.session, member_id, reason=reason, limit=limit,
                               cursor=cursor, sort=sort)
        return HistoryPage(items=[TierChangeRead.of(r) for r in page.items],
                           next_cursor=page.next_cursor)


@router.put("/members/{member_id}/tier/floor", response_model=MemberTierRead)
def set_floor(member_id: MemberId, body: FloorSet,
              ctx: Annotated[Context, Depends(authorize)]) -> MemberTierRead:
    """Set (or replace) a floor: the member is raised to it at once and cannot drop below it
    through `until`. The same floor again changes nothing (admin only)."""
    with ctx.uow() as uow:
        tiers_service.set_floor(uow, member_id=member_id, tier=body.tier, reason=body.reason,
                                until=body.until)
        return _status(uow, member_id)


@router.delete("/members/{member_id}/tier/floor", response_model=MemberTierRead)
def remove_floor(member_id: MemberId, ctx: Annotated[Context, Depends(authorize)],
                 reason: Annotated[str, Query(min_length=1, max_length=500,
                                              description="why (kept in the history)")],
                 ) -> MemberTierRead:
    """End the floor now; a tier it alone held is reviewed at once (admin only)."""
    with ctx.uow() as uow:
        tiers_service.remove_floor(uow, member_id=member_id, reason=reason)
        return _status(uow, member_id)
