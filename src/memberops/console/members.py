"""Members (会员): search by phone (whole or its last digits), name, tag, tier, status or a
saved segment's latest snapshot; a sortable table read from the database a page at a time;
the search exported as CSV or XLSX (audited, as the API's export is)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from nicegui import run, ui
from nicegui.events import GenericEventArguments

from memberops.access.rules import Permission
from memberops.console import fmt, state
from memberops.console.frame import act, page, problem_text
from memberops.console.i18n import language, t, t_count
from memberops.console.session import SignedIn
from memberops.errors import DomainError
from memberops.members import exporting, queries, rules
from memberops.members.models import Member
from memberops.members.queries import MemberFilter, MemberSet
from memberops.segments import service as segments_service
from memberops.tiers import queries as tier_queries
from memberops.uow import UnitOfWork

PAGE_SIZE = 25
DEFAULT_SORT = "-joined_at"
# Table column → the search's sort key (members.queries.SORTS): indexed columns only.
SORT_KEYS = {"id": "id", "name": "name", "tier": "tier", "joined": "joined_at"}
STATUS = {"active": ("Active", "正常"), "frozen": ("Frozen", "冻结"),
          "closed": ("Closed", "已注销")}


@dataclass
class Criteria:
    """What the operator asked for; every criterion given must hold."""

    text: str = ""
    tag: str = ""
    tier: str | None = None
    status: str | None = None
    segment_id: int | None = None


def text_criterion(text: str) -> tuple[str | None, str | None, str | None]:
    """A whole phone number is looked up exactly (stored in E.164); 3 to 6 digits are the
    phone's ending, as a member reads it out; anything else is a fragment of the name,
    email or phone. Returns (phone, phone_ending, q), one of them given at most."""
    text = text.strip()
    if not text:
        return None, None, None
    try:
        rules.normalise_phone(text)
        return text, None, None
    except ValueError:
        pass
    digits = text.replace(" ", "").replace("-", "")
    if digits.isdigit() and 3 <= len(digits) <= 6:
        return None, digits, None
    return None, None, text


def member_filter(uow: UnitOfWork, criteria: Criteria) -> MemberFilter:
    """The search's filter; a segment is narrowed to its latest snapshot's members."""
    among = None
    if criteria.segment_id is not None:
        latest = segments_service.latest_snapshots(uow, [criteria.segment_id])
        snapshot = latest.get(criteria.segment_id)
        snapshot_id = snapshot.id if snapshot is not None else 0  # none yet: nobody
        among = MemberSet(label=f"segment {criteria.segment_id} snapshot {snapshot_id}",
                          ids=segments_service.member_ids(snapshot_id))
    phone, phone_ending, q = text_criterion(criteria.text)
    return MemberFilter(phone=phone, phone_ending=phone_ending, q=q,
                        tag=criteria.tag.strip() or None, tier=criteria.tier,
                        status=criteria.status, among=among)


def masked(phone: str) -> str:
    """+8613812345678 → 138****5678: enough to recognise, not to copy off a screen."""
    national = phone[3:] if phone.startswith("+86") else phone
    return national[:3] + "****" + national[-4:] if len(national) >= 8 else national


@dataclass
class Found:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int


@dataclass
class Pager:
    """Where the table stands. Moving one page on follows the search's cursor (cheap at
    any depth); a jump to a page not yet seen falls back to an offset."""

    criteria: Criteria = field(default_factory=Criteria)
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = PAGE_SIZE
    cursors: dict[int, str | None] = field(default_factory=lambda: {1: None})
    total: int | None = None  # counted once per search: paging does not change it

    def restart(self) -> None:
        self.page = 1
        self.cursors = {1: None}
        self.total = None


def _row(member: Member, tier_names: dict[str, str], chinese: bool) -> dict[str, Any]:
    en, zh = STATUS.get(member.status, (member.status, member.status))
    return {"id": member.id, "name": member.name or "–", "phone": masked(member.phone),
            "tier": tier_names.get(member.tier, member.tier),
            "status": zh if chinese else en, "joined": fmt.day(member.joined_at),
            "tags": ", ".join(member.tag_names)}


def find(who: SignedIn, pager: Pager, tier_names: dict[str, str], chinese: bool) -> Found:
    """One page of the search, and how many match in all. Runs off the event loop, where
    the operator's language is unknown: it is passed in."""
    with state.uow(who.actor, readonly=True) as uow:
        filters = member_filter(uow, pager.criteria)
        cursor = pager.cursors.get(pager.page)
        offset = 0 if pager.page in pager.cursors else (pager.page - 1) * pager.per_page
        found = queries.search(uow.session, filters, limit=pager.per_page, cursor=cursor,
                               sort=pager.sort, offset=offset,
                               tier_order=tuple(tier_names))  # the ladder, lowest first
        total = pager.total if pager.total is not None else queries.count(uow.session, filters)
        return Found([_row(m, tier_names, chinese) for m in found.items], found.next_cursor, total)


def _choices(who: SignedIn, zh: bool) -> tuple[dict[str, str], dict[int, str]]:
    """The tiers of the ladder in force and the saved segments that have a snapshot."""
    with state.uow(who.actor, readonly=True) as uow:
        ladder = tier_queries.ladder(uow.session)
        tiers = {tier.code: tier.name_zh if zh else tier.name_en for tier in ladder.tiers}
        saved = segments_service.list_segments(uow, limit=segments_service.MAX_LIMIT)
        latest = segments_service.latest_snapshots(uow, [s.id for s in saved])
        segments = {s.id: f"{s.name} ({fmt.number(latest[s.id].member_count)} · "
                          f"{fmt.day(latest[s.id].as_of)})" for s in saved if s.id in latest}
    return tiers, segments


def export_file(who: SignedIn, criteria: Criteria, kind: exporting.Format) -> bytes:
    """The members of the search as a file, read a batch at a time (run off the loop)."""
    tz = state.services().clock.tz
    with state.uow(who.actor, readonly=True) as uow:
        rows = exporting.records(uow.session, member_filter(uow, criteria), tz)
        if kind == "csv":
            return b"".join(exporting.csv_chunks(rows))
        target = io.BytesIO()
        exporting.write_xlsx(rows, target)
        return target.getvalue()


COLUMNS = [
    ("id", "ID", "ID", True), ("name", "Name", "姓名", True), ("phone", "Phone", "手机", False),
    ("tier", "Tier", "等级", True), ("status", "Status", "状态", False),
    ("joined", "Joined", "入会日期", True), ("tags", "Tags", "标签", False),
]


class MembersView:
    """The members page of one browser: the search form, the table and the exports."""

    def __init__(self, who: SignedIn, tiers: dict[str, str], segments: dict[int, str]) -> None:
        self.who = who
        self.tiers = tiers
        self.pager = Pager()
        self._form(tiers, segments)
        columns = [{"name": key, "label": t(en, zh), "field": key, "sortable": sortable,
                    "align": "left"} for key, en, zh, sortable in COLUMNS]
        self.table = ui.table(columns=columns, rows=[], row_key="id", pagination={
            "rowsPerPage": PAGE_SIZE, "page": 1, "sortBy": "joined", "descending": True,
            "rowsNumber": 0}).classes("w-full cursor-pointer").mark("members")
        self.table.props(f'rows-per-page-options="[25, 50, 100]" '
                         f'no-data-label="{t("No members match.", "没有符合条件的会员。")}"')
        self.table.on("request", self._on_request)
        self.table.on("rowClick", self._open)

    def _form(self, tiers: dict[str, str], segments: dict[int, str]) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.text = ui.input(t("Phone, last 4 digits, name or email",
                                   "手机号、手机尾号、姓名或邮箱")) \
                .classes("w-72").mark("search").on("keydown.enter", self.search)
            self.tag = ui.input(t("Tag", "标签")).classes("w-32").mark("tag") \
                .on("keydown.enter", self.search)
            self.tier = ui.select(tiers, label=t("Tier", "等级"), clearable=True,
                                  on_change=self.search).classes("w-32").mark("tier")
            self.status = ui.select({k: t(*v) for k, v in STATUS.items()},
                                    label=t("Status", "状态"), clearable=True,
                                    on_change=self.search).classes("w-32").mark("status")
            self.segment = ui.select(segments, label=t("Segment (latest snapshot)",
                                                       "人群（最近快照）"),
                                     clearable=True, on_change=self.search) \
                .classes("w-64").mark("segment")
            ui.button(t("Search", "搜索"), icon="search", on_click=self.search) \
                .mark("search-button")
        with ui.row().classes("w-full items-center gap-2"):
            self.count = ui.label().classes("text-gray-600").mark("count")
            ui.space()
            if self.who.may(Permission.MEMBERS_EXPORT):
                ui.button(t("Export CSV", "导出 CSV"), icon="download",
                          on_click=lambda: self.export("csv")).props("outline dense") \
                    .mark("export-csv")
                ui.button(t("Export XLSX", "导出 XLSX"), icon="download",
                          on_click=lambda: self.export("xlsx")).props("outline dense") \
                    .mark("export-xlsx")

    def criteria(self) -> Criteria:
        return Criteria(text=self.text.value or "", tag=self.tag.value or "",
                        tier=self.tier.value or None, status=self.status.value or None,
                        segment_id=self.segment.value)

    async def search(self) -> None:
        self.pager.criteria = self.criteria()
        self.pager.restart()
        await self.load()

    async def load(self) -> None:
        try:
            found = await run.io_bound(find, self.who, self.pager, self.tiers,
                                       language() == "zh-CN")
        except DomainError as exc:  # a search the query refuses
            ui.notify(problem_text(exc), type="negative")
            return
        if found is None:  # the server is shutting down
            return
        self.pager.cursors[self.pager.page + 1] = found.next_cursor
        self.pager.total = found.total
        self.table.rows = found.rows
        sort_by = next(k for k, v in SORT_KEYS.items() if v == self.pager.sort.lstrip("-"))
        self.table.pagination = {"rowsPerPage": self.pager.per_page, "page": self.pager.page,
                                 "sortBy": sort_by, "descending": self.pager.sort[0] == "-",
                                 "rowsNumber": found.total}
        self.count.text = t_count(found.total, "{n} member", "{n} members", "共 {n} 位会员")

    async def _on_request(self, event: GenericEventArguments) -> None:
        """Quasar asks for another page, page size or order (server-side pagination)."""
        wanted = event.args.get("pagination", {})
        key = SORT_KEYS.get(wanted.get("sortBy") or "")
        sort = DEFAULT_SORT if key is None else ("-" if wanted.get("descending") else "") + key
        per_page = int(wanted.get("rowsPerPage") or PAGE_SIZE)
        if sort != self.pager.sort or per_page != self.pager.per_page:
            self.pager.sort, self.pager.per_page = sort, min(max(per_page, 1), 100)
            total = self.pager.total  # the same members in another order
            self.pager.restart()
            self.pager.total = total
        else:
            self.pager.page = max(int(wanted.get("page") or 1), 1)
        await self.load()

    def _open(self, event: GenericEventArguments) -> None:
        row = event.args[1] if isinstance(event.args, list) else event.args
        ui.navigate.to(f"/members/{row['id']}")

    async def export(self, kind: exporting.Format) -> None:
        criteria = self.pager.criteria

        def record(uow: UnitOfWork) -> int:
            filters = member_filter(uow, criteria)
            rows = queries.count(uow.session, filters)
            exporting.record_export(uow, filters, fmt=kind, rows=rows)
            return rows

        rows = await act(Permission.MEMBERS_EXPORT, record)
        if rows is None:
            return
        content = await run.io_bound(export_file, self.who, criteria, kind)
        if content is None:
            return
        clock = state.services().clock
        ui.download.content(content, exporting.file_name(kind, clock.now(), clock.tz),
                            exporting.MEDIA_TYPES[kind])
        ui.notify(t_count(rows, "Exported {n} member.", "Exported {n} members.",
                          "已导出 {n} 位会员。"),
                  type="positive")


def register() -> None:
    @page("/members", permission=Permission.MEMBERS_READ)
    async def view(who: SignedIn) -> None:
        ui.label(t("Members", "会员")).classes("text-2xl")
        choices = await run.io_bound(_choices, who, language() == "zh-CN")
        if choices is None:  # the server is shutting down
            return
        members = MembersView(who, *choices)
        await members.search()
