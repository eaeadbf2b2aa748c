"""Domain events: past-tense frozen dataclasses, written to the outbox by the unit of work."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened. `member_id` (when set) puts it on that member's timeline."""

    event_type: ClassVar[str] = "event"

    def member_ref(self) -> int | None:
        value = getattr(self, "member_id", None)
        return value if isinstance(value, int) else None

    def payload(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict (a deep copy): every payment and
        # order writes several events.
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value
