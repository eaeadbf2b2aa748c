"""Saved segments: create, change and delete definitions (audited), take snapshots of
their membership and read them back (docs/segments.md).

Definitions are validated by `analytics.segments.parse` before anything is stored.
Snapshots are evaluated on `Data` the entrypoint read from the store before opening the
unit of work (the analytics read through their own connection, never the writer's).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import IntegrityError

from memberops.analytics import segments as rules
from memberops.audit import service as audit
from memberops.errors import Conflict, NotFound, ValidationFailed
from memberops.segments.models import Segment, SegmentSnapshot, SegmentSnapshotMember
from memberops.uow import UnitOfWork

MAX_LIMIT = 500


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("name: 1 to 100 characters",
                               errors=[{"field": "name", "reason": "1 to 100 characters"}])
    return name


def _unique_name(uow: UnitOfWork, name: str, segment_id: int | None = None) -> None:
    found = uow.session.scalar(select(Segment.id).where(Segment.name == name))
    if found is not None and found != segment_id:
        raise Conflict(f"a segment named {name!r} exists (id {found})", code="segment_exists")


def get(uow: UnitOfWork, segment_id: int) -> Segment:
    """One saved segment; NotFound otherwise."""
    segment = uow.session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"no segment {segment_id}", code="segment_not_found")
    return segment


def create(uow: UnitOfWork, *, name: str, definition: Any,
           description: str | None = None) -> Segment:
    """Save a validated definition under a unique name."""
    parsed = rules.dump(rules.parse(definition))
    name = _name(name)
    _unique_name(uow, name)
    now = uow.clock.now()
    segment = Segment(name=name, description=description, definition=parsed, created_at=now,
                      created_by=uow.actor.label, updated_at=now)
    uow.session.add(segment)
    try:
        uow.session.flush()
    except IntegrityError:  # a concurrent create took the name
        raise Conflict(f"a segment named {name!r} exists", code="segment_exists") from None
    audit.record(uow, action="segment.created", target_type="segment", target_id=segment.id,
                 changes=audit.diff({}, _fields(segment)))
    return segment


def _fields(segment: Segment) -> dict[str, Any]:
    return {"name": segment.name, "description": segment.description,
            "definition": segment.definition}


def update(uow: UnitOfWork, segment_id: int, *, name: str | None = None,
           description: str | None = None, definition: Any = None) -> Segment:
    """Rename, describe or redefine a segment; its snapshots keep what they froze."""
    segment = get(uow, segment_id)
    before = _fields(segment)
    if definition is not None:
        segment.definition = rules.dump(rules.parse(definition))
    if name is not None:
        name = _name(name)
        _unique_name(uow, name, segment_id)  # before the change: no flush of a duplicate
        segment.name = name
    if description is not None:
        segment.description = description or None
    changes = audit.diff(before, _fields(segment))
    if changes:
        segment.updated_at = uow.clock.now()
        uow.session.flush()
        audit.record(uow, action="segment.updated", target_type="segment",
                     target_id=segment_id, changes=changes)
    return segment


def delete(uow: UnitOfWork, segment_id: int) -> None:
    """Delete a segment that has no snapshots: campaigns rely on snapshots, and a snapshot
    names its segment, so one with snapshots is kept (409 `segment_has_snapshots`)."""
    segment = get(uow, segment_id)
    taken = uow.session.scalar(select(func.count()).select_from(SegmentSnapshot)
                               .where(SegmentSnapshot.segment_id == segment_id))
    if taken:
        raise Conflict(f"segment {segment_id} has {taken} snapshots; they are kept for the "
                       "campaigns that use them", code="segment_has_snapshots")
    before = _fields(segment)
    uow.session.delete(segment)
    uow.session.flush()
    audit.record(uow, action="segment.deleted", target_type="segment", target_id=segment_id,
                 changes=audit.diff(before, {}))


def list_segments(uow: UnitOfWork, *, limit: int = 100,
                  after: int | None = None) -> list[Segment]:
    """Saved segments, newest first (keyset on id)."""
    query = select(Segment).order_by(Segment.id.desc()).limit(min(limit, MAX_LIMIT))
    if after is not None:
        query = query.where(Segment.id < after)
    return list(uow.session.scalars(query))


def take_snapshot(uow: UnitOfWork, segment_id: int, *, data: rules.Data,
                  as_of: date) -> SegmentSnapshot:
    """Evaluate the segment's definition as of `as_of` and freeze who is in it."""
    segment = get(uow, segment_id)
    definition = rules.parse(segment.definition)
    ids = rules.members(data, definition, as_of)["member_id"].to_list()
    snapshot = SegmentSnapshot(segment_id=segment_id, as_of=as_of, taken_at=uow.clock.now(),
                               taken_by=uow.actor.label, member_count=len(ids),
                               definition=rules.dump(definition))
    uow.session.add(snapshot)
    uow.session.flush()
    if ids:
        uow.session.execute(insert(SegmentSnapshotMember),
                            [{"snapshot_id": snapshot.id, "member_id": i} for i in ids])
    audit.record(uow, action="segment.snapshot_taken", target_type="segment",
                 target_id=segment_id, changes={"snapshot": {"before": None, "after": {
                     "id": snapshot.id, "as_of": as_of.isoformat(),
                     "member_count": len(ids)}}})
    return snapshot


def snapshots(uow: UnitOfWork, segment_id: int, *, limit: int = 100,
              after: int | None = None) -> list[SegmentSnapshot]:
    """A segment's snapshots, newest first (keyset on id)."""
    get(uow, segment_id)
    query = (select(SegmentSnapshot).where(SegmentSnapshot.segment_id == segment_id)
             .order_by(SegmentSnapshot.id.desc()).limit(min(limit, MAX_LIMIT)))
    if after is not None:
        query = query.where(SegmentSnapshot.id < after)
    return list(uow.session.scalars(query))


def snapshot(uow: UnitOfWork, segment_id: int, snapshot_id: int) -> SegmentSnapshot:
    """One snapshot of the segment; NotFound otherwise (also for another segment's)."""
    found = uow.session.get(SegmentSnapshot, snapshot_id)
    if found is None or found.segment_id != segment_id:
        raise NotFound(f"no snapshot {snapshot_id} of segment {segment_id}",
                       code="snapshot_not_found")
    return found


def snapshot_members(uow: UnitOfWork, snapshot_id: int) -> list[int]:
    """The member ids frozen in a snapshot, ascending."""
    return list(uow.session.scalars(
        select(SegmentSnapshotMember.member_id)
        .where(SegmentSnapshotMember.snapshot_id == snapshot_id)
        .order_by(SegmentSnapshotMember.member_id)))


def export(uow: UnitOfWork, segment_id: int, snapshot_id: int) -> list[int]:
    """A snapshot's member ids for a file, with the export recorded in the audit log."""
    snapshot(uow, segment_id, snapshot_id)
    ids = snapshot_members(uow, snapshot_id)
    audit.record(uow, action="segment.snapshot_exported", target_type="segment",
                 target_id=segment_id, changes={"snapshot": {"before": None, "after": {
                     "id": snapshot_id, "rows": len(ids)}}})
    return ids


def snapshot_segment(uow: UnitOfWork, snapshot_id: int) -> int:
    """The segment a snapshot was taken of; NotFound for an unknown snapshot."""
    found = uow.session.get(SegmentSnapshot, snapshot_id)
    if found is None:
        raise NotFound(f"no snapshot {snapshot_id}", code="snapshot_not_found")
    return found.segment_id


def latest_snapshots(uow: UnitOfWork, segment_ids: list[int]) -> dict[int, SegmentSnapshot]:
    """The newest snapshot of each of the segments that has one (for lists of segments)."""
    if not segment_ids:
        return {}
    newest = (select(func.max(SegmentSnapshot.id))
              .where(SegmentSnapshot.segment_id.in_(segment_ids))
              .group_by(SegmentSnapshot.segment_id))
    found = uow.session.scalars(select(SegmentSnapshot).where(SegmentSnapshot.id.in_(newest)))
    return {s.segment_id: s for s in found}


def member_ids(snapshot_id: int) -> Select[Any]:
    """A select of the member ids frozen in a snapshot, to narrow a member search to them
    inside the database (a snapshot may hold millions)."""
    return (select(SegmentSnapshotMember.member_id)
            .where(SegmentSnapshotMember.snapshot_id == snapshot_id))
