"""The coupon templates tab: every template with its rule, validity, budget and status;
for a role that manages coupons, creating one (validated by the coupons service, each
problem shown by the form) and pausing or resuming one."""

from __future__ import annotations

from datetime import date
from typing import Any

from nicegui import run, ui

from memberops.access.rules import Permission
from memberops.console import fmt, state
from memberops.console import programme_forms as forms
from memberops.console.frame import act, confirm
from memberops.console.i18n import t
from memberops.console.session import SignedIn
from memberops.coupons import queries
from memberops.coupons import service as coupons_service
from memberops.coupons.models import CouponTemplate
from memberops.coupons.schemas import TemplateCreate
from memberops.coupons.service.templates import check, parse
from memberops.errors import ValidationFailed
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder

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
        names = {tier.code: t(tier.name_en, tier.name_zh) for tier in ladder.tiers}
        self.box.clear()
        with self.box:
            ui.table(columns=[{"name": k, "label": label, "field": k, "align": "left"}
                              for k, label in (
                ("code", t("Code", "代码")), ("name", t("Name", "名称")),
                ("kind", t("Type", "类型")), ("rule", t("Rule", "规则")),
                ("validity", t("Validity", "有效期")),
                ("budget", t("Issued / budget", "已发 / 总量")),
                ("limit", t("Per member", "每人限领")), ("stackable", t("Stacks", "可叠加")),
                ("tiers", t("Tiers", "适用等级")), ("trigger", t("Issued", "发放方式")),
                ("status", t("Status", "状态")))],
                rows=[_row(n, tpl, names) for n, tpl in enumerate(templates)], row_key="_n") \
                .props("dense flat bordered").classes("w-full").mark("coupons-table")
            if not self.who.may(Permission.COUPONS_MANAGE):
                return
            with ui.row().classes("gap-2 flex-wrap"):
                for tpl in templates:
                    self._toggle_button(tpl)
            with ui.expansion(t("New coupon template", "新建优惠券模板"), icon="add") \
                    .classes("w-full").props("dense header-class=text-primary") \
                    .mark("coupon-new"):
                TemplateForm(self, names)

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
        confirm(t("Resume {code}?", "恢复 {code}？", code=tpl.code),
                t("Coupons are issued from it again.", "恢复后可再次发放。"), go, reason=False)


class TemplateForm:
    def __init__(self, owner: CouponTemplates, tier_names: dict[str, str]) -> None:
        self.owner = owner
        with ui.row().classes("w-full gap-3"):
            self.code = ui.input(t("Code", "代码")).props("dense outlined").mark("coupon-code")
            self.name = ui.input(t("Name", "名称")).props("dense outlined").mark("coupon-name")
            self.kind = ui.select({k: t(*v) for k, v in KINDS.items()}, value="amount_off",
                                  label=t("Type", "类型")).classes("w-64").mark("coupon-kind")
            self.gift = ui.input(t("Gift SKU", "赠品 SKU")).props("dense outlined") \
                .mark("coupon-gift_sku")
        with ui.row().classes("w-full gap-3"):
            self.numbers = {key: ui.number(t(en, zh)).props(
                "dense outlined" + (" prefix=¥" if unit == "yuan" else "")).classes("w-40")
                .mark(f"coupon-{key}") for key, unit, en, zh in NUMBERS}
        with ui.row().classes("w-full gap-3 items-center"):
            self.validity = ui.select({k: t(*v) for k, v in VALIDITY.items()}, value="days",
                                      label=t("Validity", "有效期")).classes("w-48") \
                .mark("coupon-validity")
            self.starts = ui.input(t("From (YYYY-MM-DD)", "开始（YYYY-MM-DD）")) \
                .props("dense outlined").mark("coupon-starts_on")
            self.ends = ui.input(t("To (YYYY-MM-DD)", "结束（YYYY-MM-DD）")) \
                .props("dense outlined").mark("coupon-ends_on")
            self.stackable = ui.checkbox(t("Stacks with other coupons", "可与其他券叠加")) \
                .mark("coupon-stackable")
        with ui.row().classes("w-full gap-3"):
            self.tiers = ui.select(tier_names, multiple=True, value=[],
                                   label=t("Tiers (none: all)", "适用等级（不选为全部）")) \
                .classes("w-64").mark("coupon-tiers")
            self.trigger = ui.select({k: t(*v) for k, v in TRIGGERS.items()}, value="",
                                     label=t("Issued", "发放方式")).classes("w-48") \
                .mark("coupon-trigger")
            self.description = ui.input(t("Description", "说明")).props("dense outlined") \
                .classes("w-96").mark("coupon-description")
        self.errors = ui.column().classes("w-full text-negative").mark("coupon-errors")
        ui.button(t("Create…", "创建…"), icon="add", on_click=self.create) \
            .props("color=primary").mark("coupon-create")

    def _data(self, problems: list[str]) -> dict[str, Any]:
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
            if value is not None:
                data[key] = value
        for key, widget in (("starts_on", self.starts), ("ends_on", self.ends)):
            text = (widget.value or "").strip()
            if text:
                try:
                    data[key] = date.fromisoformat(text)
                except ValueError:
                    problems.append(t("{f}: not a date like 2026-07-01",
                                      "{f}：日期格式应如 2026-07-01", f=widget.props["label"]))
        return {k: v for k, v in data.items() if v is not None}

    def _problems(self, data: dict[str, Any]) -> list[str]:
        """What the coupons service would refuse, without touching the database."""
        try:
            check(parse(TemplateCreate, data).model_dump())
        except ValidationFailed as exc:
            return [f"{e['field']}: {e['reason']}" for e in exc.errors] or [exc.detail]
        return []

    def _show(self, problems: list[str]) -> None:
        self.errors.clear()
        with self.errors:
            if problems:
                ui.label(t("Not created — please correct:", "未创建，请修改：")) \
                    .classes("font-bold")
            for problem in problems:
                ui.label(f"• {problem}")

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
