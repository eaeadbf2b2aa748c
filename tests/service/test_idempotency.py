"""The idempotency mechanism on its own: claim, replay, mismatch, in flight, rollback, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberops.errors import IdempotencyMismatch, RequestInProgress, ValidationFailed
from memberops.idempotency import (
    IdempotencyGuard,
    KeyTaken,
    StoredResponse,
    request_fingerprint,
    validate_key,
)


@pytest.fixture
def guard(db, clock) -> IdempotencyGuard:
    return IdempotencyGuard(db, clock, ttl_days=7)


def _run(db, guard: IdempotencyGuard, scope: str, key: str, request_hash: str,
         response: dict) -> StoredResponse | None:
    """What the API does: claim, work, complete in one transaction; else the stored
    answer; None when this attempt ran. An expired record is deleted and the work runs."""
    for _ in range(2):
        try:
            with db.session() as session:
                claim = guard.claim(session, scope, key, request_hash)
                guard.complete(session, claim, 201, response)
                session.commit()
                return None
        except KeyTaken:
            stored = guard.answer(scope, key, request_hash)
            if stored is not None:
                return stored
    raise AssertionError("the expired record was not deleted")


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
    assert _run(db, guard, "k:1", "abc", "h1", {"id": 7}) is None
    assert _run(db, guard, "k:1", "abc", "h1", {"id": 8}) == StoredResponse(201, {"id": 7})


def test_same_key_other_body_is_refused(guard, db) -> None:
    _run(db, guard, "k:1", "abc", "h1", {"id": 7})
    with pytest.raises(IdempotencyMismatch) as err:
        _run(db, guard, "k:1", "abc", "h2", {"id": 8})
    assert err.value.code == "idempotency_key_reused"


def test_keys_are_scoped_per_caller(guard, db) -> None:
    assert _run(db, guard, "k:1", "abc", "h1", {"id": 1}) is None
    assert _run(db, guard, "k:2", "abc", "h1", {"id": 2}) is None


def test_a_rolled_back_attempt_leaves_no_claim(guard, db) -> None:
    with db.session() as session:
        guard.claim(session, "k:1", "abc", "h1")
        session.rollback()  # the work failed, or the process died before COMMIT
    assert guard.get("k:1", "abc") is None
    assert _run(db, guard, "k:1", "abc", "h1", {"id": 2}) is None
    assert guard.answer("k:1", "abc", "h1") == StoredResponse(201, {"id": 2})


def test_a_refusal_is_stored_unless_an_answer_came_first(guard, db) -> None:
    assert guard.store_refusal("k:1", "abc", "h1", 422, {"code": "x"}) is None
    assert guard.answer("k:1", "abc", "h1") == StoredResponse(422, {"code": "x"})
    _run(db, guard, "k:1", "other", "h1", {"id": 3})
    # another attempt answered first: the refusal is not stored, that answer is returned
    assert guard.store_refusal("k:1", "other", "h1", 422, {"code": "y"}) == \
        StoredResponse(201, {"id": 3})


@pytest.mark.postgres_only
def test_repeat_while_in_flight_is_refused_on_postgresql(guard, db) -> None:
    with db.session() as first:
        guard.claim(first, "k:1", "abc", "h1")  # running, not yet committed
        with db.session() as second, pytest.raises(RequestInProgress) as err:
            guard.claim(second, "k:1", "abc", "h1")
        assert err.value.code == "request_in_progress"
        first.rollback()


def test_expired_records_are_forgotten_after_seven_days(guard, db, clock) -> None:
    _run(db, guard, "k:1", "abc", "h1", {"id": 7})
    clock.advance(timedelta(days=6, hours=23))
    assert guard.purge_expired() == 0
    assert _run(db, guard, "k:1", "abc", "h1", {"id": 8}) == StoredResponse(201, {"id": 7})
    clock.advance(timedelta(hours=2))
    # expired: a repeat runs afresh, even with another body
    assert _run(db, guard, "k:1", "abc", "other body now allowed", {"id": 9}) is None
    assert guard.answer("k:1", "abc", "other body now allowed") == StoredResponse(201, {"id": 9})
    clock.advance(timedelta(days=8))
    assert guard.purge_expired() == 1
