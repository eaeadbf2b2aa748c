"""The read side of members: search with keyset pagination, timelines, export rows."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from memberops.errors import NotFound, ValidationFailed
from memberops.members import rules
from memberops.members.models import Member, MemberTag
from memberops.members.schemas import TimelineEntry
from memberops.outbox import OutboxEvent

SORTS = ("-id", "id", "-joined_at", "joined_at", "name", "-name", "tier", "-tier")
MAX_LIMIT = 500


@dataclass(frozen=True)
class MemberSet:
    """Members chosen by another domain (a segment snapshot's, say) as a select of their
    ids, so a search can be narrowed to them inside the database; `label` names the set
    in the audit log of an export."""

    label: str
    ids: Select[Any]


@dataclass(frozen=True)
class MemberFilter:
    """Every criterion is optional; all given ones must hold (AND)."""

    phone: str | None = None
    phone_ending: str | None = None  # the last digits (3 or more), as a member reads them out
    email: str | None = None
    q: str | None = None  # a fragment of name, phone digits or email
    tag: str | None = None
    tier: str | None = None
    status: str | None = None
    region: str | None = None  # province or city
    channel: str | None = None
    referrer_id: int | None = None
    joined_from: datetime | None = None  # inclusive
    joined_to: datetime | None = None  # exclusive
    among: MemberSet | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in self.__dict__.values())


@dataclass(frozen=True)
class Page:
    items: list[Member]
    next_cursor: str | None


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filtered(filters: MemberFilter) -> Select[Member]:
    stmt = select(Member)
    if filters.phone:
        stmt = stmt.where(Member.phone == rules.phone_search_key(filters.phone))
    if filters.phone_ending:
        stmt = stmt.where(Member.phone.like("%" + _phone_ending(filters.phone_ending)))
    if filters.email:
        stmt = stmt.where(func.lower(Member.email) == filters.email.strip().lower())
    if filters.q:
        text = filters.q.strip()
        # ilike: PostgreSQL matches as SQLite does ("alice" finds "Alice")
        conditions = [Member.name.ilike(_like(text), escape="\\"),
                      Member.email.like(_like(text.lower()), escape="\\")]
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits and len(digits) >= 3:
            conditions.append(Member.phone.like(_like(digits), escape="\\"))
        stmt = stmt.where(or_(*conditions))
    if filters.tag:
        stmt = stmt.where(Member.id.in_(
            select(MemberTag.member_id).where(MemberTag.tag == filters.tag.strip())))
    for column, value in ((Member.tier, filters.tier), (Member.status, filters.status),
                          (Member.channel, filters.channel),
                          (Member.referrer_id, filters.referrer_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.region:
        stmt = stmt.where(or_(Member.province == filters.region.strip(),
                              Member.city == filters.region.strip()))
    if filters.joined_from:
        stmt = stmt.where(Member.joined_at >= filters.joined_from)
    if filters.joined_to:
        stmt = stmt.where(Member.joined_at < filters.joined_to)
    if filters.among is not None:
        stmt = stmt.where(Member.id.in_(filters.among.ids))
    return stmt


def _phone_ending(raw: str) -> str:
    digits = raw.strip()
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        raise ValidationFailed("phone_ending: the last 3 to 15 digits of a phone",
                               code="invalid_phone_ending")
    return digits


def _sort_key(sort: str, tier_order: Sequence[str]) -> tuple[Any, bool]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    column = {"id": Member.id, "joined_at": Member.joined_at,
              "name": func.coalesce(Member.name, ""), "tier": _tier_rank(tier_order)}[name]
    return column, descending


def _tier_rank(tier_order: Sequence[str]) -> Any:
    """Tiers sort by their place on the ladder (lowest first), not by their codes' spelling;
    a code no longer on the ladder after all of them. Without a ladder, by code."""
    if not tier_order:
        return Member.tier
    return case({code: rank for rank, code in enumerate(tier_order)}, value=Member.tier,
                else_=len(tier_order))


def encode_cursor(sort: str, member: Member, tier_order: Sequence[str] = ()) -> str:
    name = sort.lstrip("-")
    value: Any = member.id
    if name == "joined_at":
        value = member.joined_at.isoformat()
    elif name == "name":
        value = member.name or ""
    elif name == "tier":
        value = (list(tier_order).index(member.tier) if member.tier in tier_order
                 else len(tier_order)) if tier_order else member.tier
    raw = json.dumps([sort, value, member.id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort or not isinstance(last_id, int):
            raise ValueError
        if sort.lstrip("-") == "joined_at":
            value = datetime.fromisoformat(value)
        return value, last_id
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed("invalid cursor for this sort order; start again without it",
                               code="invalid_cursor") from None


def search(session: Session, filters: MemberFilter, *, limit: int = 50,
           cursor: str | None = None, sort: str = "-id", offset: int = 0,
           tier_order: Sequence[str] = ()) -> Page:
    """One page of members matching the filter, in the given order: after `cursor`, or
    (for a jump to a page far away, as the console's pager allows) after `offset` rows.
    `tier_order`, the ladder's codes lowest first, makes the tier sort follow the ladder."""
    if sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1–{MAX_LIMIT}", code="invalid_limit")
    if offset < 0 or (offset and cursor):
        raise ValidationFailed("offset: 0 or more, and not with a cursor",
                               code="invalid_offset")
    column, descending = _sort_key(sort, tier_order)
    stmt = filtered(filters)
    if cursor:
        value, last_id = _decode_cursor(cursor, sort)
        if descending:
            stmt = stmt.where(or_(column < value, and_(column == value, Member.id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, Member.id > last_id)))
    order = (column.desc(), Member.id.desc()) if descending else (column.asc(), Member.id.asc())
    stmt = stmt.order_by(*order).limit(limit + 1)
    rows = list(session.execute(stmt.offset(offset) if offset else stmt).scalars())
    next_cursor = (encode_cursor(sort, rows[limit - 1], tier_order) if len(rows) > limit
                   else None)
    return Page(items=rows[:limit], next_cursor=next_cursor)


def count(session: Session, filters: MemberFilter) -> int:
    return int(session.execute(
        select(func.count()).select_from(filtered(filters).subquery())).scalar_one())


def iterate(session: Session, filters: MemberFilter, *, batch: int = 2000,
            sort: str = "id") -> Iterator[Member]:
    """Every matching member, fetched a batch at a time (for exports)."""
    cursor: str | None = None
    while True:
        page = search(session, filters, limit=min(batch, MAX_LIMIT), cursor=cursor, sort=sort)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def get(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise _not_found(member_id)
    return member


def check_exists(session: Session, member_id: int) -> None:
    """NotFound unless the member exists: for reads about a member that need nothing of
    its row. Loading a Member also loads its tags and consents (two more queries); this
    is one, or none when the session holds the member already."""
    if session.identity_key(Member, member_id) in session.identity_map:
        return
    if session.scalar(select(Member.id).where(Member.id == member_id)) is None:
        raise _not_found(member_id)


def _not_found(member_id: int) -> NotFound:
    return NotFound(f"member {member_id} not found", code="member_not_found")


# How each event reads on a timeline; other domains add theirs with `describe_event`.
TIMELINE_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "member.registered": lambda p: f"Joined via {p.get('channel')}"
    + (f", referred by member {p['referrer_id']}" if p.get("referrer_id") else ""),
    "member.updated": lambda p: "Profile changed: " + ", ".join(sorted(p.get("changes", {}))),
    "member.tags_changed": lambda p: " ".join(
        [f"+{t}" for t in p.get("added", [])] + [f"-{t}" for t in p.get("removed", [])]),
    "member.consent_changed": lambda p: f"{p.get('channel')} consent "
    + ("granted" if p.get("granted") else "revoked"),
    "member.status_changed": lambda p: f"Status {p.get('before')} → {p.get('after')}: "
    f"{p.get('reason')}",
}


def describe_event(event_type: str, text: Callable[[dict[str, Any]], str]) -> None:
    TIMELINE_TEXT[event_type] = text


def timeline(session: Session, member_id: int, *, limit: int = 100,
             before_id: int | None = None) -> list[TimelineEntry]:
    """What happened to a member, newest first: what, when and by whom."""
    get(session, member_id)
    stmt = select(OutboxEvent).where(OutboxEvent.member_id == member_id)
    if before_id is not None:
        stmt = stmt.where(OutboxEvent.id < before_id)
    rows = session.execute(stmt.order_by(OutboxEvent.id.desc()).limit(limit)).scalars()
    return [TimelineEntry(id=row.id, at=row.occurred_at, kind=row.event_type,
                          summary=describe(row.event_type, row.payload), actor=row.actor,
                          data=row.payload) for row in rows]


def describe(event_type: str, payload: dict[str, Any]) -> str:
    text = TIMELINE_TEXT.get(event_type)
    return text(payload) if text else event_type.replace(".", " ").replace("_", " ")
