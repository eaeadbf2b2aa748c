"""The read side of paid membership: the benefits an order applies (one indexed query),
a member's subscription and periods, the list by status, refunds, and timeline texts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from memberops.errors import NotFound, ValidationFailed, field_error
from memberops.members import queries as member_queries
from memberops.money import Money
from memberops.plus import rules
from memberops.plus.models import REFUND_STATUSES, STATUSES, PlusPeriod, PlusSubscription
from memberops.prepared import Prepared, utc_time

MAX_LIMIT = 500
SORTS = ("-id", "id", "ends_at", "-ends_at")

SUBSCRIPTIONS: Table = PlusSubscription.__table__  # type: ignore[assignment]
# Built once: it runs in every order. The unique index on member_id finds the one row.
# Prepared (memberops.prepared): a fixed shape, so the statuses are spelled out.
BENEFITS = Prepared(
    select(SUBSCRIPTIONS.c.plan_code, SUBSCRIPTIONS.c.extra_discount_pct,
           SUBSCRIPTIONS.c.points_multiplier_pct, SUBSCRIPTIONS.c.ends_at)
    .where(SUBSCRIPTIONS.c.member_id == bindparam("member_id"),
           or_(*[SUBSCRIPTIONS.c.status == s for s in sorted(rules.IN_FORCE)]),
           SUBSCRIPTIONS.c.started_at <= bindparam("at"),
           SUBSCRIPTIONS.c.ends_at > bindparam("at2")))


def benefits(session: Session, member_id: int, at: datetime) -> rules.PlusBenefits | None:
    """The paid-membership benefits in force for the member at `at`, or None: the extra
    discount (after the tier discount) and the points multiplier, as bought."""
    row = BENEFITS.first(session, {"member_id": member_id, "at": at, "at2": at})
    if row is None:
        return None
    plan_code, extra_discount_pct, points_multiplier_pct, ends_at = row
    return rules.PlusBenefits(plan_code=plan_code, extra_discount_pct=extra_discount_pct,
                              points_multiplier_pct=points_multiplier_pct,
                              ends_at=utc_time(ends_at))


def find(session: Session, member_id: int) -> PlusSubscription | None:
    return session.execute(select(PlusSubscription)
                           .where(PlusSubscription.member_id == member_id)).scalar_one_or_none()


def subscription(session: Session, member_id: int) -> PlusSubscription:
    """The member's subscription; 404 member_not_found or plus_not_found."""
    found = find(session, member_id)
    if found is None:
        member_queries.check_exists(session, member_id)
        raise NotFound(f"member {member_id} has never had a paid membership",
                       code="plus_not_found")
    return found


def period(session: Session, period_id: int) -> PlusPeriod:
    row = session.get(PlusPeriod, period_id)
    assert row is not None, period_id  # the foreign key guarantees it
    return row


def period_by_ref(session: Session, payment_ref: str) -> PlusPeriod | None:
    return session.execute(select(PlusPeriod).where(PlusPeriod.payment_ref == payment_ref)
                           ).scalar_one_or_none()


def periods(session: Session, member_id: int, *, limit: int = 100) -> list[PlusPeriod]:
    """Every period the member bought, newest first."""
    return list(session.execute(select(PlusPeriod).where(PlusPeriod.member_id == member_id)
                                .order_by(PlusPeriod.id.desc()).limit(limit)).scalars())


def cancel_preview(session: Session, sub: PlusSubscription, now: datetime,
                   tz: tzinfo) -> rules.CancelTerms | None:
    """What cancelling now would do, or None when there is nothing to cancel."""
    if sub.status != "active" or not sub.ends_at > now:
        return None
    latest = period(session, sub.period_id)
    return rules.cancel_terms(now, tz, purchased_at=latest.created_at,
                              period_starts_at=latest.starts_at, period_price=latest.price,
                              window_days=latest.cancel_within_days, used_at=sub.used_at,
                              current_end=sub.ends_at)


# --- lists ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def _check_page(limit: int, sort: str | None = None) -> None:
    if sort is not None and sort not in SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1–{MAX_LIMIT}", code="invalid_limit")


def _encode(sort: str, value: Any, last_id: int) -> str:
    raw = json.dumps([sort, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
        if sort.lstrip("-") == "ends_at":
            value = datetime.fromisoformat(value)
        return value, last_id
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed("invalid cursor for this sort order; start again without it",
                               code="invalid_cursor") from None


def search(session: Session, *, status: str | None = None, plan: str | None = None,
           limit: int = 50, cursor: str | None = None, sort: str = "-id") -> Page:
    """One page of subscriptions by status and plan (keyset pagination on the sort)."""
    _check_page(limit, sort)
    if status is not None and status not in STATUSES:
        raise field_error("status", f"must be one of {', '.join(STATUSES)}")
    stmt = select(PlusSubscription)
    if status is not None:
        stmt = stmt.where(PlusSubscription.status == status)
    if plan is not None:
        stmt = stmt.where(PlusSubscription.plan_code == plan)
    descending = sort.startswith("-")
    column: Any = PlusSubscription.ends_at if sort.lstrip("-") == "ends_at" \
        else PlusSubscription.id
    if cursor:
        value, last_id = _decode(cursor, sort)
        if descending:
            stmt = stmt.where(or_(column < value, and_(column == value,
                                                       PlusSubscription.id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value,
                                                       PlusSubscription.id > last_id)))
    order = (column.desc(), PlusSubscription.id.desc()) if descending \
        else (column.asc(), PlusSubscription.id.asc())
    rows = list(session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        value = last.ends_at.isoformat() if sort.lstrip("-") == "ends_at" else last.id
        next_cursor = _encode(sort, value, last.id)
    return Page(items=rows[:limit], next_cursor=next_cursor)


def refunds(session: Session, *, status: str | None = None, limit: int = 50,
            cursor: str | None = None) -> Page:
    """Periods cancelled with a refund, newest first: `due` ones are owed by finance
    (external payments), `refunded` ones were credited back or paid out."""
    _check_page(limit)
    if status is not None and status not in REFUND_STATUSES[1:]:
        raise field_error("status", "must be due or refunded")
    stmt = select(PlusPeriod).where(PlusPeriod.refund_status == status) if status \
        else select(PlusPeriod).where(PlusPeriod.refund_status.in_(REFUND_STATUSES[1:]))
    if cursor:
        _, last_id = _decode(cursor, "-id")
        stmt = stmt.where(PlusPeriod.id < last_id)
    rows = list(session.execute(stmt.order_by(PlusPeriod.id.desc()).limit(limit + 1))
                .scalars())
    next_cursor = _encode("-id", rows[limit - 1].id, rows[limit - 1].id) \
        if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def refund_by_ref(session: Session, refund_ref: str) -> PlusPeriod:
    row = session.execute(select(PlusPeriod).where(PlusPeriod.refund_ref == refund_ref)
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no paid-membership refund {refund_ref!r}", code="refund_not_found")
    return row


def due_for_expiry(session: Session, now: datetime) -> list[int]:
    """Members whose active membership has reached its end date (the expiry job's list)."""
    return list(session.execute(
        select(PlusSubscription.member_id)
        .where(PlusSubscription.status == "active", PlusSubscription.ends_at <= now)
        .order_by(PlusSubscription.member_id)).scalars())


# --- timeline -------------------------------------------------------------------------

def _yuan(p: dict[str, Any], name: str) -> str:
    return Money(int(p.get(name) or 0)).format()


def _day(p: dict[str, Any], name: str) -> str:
    return str(p.get(name) or "")[:10]


TIMELINE_TEXT = {
    "plus.purchased": lambda p: f"{'Renewed' if p.get('kind') == 'renewal' else 'Bought'} "
    f"{p.get('plan')} for {_yuan(p, 'price')} ({p.get('payment_method')}), "
    f"until {_day(p, 'ends_at')}",
    "plus.cancelled": lambda p: f"Cancelled {p.get('plan')}: "
    + (f"refund {_yuan(p, 'refund')} ({p.get('refund_status')})" if p.get("refund")
       else f"no refund ({str(p.get('why')).replace('_', ' ')}), benefits until "
            f"{_day(p, 'ends_at')}") + f" — {p.get('reason')}",
    "plus.expired": lambda p: f"{p.get('plan')} membership expired",
    "plus.first_used": lambda p: f"{p.get('plan')} benefits first used on order "
    f"{p.get('order_ref')}",
    "plus.refund_settled": lambda p: f"{p.get('plan', 'PLUS')} refund {p.get('refund_ref')} "
    f"of {_yuan(p, 'amount')} paid out ({p.get('settlement_ref')})",
}
for _event_type, _text in TIMELINE_TEXT.items():
    member_queries.describe_event(_event_type, _text)
