"""Sign-in, sign-out, session expiry, roles without a console, and the language switch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from memberops.access.models import Operator
from memberops.audit.models import AuditEntry
from tests.console.conftest import PASSWORD, Console

pytestmark = pytest.mark.anyio


async def _submit(app: Console, username: str, password: str) -> None:
    await app.user.open("/signin?lang=en")
    app.user.find(marker="username").type(username)
    app.user.find(marker="password").type(password)
    app.user.find(marker="submit").click()


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(
        console_app: Console) -> None:
    username = console_app.operator("admin")
    await console_app.user.open("/members")
    await console_app.user.should_see(marker="username")  # the sign-in form
    console_app.user.find(marker="username").type(username)
    console_app.user.find(marker="password").type(PASSWORD)
    console_app.user.find(marker="submit").click()
    await console_app.user.should_see(marker="signout")
    assert console_app.user.back_history[-1] == "/members"


async def test_a_wrong_password_is_refused_with_one_message_for_both_mistakes(
        console_app: Console) -> None:
    username = console_app.operator("admin")
    await _submit(console_app, username, "not the password")
    await console_app.user.should_see("Wrong username or password.")
    await _submit(console_app, "nobody", PASSWORD)
    await console_app.user.should_see("Wrong username or password.")
    await console_app.user.should_not_see(marker="signout")


async def test_empty_fields_are_asked_for(console_app: Console) -> None:
    await console_app.user.open("/signin?lang=en")
    console_app.user.find(marker="submit").click()
    await console_app.user.should_see("Enter your username and password.")


async def test_a_till_account_has_no_console(console_app: Console) -> None:
    username = console_app.operator("till")
    await _submit(console_app, username, PASSWORD)
    await console_app.user.should_see("A till account has no console; use the till.")
    await console_app.user.open("/")
    await console_app.user.should_see(marker="username")


async def test_sign_in_is_audited_and_sign_out_ends_the_session(console_app: Console) -> None:
    await console_app.sign_in("admin")
    with console_app.db.session(readonly=True) as session:
        actions = session.execute(select(
            AuditEntry.action, AuditEntry.actor_kind, AuditEntry.actor_name,
            AuditEntry.actor_role)).all()
    assert ("operator.signed_in", "operator", "admin-op", "admin") in actions
    console_app.user.find(marker="signout").click()
    await console_app.user.should_see(marker="username")
    await console_app.user.open("/members")
    await console_app.user.should_see(marker="username")


async def test_an_idle_session_expires(console_app: Console) -> None:
    await console_app.sign_in("admin", then="/members")
    console_app.clock.advance(timedelta(minutes=29))
    await console_app.user.open("/members")
    await console_app.user.should_see(marker="signout")
    console_app.clock.advance(timedelta(minutes=31))
    await console_app.user.open("/members")
    await console_app.user.should_see("Your session has ended; please sign in again.")


async def test_a_session_ends_after_its_limit_even_when_busy(console_app: Console) -> None:
    await console_app.sign_in("admin", then="/members")
    for _ in range(12 * 3):  # a page every 20 minutes for 12 hours
        console_app.clock.advance(timedelta(minutes=20))
        await console_app.user.open("/members")
    console_app.clock.advance(timedelta(minutes=20))
    await console_app.user.open("/members")
    await console_app.user.should_see("Your session has ended; please sign in again.")


async def test_a_disabled_operator_is_signed_out_at_once(console_app: Console) -> None:
    await console_app.sign_in("analyst", then="/members")
    with console_app.make_uow() as uow:
        operator = uow.session.execute(
            select(Operator).where(Operator.username == "analyst-op")).scalar_one()
        operator.active = False
    await console_app.user.open("/members")
    await console_app.user.should_see(marker="username")


async def test_the_language_switch_is_remembered_on_the_account(console_app: Console) -> None:
    await console_app.sign_in("admin", language="zh-CN", then="/members")
    await console_app.user.should_see("退出")
    toggle = next(iter(console_app.user.find(marker="language").elements))
    toggle.value = "en"  # what the browser's click on "EN" does
    await console_app.user.should_see("Sign out")
    with console_app.db.session(readonly=True) as session:
        language = session.execute(
            select(Operator.language).where(Operator.username == "admin-op")).scalar_one()
    assert language == "en"


async def test_quasar_speaks_the_operators_language(console_app: Console) -> None:
    """Quasar's own texts (an empty table's "No data available") follow the operator."""
    await console_app.sign_in("admin", language="zh-CN", then="/review")
    assert console_app.user.client is not None
    assert console_app.user.client.page.resolve_language() == "zh-CN"
    toggle = next(iter(console_app.user.find(marker="language").elements))
    toggle.value = "en"
    await console_app.user.should_see("Sign out")
    assert console_app.user.client.page.resolve_language() == "en-US"


async def test_next_never_leaves_the_console(console_app: Console) -> None:
    username = console_app.operator("admin")
    await console_app.user.open("/signin?lang=en&next=https://evil.example/")
    console_app.user.find(marker="username").type(username)
    console_app.user.find(marker="password").type(PASSWORD)
    console_app.user.find(marker="submit").click()
    await console_app.user.should_see(marker="signout")
    assert console_app.user.back_history[-1] == "/"
