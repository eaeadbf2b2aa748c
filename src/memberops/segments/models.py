"""Saved segment definitions and snapshots of their membership (docs/segments.md).

A snapshot freezes who was in a segment when it was taken, with the definition as it
was evaluated: campaigns target a snapshot, so later changes to members or to the
definition never change whom a campaign was sent to.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberops.db import Base, JSONType, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentSnapshot(Base):
    __tablename__ = "segment_snapshots"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # No cascade: a segment with snapshots is kept (deleting it is refused), since
    # campaigns rely on the snapshots and a snapshot names what it was taken of.
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    as_of: Mapped[date] = mapped_column(Date)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(200))
    member_count: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)  # as evaluated

    # A segment's snapshots, newest first.
    __table_args__ = (Index("ix_segment_snapshots_segment_taken", "segment_id", "taken_at"),)


class SegmentSnapshotMember(Base):
    __tablename__ = "segment_snapshot_members"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("segment_snapshots.id"),
                                             primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
