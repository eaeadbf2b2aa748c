"""Idempotency keys (DESIGN rule 6, API.md conventions).

A keyed request claims its key with the first statement of its business transaction
and stores its response with the last, so the claim, the effects and the stored answer
commit together or not at all:

* the same key and body return the first stored response;
* the same key with another body is refused (``idempotency_key_reused``);
* a repeat while the first still runs is refused (``request_in_progress``) on
  PostgreSQL, found by a transaction-scoped advisory lock on the key; on SQLite,
  where writers take turns, the repeat runs after the first and gets its answer;
* an attempt that crashes or fails leaves nothing behind, so a retry runs afresh;
* a refusal (4xx) is an answer too: it is stored on its own after the business
  transaction rolled back, unless another attempt stored an answer first.

One transaction per request, where an earlier design claimed the key in a
transaction of its own: that was a second commit on every value-moving request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
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
_CLAIM_COLUMNS = ("scope", "key", "request_hash", "attempt", "state", "request_id",
                  "created_at", "updated_at", "expires_at")
CLAIM = Prepared(insert(RECORDS).values({name: bindparam(name) for name in _CLAIM_COLUMNS}))
# PostgreSQL: the insert happens only if no other transaction holds the key's advisory
# lock; a second attempt of a running request inserts nothing instead of waiting on the
# first one's uncommitted row.
CLAIM_UNLESS_RUNNING = Prepared(insert(RECORDS).from_select(
    list(_CLAIM_COLUMNS),
    select(*(bindparam(name, type_=RECORDS.c[name].type) for name in _CLAIM_COLUMNS))
    .where(func.pg_try_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))))
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


class KeyTaken(Exception):
    """The key already has a record: roll back, then ask `IdempotencyGuard.answer`."""


class IdempotencyGuard:
    """Claims keys inside business transactions, and answers repeats."""

    def __init__(self, db: Database, clock: Clock, *, ttl_days: int = 7) -> None:
        self.db = db
        self.clock = clock
        self.ttl = timedelta(days=ttl_days)

    def claim(self, session: Session, scope: str, key: str, request_hash: str,
              request_id: str | None = None) -> Claim:
        """Claim the key as the first write of the caller's transaction. Raises KeyTaken
        if it has a record (the caller rolls back and asks `answer`), RequestInProgress if
        another transaction is running it now (PostgreSQL)."""
        now, attempt = self.clock.now(), secrets.token_hex(16)
        row = {"scope": scope, "key": key, "request_hash": request_hash,
               "attempt": attempt, "state": IN_PROGRESS,
               "request_id": request_id, "created_at": now, "updated_at": now,
               "expires_at": now + self.ttl}
        try:
            if self.db.is_sqlite:
                CLAIM.execute(session, row)
            elif CLAIM_UNLESS_RUNNING.rowcount(
                    session, {**row, "lock_id": _lock_id(scope, key)}) == 0:
                raise RequestInProgress(
                    "a request with this Idempotency-Key is still being processed; "
                    "retry later")
        except IntegrityError as exc:
            raise KeyTaken(key) from exc
        return Claim(scope, key, attempt)

    def complete(self, session: Session, claim: Claim, status: int, body: Any) -> None:
        """Store the response as the last write of the business transaction."""
        changed = COMPLETE.rowcount(session, {
            "scope": claim.scope, "key": claim.key, "attempt": claim.attempt,
            "status": status, "body": body, "now": self.clock.now()})
        if changed != 1:  # only if someone deleted our uncommitted claim: cannot happen
            raise RequestInProgress("this attempt lost its idempotency claim; retry the request")

    def answer(self, scope: str, key: str, request_hash: str) -> StoredResponse | None:
        """What a repeat gets: the stored response, or IdempotencyMismatch for another
        body; None if the record had expired (it is deleted: run the request afresh)."""
        now = self.clock.now()
        with self.db.session() as session:
            record = session.get(IdempotencyRecord, (scope, key))
            if record is None:
                return None
            if record.expires_at <= now or record.state != COMPLETED:
                # Expired; or a claim an older version left behind when it crashed.
                session.execute(delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key,
                    IdempotencyRecord.attempt == record.attempt))
                session.commit()
                return None
            if record.request_hash != request_hash:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was already used with a different request")
            assert record.response_status is not None
            return StoredResponse(record.response_status, record.response_body)

    def store_refusal(self, scope: str, key: str, request_hash: str, status: int,
                      body: Any, request_id: str | None = None) -> StoredResponse | None:
        """Store a 4xx after the business transaction rolled back. If another attempt
        stored an answer meanwhile, that one is returned: one key, one answer."""
        with self.db.session() as session:
            try:
                claim = self.claim(session, scope, key, request_hash, request_id)
                self.complete(session, claim, status, body)
                session.commit()
                return None
            except (KeyTaken, RequestInProgress):
                session.rollback()
        return self.answer(scope, key, request_hash)

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


def _lock_id(scope: str, key: str) -> int:
    """A signed 64-bit advisory lock number for a key (a collision only makes two keys
    wait for each other)."""
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
