"""Who is signed in to the console, for how long, and what their role lets them do.

The session lives in NiceGUI's per-browser storage (`app.storage.user`, keyed by a signed
cookie). Every page load and every action reads the operator back from the database, so
a disabled account or a changed role takes effect at once, and checks the idle and
absolute time limits (settings `console_idle_minutes`, `console_session_hours`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import app

from memberops.access import service as access_service
from memberops.access.models import Operator
from memberops.access.rules import Permission, Role, allows
from memberops.audit import service as audit
from memberops.console import state
from memberops.errors import Forbidden, Unauthenticated
from memberops.uow import Actor

# A till serves members at the counter through the API; the console is for the office.
NO_CONSOLE = frozenset({Role.TILL.value})


@dataclass(frozen=True)
class SignedIn:
    """The operator of the current browser session."""

    id: int
    username: str
    display_name: str
    role: str
    language: str

    @property
    def actor(self) -> Actor:
        return Actor(kind="operator", id=str(self.id), name=self.username, role=self.role)

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def _now() -> float:
    return state.services().clock.now().timestamp()


def _signed_in(operator: Operator) -> SignedIn:
    return SignedIn(operator.id, operator.username, operator.display_name, operator.role,
                    operator.language)


def authenticate(username: str, password: str) -> SignedIn:
    """Check the credentials: Unauthenticated, or Forbidden for a till account. Runs in a
    worker thread (Argon2 takes a moment); `start` then opens the browser's session."""
    actor = Actor(kind="operator", id=username.strip().lower(), name=username.strip().lower(),
                  role="unknown")
    with state.uow(actor) as uow:
        operator = access_service.verify_operator_login(uow, username=username,
                                                        password=password)
        if operator.role in NO_CONSOLE:
            raise Forbidden("a till account has no console; sign in at the till",
                            code="no_console")
        uow.actor = _signed_in(operator).actor  # now known: the entry names them fully
        audit.record(uow, action="operator.signed_in", target_type="operator",
                     target_id=operator.id)
        return _signed_in(operator)


def start(who: SignedIn) -> None:
    now = _now()
    storage = app.storage.user
    storage.clear()
    storage.update(operator_id=who.id, language=who.language, signed_in_at=now,
                   last_seen=now)


def sign_out() -> None:
    _end(None)


def _end(reason: str | None) -> None:
    """Forget the operator; the browser keeps its language for the sign-in page."""
    storage = app.storage.user
    language = storage.get("language")
    storage.clear()
    if language:
        storage["language"] = language
    if reason:
        storage["ended"] = reason


def expired_reason() -> str | None:
    """Why the last session ended, if it ended by time ('idle' or 'limit'); read once."""
    return app.storage.user.pop("ended", None)  # type: ignore[no-any-return]


def current() -> SignedIn | None:
    """The signed-in operator, or None (never signed in, signed out, timed out, disabled)."""
    storage = app.storage.user
    operator_id = storage.get("operator_id")
    if operator_id is None:
        return None
    settings = state.services().settings
    now = _now()
    if now - storage.get("last_seen", 0) > settings.console_idle_minutes * 60:
        _end("idle")
        return None
    if now - storage.get("signed_in_at", 0) > settings.console_session_hours * 3600:
        _end("limit")
        return None
    with state.services().db.session(readonly=True) as session:
        operator = session.get(Operator, operator_id)
        found = None if operator is None else _signed_in(operator)
        active = operator is not None and operator.active
    if found is None or not active or found.role in NO_CONSOLE:
        _end(None)
        return None
    storage["last_seen"] = now
    storage["language"] = found.language
    return found


def require(permission: Permission | None = None) -> SignedIn:
    """The operator for an action, who must hold `permission`; raises otherwise."""
    who = current()
    if who is None:
        raise Unauthenticated("your session has ended; sign in again")
    if permission is not None and not who.may(permission):
        raise Forbidden(f"role {who.role!r} may not {permission.value}")
    return who


def set_language(language: str) -> None:
    """Remember the operator's language choice on their account."""
    who = require()
    with state.uow(who.actor) as uow:
        access_service.set_operator_language(uow, who.id, language)
    app.storage.user["language"] = language
