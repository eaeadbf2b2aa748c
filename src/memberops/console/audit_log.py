"""The audit log viewer: who changed what, newest first, a page at a time (the log is large,
so pages are read from the database by id, never all at once); filters by date, actor,
action and target; each entry's changes (before → after), reason and request id in a
dialog; the filtered entries as CSV, the export itself audited.

Links from other pages can open it filtered: /audit?target_type=member&target_id=42.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from nicegui import events, run, ui

from memberops.access.rules import Permission
from memberops.audit import exporting, queries
from memberops.audit.models import AuditEntry
from memberops.audit.queries import AuditFilter
from memberops.console import fmt, state
from memberops.console.frame import act, page
from memberops.console.i18n import t
from memberops.console.session import SignedIn

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of entries as read in a worker thread, and what the pager needs."""

    entries: list[AuditEntry]
    total: int
    more: bool  # older entries follow


def load_page(filters: AuditFilter, before_id: int | None) -> Page:
    with state.services().db.session(readonly=True) as session:
        found = queries.list_entries(session, filters, limit=PAGE_SIZE + 1,
                                     before_id=before_id)
        return Page(found[:PAGE_SIZE], queries.count_entries(session, filters),
                    len(found) > PAGE_SIZE)


def load_choices() -> tuple[list[str], list[str]]:
    with state.services().db.session(readonly=True) as session:
        return queries.known_values(session)


def shown(value: Any) -> str:
    """A before or after value as a reader expects it: text as is, the rest as JSON."""
    if value is None:
        return "–"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def summary(changes: dict[str, Any]) -> str:
    """The changed fields in one line: name: 张三 → 李四; tier: silver → gold."""
    parts = []
    for field, change in changes.items():
        if isinstance(change, dict) and ("before" in change or "after" in change):
            parts.append(f"{field}: {shown(change.get('before'))} → {shown(change.get('after'))}")
        else:
            parts.append(f"{field}: {shown(change)}")
    text = "; ".join(parts)
    return text if len(text) <= 120 else text[:119] + "…"


def table_row(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": fmt.when(entry.at), "actor": entry.actor_name,
            "role": entry.actor_role, "action": entry.action,
            "target": f"{entry.target_type} {entry.target_id}", "changes": summary(entry.changes),
            "reason": entry.reason or ""}


def parse_day(text: str | None) -> date | None:
    """A date typed as YYYY-MM-DD (what the date picker fills in); None when empty."""
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


def day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole programme-local days: from the first day's start to the end of the last."""
    tz = state.services().clock.tz
    start = datetime.combine(since, time(), tzinfo=tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=tz) if until else None
    return start, end


COLUMNS = [("at", "Time", "时间"), ("actor", "Actor", "操作人"), ("action", "Action", "操作"),
           ("target", "Target", "对象"), ("changes", "Changes", "变更"),
           ("reason", "Reason", "原因")]
DETAILS_CELL = """
<q-td :props="props" auto-width>
  <q-btn dense flat round icon="visibility" @click="$parent.$emit('details', props.row)" />
</q-td>"""
ACTOR_CELL = """
<q-td :props="props">{{ props.row.actor }}
  <span class="text-caption text-grey-7">{{ props.row.role }}</span></q-td>"""


class AuditLog:
    """The filter form, the table with its pager, the details dialog and the export."""

    def __init__(self, initial: AuditFilter, actions: list[str], targets: list[str]) -> None:
        self.filters = initial
        self.pages: list[int | None] = [None]  # the before_id of each page visited
        self.entries: dict[int, AuditEntry] = {}
        self._form(initial, actions, targets)
        self._table()
        self.dialogs = ui.element()  # the details dialog, replaced each time

    def _form(self, initial: AuditFilter, actions: list[str], targets: list[str]) -> None:
        with ui.row().classes("items-end gap-2 w-full"):
            self.since = ui.input(t("From", "开始日期"), placeholder="YYYY-MM-DD") \
                .props("type=date stack-label").mark("audit-from")
            self.until = ui.input(t("To", "结束日期"), placeholder="YYYY-MM-DD") \
                .props("type=date stack-label").mark("audit-to")
            self.actor = ui.input(t("Actor", "操作人"), value=initial.actor or "") \
                .mark("audit-actor")
            self.action = ui.input(t("Action", "操作"), value=initial.action or "",
                                   autocomplete=actions).mark("audit-action")
            self.target_type = ui.input(t("Target type", "对象类型"),
                                        value=initial.target_type or "",
                                        autocomplete=targets).mark("audit-target-type")
            self.target_id = ui.input(t("Target id", "对象编号"), value=initial.target_id or "") \
                .mark("audit-target-id")
            for field in (self.since, self.until, self.actor, self.action, self.target_type,
                          self.target_id):
                field.on("keydown.enter", self.apply)
            ui.button(t("Search", "查询"), icon="search", on_click=self.apply) \
                .mark("audit-apply")
            ui.button(t("Clear", "清除"), on_click=self.clear).props("flat").mark("audit-clear")
            ui.space()
            ui.button(t("Export CSV", "导出 CSV"), icon="download", on_click=self.export) \
                .props("outline").mark("audit-export")

    def _table(self) -> None:
        columns = [{"name": name, "label": t(en, zh), "field": name, "align": "left"}
                   for name, en, zh in COLUMNS]
        columns.append({"name": "details", "label": "", "field": "id"})
        self.table = ui.table(columns=columns, rows=[], row_key="id",
                              pagination=0).classes("w-full").mark("audit-table")
        self.table.add_slot("body-cell-actor", ACTOR_CELL)
        self.table.add_slot("body-cell-details", DETAILS_CELL)
        self.table.on("details", self._details)
        with ui.row().classes("items-center gap-2"):
            self.newer = ui.button(t("Newer", "较新"), icon="chevron_left",
                                   on_click=self.newer_page).props("flat").mark("audit-newer")
            self.range = ui.label().mark("audit-range")
            self.older = ui.button(t("Older", "较早"), icon="chevron_right",
                                   on_click=self.older_page).props("flat").mark("audit-older")

    def _read_form(self) -> AuditFilter | None:
        """The filter the form describes, or None after saying what is wrong with it."""
        try:
            first, last = parse_day(self.since.value), parse_day(self.until.value)
        except ValueError:
            ui.notify(t("Write dates as YYYY-MM-DD.", "日期格式为 YYYY-MM-DD。"), type="warning")
            return None
        if first and last and first > last:
            ui.notify(t("The start date is after the end date.", "开始日期晚于结束日期。"),
                      type="warning")
            return None
        since, until = day_range(first, last)
        text = {name: (getattr(self, name).value or "").strip() or None
                for name in ("actor", "action", "target_type", "target_id")}
        return AuditFilter(since=since, until=until, **text)

    async def apply(self) -> None:
        filters = self._read_form()
        if filters is not None:
            self.filters, self.pages = filters, [None]
            await self.show()

    async def clear(self) -> None:
        for field in (self.since, self.until, self.actor, self.action, self.target_type,
                      self.target_id):
            field.value = ""
        self.filters, self.pages = AuditFilter(), [None]
        await self.show()

    async def older_page(self) -> None:
        if self.entries:
            self.pages.append(min(self.entries))
            await self.show()

    async def newer_page(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            await self.show()

    async def show(self) -> None:
        """Read and draw the current page of the current filter."""
        found = await run.io_bound(load_page, self.filters, self.pages[-1])
        if found is None:
            return
        self.entries = {e.id: e for e in found.entries}
        self.table.rows = [table_row(e) for e in found.entries]
        self.table.update()
        first = (len(self.pages) - 1) * PAGE_SIZE + 1
        self.range.text = t("No entries match.", "没有符合条件的记录。") if not found.entries \
            else t("Entries {first}–{last} of {total}", "第 {first}–{last} 条，共 {total} 条",
                   first=fmt.number(first), last=fmt.number(first + len(found.entries) - 1),
                   total=fmt.number(found.total))
        self.newer.set_enabled(len(self.pages) > 1)
        self.older.set_enabled(found.more)

    def _details(self, e: events.GenericEventArguments) -> None:
        entry = self.entries.get(int(e.args["id"]))
        if entry is None:
            return
        self.dialogs.clear()
        with self.dialogs, ui.dialog() as dialog, ui.card().classes("min-w-[32rem]") \
                .mark("audit-details"):
            details(entry)
            ui.button(t("Close", "关闭"), on_click=dialog.close).props("flat") \
                .classes("self-end").mark("audit-close")
        dialog.open()

    async def export(self) -> None:
        """The filtered entries as CSV (all pages, up to exporting.MAX_ROWS)."""
        filters = self.filters
        result = await act(Permission.AUDIT_READ,
                           lambda uow: exporting.export_csv(uow, filters))
        if result is None:
            return
        data, count = result
        services = state.services()
        ui.download.content(data, exporting.file_name(services.clock.now(), services.clock.tz),
                            "text/csv")
        message = t("Exported {n} entries.", "已导出 {n} 条记录。", n=fmt.number(count))
        if count >= exporting.MAX_ROWS:
            message += t(" Only the newest {n}: narrow the filter for the rest.",
                         "仅含最新的 {n} 条，请缩小筛选范围导出其余记录。",
                         n=fmt.number(exporting.MAX_ROWS))
        ui.notify(message, type="positive", multi_line=True)
        await self.show()  # the export is itself an entry


def details(entry: AuditEntry) -> None:
    """One entry in full: who, when, what, the changes field by field, reason, request."""
    ui.label(f"{entry.action} · {entry.target_type} {entry.target_id}") \
        .classes("text-lg font-bold")
    ui.label(t("{when} by {name} ({kind} {id}, {role})", "{when}，{name}（{kind} {id}，{role}）",
               when=fmt.when(entry.at), name=entry.actor_name, kind=entry.actor_kind,
               id=entry.actor_id, role=entry.actor_role))
    if entry.changes:
        with ui.grid(columns=3).classes("gap-x-4 gap-y-1 w-full"):
            for heading in (t("Field", "字段"), t("Before", "变更前"), t("After", "变更后")):
                ui.label(heading).classes("font-bold")
            for field, change in entry.changes.items():
                both = isinstance(change, dict) and ("before" in change or "after" in change)
                ui.label(field)
                ui.label(shown(change.get("before")) if both else "–").mark("audit-before")
                ui.label(shown(change.get("after")) if both else shown(change)) \
                    .mark("audit-after")
    else:
        ui.label(t("No field changes recorded.", "未记录字段变更。")).classes("text-grey-7")
    ui.label(t("Reason: {reason}", "原因：{reason}", reason=entry.reason or "–"))
    ui.label(t("Request id: {id}", "请求编号：{id}", id=entry.request_id or "–"))


def register() -> None:
    @page("/audit", permission=Permission.AUDIT_READ)
    async def audit_log(who: SignedIn, action: str | None = None, actor: str | None = None,
                        target_type: str | None = None, target_id: str | None = None) -> None:
        ui.label(t("Audit log", "审计日志")).classes("text-xl font-bold")
        choices = await run.io_bound(load_choices) or ([], [])
        initial = AuditFilter(action=action or None, actor=actor or None,
                              target_type=target_type or None, target_id=target_id or None)
        view = AuditLog(initial, *choices)
        await view.show()
