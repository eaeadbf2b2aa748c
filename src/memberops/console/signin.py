"""The sign-in page: operator accounts (a till account is refused)."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, run, ui

from memberops.console import i18n, session
from memberops.console.i18n import LANGUAGES, t
from memberops.errors import DomainError, Forbidden


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def register() -> None:
    @ui.page("/signin")
    def signin(request: Request, next: str | None = None,
               lang: str | None = None) -> RedirectResponse | None:
        target = _safe_next(next)
        if session.current() is not None:
            return RedirectResponse(str(request.scope.get("root_path", "")) + target)
        _choose_language(request, lang)
        i18n.use_for_page(app.storage.user["language"])
        ui.page_title(t("Sign in · memberops", "登录 · memberops"))
        ended = session.expired_reason()
        with ui.card().classes("absolute-center w-96"):
            with ui.row().classes("w-full items-center"):
                ui.label("memberops").classes("text-2xl font-bold")
                ui.space()
                ui.toggle({"zh-CN": "中文", "en": "EN"}, value=app.storage.user["language"],
                          on_change=lambda e: _switch(e.value)).props("dense").mark("language")
            ui.label(t("Operators' console", "会员运营控制台")).classes("text-gray-600")
            if ended:
                ui.label(t("Your session has ended; please sign in again.",
                           "会话已过期，请重新登录。")).classes("text-warning").mark("ended")
            username = ui.input(t("Username", "用户名")).classes("w-full").mark("username")
            password = ui.input(t("Password", "密码"), password=True,
                                password_toggle_button=True).classes("w-full").mark("password")
            message = ui.label().classes("text-negative").mark("message")

            async def submit() -> None:
                if not (username.value or "").strip() or not password.value:
                    message.text = t("Enter your username and password.", "请输入用户名和密码。")
                    return
                try:
                    # Argon2 takes a moment: off the event loop.
                    who = await run.io_bound(session.authenticate, username.value,
                                             password.value)
                except Forbidden:
                    message.text = t("A till account has no console; use the till.",
                                     "收银账号不能登录控制台，请在收银台使用。")
                    return
                except DomainError:
                    message.text = t("Wrong username or password.", "用户名或密码错误。")
                    return
                if who is None:  # the server is shutting down
                    return
                session.start(who)
                ui.navigate.to(target)

            password.on("keydown.enter", submit)
            ui.button(t("Sign in", "登录"), on_click=submit).classes("w-full") \
                .props("color=primary").mark("submit")
        return None



def _choose_language(request: Request, lang: str | None) -> None:
    """Before sign-in: the language asked for, else the one chosen before in this browser,
    else the browser's own preference (Chinese unless it prefers English)."""
    storage = app.storage.user
    if lang in LANGUAGES:
        storage["language"] = lang
    elif storage.get("language") not in LANGUAGES:
        preferred = request.headers.get("accept-language", "").lower()
        storage["language"] = "en" if preferred.startswith("en") else "zh-CN"


def _switch(language: str) -> None:
    app.storage.user["language"] = language
    ui.navigate.reload()
