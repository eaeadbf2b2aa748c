"""The read side of points: balances as a member sees them, lots, statements, the gift
catalogue, the programme's outstanding liability, and how points events read on a timeline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from memberops.errors import NotFound
from memberops.ledger import queries as ledger_queries
from memberops.members import queries as member_queries
from memberops.points import rules
from memberops.points.models import GiftItem, PointsLot
from memberops.prepared import Prepared

ASSET = "POINTS"
PROGRAMME_TZ = ZoneInfo("Asia/Shanghai")
MAX_LIMIT = 500


def available_account(member_id: int) -> str:
    return f"member:{member_id}:points"


def pending_account(member_id: int) -> str:
    return f"member:{member_id}:points:pending"


# --- balances -------------------------------------------------------------------------

def _usable(now: datetime) -> Any:
    # Usable now: released lots, and pending lots whose return window has passed (the
    # release job may not have run yet) — in both cases only until they expire.
    due = and_(PointsLot.status == "pending", PointsLot.available_at <= now)
    return and_(or_(PointsLot.status == "available", due), PointsLot.expires_at > now,
                PointsLot.remaining > 0)


LOTS: Any = PointsLot.__table__
AVAILABLE = Prepared(select(func.coalesce(func.sum(LOTS.c.remaining), 0)).where(
    LOTS.c.member_id == bindparam("member_id"), LOTS.c.remaining > 0,
    LOTS.c.expires_at > bindparam("now"),
    or_(LOTS.c.status == "available",
        and_(LOTS.c.status == "pending", LOTS.c.available_at <= bindparam("now2")))))


def available_points(session: Session, member_id: int, now: datetime) -> int:
    """Points the member can use at `now` (what a spend may take); prepared, as every
    order that uses points asks."""
    return int(AVAILABLE.scalar(session, {"member_id": member_id, "now": now, "now2": now})
               or 0)


def summary(session: Session, member_id: int, now: datetime,
            tz: tzinfo = PROGRAMME_TZ) -> dict[str, Any]:
    """`{available, pending, expiring: [{date, points}]}` as the member sees them at `now`:
    expiring is grouped by the last day the points can be used, soonest first."""
    member_queries.check_exists(session, member_id)
    by_expiry = session.execute(
        select(PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(PointsLot.member_id == member_id, _usable(now))
        .group_by(PointsLot.expires_at)).all()
    pending = session.execute(
        select(func.coalesce(func.sum(PointsLot.remaining), 0))
        .where(PointsLot.member_id == member_id, PointsLot.status == "pending",
               PointsLot.available_at > now)).scalar_one()
    days: dict[date, int] = defaultdict(int)
    for expiry, points in by_expiry:
        days[rules.last_usable_day(expiry, tz)] += int(points)
    return {"available": sum(days.values()), "pending": int(pending),
            "expiring": [{"date": d, "points": p} for d, p in sorted(days.items())]}


def lots(session: Session, member_id: int, *, status: str | None = None, limit: int = 100,
         before_id: int | None = None) -> list[PointsLot]:
    """A member's lots, newest first."""
    member_queries.check_exists(session, member_id)
    stmt = select(PointsLot).where(PointsLot.member_id == member_id)
    if status is not None:
        stmt = stmt.where(PointsLot.status == status)
    if before_id is not None:
        stmt = stmt.where(PointsLot.id < before_id)
    return list(session.execute(stmt.order_by(PointsLot.id.desc()).limit(limit)).scalars())


# --- statement ------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    """One movement of a member's points, with both balances after it."""

    entry_id: int
    at: datetime
    kind: str
    reference: str | None
    reason: str | None
    available_change: int  # signed
    pending_change: int  # signed: + earned pending, - released or clawed back
    available_after: int
    pending_after: int


def statement(session: Session, member_id: int, *, limit: int = 100,
              before_entry_id: int | None = None) -> list[StatementLine]:
    """Every movement of the member's available and pending points, newest first."""
    member_queries.check_exists(session, member_id)
    lines = {name: ledger_queries.statement(session, account, ASSET, limit=limit,
                                            before_entry_id=before_entry_id)
             for name, account in (("available", available_account(member_id)),
                                   ("pending", pending_account(member_id)))}
    ids = sorted({ln.entry_id for part in lines.values() for ln in part}, reverse=True)[:limit]
    by_id = {name: {ln.entry_id: ln for ln in part} for name, part in lines.items()}
    return [_merged(entry_id, by_id) for entry_id in ids]


def _balance_at(lines: dict[int, ledger_queries.StatementLine], entry_id: int) -> int:
    # Among the fetched lines of this account, the newest at or before the entry; the page
    # argument in `statement` guarantees it was fetched whenever it exists.
    older = [ln for ln in lines.values() if ln.entry_id <= entry_id]
    return max(older, key=lambda ln: ln.entry_id).balance_after if older else 0


def _merged(entry_id: int, by_id: dict[str, dict[int, ledger_queries.StatementLine]]
            ) -> StatementLine:
    avail, pend = by_id["available"].get(entry_id), by_id["pending"].get(entry_id)
    head = avail or pend
    assert head is not None
    return StatementLine(
        entry_id=entry_id, at=head.at, kind=head.kind, reference=head.reference,
        reason=head.reason, available_change=avail.amount if avail else 0,
        pending_change=pend.amount if pend else 0,
        available_after=_balance_at(by_id["available"], entry_id),
        pending_after=_balance_at(by_id["pending"], entry_id))


# --- gifts ----------------------------------------------------------------------------

def gift(session: Session, sku: str) -> GiftItem:
    item = session.execute(select(GiftItem).where(GiftItem.sku == sku)).scalar_one_or_none()
    if item is None:
        raise NotFound(f"no gift with sku {sku!r}", code="gift_not_found")
    return item


def gifts(session: Session, *, active: bool | None = None, limit: int = 100,
          after_sku: str | None = None) -> list[GiftItem]:
    """The catalogue in sku order, a page at a time."""
    stmt = select(GiftItem)
    if active is not None:
        stmt = stmt.where(GiftItem.active == active)
    if after_sku is not None:
        stmt = stmt.where(GiftItem.sku > after_sku)
    return list(session.execute(stmt.order_by(GiftItem.sku).limit(limit)).scalars())


# --- liability ------------------------------------------------------------------------

@dataclass(frozen=True)
class PointsLiability:
    """Points the programme still owes: available by the month they expire, and pending."""

    available: int
    pending: int
    by_expiry_month: list[tuple[str, int]] = field(default_factory=list)  # ("2027-12", n)

    def as_dict(self) -> dict[str, Any]:
        return {"available": self.available, "pending": self.pending,
                "by_expiry_month": [{"month": m, "points": p} for m, p in self.by_expiry_month]}


def liability(session: Session, tz: tzinfo = PROGRAMME_TZ) -> PointsLiability:
    """Outstanding points across all members, as the ledger holds them (lots not yet
    expired by the job still count, in the month they expire)."""
    rows = session.execute(
        select(PointsLot.status, PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(PointsLot.status.in_(("available", "pending")), PointsLot.remaining > 0)
        .group_by(PointsLot.status, PointsLot.expires_at)).all()
    months: dict[str, int] = defaultdict(int)
    pending = 0
    for status, expiry, points in rows:
        if status == "pending":
            pending += int(points)
        else:
            months[rules.last_usable_day(expiry, tz).strftime("%Y-%m")] += int(points)
    return PointsLiability(available=sum(months.values()), pending=pending,
                           by_expiry_month=sorted(months.items()))


# --- timeline -------------------------------------------------------------------------

def _source(p: dict[str, Any]) -> str:
    ref = f" ({p['reference']})" if p.get("reference") else ""
    return f"{p.get('source')}{ref}"


TIMELINE_TEXT = {
    "points.earned": lambda p: f"Earned {p.get('points')} points from {_source(p)}"
    + (", pending the return window" if p.get("pending") else ""),
    "points.released": lambda p: f"{p.get('points')} pending points became available",
    "points.spent": lambda p: f"Used {p.get('points')} points ({p.get('kind')}"
    + (f" {p['reference']})" if p.get("reference") else ")"),
    "points.expired": lambda p: f"{p.get('points')} points expired",
    "points.adjusted": lambda p: f"Points adjusted by {int(p.get('points') or 0):+d}: "
    f"{p.get('reason')}",
    "points.gift_redeemed": lambda p: f"Redeemed {p.get('quantity')} × {p.get('sku')} "
    f"for {p.get('points')} points",
    "points.bonus_awarded": lambda p: f"Bonus {p.get('points')} points for {p.get('action')}",
    "points.clawed_back": lambda p: f"{p.get('points')} points taken back for refund of "
    f"{p.get('reference')}" + (f" ({p['shortfall']} short)" if p.get("shortfall") else ""),
    "points.returned": lambda p: f"{p.get('points')} points returned from "
    f"{p.get('reference')}",
}
for _event_type, _text in TIMELINE_TEXT.items():
    member_queries.describe_event(_event_type, _text)
