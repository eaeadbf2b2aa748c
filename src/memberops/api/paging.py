"""What several routes read from a query string the same way: id cursors and as-of days."""

from __future__ import annotations

from datetime import date

from memberops.api.deps import Context
from memberops.errors import ValidationFailed, field_error


def id_cursor(cursor: str | None) -> int | None:
    """The last id a page showed. Cursors are opaque to clients; these carry an id."""
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise ValidationFailed("invalid cursor; start again without it", code="invalid_cursor")
    return int(cursor)


def as_of_day(ctx: Context, as_of: date | None) -> date:
    """An `as_of` parameter: today in the programme's time zone when not given; never a
    day after today."""
    today = ctx.services.clock.today()
    if as_of is None:
        return today
    if as_of > today:
        raise field_error("as_of", f"{as_of.isoformat()} is after today ({today.isoformat()})")
    return as_of
