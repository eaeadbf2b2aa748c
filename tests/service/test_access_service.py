"""Operator sign-in checks and audit of access changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from memberops.access import service
from memberops.audit.models import AuditEntry
from memberops.errors import Unauthenticated


def test_login_checks_password_and_active_flag(make_uow) -> None:
    with make_uow() as uow:
        op_id = service.create_operator(uow, username="amy", password="long enough pw",
                                        role="operator").id
    with make_uow() as uow:
        assert service.verify_operator_login(uow, username="AMY", password="long enough pw")
    with pytest.raises(Unauthenticated), make_uow() as uow:
        service.verify_operator_login(uow, username="amy", password="wrong password")
    with pytest.raises(Unauthenticated), make_uow() as uow:
        service.verify_operator_login(uow, username="nobody", password="long enough pw")
    with make_uow() as uow:
        service.set_operator_active(uow, op_id, False)
    with pytest.raises(Unauthenticated), make_uow() as uow:
        service.verify_operator_login(uow, username="amy", password="long enough pw")


def test_access_changes_are_audited_without_secrets(make_uow) -> None:
    with make_uow() as uow:
        issued = service.create_api_key(uow, role="till", name="store 12")
        service.create_operator(uow, username="amy", password="long enough pw", role="analyst")
    with make_uow() as uow:
        service.revoke_api_key(uow, issued.key.id)
    with make_uow(readonly=True) as uow:
        entries = list(uow.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    assert [e.action for e in entries] == ["api_key.created", "operator.created",
                                           "api_key.revoked"]
    text = repr([e.changes for e in entries])
    assert issued.secret not in text and "long enough pw" not in text


def test_key_authentication(make_uow, db) -> None:
    with make_uow() as uow:
        issued = service.create_api_key(uow, role="till", name="store 12")
    with db.session(readonly=True) as s:
        assert service.authenticate_key(s, issued.secret).id == issued.key.id
        with pytest.raises(Unauthenticated):
            service.authenticate_key(s, issued.secret + "x")
        with pytest.raises(Unauthenticated):
            service.authenticate_key(s, "Bearer nonsense")
