"""Delivering outbox events to their subscribers after commit, with retries (DESIGN rule 8).

Each event is delivered in its own transaction; on PostgreSQL rows are claimed
with FOR UPDATE SKIP LOCKED so several workers can run side by side. A failing
subscriber delays the event with exponential back-off; nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from memberops.clock import Clock
from memberops.db import Database
from memberops.logs import get_logger
from memberops.outbox import OutboxEvent

Subscriber = Callable[[str, dict[str, Any]], None]
log = get_logger("memberops.jobs.outbox")
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class Subscribers:
    """Which functions hear which event types ("*" hears all)."""

    by_type: dict[str, list[Subscriber]] = field(default_factory=dict)

    def add(self, event_type: str, subscriber: Subscriber) -> None:
        self.by_type.setdefault(event_type, []).append(subscriber)

    def for_type(self, event_type: str) -> list[Subscriber]:
        return [*self.by_type.get(event_type, []), *self.by_type.get("*", [])]


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 12)))


def deliver_pending(db: Database, clock: Clock, subscribers: Subscribers, *,
                    limit: int = 500) -> DeliveryReport:
    """Deliver up to `limit` due events, oldest first; returns what happened."""
    delivered = failed = 0
    for _ in range(limit):
        outcome = _deliver_one(db, clock, subscribers)
        if outcome is None:
            break
        delivered += outcome
        failed += 1 - outcome
    return DeliveryReport(delivered, failed)


def _deliver_one(db: Database, clock: Clock, subscribers: Subscribers) -> int | None:
    now = clock.now()
    with db.session() as session:
        stmt = (select(OutboxEvent)
                .where(OutboxEvent.delivered_at.is_(None),
                       or_(OutboxEvent.next_attempt_at.is_(None),
                           OutboxEvent.next_attempt_at <= now))
                .order_by(OutboxEvent.id).limit(1))
        if not db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        event = session.execute(stmt).scalar_one_or_none()
        if event is None:
            return None
        try:
            for subscriber in subscribers.for_type(event.event_type):
                subscriber(event.event_type, event.payload)
        except Exception as exc:  # a subscriber's failure must not stop the others' events
            event.attempts += 1
            event.next_attempt_at = now + backoff(event.attempts)
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("outbox delivery failed", event_id=event.id, error=event.last_error)
            session.commit()
            return 0
        event.attempts += 1
        event.delivered_at = now
        session.commit()
        return 1
