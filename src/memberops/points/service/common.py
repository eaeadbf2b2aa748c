"""Steps every points movement shares: input checks, replays, ledger posting, lots, audit.

Every movement posts one ledger entry whose `details["request"]` is the use case's input.
A retry with the same key finds that entry and gets the first result back without
touching anything; the same key with other input is refused. The replay check runs after
the member lock, so a concurrent duplicate waits for the first and then sees its entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, insert, select

from memberops.audit import service as audit
from memberops.errors import IdempotencyMismatch, field_error
from memberops.ledger import service as ledger_service
from memberops.ledger.models import LedgerEntry
from memberops.ledger.rules import Posting
from memberops.points import rules
from memberops.points.models import PointsLot
from memberops.points.queries import ASSET, available_account, pending_account
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import EarningRules
from memberops.uow import UnitOfWork

ISSUED = "system:points:issued"
REDEEMED = "system:points:redeemed"
EXPIRED = "system:points:expired"
ADJUSTED = "system:points:adjusted"
MAX_TEXT = 120
T = TypeVar("T")

ENTRIES: Any = LedgerEntry.__table__
LOTS: Any = PointsLot.__table__
KEY_USED = Prepared(select(ENTRIES.c.id).where(ENTRIES.c.idempotency_key == bindparam("key")))
INSERT_LOT = Prepared(insert(LOTS).values({
    name: bindparam(name) for name in ("member_id", "source", "reference", "original",
                                       "remaining", "status", "earned_at", "available_at",
                                       "expires_at", "entry_id")}).returning(LOTS.c.id))


def check_points(value: object, field: str = "points", *, signed: bool = False) -> int:
    """A whole number of points within bounds (non-zero when `signed`, else positive)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(field, f"must be a whole number of points, got {value!r}")
    low = -rules.MAX_POINTS if signed else 1
    if not low <= value <= rules.MAX_POINTS or value == 0:
        bounds = f"±1 to ±{rules.MAX_POINTS}" if signed else f"1 to {rules.MAX_POINTS}"
        raise field_error(field, f"must be {bounds}, got {value}")
    return value


def check_text(value: object, field: str, *, max_length: int = MAX_TEXT,
               min_length: int = 1) -> str:
    """A non-blank string of bounded length, stripped."""
    if not isinstance(value, str) or not min_length <= len(value.strip()) <= max_length:
        raise field_error(field, f"must be {min_length}–{max_length} characters")
    return value.strip()


def earning_rules(uow: UnitOfWork) -> EarningRules:
    """The points configuration in force (the reference programme until changed)."""
    return programme_service.current(uow.session, EarningRules)


def replayed(uow: UnitOfWork, key: str, request: dict[str, Any]) -> LedgerEntry | None:
    """The entry a previous call with this key made, if any; refuses other input."""
    check_text(key, "key", max_length=255)
    # Most keys are new: a prepared look first, the ORM entry only for a real replay.
    if KEY_USED.first(uow.session, {"key": key}) is None:
        return None
    entry = uow.session.execute(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).scalar_one_or_none()
    if entry is not None and (entry.details or {}).get("request") != request:
        raise IdempotencyMismatch(f"key {key!r} was already used for another points movement")
    return entry


def post(uow: UnitOfWork, *, key: str, kind: str, source: str, destination: str, points: int,
         request: dict[str, Any], reference: str | None = None, reason: str | None = None,
         **extra: Any) -> ledger_service.Entry:
    """One ledger entry moving `points` of POINTS, remembering the request for replays."""
    return ledger_service.post(
        uow, key=key, kind=kind, reference=reference, reason=reason,
        postings=[Posting(source, destination, ASSET, points)],
        details={"request": request, **extra})


def balances(uow: UnitOfWork, member_id: int) -> dict[str, int]:
    """The member's available and pending points as the ledger holds them."""
    found = ledger_service.balances(
        uow.session, [available_account(member_id), pending_account(member_id)], ASSET)
    return {"available": found[available_account(member_id)],
            "pending": found[pending_account(member_id)]}


def shifted(before: dict[str, int], *, available: int = 0, pending: int = 0,
            ) -> dict[str, int]:
    """The balances after a movement of known size, from those before it (spares the
    audit a second read)."""
    return {"available": before["available"] + available,
            "pending": before["pending"] + pending}


def credited(before: dict[str, int], lot: PointsLot) -> dict[str, int]:
    """The balances after `credit` made `lot`."""
    return shifted(before, **{lot.status: lot.original})


def record(uow: UnitOfWork, *, action: str, member_id: int, before: dict[str, int],
           after: dict[str, int] | None = None, reason: str | None = None,
           **facts: Any) -> None:
    """Audit a movement: the balances before and after (read again unless the caller
    knows them), plus what it was about."""
    changes = audit.diff(before, balances(uow, member_id) if after is None else after)
    changes.update({name: {"before": None, "after": value} for name, value in facts.items()
                    if value is not None})
    audit.record(uow, action=action, target_type="member", target_id=member_id,
                 changes=changes, reason=reason)


def credit(uow: UnitOfWork, *, member_id: int, points: int, source: str,
           reference: str | None, key: str, kind: str, request: dict[str, Any],
           pending: bool, reason: str | None = None, earned_at: datetime | None = None,
           from_account: str = ISSUED, **extra: Any) -> PointsLot:
    """Issue points into a new lot: pending for the return window, else available now."""
    config = earning_rules(uow)
    now = uow.clock.now()
    earned = earned_at or now
    available_at = earned + timedelta(days=config.return_window_days) if pending else earned
    # A zero-day window (or a purchase recorded after its window ended) is available now.
    pending = available_at > now
    entry = post(uow, key=key, kind=kind, source=from_account, points=points, request=request,
                 destination=pending_account(member_id) if pending
                 else available_account(member_id),
                 reference=reference, reason=reason, **extra)
    values = dict(member_id=member_id, source=source, reference=reference, original=points,
                  remaining=points, status="pending" if pending else "available",
                  earned_at=earned, available_at=available_at,
                  expires_at=rules.expires_at(earned, config, uow.clock.tz),
                  entry_id=entry.id)
    # Inserted with a prepared statement (every order earns): the lot handed back is a
    # detached object with its new id; later steps read lots from the database.
    lot_id = INSERT_LOT.scalar(uow.session, values)
    return PointsLot(id=lot_id, **values)


def locked_rows(uow: UnitOfWork, stmt: Select[T]) -> list[T]:
    """Rows read under the member lock, refreshing any this session loaded before it
    (on PostgreSQL another transaction may have changed them in between)."""
    return list(uow.session.execute(stmt.execution_options(populate_existing=True)).scalars())


def lot_of(uow: UnitOfWork, entry: LedgerEntry) -> PointsLot:
    """The lot an earlier credit made (for replays)."""
    return uow.session.execute(
        select(PointsLot).where(PointsLot.entry_id == entry.id)
        .order_by(PointsLot.id).limit(1)).scalar_one()
