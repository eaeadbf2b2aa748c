"""The idempotency mechanism on its own: claim, replay, mismatch, in flight, crash, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberops.errors import IdempotencyMismatch, RequestInProgress, ValidationFailed
from memberops.idempotency import (
    Claim,
    IdempotencyGuard,
    StoredResponse,
    request_fingerprint,
    validate_key,
)


@pytest.fixture
def guard(db, clock) -> IdempotencyGuard:
    return IdempotencyGuard(db, clock, ttl_days=7, stale_after_seconds=60)


def test_fingerprint_ignores_json_spacing_and_key_order() -> None:
    a = request_fingerprint("POST", "/x", b'{"a": 1, "b": [1, 2]}')
    b = request_fingerprint("post", "/x", b'{"b":[1,2],"a":1}')
    assert a == b
    assert a != request_fingerprint("POST", "/x", b'{"a": 2, "b": [1, 2]}')
    assert a != request_fingerprint("POST", "/y", b'{"a": 1, "b": [1, 2]}')


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_key(key)


def test_completed_key_replays_first_response(guard, db) -> None:
    claim = guard.claim("k:1", "abc", "h1")
    assert isinstance(claim, Claim)
    with db.session() as session:
        guard.complete(session, claim, 201, {"id": 7})
        session.commit()
    assert guard.claim("k:1", "abc", "h1") == StoredResponse(201, {"id": 7})


def test_same_key_other_body_is_refused(guard, db) -> None:
    claim = guard.claim("k:1", "abc", "h1")
    with db.session() as session:
        guard.complete(session, claim, 201, {"id": 7})
        session.commit()
    with pytest.raises(IdempotencyMismatch) as err:
        guard.claim("k:1", "abc", "h2")
    assert err.value.code == "idempotency_key_reused"


def test_keys_are_scoped_per_caller(guard) -> None:
    assert isinstance(guard.claim("k:1", "abc", "h1"), Claim)
    assert isinstance(guard.claim("k:2", "abc", "h1"), Claim)


def test_repeat_while_in_flight_is_refused(guard) -> None:
    guard.claim("k:1", "abc", "h1")
    with pytest.raises(RequestInProgress) as err:
        guard.claim("k:1", "abc", "h1")
    assert err.value.code == "request_in_progress"


def test_crashed_attempt_is_taken_over_and_cannot_complete_later(guard, db, clock) -> None:
    crashed = guard.claim("k:1", "abc", "h1")
    clock.advance(timedelta(seconds=61))
    retry = guard.claim("k:1", "abc", "h1")
    assert isinstance(retry, Claim) and retry.attempt != crashed.attempt
    # The first attempt wakes up late: its completion must be refused, so only one commits.
    with db.session() as session, pytest.raises(RequestInProgress):
        guard.complete(session, crashed, 201, {"id": 1})
    with db.session() as session:
        guard.complete(session, retry, 201, {"id": 2})
        session.commit()
    assert guard.claim("k:1", "abc", "h1") == StoredResponse(201, {"id": 2})


def test_released_attempt_can_run_again(guard) -> None:
    claim = guard.claim("k:1", "abc", "h1")
    guard.release(claim)
    assert isinstance(guard.claim("k:1", "abc", "h1"), Claim)


def test_expired_records_are_forgotten_after_seven_days(guard, db, clock) -> None:
    claim = guard.claim("k:1", "abc", "h1")
    with db.session() as session:
        guard.complete(session, claim, 201, {"id": 7})
        session.commit()
    clock.advance(timedelta(days=6, hours=23))
    assert guard.purge_expired() == 0
    assert guard.claim("k:1", "abc", "h1") == StoredResponse(201, {"id": 7})
    clock.advance(timedelta(hours=2))
    assert isinstance(guard.claim("k:1", "abc", "other body now allowed"), Claim)
    clock.advance(timedelta(days=8))
    assert guard.purge_expired() == 1
