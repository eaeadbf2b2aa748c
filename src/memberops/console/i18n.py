"""The console's two languages: each text is written in English and Chinese where it is
used, `t("Members", "会员")`, and shown in the signed-in operator's language."""

from __future__ import annotations

import copy

from nicegui import app, context

from memberops.console import fmt

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


def language() -> str:
    """The current operator's language (the default before sign-in or outside a page)."""
    try:
        value = app.storage.user.get("language", DEFAULT)
    except RuntimeError:  # no request or client: a background task
        return DEFAULT
    return value if value in LANGUAGES else DEFAULT


def t(en: str, zh: str, /, **values: object) -> str:
    """The text in the operator's language, with `{name}` fields filled from `values`."""
    text = zh if language() == "zh-CN" else en
    return text.format(**values) if values else text


def counted(count: int, one: str, many: str) -> str:
    """ "1 member", "2 members": an English count with its noun."""
    return f"{fmt.number(count)} {one if count == 1 else many}"


def t_count(count: int, one: str, many: str, zh: str, /, **values: object) -> str:
    """`t` for a text about `count` things: English says "1 member" and "2 members"
    (Chinese has one form); `{n}` is the count as the console shows numbers."""
    return t(one if count == 1 else many, zh, n=fmt.number(count), **values)


def use_for_page(language: str) -> None:
    """Quasar's own texts on this page ("No data available", the pager, the date picker)
    in the operator's language. NiceGUI takes a page's language from its route; each
    browser's page gets its own copy of the route with the operator's language."""
    client = context.client
    page = copy.copy(client.page)
    page.language = "zh-CN" if language == "zh-CN" else "en-US"
    client.page = page
