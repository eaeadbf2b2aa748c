"""The coupon templates tab: every template with its rule, validity, budget and status, and
its history (each audit entry: created, changed field by field, paused, resumed, with who,
when and why); for a role that manages coupons, creating one (validated by the coupons
service, each problem shown by the form), editing one (only the changed fields are sent,
with a reason) and pausing or resuming one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from nicegui import run, ui
from pydantic import ValidationError

from memberops.access.rules import Permission
from memberops.audit import queries as audit_queries
from memberops.audit import service as audit
from memberops.console import fmt, state
from memberops.console import programme_forms as forms
from memberops.console.frame import act, confirm, problem_text
from memberops.console.i18n import t
from memberops.console.session import SignedIn
from memberops.coupons import queries
from memberops.coupons import service as coupons_service
from memberops.coupons.models import CouponTemplate
from memberops.coupons.schemas import TemplateCreate, TemplateUpdate
from memberops.coupons.service.templates import FIELDS, check, parse
from memberops.errors import DomainError, ValidationFailed
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.uow import UnitOfWork

KINDS = {"amount_off": ("Amount off above a threshold (满减)", "满减"),
         "percent_off": ("Percent off, with a cap (折扣)", "折扣（可设上限）"),
         "first_order": ("First order (首单)", "首单立减"),
         "free_shipping": ("Free shipping (包邮)", "包邮"),
         "gift_item": ("Gift (赠品)", "赠品")}
VALIDITY = {"days": ("Days from issue", "领取后 N 天内有效"),
            "fixed": ("Fixed dates", "固定日期"),
            "birthday_month": ("Birthday month", "生日当月")}
TRIGGERS = {"": ("Issued by hand", "手动发放"), "welcome": ("On joining", "入会自动发放"),
            "birthday": ("In the birthday month", "生日月自动发放")}
# (field, unit) of the number inputs; money in yuan, stored in fen
NUMBERS = (("amount_off", "yuan", "Amount off", "减免金额"),
           ("percent_off", "int", "Percent off (10 = 9折)", "折扣百分比（10 = 9折）"),
           ("max_discount", "yuan", "At most off", "最高优惠"),
           ("min_spend", "yuan", "Order at least", "订单满"),
           ("valid_days", "int", "Valid days", "有效天数"),
           ("quantity", "int", "Budget (coupons in all)", "发放总量"),
           ("per_member_limit", "int", "Per member at most", "每人限领"))
# every field of a template in the operator's words (forms, problems, history)
LABELS = {"code": ("Code", "代码"), "name": ("Name", "名称"),
          "description": ("Description", "说明"), "kind": ("Type", "类型"),
          "gift_sku": ("Gift SKU", "赠品 SKU"),
          **{key: (en, zh) for key, _, en, zh in NUMBERS},
          "validity": ("Validity", "有效期"), "starts_on": ("From", "开始"),
          "ends_on": ("To", "结束"), "stackable": ("Stacks", "可叠加"),
          "eligible_tiers": ("Tiers", "适用等级"), "trigger": ("Issued", "发放方式"),
          "status": ("Status", "状态")}
YUAN_FIELDS = {key for key, unit, _, _ in NUMBERS if unit == "yuan"}
EDITABLE = tuple(TemplateUpdate.model_fields)
HISTORY_LIMIT = 200  # audit entries of one template shown (the audit log holds them all)
ACTIONS = {"coupons.template_created": ("Created", "创建"),
           "coupons.template_changed": ("Changed", "修改"),
           "coupons.template_paused": ("Paused", "暂停"),
           "coupons.template_resumed": ("Resumed", "恢复"),
           "console.coupon_template_changed": ("Changed in the console", "在控制台修改")}
CONSOLE_CHANGE = "console.coupon_template_changed"


def label(field: str) -> str:
    return t(*LABELS[field]) if field in LABELS else field


def shown(field: str, value: Any, tier_names: dict[str, str]) -> str:
    """A template's value as an operator reads it: ¥30.00, Gold, Fixed dates, Yes."""
    if field == "quantity" and value is None:
        return t("unlimited", "不限")
    if field == "eligible_tiers":
        return ", ".join(tier_names.get(c, c) for c in value or []) or t("All tiers", "所有等级")
    if value is None or value == "":
        return "–"
    if field in YUAN_FIELDS:
        return fmt.money(int(value))
    choices = {"kind": KINDS, "validity": VALIDITY, "trigger": TRIGGERS}.get(field)
    if choices is not None:
        return t(*choices.get(str(value), (str(value), str(value))))
    if field == "status":
        return t("Active", "启用") if value == "active" else t("Paused", "已暂停")
    if isinstance(value, bool):
        return t("Yes", "是") if value else t("No", "否")
    if isinstance(value, int):
        return fmt.number(value)
    return str(value)


def _validity(tpl: CouponTemplate) -> str:
    if tpl.validity == "days":
        return t("{n} days from issue", "领取后 {n} 天", n=tpl.valid_days)
    if tpl.validity == "fixed":
        return f"{fmt.day(tpl.starts_on)} – {fmt.day(tpl.ends_on)}"
    return t("Birthday month", "生日当月")


def _row(n: int, tpl: CouponTemplate, names: dict[str, str]) -> dict[str, Any]:
    return {"_n": n, "code": tpl.code, "name": tpl.name,
            "kind": t(*KINDS.get(tpl.kind, (tpl.kind, tpl.kind))),
            "rule": queries.terms_of(tpl).describe(), "validity": _validity(tpl),
            "budget": f"{fmt.number(tpl.issued)} / "
                      f"{fmt.number(tpl.quantity) if tpl.quantity else t('unlimited', '不限')}",
            "limit": fmt.number(tpl.per_member_limit) if tpl.per_member_limit else "–",
            "stackable": t("Yes", "是") if tpl.stackable else t("No", "否"),
            "tiers": ", ".join(names.get(c, c) for c in tpl.eligible_tiers)
            or t("All tiers", "所有等级"),
            "trigger": t(*TRIGGERS[tpl.trigger or ""]),
            "status": t("Active", "启用") if tpl.status == "active" else t("Paused", "已暂停")}


class CouponTemplates:
    def __init__(self, who: SignedIn) -> None:
        self.who = who
        self.box = ui.column().classes("w-full gap-2")
        # dialogs live beside the box, which is redrawn (cleared) while they close
        self.overlays = ui.element()

    def _load(self) -> tuple[list[CouponTemplate], TierLadder]:
        with state.uow(self.who.actor, readonly=True) as uow:
            found = queries.templates(uow.session, limit=queries.MAX_LIMIT, sort="code").items
            uow.session.expunge_all()
            return found, programme_service.current(uow.session, TierLadder)

    async def draw(self) -> None:
        loaded = await run.io_bound(self._load)
        if loaded is None:  # the server is shutting down
            return
        templates, ladder = loaded
        self.names = {tier.code: t(tier.name_en, tier.name_zh) for tier in ladder.tiers}
        self.box.clear()
        with self.box:
            ui.table(columns=[{"name": k, "label": text, "field": k, "align": "left"}
                              for k, text in (
                ("code", t("Code", "代码")), ("name", t("Name", "名称")),
                ("kind", t("Type", "类型")), ("rule", t("Rule", "规则")),
                ("validity", t("Validity", "有效期")),
                ("budget", t("Issued / budget", "已发 / 总量")),
                ("limit", t("Per member", "每人限领")), ("stackable", t("Stacks", "可叠加")),
                ("tiers", t("Tiers", "适用等级")), ("trigger", t("Issued", "发放方式")),
                ("status", t("Status", "状态")))],
                rows=[_row(n, tpl, self.names) for n, tpl in enumerate(templates)],
                row_key="_n") \
                .props("dense flat bordered").classes("w-full").mark("coupons-table")
            manages = self.who.may(Permission.COUPONS_MANAGE)
            with ui.column().classes("gap-1"):
                for tpl in templates:
                    with ui.row().classes("items-center gap-2"):
                        ui.label(tpl.code).classes("font-mono min-w-[10rem]")
                        if self.who.may(Permission.COUPONS_READ):
                            self._history_button(tpl)
                        if manages:
                            self._edit_button(tpl)
                            self._toggle_button(tpl)
            if not manages:
                return
            with ui.expansion(t("New coupon template", "新建优惠券模板"), icon="add") \
                    .classes("w-full").props("dense header-class=text-primary") \
                    .mark("coupon-new"):
                TemplateForm(self, self.names)

    def _history_button(self, tpl: CouponTemplate) -> None:
        ui.button(t("History {code}", "历史 {code}", code=tpl.code), icon="history",
                  on_click=lambda: History(self, tpl).open()) \
            .props("outline dense no-caps").mark(f"coupon-history-{tpl.code}")

    def _edit_button(self, tpl: CouponTemplate) -> None:
        ui.button(t("Edit {code}", "编辑 {code}", code=tpl.code), icon="edit",
                  on_click=lambda: TemplateEdit(self, tpl)) \
            .props("outline dense no-caps").mark(f"coupon-edit-{tpl.code}")

    def _toggle_button(self, tpl: CouponTemplate) -> None:
        if tpl.status == "active":
            ui.button(t("Pause {code}", "暂停 {code}", code=tpl.code), icon="pause",
                      on_click=lambda: self._pause(tpl)) \
                .props("outline dense no-caps").mark(f"coupon-pause-{tpl.code}")
        else:
            ui.button(t("Resume {code}", "恢复 {code}", code=tpl.code), icon="play_arrow",
                      on_click=lambda: self._resume(tpl)) \
                .props("outline dense no-caps").mark(f"coupon-resume-{tpl.code}")

    def _pause(self, tpl: CouponTemplate) -> None:
        async def go(reason: str) -> bool:
            done = await act(Permission.COUPONS_MANAGE, lambda uow: coupons_service.set_status(
                uow, tpl.id, "paused", reason).id, done=t("Paused.", "已暂停。"))
            if done is not None:
                await self.draw()
            return done is not None
        with self.overlays:
            confirm(t("Pause {code}?", "暂停 {code}？", code=tpl.code),
                    t("No more coupons are issued from it; those already issued stay usable.",
                      "暂停后不再发放，已发放的券仍可使用。"), go)

    def _resume(self, tpl: CouponTemplate) -> None:
        async def go(_: str) -> bool:
            done = await act(Permission.COUPONS_MANAGE, lambda uow: coupons_service.set_status(
                uow, tpl.id, "active").id, done=t("Resumed.", "已恢复。"))
            if done is not None:
                await self.draw()
            return done is not None
        with self.overlays:
            confirm(t("Resume {code}?", "恢复 {code}？", code=tpl.code),
                    t("Coupons are issued from it again.", "恢复后可再次发放。"), go,
                    reason=False)


class TemplateFields:
    """A template's inputs, shared by the create and the edit forms: amounts entered in
    yuan (shown ¥) and stored in fen; each input marked `{prefix}-{field}`. Given a
    template, the inputs show its values and its code cannot change."""

    def __init__(self, prefix: str, tier_names: dict[str, str],
                 tpl: CouponTemplate | None = None) -> None:
        now: dict[str, Any] = {name: getattr(tpl, name) for name in FIELDS} if tpl else {}
        tiers = list(now.get("eligible_tiers") or [])
        with ui.row().classes("w-full gap-3"):
            self.code = ui.input(t("Code", "代码"), value=now.get("code") or "") \
                .props("dense outlined").mark(f"{prefix}-code")
            if tpl is not None:
                self.code.disable()
            self.name = ui.input(t("Name", "名称"), value=now.get("name") or "") \
                .props("dense outlined").mark(f"{prefix}-name")
            self.kind = ui.select({k: t(*v) for k, v in KINDS.items()},
                                  value=now.get("kind") or "amount_off",
                                  label=t("Type", "类型")).classes("w-64").mark(f"{prefix}-kind")
            self.gift = ui.input(t("Gift SKU", "赠品 SKU"), value=now.get("gift_sku") or "") \
                .props("dense outlined").mark(f"{prefix}-gift_sku")
        with ui.row().classes("w-full gap-3"):
            self.numbers = {key: ui.number(t(en, zh), value=forms.to_input(now.get(key), unit))
                            .props("dense outlined" + (' prefix="¥"' if unit == "yuan" else ""))
                            .classes("w-40").mark(f"{prefix}-{key}")
                            for key, unit, en, zh in NUMBERS}
        with ui.row().classes("w-full gap-3 items-center"):
            self.validity = ui.select({k: t(*v) for k, v in VALIDITY.items()},
                                      value=now.get("validity") or "days",
                                      label=t("Validity", "有效期")).classes("w-48") \
                .mark(f"{prefix}-validity")
            self.starts = ui.input(t("From (YYYY-MM-DD)", "开始（YYYY-MM-DD）"),
                                   value=_iso(now.get("starts_on"))) \
                .props("dense outlined").mark(f"{prefix}-starts_on")
            self.ends = ui.input(t("To (YYYY-MM-DD)", "结束（YYYY-MM-DD）"),
                                 value=_iso(now.get("ends_on"))) \
                .props("dense outlined").mark(f"{prefix}-ends_on")
            self.stackable = ui.checkbox(t("Stacks with other coupons", "可与其他券叠加"),
                                         value=bool(now.get("stackable"))) \
                .mark(f"{prefix}-stackable")
        with ui.row().classes("w-full gap-3"):
            # a tier no longer on the ladder stays choosable, so the template still shows it
            self.tiers = ui.select({**tier_names, **{c: c for c in tiers if c not in tier_names}},
                                   multiple=True, value=tiers,
                                   label=t("Tiers (none: all)", "适用等级（不选为全部）")) \
                .classes("w-64").mark(f"{prefix}-tiers")
            self.trigger = ui.select({k: t(*v) for k, v in TRIGGERS.items()},
                                     value=now.get("trigger") or "",
                                     label=t("Issued", "发放方式")).classes("w-48") \
                .mark(f"{prefix}-trigger")
            self.description = ui.input(t("Description", "说明"),
                                        value=now.get("description") or "") \
                .props("dense outlined").classes("w-96").mark(f"{prefix}-description")

    def values(self, problems: list[str]) -> dict[str, Any]:
        """Every field as entered, in stored units (None: left empty); what cannot be read
        (three decimals, not a date) is added to `problems`."""
        data: dict[str, Any] = {
            "code": (self.code.value or "").strip(), "name": (self.name.value or "").strip(),
            "kind": self.kind.value, "validity": self.validity.value,
            "stackable": bool(self.stackable.value), "eligible_tiers": list(self.tiers.value),
            "trigger": self.trigger.value or None,
            "description": (self.description.value or "").strip() or None,
            "gift_sku": (self.gift.value or "").strip() or None}
        for key, unit, en, zh in NUMBERS:
            value, problem = forms.from_input(self.numbers[key].value,
                                              forms.Field(key, en, zh, unit, optional=True))
            if problem:
                problems.append(f"{t(en, zh)}: {problem}")
            data[key] = value
        data["min_spend"] = data["min_spend"] or 0  # no threshold
        for key, widget in (("starts_on", self.starts), ("ends_on", self.ends)):
            data[key] = None
            text = (widget.value or "").strip()
            if text:
                try:
                    data[key] = date.fromisoformat(text)
                except ValueError:
                    problems.append(t("{f}: not a date like 2026-07-01",
                                      "{f}：日期格式应如 2026-07-01", f=widget.props["label"]))
        return data


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def show_problems(box: ui.column, heading: str, problems: list[str]) -> None:
    box.clear()
    with box:
        if problems:
            ui.label(heading).classes("font-bold")
        for problem in problems:
            ui.label(f"• {problem}")


class TemplateForm:
    def __init__(self, owner: CouponTemplates, tier_names: dict[str, str]) -> None:
        self.owner = owner
        self.fields = TemplateFields("coupon", tier_names)
        self.errors = ui.column().classes("w-full text-negative").mark("coupon-errors")
        ui.button(t("Create…", "创建…"), icon="add", on_click=self.create) \
            .props("color=primary").mark("coupon-create")

    def _data(self, problems: list[str]) -> dict[str, Any]:
        return {k: v for k, v in self.fields.values(problems).items() if v is not None}

    def _problems(self, data: dict[str, Any]) -> list[str]:
        """What the coupons service would refuse, without touching the database."""
        try:
            check(parse(TemplateCreate, data).model_dump())
        except ValidationFailed as exc:
            return [f"{e['field']}: {e['reason']}" for e in exc.errors] or [exc.detail]
        return []

    def _show(self, problems: list[str]) -> None:
        show_problems(self.errors, t("Not created — please correct:", "未创建，请修改："),
                      problems)

    def create(self) -> None:
        problems: list[str] = []
        data = self._data(problems)
        problems = problems or self._problems(data)
        self._show(problems)
        if problems:
            return

        async def go(_: str) -> bool:
            made = await act(Permission.COUPONS_MANAGE, lambda uow: coupons_service
                             .create_template(uow, data).id,
                             done=t("Template {code} created.", "模板 {code} 已创建。",
                                    code=data["code"]))
            if made is not None:
                await self.owner.draw()
            return made is not None
        confirm(t("Create template {code}?", "创建模板 {code}？", code=data["code"]),
                queries.terms_of(CouponTemplate(**{k: data.get(k) for k in (
                    "kind", "amount_off", "percent_off", "max_discount", "gift_sku",
                    "stackable")}, min_spend=data.get("min_spend", 0),
                    eligible_tiers=data.get("eligible_tiers", []))).describe(), go,
                reason=False)


class TemplateEdit:
    """The edit form of one template, in a dialog: prefilled with its values, validated
    like the create form, and saved — only the fields changed — with a reason."""

    def __init__(self, owner: CouponTemplates, tpl: CouponTemplate) -> None:
        self.owner, self.tpl = owner, tpl
        with owner.overlays, ui.dialog() as self.dialog, \
                ui.card().classes("min-w-[48rem] max-w-[72rem]").mark("coupon-edit-form"):
            ui.label(t("Edit template {code}", "编辑模板 {code}", code=tpl.code)) \
                .classes("text-lg font-bold")
            if tpl.issued:
                ui.label(t("{n} coupons issued: the discount terms (type, amounts, threshold, "
                           "gift, stacking, tiers) can no longer change.",
                           "已发放 {n} 张：优惠条件（类型、金额、门槛、赠品、叠加、等级）"
                           "不可再改。",
                           n=fmt.number(tpl.issued))).classes("text-sm text-grey-8")
            self.fields = TemplateFields("edit", owner.names, tpl)
            self.errors = ui.column().classes("w-full text-negative").mark("edit-errors")
            with ui.row().classes("w-full justify-end"):
                ui.button(t("Close", "关闭"), on_click=self.dialog.close).props("flat") \
                    .mark("edit-close")
                ui.button(t("Save…", "保存…"), icon="save", on_click=self.save) \
                    .props("color=primary").mark("edit-save")
        self.dialog.on_value_change(lambda e: None if e.value else self.dialog.delete())
        self.dialog.open()

    def _show(self, problems: list[str]) -> None:
        show_problems(self.errors, t("Not saved — please correct:", "未保存，请修改："),
                      problems)

    def proposed(self) -> tuple[dict[str, Any], list[str]]:
        """The fields that differ from the template's, and every problem with them: the
        form's own (not a number), TemplateUpdate's, then the fields together."""
        problems: list[str] = []
        entered = self.fields.values(problems)
        if problems:
            return {}, problems
        changes = {k: entered[k] for k in EDITABLE if entered[k] != getattr(self.tpl, k)}
        try:
            TemplateUpdate.model_validate(changes)
        except ValidationError as exc:
            return changes, [f"{label(str(e['loc'][0])) if e['loc'] else ''}: "
                             f"{str(e['msg']).removeprefix('Value error, ')}"
                             for e in exc.errors()]
        try:
            check({**entered, "issued": self.tpl.issued})
        except ValidationFailed as exc:
            return changes, [f"{label(e['field'])}: {e['reason']}" for e in exc.errors] \
                or [exc.detail]
        return changes, []

    def save(self) -> None:
        changes, problems = self.proposed()
        self._show(problems)
        if problems:
            return
        if not changes:
            ui.notify(t("Nothing has changed.", "没有改动。"), type="info")
            return
        names = self.owner.names
        summary = "; ".join(f"{label(k)}: {shown(k, getattr(self.tpl, k), names)} → "
                            f"{shown(k, v, names)}" for k, v in changes.items())
        with self.owner.overlays:  # not inside the edit dialog, which closes first
            confirm(t("Save template {code}?", "保存模板 {code}？", code=self.tpl.code),
                    summary, lambda reason: self._go(changes, reason))

    async def _go(self, changes: dict[str, Any], reason: str) -> bool:
        refused: list[DomainError] = []
        template_id = self.tpl.id

        def work(uow: UnitOfWork) -> int:
            try:
                return update_with_reason(uow, template_id, changes, reason)
            except DomainError as exc:  # shown by the form too; act rolls back and says so
                refused.append(exc)
                raise
        saved = await act(Permission.COUPONS_MANAGE, work,
                          done=t("Template {code} saved.", "模板 {code} 已保存。",
                                 code=self.tpl.code))
        if refused:
            self._show([problem_text(refused[0])])
            return True  # back to the form, where the refusal is shown
        if saved is None:
            return False
        self.dialog.close()
        await self.owner.draw()
        return True


def update_with_reason(uow: UnitOfWork, template_id: int, changes: dict[str, Any],
                       reason: str) -> int:
    """The coupons service's update, and the operator's reason in the audit beside what the
    service recorded (it takes no reason): the same changes, in the same unit of work."""
    before = _snapshot(uow, template_id)
    tpl = coupons_service.update_template(uow, template_id, TemplateUpdate(**changes))
    diff = audit.diff(before, {name: getattr(tpl, name) for name in FIELDS})
    if diff:
        audit.record(uow, action=CONSOLE_CHANGE, target_type="coupon_template",
                     target_id=template_id, changes=diff, reason=reason)
    return tpl.id


def _snapshot(uow: UnitOfWork, template_id: int) -> dict[str, Any]:
    found = uow.session.get(CouponTemplate, template_id)
    return {name: getattr(found, name) for name in FIELDS} if found is not None else {}


# --- history ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    at: datetime
    by: str
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str | None


def history(uow: UnitOfWork, template_id: int) -> list[Entry]:
    """The template's audit entries, oldest first (the coupons service records them under
    target type coupon_template, by id)."""
    found = audit_queries.list_entries(uow.session, audit_queries.AuditFilter(
        target_type="coupon_template", target_id=str(template_id)), limit=HISTORY_LIMIT)
    return [Entry(e.at, e.actor_name, f"{e.actor_kind}:{e.actor_id}", e.action,
                  dict(e.changes or {}), e.reason) for e in reversed(found)]


def merged(entries: Iterable[Entry]) -> list[Entry]:
    """A console edit is two entries, the service's change and the console's reason for it
    (right after, same operator, same changes): shown as one change with its reason."""
    out: list[Entry] = []
    for entry in entries:
        last = out[-1] if out else None
        if (entry.action == CONSOLE_CHANGE and last is not None
                and last.action == "coupons.template_changed" and last.reason is None
                and last.actor == entry.actor and last.changes == entry.changes):
            out[-1] = Entry(last.at, last.by, last.actor, last.action, last.changes,
                            entry.reason)
        else:
            out.append(entry)
    return out


def described(entry: Entry, tier_names: dict[str, str]) -> str:
    """What changed: `Name: a → b; Budget: 1,000 → 2,000`; a creation lists its values."""
    parts = []
    order = list(LABELS)  # the form's order (a JSONB column keeps its own key order)
    for field, change in sorted(entry.changes.items(), key=lambda item: (
            order.index(item[0]) if item[0] in order else len(order), item[0])):
        before, after = (change.get("before"), change.get("after")) \
            if isinstance(change, dict) else (None, change)
        if entry.action == "coupons.template_created":
            if after is not None and after != [] and field != "code":
                parts.append(f"{label(field)}: {shown(field, after, tier_names)}")
        else:
            parts.append(f"{label(field)}: {shown(field, before, tier_names)} → "
                         f"{shown(field, after, tier_names)}")
    return "; ".join(parts) or "–"


class History:
    """A dialog with a template's history, newest first."""

    def __init__(self, owner: CouponTemplates, tpl: CouponTemplate) -> None:
        self.owner, self.tpl, self.names = owner, tpl, owner.names

    async def open(self) -> None:
        entries = await run.io_bound(self._read)
        if entries is None:  # the server is shutting down
            return
        rows = [{"_n": n, "at": fmt.when(e.at), "by": e.by,
                 "what": t(*ACTIONS.get(e.action, (e.action, e.action))),
                 "changes": described(e, self.names), "reason": e.reason or "–"}
                for n, e in enumerate(reversed(merged(entries)))]
        with self.owner.overlays, ui.dialog() as dialog, \
                ui.card().classes("min-w-[48rem] max-w-[80rem]"):
            ui.label(t("History of {code}", "{code} 的历史", code=self.tpl.code)) \
                .classes("text-lg font-bold")
            if len(entries) >= HISTORY_LIMIT:
                ui.label(t("The latest {n} entries; the audit log holds them all.",
                           "仅显示最近 {n} 条；完整记录见审计日志。", n=HISTORY_LIMIT)) \
                    .classes("text-sm text-grey-8")
            ui.table(columns=[{"name": k, "label": text, "field": k, "align": "left"}
                              for k, text in (
                ("at", t("When", "时间")), ("by", t("By", "操作人")),
                ("what", t("What", "操作")), ("changes", t("Changes", "变更")),
                ("reason", t("Reason", "原因")))], rows=rows, row_key="_n") \
                .props("dense flat bordered wrap-cells").classes("w-full") \
                .mark("coupon-history")
            with ui.row().classes("w-full justify-end"):
                ui.button(t("Close", "关闭"), on_click=dialog.close).props("flat") \
                    .mark("history-close")
        dialog.on_value_change(lambda e: None if e.value else dialog.delete())
        dialog.open()

    def _read(self) -> list[Entry]:
        with state.uow(self.owner.who.actor, readonly=True) as uow:
            return history(uow, self.tpl.id)

