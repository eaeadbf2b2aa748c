"""What happens to tiers, in the past tense; each event lands on its member's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class TierChanged(Event):
    """The member's tier moved (up at once on activity, down at a review, up to a floor)."""

    event_type: ClassVar[str] = "tier.changed"
    member_id: int
    before: str
    after: str
    reason: str  # upgrade | retention_downgrade | manual_floor | ladder_changed
    review_due: date | None


@dataclass(frozen=True)
class TierRetained(Event):
    """A retention review kept the tier (by the activity, or held by a floor)."""

    event_type: ClassVar[str] = "tier.retained"
    member_id: int
    tier: str
    held_by_floor: bool
    review_due: date | None


@dataclass(frozen=True)
class TierFloorSet(Event):
    event_type: ClassVar[str] = "tier.floor_set"
    member_id: int
    tier: str
    until: date
    reason: str


@dataclass(frozen=True)
class TierFloorLifted(Event):
    """A floor ended: on its last day passing (floor_expired) or removed by hand."""

    event_type: ClassVar[str] = "tier.floor_lifted"
    member_id: int
    tier: str
    reason: str  # floor_expired | floor_removed
    note: str | None = None
