"""Every console page's frame: the session check, the header with the sections the
operator's role may open, the language switch and sign-out; and the helpers every page
uses to run an action (permission, confirmation with a reason, errors as messages)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from memberops.access.rules import Permission
from memberops.console import i18n, session
from memberops.console.i18n import t
from memberops.console.session import SignedIn
from memberops.errors import DomainError, Forbidden, Unauthenticated
from memberops.uow import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    path: str
    en: str
    zh: str
    icon: str
    permission: Permission


SECTIONS = (
    Section("/", "Dashboard", "仪表盘", "dashboard", Permission.REPORTS_READ),
    Section("/members", "Members", "会员", "people", Permission.MEMBERS_READ),
    Section("/segments", "Segments", "人群", "filter_alt", Permission.INSIGHT_READ),
    Section("/programme", "Programme", "会员方案", "tune", Permission.CONFIG_READ),
    Section("/review", "Review queue", "充值审核", "fact_check", Permission.RISK_REVIEW),
    Section("/audit", "Audit log", "审计日志", "history", Permission.AUDIT_READ),
)


def _root(request: Request) -> str:
    """Where the console is mounted (/console when served beside the API)."""
    return str(request.scope.get("root_path", ""))


def _header(who: SignedIn, current: str) -> None:
    with ui.header().classes("items-center gap-2 bg-slate-800 q-px-md"):
        ui.label("memberops").classes("text-lg font-bold q-mr-md")
        for section in SECTIONS:
            if who.may(section.permission):
                button = ui.button(t(section.en, section.zh), icon=section.icon,
                                   on_click=functools.partial(ui.navigate.to, section.path))
                button.props("flat no-caps color=white" +
                             (" outline" if section.path == current else ""))
        ui.space()
        language = ui.toggle({"zh-CN": "中文", "en": "EN"}, value=who.language,
                             on_change=lambda e: _switch_language(e.value))
        language.props("dense toggle-color=primary color=white text-color=black") \
            .mark("language")
        ui.label(f"{who.display_name} · {who.role}").classes("text-sm q-mx-sm")
        ui.button(t("Sign out", "退出"), icon="logout", on_click=_sign_out) \
            .props("flat no-caps color=white").mark("signout")


def _switch_language(language: str) -> None:
    try:
        session.set_language(language)
    except DomainError as exc:
        ui.notify(str(exc), type="negative")
        return
    ui.navigate.reload()


def _sign_out() -> None:
    session.sign_out()
    ui.navigate.to("/signin")


def page(path: str, *, permission: Permission | None,
         ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a console page: `build(who, **path_params)` draws its content inside the
    frame once the session and the role's `permission` are checked. Without a session the
    browser is sent to the sign-in page, and back here afterwards."""

    def decorate(build: Callable[..., Any]) -> Callable[..., Any]:
        params = [p for name, p in inspect.signature(build).parameters.items()
                  if name != "who"]

        async def handler(request: Request, **kwargs: Any) -> Any:
            who = session.current()
            if who is None:
                target = request.url.path.removeprefix(_root(request)) or "/"
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"{_root(request)}/signin?next={quote(target)}")
            i18n.use_for_page(who.language)
            ui.page_title(f"memberops · {who.display_name}")
            _header(who, path)
            with ui.column().classes("w-full q-pa-md gap-4"):
                if permission is not None and not who.may(permission):
                    ui.label(t("Your role ({role}) may not open this page.",
                               "您的角色（{role}）无权打开此页面。", role=who.role)) \
                        .classes("text-negative text-lg").mark("denied")
                    return None
                result = build(who, **kwargs)
                if inspect.isawaitable(result):
                    await result
            return None

        handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               annotation=Request), *params])
        handler.__name__ = build.__name__
        handler.__module__ = build.__module__
        ui.page(path)(handler)
        return build

    return decorate


def problem_text(exc: DomainError) -> str:
    from memberops.console import problems  # the titles, in the operator's language

    return problems.text(exc)


async def act(permission: Permission, work: Callable[[UnitOfWork], T], *,
              done: str | None = None) -> T | None:
    """Run `work` in one unit of work in the operator's name, if their role allows it.
    Errors become a message and change nothing; None then, else what `work` returned."""
    try:
        who = session.require(permission)
    except Unauthenticated:
        ui.navigate.to("/signin")
        return None
    except Forbidden:
        denied = session.current()
        ui.notify(t("Your role ({role}) may not do this.", "您的角色（{role}）无权执行此操作。",
                    role=denied.role if denied else "?"), type="negative")
        return None

    def in_uow() -> T:
        from memberops.console import state

        with state.uow(who.actor) as uow:
            return work(uow)

    try:
        result = await run.io_bound(in_uow)
    except DomainError as exc:
        ui.notify(problem_text(exc), type="negative", multi_line=True)
        return None
    if done:
        ui.notify(done, type="positive")
    return result


def confirm(title: str, message: str, on_confirm: Callable[[str], Awaitable[bool]], *,
            reason: bool = True, label: str | None = None) -> None:
    """Ask before a consequential action, with a reason (required when `reason`); the
    dialog closes when `on_confirm(reason)` reports success."""
    with ui.dialog() as dialog, ui.card().classes("min-w-[24rem]"):
        ui.label(title).classes("text-lg font-bold")
        ui.label(message)
        reason_input = None
        if reason:
            reason_input = ui.textarea(t("Reason", "原因")).classes("w-full").mark("reason")

        async def go() -> None:
            text = (reason_input.value or "").strip() if reason_input is not None else ""
            if reason_input is not None and not text:
                ui.notify(t("A reason is required.", "请填写原因。"), type="warning")
                return
            if await on_confirm(text):
                dialog.close()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("Cancel", "取消"), on_click=dialog.close).props("flat").mark("cancel")
            ui.button(label or t("Confirm", "确认"), on_click=go).props("color=primary") \
                .mark("confirm")
    # A closed dialog is gone for good (a page that asks often does not pile them up).
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    dialog.open()
