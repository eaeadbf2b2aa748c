"""The console's two languages: each text is written in English and Chinese where it is
used, `t("Members", "会员")`, and shown in the signed-in operator's language."""

from __future__ import annotations

from nicegui import app

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
