"""Idempotency keys (DESIGN rule 6, API.md conventions).

A request with a key is recorded *in progress* in its own short transaction
before any work starts; the business transaction then marks it *completed*
with the response, atomically with its effects. So:

* the same key and body return the first stored response;
* the same key with another body is refused (``idempotency_key_reused``);
* a repeat while the first still runs is refused (``request_in_progress``);
* an attempt that crashed leaves an in-progress row that turns stale and is
  taken over by the next retry — and because ``complete`` checks the attempt
  token, only one attempt's effects can ever commit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Table, Text, bindparam, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from memberops.clock import Clock
from memberops.db import Base, Database, JSONType, UTCDateTime
from memberops.errors import IdempotencyMismatch, RequestInProgress, ValidationFailed
from memberops.prepared import Prepared

IN_PROGRESS = "in_progress"
COMPLETED = "completed"
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# Core statements built once: every keyed request claims and completes a record.
RECORDS: Table = IdempotencyRecord.__table__  # type: ignore[assignment]
CLAIM = Prepared(insert(RECORDS).values({
    name: bindparam(name) for name in ("scope", "key", "request_hash", "attempt", "state",
                                       "request_id", "created_at", "updated_at",
                                       "expires_at")}), many=True)
COMPLETE = Prepared(
    update(RECORDS)
    .where(RECORDS.c.scope == bindparam("scope"), RECORDS.c.key == bindparam("key"),
           RECORDS.c.attempt == bindparam("attempt"), RECORDS.c.state == IN_PROGRESS)
    .values(state=COMPLETED, response_status=bindparam("status"),
            response_body=bindparam("body"), updated_at=bindparam("now")))


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


@dataclass(frozen=True)
class Claim:
    """The right to run one attempt of a keyed request."""

    scope: str
    key: str
    attempt: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what the request asks for; JSON is canonicalised so spacing does not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        material = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        material = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), material):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def validate_key(key: str | None) -> str:
    if key is None or not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise ValidationFailed(
            f"Idempotency-Key header must be 1–{MAX_KEY_LENGTH} printable characters",
            code="idempotency_key_invalid",
        )
    return key


class IdempotencyGuard:
    """Claims, completes and releases idempotency records."""

    def __init__(self, db: Database, clock: Clock, *, ttl_days: int = 7,
                 stale_after_seconds: int = 120) -> None:
        self.db = db
        self.clock = clock
        self.ttl = timedelta(days=ttl_days)
        self.stale_after = timedelta(seconds=stale_after_seconds)

    def claim(self, scope: str, key: str, request_hash: str,
              request_id: str | None = None) -> Claim | StoredResponse:
        """Claim the key for a new attempt, or return the first response if it completed."""
        now = self.clock.now()
        attempt = secrets.token_hex(16)
        with self.db.session() as session:
            try:
                CLAIM.executemany(session, [{
                    "scope": scope, "key": key, "request_hash": request_hash,
                    "attempt": attempt, "state": IN_PROGRESS, "request_id": request_id,
                    "created_at": now, "updated_at": now, "expires_at": now + self.ttl}])
                session.commit()
                return Claim(scope, key, attempt)
            except IntegrityError:
                session.rollback()
        return self._resolve_existing(scope, key, request_hash, attempt, request_id)

    def _resolve_existing(self, scope: str, key: str, request_hash: str, attempt: str,
                          request_id: str | None) -> Claim | StoredResponse:
        now = self.clock.now()
        with self.db.session() as session:
            record = session.get(IdempotencyRecord, (scope, key))
            if record is None:  # expired and purged between our insert and read: retry once
                session.rollback()
                return self.claim(scope, key, request_hash, request_id)
            if record.expires_at <= now:
                return self._take_over(session, record, request_hash, attempt, request_id,
                                       any_state=True)
            if record.request_hash != request_hash:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was already used with a different request")
            if record.state == COMPLETED:
                assert record.response_status is not None
                return StoredResponse(record.response_status, record.response_body)
            if record.updated_at > now - self.stale_after:
                raise RequestInProgress(
                    "a request with this Idempotency-Key is still being processed; retry later")
            return self._take_over(session, record, request_hash, attempt, request_id,
                                   any_state=False)

    def _take_over(self, session: Session, record: IdempotencyRecord, request_hash: str,
                   attempt: str, request_id: str | None, *, any_state: bool) -> Claim:
        # Conditional on the attempt we saw, so two retries cannot both take over.
        now = self.clock.now()
        stmt = (
            update(IdempotencyRecord)
            .where(IdempotencyRecord.scope == record.scope, IdempotencyRecord.key == record.key,
                   IdempotencyRecord.attempt == record.attempt)
            .values(attempt=attempt, state=IN_PROGRESS, request_hash=request_hash,
                    response_status=None, response_body=None, request_id=request_id,
                    created_at=now, updated_at=now, expires_at=now + self.ttl)
        )
        if not any_state:
            stmt = stmt.where(IdempotencyRecord.state == IN_PROGRESS)
        result = session.execute(stmt)
        session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise RequestInProgress("another retry of this request took it over; retry later")
        return Claim(record.scope, record.key, attempt)

    def complete(self, session: Session, claim: Claim, status: int, body: Any) -> None:
        """Store the response inside the business transaction; refuses if our claim was lost."""
        changed = COMPLETE.rowcount(session, {
            "scope": claim.scope, "key": claim.key, "attempt": claim.attempt,
            "status": status, "body": body, "now": self.clock.now()})
        if changed != 1:
            raise RequestInProgress("this attempt lost its idempotency claim; retry the request")

    def complete_alone(self, claim: Claim, status: int, body: Any) -> None:
        """Store a refusal (4xx) after the business transaction rolled back."""
        with self.db.session() as session:
            self.complete(session, claim, status, body)
            session.commit()

    def release(self, claim: Claim) -> None:
        """Forget an attempt that failed unexpectedly (5xx), so a retry may run it afresh."""
        with self.db.session() as session:
            session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.scope == claim.scope, IdempotencyRecord.key == claim.key,
                IdempotencyRecord.attempt == claim.attempt))
            session.commit()

    def purge_expired(self) -> int:
        """Delete records past their retention; returns how many."""
        with self.db.session() as session:
            result = session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.expires_at <= self.clock.now()))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        with self.db.session(readonly=True) as session:
            return session.get(IdempotencyRecord, (scope, key))
