"""Programme (会员方案): the tier ladder, earning rules and promotions, recharge scheme,
coupon templates, risk rules and the PLUS plan — each shown as it stands, with its version
history (any version and its differences from the one in force), and, for a role that may
change it, a form validated by the configuration's own rules, saved with a reason and, for
the tier ladder and the recharge scheme, a what-if preview of the last 12 months."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from nicegui import run, ui
from pydantic import ValidationError

from memberops.access.rules import Permission
from memberops.console import fmt, state
from memberops.console import programme_forms as forms
from memberops.console.frame import act, page
from memberops.console.i18n import t
from memberops.console.programme_coupons import CouponTemplates
from memberops.console.programme_forms import Data, Field, Spec
from memberops.console.programme_whatif import preview
from memberops.console.session import SignedIn
from memberops.programme import service as programme_service
from memberops.programme.schemas import KINDS
from memberops.uow import UnitOfWork

T = TypeVar("T")
TABS = (("tiers", ("tiers",)), ("earning_rules", ("earning_rules",)),
        ("recharge_scheme", ("recharge_scheme", "wallet")), ("coupons", ()),
        ("risk_rules", ("risk_rules",)), ("plans", ("plans",)))


@dataclass(frozen=True)
class Saved:
    version: int
    at: datetime
    by: str
    note: str | None
    data: Data


@dataclass(frozen=True)
class Loaded:
    version: int
    data: Data
    history: list[Saved]


def load(uow: UnitOfWork, kind: str) -> Loaded:
    """The configuration in force and every saved version, newest first."""
    data = programme_service.current(uow.session, KINDS[kind]).model_dump(mode="json")
    return Loaded(programme_service.current_version(uow.session, kind), data,
                  [Saved(v.version, v.created_at, v.created_by, v.note, v.data)
                   for v in programme_service.history(uow.session, kind)])


async def read(who: SignedIn, work: Callable[[UnitOfWork], T]) -> T:
    """Run a read in a read-only unit of work, off the event loop."""
    def in_uow() -> T:
        with state.uow(who.actor, readonly=True) as uow:
            return work(uow)
    return cast(T, await run.io_bound(in_uow))


def problems_of(spec: Spec, data: Data) -> list[str]:
    """The configuration's own validator on `data`: each problem as `where: what`."""
    try:
        KINDS[spec.kind].model_validate(data)
    except ValidationError as exc:
        return [f"{forms.where(spec, tuple(e['loc']))}: "
                f"{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors()]
    return []


def table(columns: list[tuple[str, str]], rows: list[dict[str, Any]], marker: str) -> ui.table:
    return ui.table(columns=[{"name": k, "label": label, "field": k, "align": "left"}
                             for k, label in columns], rows=rows, row_key="_n") \
        .props("dense flat bordered").classes("w-full").mark(marker)


def value_rows(spec_fields: tuple[Field, ...], data: Data) -> list[dict[str, Any]]:
    return [{"_n": n, "field": f.label, "value": forms.shown(forms.get(data, f.key), f.unit)}
            for n, f in enumerate(spec_fields)]


def list_rows(columns: tuple[Field, ...], items: list[Data]) -> list[dict[str, Any]]:
    return [{"_n": n, **{c.key: forms.shown(forms.get(item, c.key), c.unit) for c in columns}}
            for n, item in enumerate(items)]


def show_config(spec: Spec, data: Data, prefix: str) -> None:
    """A configuration as an operator reads it: values in ¥, %, ×; lists as tables."""
    data = spec.unpack(data)
    if spec.fields:
        table([("field", t("Setting", "设置")), ("value", t("Value", "值"))],
              value_rows(spec.fields, data), f"{prefix}-current")
    if spec.rows:
        ui.label(t(spec.rows.en, spec.rows.zh)).classes("font-bold q-mt-sm")
        table([(c.key, c.label) for c in spec.rows.columns],
              list_rows(spec.rows.columns, data.get(spec.rows.key) or []), f"{prefix}-rows")
    for extra in spec.shown:
        ui.label(t(extra.en, extra.zh)).classes("font-bold q-mt-sm")
        table([(c.key, c.label) for c in extra.columns],
              list_rows(extra.columns, data.get(extra.key) or []), f"{prefix}-{extra.key}")


class ConfigSection:
    """One configuration kind: as it stands, its form (for a role that may change it) and
    its history. Redrawn in place after a save."""

    def __init__(self, who: SignedIn, spec: Spec, loaded: Loaded) -> None:
        self.who, self.spec, self.loaded = who, spec, loaded
        self.kind = spec.kind
        self.box = ui.column().classes("w-full gap-2")
        self.draw()

    def draw(self) -> None:
        self.box.clear()
        with self.box:
            self._current()
            if self.who.may(Permission.CONFIG_WRITE):
                with ui.expansion(t("Change", "修改"), icon="edit").classes("w-full") \
                        .props("dense header-class=text-primary").mark(f"{self.kind}-edit"):
                    self.form = ConfigForm(self)
            with ui.expansion(t("Version history", "版本历史"), icon="history") \
                    .classes("w-full").props("dense"):
                self._history()

    def _current(self) -> None:
        loaded = self.loaded
        last = next((s for s in loaded.history if s.version == loaded.version), None)
        line = (t("Version {n}, saved {at} by {by}", "版本 {n}，{at} 由 {by} 保存",
                  n=loaded.version, at=fmt.when(last.at), by=last.by) if last else
                t("Version 0: the reference programme, never changed",
                  "版本 0：参考方案，未修改过"))
        ui.label(line).classes("text-sm text-grey-8").mark(f"{self.kind}-version")
        show_config(self.spec, loaded.data, self.kind)

    def _history(self) -> None:
        rows = [{"_n": s.version, "version": s.version, "at": fmt.when(s.at), "by": s.by,
                 "note": s.note or "–"} for s in self.loaded.history]
        if not rows:
            ui.label(t("No saved versions yet.", "尚无保存的版本。"))
            return
        table([("version", t("Version", "版本")), ("at", t("Saved", "保存时间")),
               ("by", t("By", "操作人")), ("note", t("Reason", "原因"))], rows,
              f"{self.kind}-history")
        detail = ui.column().classes("w-full")
        ui.select({s.version: f"v{s.version}" for s in self.loaded.history},
                  label=t("Show a version", "查看版本"),
                  on_change=lambda e: self._show_version(detail, e.value)) \
            .classes("w-48").mark(f"{self.kind}-pick")

    def _show_version(self, box: ui.column, version: int | None) -> None:
        box.clear()
        saved = next((s for s in self.loaded.history if s.version == version), None)
        if saved is None:
            return
        with box:
            ui.label(t("Version {n} against the one in force (version {m})",
                       "版本 {n} 与当前版本（{m}）的差异", n=saved.version,
                       m=self.loaded.version)).classes("font-bold")
            changes = forms.diff(saved.data, self.loaded.data)
            if changes:
                table([("field", t("Field", "字段")), ("then", t("This version", "该版本")),
                       ("now", t("In force", "当前"))],
                      [{"_n": n, "field": k, "then": json.dumps(a, ensure_ascii=False),
                        "now": json.dumps(b, ensure_ascii=False)}
                       for n, (k, a, b) in enumerate(changes)], f"{self.kind}-diff")
            else:
                ui.label(t("Same as the version in force.", "与当前版本相同。")) \
                    .mark(f"{self.kind}-diff")
            show_config(self.spec, saved.data, f"{self.kind}-v{saved.version}")

    async def saved(self) -> None:
        self.loaded = await read(self.who, lambda uow: load(uow, self.kind))
        self.draw()


class ConfigForm:
    """The edit form: the main fields as inputs, the rest as JSON, and the save dialog."""

    def __init__(self, section: ConfigSection) -> None:
        self.section, self.spec, self.kind = section, section.spec, section.kind
        data = self.spec.unpack(section.loaded.data)
        self.inputs: dict[str, Any] = {}
        with ui.row().classes("w-full gap-3"):
            for f in self.spec.fields:
                self.inputs[f.key] = self._input(
                    f, forms.to_input(forms.get(data, f.key), f.unit), f.key)
        self.rows: list[tuple[Data, dict[str, Any]]] = []  # (stored row, its inputs)
        self.rows_box = ui.column().classes("w-full gap-1")
        if self.spec.rows is not None:
            self._draw_rows([(row, None) for row in data.get(self.spec.rows.key) or []])
        ui.label(t("Other settings (JSON)", "其他设置（JSON）")).classes("font-bold")
        self.json = ui.textarea(value=json.dumps(forms.rest_of(self.spec, data), indent=2,
                                                 ensure_ascii=False)) \
            .props("outlined autogrow input-class=font-mono").classes("w-full") \
            .mark(f"{self.kind}-json")
        self.errors = ui.column().classes("w-full text-negative").mark(f"{self.kind}-errors")
        ui.button(t("Save…", "保存…"), icon="save", on_click=self.save) \
            .props("color=primary").mark(f"{self.kind}-save")

    def _input(self, f: Field, value: Any, marker: str) -> Any:
        """An input for `f` showing `value` as entered (yuan, not fen)."""
        mark = f"{self.kind}-{marker}"
        if f.unit == "bool":
            return ui.checkbox(f.label, value=bool(value)).mark(mark)
        if f.unit == "text":
            text = value if isinstance(value, str) else "" if value is None else str(value)
            return ui.input(f.label, value=text).props("dense outlined").mark(mark)
        number = ui.number(f.label, value=value) \
            .props("dense outlined" + (' prefix="¥"' if f.unit == "yuan" else "")
                   + (" suffix=%" if f.unit == "pct" else "")).classes("w-40").mark(mark)
        return number

    def _draw_rows(self, rows: list[tuple[Data, dict[str, Any] | None]]) -> None:
        assert self.spec.rows is not None
        spec_rows = self.spec.rows
        self.rows_box.clear()
        self.rows = []
        with self.rows_box:
            ui.label(t(spec_rows.en, spec_rows.zh)).classes("font-bold")
            for n, (base, raw) in enumerate(rows):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    inputs = {c.key: self._input(
                        c, raw[c.key] if raw is not None else
                        forms.to_input(forms.get(base, c.key), c.unit),
                        f"{spec_rows.key}-{n}-{c.key}") for c in spec_rows.columns}
                    ui.button(icon="delete", on_click=lambda _, n=n: self._remove_row(n)) \
                        .props("flat dense round color=negative") \
                        .mark(f"{self.kind}-remove-{n}")
                self.rows.append((base, inputs))
            ui.button(t("Add a row", "添加一行"), icon="add", on_click=self._add_row) \
                .props("flat dense no-caps").mark(f"{self.kind}-add-row")

    def _raw_rows(self) -> list[tuple[Data, dict[str, Any] | None]]:
        """Each row with what is entered now, to draw it again after adding or removing."""
        return [(base, {k: w.value for k, w in inputs.items()}) for base, inputs in self.rows]

    def _add_row(self) -> None:
        assert self.spec.rows is not None
        self._draw_rows([*self._raw_rows(), (dict(self.spec.rows.new_row), None)])

    def _remove_row(self, n: int) -> None:
        rows = self._raw_rows()
        del rows[n]
        self._draw_rows(rows)

    def proposed(self) -> tuple[Data, list[str]]:
        """The whole configuration the form describes, and what the form itself refuses
        (not a number, not JSON); the configuration's validator runs afterwards."""
        problems: list[str] = []
        try:
            rest = json.loads(self.json.value or "{}")
        except json.JSONDecodeError as exc:
            rest, problems = {}, [t("Other settings: not valid JSON ({e})",
                                    "其他设置：JSON 格式错误（{e}）", e=exc.msg)]
        if not isinstance(rest, dict):
            rest, problems = {}, [t("Other settings: must be a JSON object {…}",
                                    "其他设置：须为 JSON 对象 {…}")]
        data: Data = dict(rest)
        for f in self.spec.fields:
            value, problem = forms.from_input(self.inputs[f.key].value, f)
            problems += [f"{f.label}: {problem}"] if problem else []
            forms.put(data, f.key, value)
        if self.spec.rows is not None:
            data[self.spec.rows.key] = self._row_data(problems)
        return self.spec.pack(data), problems

    def _row_data(self, problems: list[str]) -> list[Data]:
        assert self.spec.rows is not None
        rows: list[Data] = []
        for n, (base, inputs) in enumerate(self.rows):
            row = json.loads(json.dumps(base))
            for c in self.spec.rows.columns:
                value, problem = forms.from_input(inputs[c.key].value, c)
                if problem:
                    problems.append(f"{t(self.spec.rows.en, self.spec.rows.zh)} #{n + 1} · "
                                    f"{c.label}: {problem}")
                if value is None and c.optional:
                    forms.put(row, c.key, None)
                elif value is not None:
                    forms.put(row, c.key, value)
            rows.append(row)
        return rows

    def _show_errors(self, problems: list[str]) -> None:
        self.errors.clear()
        with self.errors:
            if problems:
                ui.label(t("Not saved — please correct:", "未保存，请修改：")).classes("font-bold")
            for problem in problems:
                ui.label(f"• {problem}")

    async def save(self) -> None:
        data, problems = self.proposed()
        problems = problems or problems_of(self.spec, data)
        self._show_errors(problems)
        if problems:
            return
        parsed = KINDS[self.kind].model_validate(data).model_dump(mode="json")
        changes = forms.diff(self.section.loaded.data, parsed)
        if not changes:
            ui.notify(t("Nothing has changed.", "没有改动。"), type="info")
            return
        await self._confirm(parsed, changes)

    async def _confirm(self, parsed: Data, changes: list[tuple[str, Any, Any]]) -> None:
        who = self.section.who
        with ui.dialog() as dialog, ui.card().classes("min-w-[40rem] max-w-[64rem]"):
            ui.label(t("Save {name} as version {n}?", "将{name}保存为版本 {n}？",
                       name=t(self.spec.en, self.spec.zh),
                       n=self.section.loaded.version + 1)).classes("text-lg font-bold")
            table([("field", t("Field", "字段")), ("before", t("Now", "当前")),
                   ("after", t("Proposed", "拟改为"))],
                  [{"_n": n, "field": k, "before": json.dumps(a, ensure_ascii=False),
                    "after": json.dumps(b, ensure_ascii=False)}
                   for n, (k, a, b) in enumerate(changes)], "changes")
            box = ui.column().classes("w-full")
            reason = ui.textarea(t("Reason", "原因")).classes("w-full").mark("reason")

            async def go() -> None:
                text = (reason.value or "").strip()
                if not text:
                    ui.notify(t("A reason is required.", "请填写原因。"), type="warning")
                    return
                version = await act(Permission.CONFIG_WRITE, lambda uow: programme_service.save(
                    uow, self.kind, parsed, text))
                if version is None:
                    return
                ui.notify(t("Saved as version {n}.", "已保存为版本 {n}。", n=version),
                          type="positive")
                dialog.close()
                dialog.delete()
                await self.section.saved()

            def cancel() -> None:
                dialog.close()
                dialog.delete()

            with ui.row().classes("w-full justify-end"):
                ui.button(t("Cancel", "取消"), on_click=cancel).props("flat").mark("cancel")
                ui.button(t("Save", "保存"), on_click=go).props("color=primary") \
                    .mark("confirm")
        dialog.open()
        await preview(who, self.kind, parsed, box)


def _tab_label(key: str) -> str:
    if key == "coupons":
        return t("Coupon templates", "优惠券模板")
    spec = forms.SPECS[key]
    return t(spec.en, spec.zh)


def register() -> None:
    @page("/programme", permission=Permission.CONFIG_READ)
    async def programme(who: SignedIn, tab: str = "tiers") -> None:
        loaded = await read(who, lambda uow: {kind: load(uow, kind) for kind in KINDS})
        ui.label(t("Programme", "会员方案")).classes("text-2xl font-bold")
        if not who.may(Permission.CONFIG_WRITE):
            ui.label(t("Read only: your role may not change the programme.",
                       "只读：您的角色无权修改会员方案。")).classes("text-grey-8") \
                .mark("read-only")
        with ui.tabs().classes("w-full").props("align=left no-caps") as tabs:
            for key, _ in TABS:
                ui.tab(key, label=_tab_label(key)).mark(f"tab-{key}")
        tabs.value = tab if tab in dict(TABS) else "tiers"
        with ui.tab_panels(tabs, value=tabs.value).classes("w-full"):
            for key, kinds in TABS:
                with ui.tab_panel(key):
                    if key == "coupons":
                        await CouponTemplates(who).draw()
                    for kind in kinds:
                        if len(kinds) > 1:
                            ui.label(_tab_label(kind)).classes("text-lg font-bold q-mt-md")
                        ConfigSection(who, forms.SPECS[kind], loaded[kind])
