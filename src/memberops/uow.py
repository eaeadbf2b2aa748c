"""The unit of work (DESIGN rule 2): one owner of the transaction.

An entrypoint (route, CLI command, job step) opens ``with UnitOfWork(...) as uow:``;
services receive ``uow`` and never commit. Leaving the block commits, with the
emitted events written to the outbox in the same transaction; an exception
rolls everything back, events included.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.orm import Session

from memberops.clock import Clock, SystemClock
from memberops.db import Database
from memberops.events import Event
from memberops.outbox import OutboxEvent
from memberops.prepared import Prepared

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]
INSERT_OUTBOX = Prepared(insert(OUTBOX).values({
    name: bindparam(name) for name in ("event_type", "payload", "member_id", "actor",
                                       "request_id", "occurred_at", "attempts")}), many=True)


@dataclass(frozen=True)
class Actor:
    """Who does something: an API key, an operator, the CLI or the system itself."""

    kind: str  # api_key | operator | cli | system
    id: str
    name: str
    role: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def cli(cls) -> Actor:
        # Whoever runs the CLI holds the database credentials: an administrator.
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(kind="cli", id=user, name=user, role="admin")

    @classmethod
    def system(cls, job: str = "system") -> Actor:
        return cls(kind="system", id=job, name=job, role="admin")


class UnitOfWork:
    """A transaction with its actor, clock, request id and pending events."""

    def __init__(
        self,
        db: Database,
        *,
        actor: Actor,
        clock: Clock | None = None,
        request_id: str | None = None,
        readonly: bool = False,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock: Clock = clock or SystemClock()
        self.request_id = request_id
        self.readonly = readonly
        self._events: list[tuple[Event, datetime]] = []
        self._session: Session | None = None
        # Members this transaction has locked and found active, by id (members.service):
        # an order's steps (coupons, points, wallet, earning) each need the member locked,
        # and a second SELECT … FOR UPDATE of a row we hold is a round trip for nothing.
        # Whatever changes a member row in this transaction forgets its entry.
        self.locked_members: dict[int, Any] = {}

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self.db.session(readonly=self.readonly)
        self._events = []
        self.locked_members = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.readonly:
                pass  # closing ends the read transaction; loaded objects stay readable
            elif exc_type is None:
                self.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
            self._session = None
            self.locked_members = {}

    def emit(self, event: Event) -> None:
        """Queue an event; it reaches the outbox only if the transaction commits."""
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot emit events")
        # Stamped when it happened, not at commit: one unit of work may span several steps.
        self._events.append((event, self.clock.now()))

    def commit(self) -> None:
        if self._events:
            # One prepared executemany: the outbox is written on every payment.
            INSERT_OUTBOX.executemany(self.session, [{
                "event_type": event.event_type, "payload": event.payload(),
                "member_id": event.member_ref(), "actor": self.actor.label,
                "request_id": self.request_id, "occurred_at": at, "attempts": 0,
            } for event, at in self._events])
        self._events = []
        self.session.commit()
