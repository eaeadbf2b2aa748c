"""Segments (人群): preview a definition's members, save definitions, take snapshots that
freeze who is in a segment, and export a snapshot's members as CSV (docs/segments.md).

Reading (preview, lists, export) needs `insight.read`; saving, changing, deleting and
snapshotting need `segments.write`. Preview and snapshots read the live store as of a
date (today in the programme's time zone unless `as_of` says otherwise).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from memberops.analytics import segments as rules
from memberops.api import idempotent
from memberops.api.deps import Context, authorize
from memberops.api.paging import as_of_day, id_cursor
from memberops.api.permissions import API_PREFIX
from memberops.segments import service
from memberops.segments.models import Segment, SegmentSnapshot
from memberops.uow import UnitOfWork

router = APIRouter(prefix=API_PREFIX, tags=["segments"], dependencies=[Depends(authorize)])
Ctx = Annotated[Context, Depends(authorize)]
SegmentId = Annotated[int, Path(gt=0, description="segment id")]
SnapshotId = Annotated[int, Path(gt=0, description="snapshot id")]
Limit = Annotated[int, Query(ge=1, le=service.MAX_LIMIT)]
AsOf = Annotated[date | None, Query(description="the day to evaluate on, YYYY-MM-DD "
                                                "(default: today)")]
Definition = Annotated[dict[str, Any], Field(description="{\"all\"|\"any\": [conditions or "
                                                         "groups]}; see docs/segments.md")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=500)]


class PreviewRequest(BaseModel):
    definition: Definition


class MemberSample(BaseModel):
    member_id: int
    tier: str | None


class PreviewRead(BaseModel):
    as_of: date
    count: int
    sample: list[MemberSample]


class SegmentCreate(BaseModel):
    name: Name
    description: Description | None = None
    definition: Definition


class SegmentUpdate(BaseModel):
    name: Name | None = None
    description: Description | None = None
    definition: Definition | None = None


class SegmentRead(BaseModel):
    id: int
    name: str
    description: str | None
    definition: dict[str, Any]
    created_at: datetime
    created_by: str
    updated_at: datetime

    @classmethod
    def of(cls, s: Segment) -> SegmentRead:
        return cls(id=s.id, name=s.name, description=s.description, definition=s.definition,
                   created_at=s.created_at, created_by=s.created_by, updated_at=s.updated_at)


class SegmentPage(BaseModel):
    items: list[SegmentRead]
    next_cursor: str | None


class SnapshotRead(BaseModel):
    id: int
    segment_id: int
    as_of: date
    taken_at: datetime
    taken_by: str
    member_count: int
    definition: dict[str, Any]

    @classmethod
    def of(cls, s: SegmentSnapshot) -> SnapshotRead:
        return cls(id=s.id, segment_id=s.segment_id, as_of=s.as_of, taken_at=s.taken_at,
                   taken_by=s.taken_by, member_count=s.member_count, definition=s.definition)


class SnapshotPage(BaseModel):
    items: list[SnapshotRead]
    next_cursor: str | None


def _next(ids: list[int], limit: int) -> str | None:
    return str(ids[-1]) if len(ids) == limit else None


def _data(ctx: Context) -> rules.Data:
    return rules.load(ctx.db.url, ctx.services.settings.timezone)


@router.post("/segments/preview", response_model=PreviewRead)
def preview(body: PreviewRequest, ctx: Ctx, as_of: AsOf = None) -> dict[str, Any]:
    """How many members a definition selects as of the date, and the first ten (id and
    tier); nothing is stored. 422 `validation_error` names each fault's path."""
    definition = rules.parse(body.definition)
    return rules.preview(_data(ctx), definition, as_of_day(ctx, as_of))


@router.get("/segments", response_model=SegmentPage)
def list_segments(ctx: Ctx, limit: Limit = 100, cursor: str | None = None) -> SegmentPage:
    """Saved segments, newest first."""
    with ctx.uow(readonly=True) as uow:
        found = service.list_segments(uow, limit=limit, after=id_cursor(cursor))
        return SegmentPage(items=[SegmentRead.of(s) for s in found],
                           next_cursor=_next([s.id for s in found], limit))


@router.post("/segments", status_code=201, response_model=SegmentRead,
             responses={409: {"description": "name taken (segment_exists)"}})
async def create_segment(body: SegmentCreate, request: Request, ctx: Ctx) -> JSONResponse:
    """Save a definition under a unique name."""
    def work(uow: UnitOfWork) -> tuple[int, Any]:
        segment = service.create(uow, name=body.name, description=body.description,
                                 definition=body.definition)
        return 201, SegmentRead.of(segment).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=False)


@router.get("/segments/{segment_id}", response_model=SegmentRead)
def get_segment(segment_id: SegmentId, ctx: Ctx) -> SegmentRead:
    """One saved segment."""
    with ctx.uow(readonly=True) as uow:
        return SegmentRead.of(service.get(uow, segment_id))


@router.patch("/segments/{segment_id}", response_model=SegmentRead,
              responses={409: {"description": "name taken (segment_exists)"}})
def update_segment(segment_id: SegmentId, body: SegmentUpdate, ctx: Ctx) -> SegmentRead:
    """Rename, describe or redefine a segment; snapshots already taken do not change."""
    with ctx.uow() as uow:
        return SegmentRead.of(service.update(
            uow, segment_id, name=body.name, description=body.description,
            definition=body.definition))


@router.delete("/segments/{segment_id}", status_code=204, response_class=Response,
               responses={409: {"description": "it has snapshots (segment_has_snapshots)"}})
def delete_segment(segment_id: SegmentId, ctx: Ctx) -> Response:
    """Delete a segment without snapshots; one with snapshots is kept for the campaigns
    that use them (409 `segment_has_snapshots`)."""
    with ctx.uow() as uow:
        service.delete(uow, segment_id)
    return Response(status_code=204)


@router.post("/segments/{segment_id}/snapshots", status_code=201, response_model=SnapshotRead)
async def take_snapshot(segment_id: SegmentId, request: Request, ctx: Ctx,
                        as_of: AsOf = None) -> JSONResponse:
    """Evaluate the segment as of the date and freeze its members; with an Idempotency-Key
    a repeat returns the first snapshot instead of taking another."""
    day = as_of_day(ctx, as_of)
    data = await to_thread.run_sync(_data, ctx)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        taken = service.take_snapshot(uow, segment_id, data=data, as_of=day)
        return 201, SnapshotRead.of(taken).model_dump(mode="json")
    return await idempotent.run(request, ctx, work, required=False)


@router.get("/segments/{segment_id}/snapshots", response_model=SnapshotPage)
def list_snapshots(segment_id: SegmentId, ctx: Ctx, limit: Limit = 100,
                   cursor: str | None = None) -> SnapshotPage:
    """A segment's snapshots, newest first."""
    with ctx.uow(readonly=True) as uow:
        found = service.snapshots(uow, segment_id, limit=limit, after=id_cursor(cursor))
        return SnapshotPage(items=[SnapshotRead.of(s) for s in found],
                            next_cursor=_next([s.id for s in found], limit))


@router.get("/segments/{segment_id}/snapshots/{snapshot_id}/members.csv",
            response_class=Response,
            responses={200: {"description": "one member id a line, under a header",
                             "content": {"text/csv": {}}}})
def export_snapshot(segment_id: SegmentId, snapshot_id: SnapshotId, ctx: Ctx) -> Response:
    """The snapshot's member ids as CSV (`member_id`, ascending). Contact details stay
    behind `members.export`; the export is audited."""
    with ctx.uow() as uow:
        ids = service.export(uow, segment_id, snapshot_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["member_id"])
    writer.writerows([i] for i in ids)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="segment-{segment_id}-snapshot-'
                               f'{snapshot_id}.csv"', "X-Total-Count": str(len(ids))})
