"""What happens to members, in the past tense; each lands on the member's timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from memberops.events import Event


@dataclass(frozen=True)
class MemberRegistered(Event):
    event_type: ClassVar[str] = "member.registered"
    member_id: int
    channel: str
    referrer_id: int | None = None
    source: str = "api"


@dataclass(frozen=True)
class MemberUpdated(Event):
    event_type: ClassVar[str] = "member.updated"
    member_id: int
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberTagsChanged(Event):
    event_type: ClassVar[str] = "member.tags_changed"
    member_id: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentChanged(Event):
    event_type: ClassVar[str] = "member.consent_changed"
    member_id: int
    channel: str
    granted: bool
    source: str | None = None


@dataclass(frozen=True)
class MemberStatusChanged(Event):
    event_type: ClassVar[str] = "member.status_changed"
    member_id: int
    before: str
    after: str
    reason: str
