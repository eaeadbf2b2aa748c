"""Reading and changing the programme's configuration: validated, versioned, audited."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from memberops.audit import service as audit
from memberops.errors import NotFound, ValidationFailed
from memberops.prepared import Prepared
from memberops.programme.models import ConfigVersion
from memberops.programme.schemas import KINDS, Rules
from memberops.uow import UnitOfWork

R = TypeVar("R", bound=Rules)


def _model(kind: str) -> type[Rules]:
    if kind not in KINDS:
        raise NotFound(f"no configuration called {kind!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[kind]


CONFIG: Table = ConfigVersion.__table__  # type: ignore[assignment]
# Run on the driver (every payment asks): `data` comes back as the driver gives it —
# JSON text on SQLite, already decoded on PostgreSQL.
LATEST = Prepared(select(CONFIG.c.version, CONFIG.c.data).where(CONFIG.c.kind == bindparam("kind"))
                  .order_by(CONFIG.c.version.desc()).limit(1))
# The last configuration parsed per kind, with the stored data it came from: the database
# is still asked what is in force on every call (another process may have changed it), but
# the data is validated again only when it differs.
_PARSED: dict[str, tuple[str | dict[str, Any] | None, Rules]] = {}


def current(session: Session, model: type[R]) -> R:
    """The configuration in force for this kind (the reference programme until changed)."""
    kind = next(k for k, m in KINDS.items() if m is model)
    # Within one transaction the configuration cannot change under us: asked once.
    in_session = session.info.setdefault("programme_config", {})
    if kind in in_session:
        return in_session[kind][1]  # type: ignore[no-any-return]
    in_session[kind] = found = _parsed(session, kind, model)
    return found[1]


def _parsed(session: Session, kind: str, model: type[R]) -> tuple[int, R]:
    """(version, configuration) in force; version 0 is the reference programme."""
    version, data = LATEST.first(session, {"kind": kind}) or (0, None)
    return version, _validated(kind, model, data)


def _validated(kind: str, model: type[R], data: str | dict[str, Any] | None) -> R:
    cached = _PARSED.get(kind)
    if cached is not None and cached[0] == data:
        return cached[1]  # type: ignore[return-value]
    if data is None:
        parsed = model()
    else:
        parsed = model.model_validate(json.loads(data) if isinstance(data, str) else data)
    _PARSED[kind] = (data, parsed)
    return parsed


def current_version(session: Session, kind: str) -> int:
    """The version number in force (0: the reference programme, never changed)."""
    current(session, _model(kind))
    return int(session.info["programme_config"][kind][0])


def save(uow: UnitOfWork, kind: str, data: dict[str, Any], note: str | None = None) -> int:
    """Validate and store a new version; returns its number."""
    model = _model(kind)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
                  for e in exc.errors()]
        raise ValidationFailed(f"invalid {kind}: " + "; ".join(
            f"{e['field']}: {e['reason']}" for e in errors), errors=errors) from None
    before = current(uow.session, model).model_dump(mode="json")
    version = current_version(uow.session, kind) + 1
    after = parsed.model_dump(mode="json")
    uow.session.add(ConfigVersion(kind=kind, version=version, data=after, note=note,
                                  created_at=uow.clock.now(), created_by=uow.actor.label))
    uow.session.flush()
    uow.session.info.get("programme_config", {}).pop(kind, None)
    audit.record(uow, action="programme.changed", target_type="programme", target_id=kind,
                 changes=audit.diff(before, after), reason=note)
    return version


def history(session: Session, kind: str) -> list[ConfigVersion]:
    _model(kind)
    return list(session.execute(select(ConfigVersion).where(ConfigVersion.kind == kind)
                                .order_by(ConfigVersion.version.desc())).scalars())
