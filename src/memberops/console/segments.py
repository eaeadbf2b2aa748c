"""Segments (人群): the saved segments with their latest snapshot; a rule editor for the
definition (conditions in AND / OR groups, nested; a JSON view for power users) with a live
count; save, change, delete, take a snapshot and export a snapshot's members (CSV).

Reading and previewing need `insight.read`; saving, changing, deleting and snapshotting
`segments.write`, as in the API (docs/segments.md). Money fields are typed in yuan and
stored in fen, as the definition holds them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from nicegui import background_tasks, run, ui
from nicegui.events import GenericEventArguments

from memberops.access.rules import Permission
from memberops.analytics import segments as rules
from memberops.console import fmt, state
from memberops.console.frame import act, confirm, page
from memberops.console.i18n import language, t, t_count
from memberops.console.session import SignedIn
from memberops.errors import DomainError, ValidationFailed
from memberops.segments import service
from memberops.segments.models import Segment
from memberops.uow import UnitOfWork

DEBOUNCE_SECONDS = 0.4
DATA_SECONDS = 60  # a preview reuses the store it read for this long
MONEY = frozenset({"clv_12m", "spend_in_window", "recharge_total"})  # fen, typed in yuan
LIST_OPS = ("in", "not_in", "between")
DEFAULT_WINDOW = 30

FIELD_NAMES: dict[str, tuple[str, str]] = {
    "gender": ("Gender", "性别"), "age": ("Age", "年龄"), "province": ("Province", "省份"),
    "city": ("City", "城市"), "channel": ("Join channel", "注册渠道"),
    "joined_days": ("Days since joining", "入会天数"), "tier": ("Tier", "等级"),
    "status": ("Status", "状态"), "tag": ("Tag", "标签"),
    "rfm_segment": ("RFM segment", "RFM 分群"), "r_score": ("R score", "R 评分"),
    "f_score": ("F score", "F 评分"), "m_score": ("M score", "M 评分"),
    "lifecycle_stage": ("Lifecycle stage", "生命周期"),
    "clv_12m": ("CLV 12 months (¥)", "12个月客户价值（元）"),
    "p_alive": ("Probability active", "活跃概率"), "churn_risk": ("Churn risk", "流失风险"),
    "spend_in_window": ("Spend in the last days (¥)", "近 N 天消费（元）"),
    "orders_in_window": ("Orders in the last days", "近 N 天订单数"),
    "recharged_ever": ("Has recharged", "是否充值过"),
    "recharge_total": ("Recharged in all (¥)", "累计充值（元）"),
}
OP_NAMES: dict[str, tuple[str, str]] = {
    "eq": ("=", "="), "ne": ("≠", "≠"), "gt": (">", ">"), "gte": ("≥", "≥"),
    "lt": ("<", "<"), "lte": ("≤", "≤"), "between": ("between", "介于"),
    "in": ("is one of", "属于"), "not_in": ("is none of", "不属于"),
    "has": ("has", "包含"), "not_has": ("has not", "不包含"),
}

Node = dict[str, Any]  # the editor's state: a group {mode, items} or a condition


# --- the editor's state and the definition ----------------------------------------------

def new_condition(field: str = "tag") -> Node:
    spec = rules.FIELDS[field]
    return {"field": field, "op": spec.ops[0], "value": _blank(spec, spec.ops[0]),
            "window_days": DEFAULT_WINDOW if spec.window else None}


def _blank(spec: rules.FieldSpec, op: str) -> Any:
    if spec.kind == "bool":
        return True
    if spec.choices is not None and op in ("in", "not_in"):
        return []
    if spec.choices is not None:
        return spec.choices[0]
    return ""


def new_group(mode: str = "all") -> Node:
    return {"mode": mode, "items": [new_condition()]}


# A new segment starts from every active member: a count at once, to narrow down from.
START = {"all": [{"field": "status", "op": "eq", "value": "active"}]}


def _number(text: Any, money: bool) -> Any:
    """A typed number (yuan → fen for money); what cannot be read is passed on as typed,
    for the validation to name."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return str(text)
    if money:
        value *= 100
    return int(value) if value == value.to_integral_value() else float(value)


def _scalar(spec: rules.FieldSpec, field: str, value: Any) -> Any:
    if spec.kind in ("int", "number"):
        return _number(value, field in MONEY)
    if spec.kind == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    return str(value).strip()


def _typed(node: Node) -> Any:
    spec = rules.FIELDS[node["field"]]
    value = node["value"]
    if node["op"] in LIST_OPS:
        parts = value if isinstance(value, list) else \
            [p for p in str(value).split(",") if p.strip()]
        return [_scalar(spec, node["field"], p) for p in parts]
    return _scalar(spec, node["field"], value)


def definition(node: Node) -> dict[str, Any]:
    """The editor's state as the definition's JSON (docs/segments.md)."""
    if "mode" in node:
        return {node["mode"]: [definition(item) for item in node["items"]]}
    out = {"field": node["field"], "op": node["op"], "value": _typed(node)}
    if rules.FIELDS[node["field"]].window:
        out["window_days"] = _number(node["window_days"], False)
    return out


def _shown(field: str, value: Any) -> str:
    if field in MONEY and isinstance(value, int | float):
        return format((Decimal(str(value)) / 100).normalize(), "f")
    return str(value)


def editable(raw: dict[str, Any]) -> Node:
    """A valid definition's JSON as the editor's state."""
    if "all" in raw or "any" in raw:
        mode = "all" if "all" in raw else "any"
        return {"mode": mode, "items": [editable(item) for item in raw[mode]]}
    spec = rules.FIELDS[raw["field"]]
    value = raw["value"]
    if isinstance(value, list) and not (spec.choices is not None and raw["op"] != "between"):
        value = ", ".join(_shown(raw["field"], v) for v in value)
    elif not isinstance(value, list | bool) and spec.choices is None:
        value = _shown(raw["field"], value)
    return {"field": raw["field"], "op": raw["op"], "value": value,
            "window_days": raw.get("window_days")}


def where(path: str) -> str:
    """A validation path (definition.all.1.any.0.value) as the editor numbers it."""
    parts = path.split(".")
    numbers = ".".join(str(int(p) + 1) for p in parts if p.isdigit())
    if not numbers:
        return t("Definition", "规则")
    tail = parts[-1] if not parts[-1].isdigit() and parts[-1] not in ("all", "any") else ""
    return t("Condition {n}", "条件 {n}", n=numbers) + (f" · {tail}" if tail else "")


def problems(exc: ValidationFailed) -> list[str]:
    if not exc.errors:
        return [exc.detail]
    return [f"{where(e['field'])}: {e['reason']}" for e in exc.errors]


# --- reading, off the event loop --------------------------------------------------------

class Store:
    """The live data a preview counts on, read again when older than DATA_SECONDS."""

    def __init__(self) -> None:
        self.data: rules.Data | None = None
        self.read_at = 0.0

    def get(self) -> rules.Data:
        if self.data is None or time.monotonic() - self.read_at > DATA_SECONDS:
            self.data = fresh_data()
            self.read_at = time.monotonic()
        return self.data


def fresh_data() -> rules.Data:
    services = state.services()
    return rules.load(services.db.url, services.settings.timezone)


def count(store: Store, raw: dict[str, Any]) -> int:
    """How many members the definition selects today; ValidationFailed if it is invalid."""
    parsed = rules.parse(raw)
    return int(rules.preview(store.get(), parsed, state.services().clock.today())["count"])


def listing(who: SignedIn) -> list[dict[str, Any]]:
    with state.uow(who.actor, readonly=True) as uow:
        saved = service.list_segments(uow, limit=service.MAX_LIMIT)
        latest = service.latest_snapshots(uow, [s.id for s in saved])
        return [{"id": s.id, "name": s.name, "description": s.description or "",
                 "count": fmt.number(latest[s.id].member_count) if s.id in latest else "–",
                 "snapshot": fmt.day(latest[s.id].as_of) if s.id in latest else "–",
                 "updated": fmt.when(s.updated_at)} for s in saved]


def snapshots_of(who: SignedIn, segment_id: int) -> list[dict[str, Any]]:
    with state.uow(who.actor, readonly=True) as uow:
        return [{"id": s.id, "as_of": fmt.day(s.as_of), "taken_at": fmt.when(s.taken_at),
                 "taken_by": s.taken_by, "members": s.member_count}
                for s in service.snapshots(uow, segment_id)]


def saved(who: SignedIn, segment_id: int) -> Segment | None:
    with state.uow(who.actor, readonly=True) as uow:
        try:
            found = service.get(uow, segment_id)
        except DomainError:
            return None
        uow.session.expunge(found)
        return found


# --- actions -----------------------------------------------------------------------------

async def save_segment(segment_id: int | None, name: str, description: str,
                       raw: dict[str, Any]) -> int | None:
    """Create (no id) or change a segment; its id, or None when refused."""
    def work(uow: UnitOfWork) -> int:
        if segment_id is None:
            return service.create(uow, name=name, description=description.strip() or None,
                                  definition=raw).id
        return service.update(uow, segment_id, name=name, description=description.strip(),
                              definition=raw).id
    return await act(Permission.SEGMENTS_WRITE, work, done=t("Saved.", "已保存。"))


async def delete_segment(segment_id: int) -> bool:
    def work(uow: UnitOfWork) -> bool:
        service.delete(uow, segment_id)
        return True
    return bool(await act(Permission.SEGMENTS_WRITE, work, done=t("Deleted.", "已删除。")))


async def take_snapshot(segment_id: int) -> int | None:
    """Freeze who is in the segment today; the number of members, or None when refused.
    The store is read before the unit of work, as the API does (its own connection)."""
    data = await run.io_bound(fresh_data)
    if data is None:  # the server is shutting down
        return None
    today = state.services().clock.today()

    def work(uow: UnitOfWork) -> int:
        return service.take_snapshot(uow, segment_id, data=data, as_of=today).member_count
    return await act(Permission.SEGMENTS_WRITE, work)


async def export_snapshot(segment_id: int, snapshot_id: int) -> bytes | None:
    """The snapshot's member ids as CSV, the export audited; as the API's members.csv."""
    ids = await act(Permission.INSIGHT_READ,
                    lambda uow: service.export(uow, segment_id, snapshot_id))
    if ids is None:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["member_id"])
    writer.writerows([i] for i in ids)
    return out.getvalue().encode()


# --- the editor ---------------------------------------------------------------------------

class Editor:
    """The rule editor with its live count; `changed` runs after every change."""

    def __init__(self, root: Node, changed: Callable[[], None]) -> None:
        self.root = root
        self.changed = changed

    @ui.refreshable_method
    def draw(self) -> None:
        self.group(self.root, "", depth=1)

    def structure_changed(self) -> None:
        self.draw.refresh()
        self.changed()

    def group(self, node: Node, path: str, depth: int) -> None:
        suffix = f"-{path}" if path else ""
        with ui.card().classes("w-full q-pa-sm gap-2 bg-slate-50" if depth > 1 else
                               "w-full q-pa-sm gap-2"):
            with ui.row().classes("items-center gap-2"):
                ui.toggle({"all": t("All of (AND)", "全部满足（且）"),
                           "any": t("Any of (OR)", "任一满足（或）")}, value=node["mode"],
                          on_change=lambda e: self._set(node, "mode", e.value)) \
                    .props("dense no-caps").mark("mode" + suffix)
                ui.space()
                ui.button(t("Condition", "条件"), icon="add",
                          on_click=lambda: self._add(node, new_condition())) \
                    .props("flat dense no-caps").mark("add-condition" + suffix)
                if depth < rules.MAX_DEPTH:
                    ui.button(t("Group", "条件组"), icon="add_box",
                              on_click=lambda: self._add(node, new_group("any"))) \
                        .props("flat dense no-caps").mark("add-group" + suffix)
            for n, item in enumerate(node["items"]):
                number = f"{path}.{n + 1}" if path else str(n + 1)
                with ui.row().classes("w-full items-start no-wrap gap-2"):
                    ui.label(number).classes("text-gray-500 q-pt-md w-8")
                    if "mode" in item:
                        with ui.column().classes("grow"):
                            self.group(item, number, depth + 1)
                    else:
                        self.condition(item, number)
                    ui.button(icon="close", on_click=lambda i=item: self._remove(node, i)) \
                        .props("flat dense round").mark(f"remove-{number}")

    def condition(self, node: Node, number: str) -> None:
        spec = rules.FIELDS[node["field"]]
        zh = language() == "zh-CN"
        ui.select({k: v[1] if zh else v[0] for k, v in FIELD_NAMES.items()},
                  value=node["field"], label=t("Field", "字段"),
                  on_change=lambda e: self._field(node, e.value)) \
            .classes("w-56").mark(f"field-{number}")
        ui.select({op: OP_NAMES[op][1] if zh else OP_NAMES[op][0] for op in spec.ops},
                  value=node["op"], label=t("Operator", "运算"),
                  on_change=lambda e: self._op(node, e.value)).classes("w-32") \
            .mark(f"op-{number}")
        self.value(node, spec, number)
        if spec.window:
            ui.number(t("Last days", "最近天数"), value=node["window_days"], min=1,
                      max=rules.MAX_WINDOW_DAYS, precision=0,
                      on_change=lambda e: self._set(node, "window_days", e.value, False)) \
                .classes("w-28").mark(f"window-{number}")

    def value(self, node: Node, spec: rules.FieldSpec, number: str) -> None:
        marker = f"value-{number}"
        if spec.kind == "bool":
            ui.select({True: t("yes", "是"), False: t("no", "否")}, value=node["value"],
                      label=t("Value", "值"),
                      on_change=lambda e: self._set(node, "value", e.value, False)) \
                .classes("w-40").mark(marker)
        elif spec.choices is not None and node["op"] != "between":
            ui.select(list(spec.choices), value=node["value"], label=t("Value", "值"),
                      multiple=node["op"] in ("in", "not_in"),
                      on_change=lambda e: self._set(node, "value", e.value, False)) \
                .classes("w-56").mark(marker)
        else:
            hint = {"between": t("low, high", "下限, 上限"), "in": t("a, b, c", "a, b, c"),
                    "not_in": t("a, b, c", "a, b, c")}.get(node["op"], "")
            ui.input(t("Value", "值"), value=str(node["value"]), placeholder=hint,
                     on_change=lambda e: self._set(node, "value", e.value or "", False)) \
                .classes("w-56").mark(marker)

    def _set(self, node: Node, key: str, value: Any, redraw: bool = True) -> None:
        if node.get(key) == value:
            return
        node[key] = value
        if redraw:
            self.structure_changed()
        else:  # typing: keep the focus, only count again
            self.changed()

    def _field(self, node: Node, field: str) -> None:
        if field != node["field"]:
            node.update(new_condition(field))
            self.structure_changed()

    def _op(self, node: Node, op: str) -> None:
        if op == node["op"]:
            return
        spec = rules.FIELDS[node["field"]]
        was_list, node["op"] = node["op"] in LIST_OPS, op
        if spec.choices is not None or was_list != (op in LIST_OPS):
            node["value"] = _blank(spec, op)
        self.structure_changed()

    def _add(self, group: Node, item: Node) -> None:
        group["items"].append(item)
        self.structure_changed()

    def _remove(self, group: Node, item: Node) -> None:
        group["items"].remove(item)
        self.structure_changed()


class SegmentView:
    """The editor of one segment (saved or new) with its count, JSON view and actions."""

    def __init__(self, who: SignedIn, segment: Segment | None) -> None:
        self.who = who
        self.segment = segment
        self.store = Store()
        self.version = 0
        raw = segment.definition if segment is not None else None
        self.editor = Editor(editable(raw or START), self.changed)

    def build(self) -> None:
        may_write = self.who.may(Permission.SEGMENTS_WRITE)
        with ui.row().classes("w-full items-end gap-2"):
            self.name = ui.input(t("Name", "名称"), value=self.segment.name if self.segment
                                 else "").classes("w-64").mark("name")
            self.description = ui.input(
                t("Description", "说明"),
                value=(self.segment.description or "") if self.segment else "") \
                .classes("w-96").mark("description")
            if not may_write:
                self.name.disable()
                self.description.disable()
        self.editor.draw()
        with ui.row().classes("items-center gap-3"):
            self.spinner = ui.spinner(size="md").mark("preview-spinner")
            self.count = ui.label().classes("text-xl font-bold").mark("preview-count")
        self.message = ui.column().classes("text-negative gap-0").mark("preview-message")
        with ui.expansion(t("JSON", "JSON"), icon="data_object").classes("w-full") \
                .mark("json-view"):
            self.json = ui.textarea(value=self.json_text()).props("outlined autogrow") \
                .classes("w-full font-mono").mark("json")
            self.json_message = ui.label().classes("text-negative").mark("json-message")
            ui.button(t("Apply to the form", "应用到表单"), on_click=self.apply_json) \
                .props("outline no-caps").mark("json-apply")
        if may_write:
            with ui.row().classes("gap-2"):
                ui.button(t("Save", "保存"), icon="save", on_click=self.save) \
                    .props("color=primary").mark("save")
                if self.segment is not None:
                    ui.button(t("Delete", "删除"), icon="delete", on_click=self.ask_delete) \
                        .props("flat color=negative").mark("delete")
        self.changed()

    def json_text(self) -> str:
        return json.dumps(definition(self.editor.root), ensure_ascii=False, indent=2)

    def changed(self) -> None:
        """Every change counts again, once typing pauses (the newest change wins)."""
        self.version += 1
        self.json.value = self.json_text()
        # Not a ui.timer: the element that changed may be redrawn (and its timers with it).
        background_tasks.create(self.preview(self.version), name="segment preview")

    async def preview(self, version: int) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        if version != self.version:
            return
        self.spinner.set_visibility(True)
        self.message.clear()
        raw = definition(self.editor.root)
        try:
            found = await run.io_bound(count, self.store, raw)
        except ValidationFailed as exc:
            if version == self.version:
                self.spinner.set_visibility(False)
                self.count.text = ""
                with self.message:
                    for line in problems(exc):
                        ui.label(line)
            return
        if version != self.version or found is None:  # a newer change is being counted
            return
        self.spinner.set_visibility(False)
        self.count.text = t_count(found, "{n} member today", "{n} members today", "今日共 {n} 人")

    def apply_json(self) -> None:
        try:
            raw = json.loads(self.json.value or "")
        except json.JSONDecodeError as exc:
            self.json_message.text = t("Not JSON: {detail}", "不是有效的 JSON：{detail}",
                                       detail=str(exc))
            return
        try:
            parsed = rules.parse(raw)
        except ValidationFailed as exc:
            self.json_message.text = "; ".join(problems(exc))
            return
        self.json_message.text = ""
        self.editor.root = editable(rules.dump(parsed))
        self.editor.structure_changed()

    async def save(self) -> None:
        raw = definition(self.editor.root)
        segment_id = await save_segment(self.segment.id if self.segment else None,
                                        self.name.value or "", self.description.value or "",
                                        raw)
        if segment_id is not None and self.segment is None:
            ui.navigate.to(f"/segments/{segment_id}")

    def ask_delete(self) -> None:
        assert self.segment is not None
        segment_id = self.segment.id

        async def go(_reason: str) -> bool:
            if not await delete_segment(segment_id):
                return False
            ui.navigate.to("/segments")
            return True
        confirm(t("Delete this segment?", "删除此人群？"),
                t("“{name}” will be deleted. A segment with snapshots is kept for the "
                  "campaigns that use them.", "将删除“{name}”。已有快照的人群会保留，供使用它的"
                  "营销活动使用。", name=self.segment.name), go, reason=False,
                label=t("Delete", "删除"))


# --- the pages --------------------------------------------------------------------------

SEGMENT_COLUMNS = [("name", "Name", "名称"), ("description", "Description", "说明"),
                   ("count", "Members at the last snapshot", "最近快照人数"),
                   ("snapshot", "Snapshot of", "快照日期"), ("updated", "Updated", "更新时间")]


def _columns(spec: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"name": key, "label": t(en, zh), "field": key, "align": "left",
             "sortable": True} for key, en, zh in spec]


async def segment_list(who: SignedIn) -> None:
    rows = await run.io_bound(listing, who)
    table = ui.table(columns=_columns(SEGMENT_COLUMNS), rows=rows or [], row_key="id",
                     pagination=20).classes("w-full cursor-pointer").mark("segments")
    table.props(f'no-data-label="{t("No saved segments yet.", "还没有保存的人群。")}"')

    def open_segment(event: GenericEventArguments) -> None:
        row = event.args[1] if isinstance(event.args, list) else event.args
        ui.navigate.to(f"/segments/{row['id']}")
    table.on("rowClick", open_segment)


async def snapshot_section(who: SignedIn, segment: Segment) -> None:
    @ui.refreshable
    async def listed() -> None:
        rows = await run.io_bound(snapshots_of, who, segment.id) or []
        if not rows:
            ui.label(t("No snapshots yet.", "暂无快照。")).classes("text-gray-500") \
                .mark("no-snapshots")
        for row in rows:
            with ui.row().classes("items-center gap-4").mark("snapshot"):
                ui.label(f"#{row['id']}").classes("font-bold")
                ui.label(t("as of {day}", "日期 {day}", day=row["as_of"]))
                ui.label(t_count(row["members"], "{n} member", "{n} members", "{n} 人")) \
                    .mark("snapshot-count")
                ui.label(f"{row['taken_at']} · {row['taken_by']}").classes("text-gray-500")
                ui.button(t("Export CSV", "导出 CSV"), icon="download",
                          on_click=lambda sid=row["id"]: download(sid)) \
                    .props("flat dense no-caps").mark(f"export-{row['id']}")

    async def download(snapshot_id: int) -> None:
        content = await export_snapshot(segment.id, snapshot_id)
        if content is not None:
            ui.download.content(content, f"segment-{segment.id}-snapshot-{snapshot_id}.csv",
                                "text/csv; charset=utf-8")

    async def snap() -> None:
        found = await take_snapshot(segment.id)
        if found is not None:
            ui.notify(t_count(found, "Snapshot taken: {n} member.",
                              "Snapshot taken: {n} members.", "已生成快照：{n} 人。"),
                      type="positive")
            await listed.refresh()

    with ui.row().classes("items-center gap-4"):
        ui.label(t("Snapshots", "快照")).classes("text-lg font-bold")
        if who.may(Permission.SEGMENTS_WRITE):
            ui.button(t("Take a snapshot", "生成快照"), icon="photo_camera", on_click=snap) \
                .props("outline no-caps").mark("take-snapshot")
    await listed()


def register() -> None:
    @page("/segments", permission=Permission.INSIGHT_READ)
    async def segments_page(who: SignedIn) -> None:
        ui.label(t("Segments", "人群")).classes("text-2xl")
        await segment_list(who)
        ui.label(t("New segment", "新建人群")).classes("text-xl q-mt-md")
        SegmentView(who, None).build()

    @page("/segments/{segment_id}", permission=Permission.INSIGHT_READ)
    async def segment_page(who: SignedIn, segment_id: str) -> None:
        number = int(segment_id) if segment_id.isdigit() and len(segment_id) < 16 else 0
        found = await run.io_bound(saved, who, number)
        with ui.row().classes("items-center"):
            ui.button(icon="arrow_back", on_click=lambda: ui.navigate.to("/segments")) \
                .props("flat round").mark("back")
            ui.label(found.name if found else t("Segments", "人群")).classes("text-2xl") \
                .mark("segment-name")
        if found is None:
            ui.label(t("No segment with id {id}.", "找不到编号为 {id} 的人群。", id=segment_id)) \
                .classes("text-negative text-lg").mark("not-found")
            return
        SegmentView(who, found).build()
        await snapshot_section(who, found)

