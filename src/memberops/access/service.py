"""Use cases for operators and API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from memberops.access.models import ApiKey, Operator
from memberops.access.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from memberops.access.rules import Role
from memberops.audit import service as audit
from memberops.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from memberops.prepared import Prepared, utc_time
from memberops.uow import Actor, UnitOfWork

KEY_PREFIX = "mo_"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Writing last_used_at on every request would serialise SQLite; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is shown once and never stored."""

    key: ApiKey
    secret: str


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"unknown role {role!r}; choose one of {allowed}",
                               errors=[{"field": "role", "reason": "unknown role"}]) from None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(uow: UnitOfWork, *, role: str, name: str) -> IssuedKey:
    """Create a key with 256 bits of entropy; only its hash is kept."""
    role_value = _role(role)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("key name must be 1–100 characters",
                               errors=[{"field": "name", "reason": "length"}])
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=secret[:10], key_hash=hash_key(secret), role=role_value.value,
                 created_at=uow.clock.now(), created_by=uow.actor.label)
    uow.session.add(key)
    uow.session.flush()
    audit.record(uow, action="api_key.created", target_type="api_key", target_id=key.id,
                 changes={"role": {"before": None, "after": key.role},
                          "name": {"before": None, "after": key.name}})
    return IssuedKey(key=key, secret=secret)


def revoke_api_key(uow: UnitOfWork, key_id: int) -> ApiKey:
    """Revoke a key at once; revoking twice is refused so the first time stays on record."""
    key = uow.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked", code="already_revoked")
    key.revoked_at = uow.clock.now()
    audit.record(uow, action="api_key.revoked", target_type="api_key", target_id=key.id,
                 changes={"revoked_at": {"before": None, "after": key.revoked_at.isoformat()}})
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


KEYS: Any = ApiKey.__table__
KEY_BY_HASH = Prepared(select(KEYS.c.id, KEYS.c.name, KEYS.c.role, KEYS.c.last_used_at,
                              KEYS.c.revoked_at).where(KEYS.c.key_hash == bindparam("key_hash")))


def authenticate_key(db_session: Session, secret: str) -> ApiKey:
    """The live key for this secret, or Unauthenticated; the caller's session is read-only."""
    if not secret.startswith(KEY_PREFIX):
        raise Unauthenticated("invalid API key")
    row = KEY_BY_HASH.first(db_session, {"key_hash": hash_key(secret)})
    if row is None or row[4] is not None:
        raise Unauthenticated("invalid or revoked API key")
    key_id, name, role, last_used_at, _ = row
    # A detached copy with what callers use: this runs on every API request.
    return ApiKey(id=key_id, name=name, role=role, revoked_at=None,
                  last_used_at=utc_time(last_used_at) if last_used_at is not None else None)



def touch_key(uow: UnitOfWork, key: ApiKey) -> None:
    """Record the last use of a key, at most once a minute per key."""
    now = uow.clock.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    uow.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))


def actor_for_key(key: ApiKey) -> Actor:
    return Actor(kind="api_key", id=str(key.id), name=key.name, role=key.role)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD_LENGTH} characters",
                               errors=[{"field": "password", "reason": "too short"}])


def create_operator(uow: UnitOfWork, *, username: str, password: str, role: str,
                    display_name: str | None = None, language: str = "zh-CN") -> Operator:
    """Create a console account; the password is stored only as an Argon2id hash."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "username must be 2–64 characters: lower-case letters, digits, '.', '_' or '-'",
            errors=[{"field": "username", "reason": "format"}])
    role_value = _role(role)
    _check_password(password)
    if language not in ("zh-CN", "en"):
        raise ValidationFailed("language must be zh-CN or en",
                               errors=[{"field": "language", "reason": "unknown"}])
    exists = uow.session.execute(
        select(Operator.id).where(Operator.username == username)).scalar_one_or_none()
    if exists is not None:
        raise Conflict(f"operator {username!r} already exists", code="operator_exists")
    operator = Operator(username=username, display_name=display_name or username,
                        password_hash=hash_password(password), role=role_value.value,
                        language=language, active=True, created_at=uow.clock.now())
    uow.session.add(operator)
    uow.session.flush()
    audit.record(uow, action="operator.created", target_type="operator", target_id=operator.id,
                 changes={"username": {"before": None, "after": username},
                          "role": {"before": None, "after": operator.role}})
    return operator


def set_operator_active(uow: UnitOfWork, operator_id: int, active: bool) -> Operator:
    """Disable or re-enable a console account."""
    operator = uow.session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    if operator.active != active:
        audit.record(uow, action="operator.enabled" if active else "operator.disabled",
                     target_type="operator", target_id=operator.id,
                     changes={"active": {"before": operator.active, "after": active}})
        operator.active = active
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.execute(select(Operator).order_by(Operator.id)).scalars())


def verify_operator_login(uow: UnitOfWork, *, username: str, password: str) -> Operator:
    """Check a console sign-in; the same message for unknown users and wrong passwords."""
    operator = uow.session.execute(
        select(Operator).where(Operator.username == username.strip().lower())
    ).scalar_one_or_none()
    if operator is None or not operator.active or \
            not verify_password(operator.password_hash, password):
        raise Unauthenticated("wrong username or password")
    if needs_rehash(operator.password_hash):
        operator.password_hash = hash_password(password)
    operator.last_login_at = uow.clock.now()
    return operator


def set_operator_language(uow: UnitOfWork, operator_id: int, language: str) -> Operator:
    """The console language an operator chose; kept on the account for every browser."""
    if language not in ("zh-CN", "en"):
        raise ValidationFailed("language must be zh-CN or en",
                               errors=[{"field": "language", "reason": "unknown"}])
    operator = uow.session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    operator.language = language
    return operator
