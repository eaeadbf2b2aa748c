"""(being built)"""

from __future__ import annotations

from nicegui import ui

from memberops.access.rules import Permission
from memberops.console.frame import page
from memberops.console.i18n import t
from memberops.console.session import SignedIn


def register() -> None:
    @page("/members", permission=Permission.MEMBERS_READ)
    def view(who: SignedIn) -> None:
        ui.label(t("Members", "会员")).classes("text-2xl")
