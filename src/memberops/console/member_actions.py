"""What an operator does on the member page: adjust points, issue a coupon, freeze or
unfreeze, recharge, refund an order. Each is a form, then a confirmation with a reason,
then one unit of work under the same permission as the API route; the buttons show only
to a role that may, and `frame.act` checks again when the work runs.

Value-moving work carries a key made when its form opens (the points ledger key, the
coupon's issue key, the refund_ref; a recharge has its payment reference), so a double
click or a retry does the work once, as an Idempotency-Key does in the API."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from nicegui import run, ui
from sqlalchemy.orm import Session

from memberops.access.rules import Permission
from memberops.audit import service as audit
from memberops.console import fmt, state
from memberops.console.frame import act, confirm
from memberops.console.i18n import t
from memberops.coupons import queries as coupons_queries
from memberops.coupons import service as coupons_service
from memberops.members import service as members_service
from memberops.money import yuan_to_fen
from memberops.orders import service as orders_service
from memberops.orders.schemas import RefundCreate, RefundRead
from memberops.points import queries as points_queries
from memberops.points import service as points_service
from memberops.points.service import Adjusted
from memberops.uow import UnitOfWork
from memberops.wallet import service as wallet_service
from memberops.wallet.schemas import RechargeRead

if TYPE_CHECKING:
    from memberops.console.member import MemberPage

T = TypeVar("T")
MAX_POINTS = 10_000_000  # one hand adjustment; more is a typing mistake
MAX_YUAN_FEN = 10**12
REF = re.compile(r"^\S{1,120}$")


class Invalid(ValueError):
    """A form field's value, refused with a message for the operator."""


async def offload(fn: Callable[[], T]) -> T:
    """`fn()` in a worker thread (the event loop keeps serving other browsers)."""
    boxed = await run.io_bound(lambda: (fn(),))
    if boxed is None:  # NiceGUI is shutting down
        raise RuntimeError("the console is stopping")
    return boxed[0]


async def read(fn: Callable[[Session], T]) -> T:
    """`fn(session)` on a read-only session, off the event loop."""
    def go() -> T:
        with state.services().db.session(readonly=True) as session:
            return fn(session)
    return await offload(go)


# --- checking what was typed ---------------------------------------------------------------

def parse_points(text: str | float | None) -> int:
    """A signed whole number of points, not zero."""
    raw = str(text if text is not None else "").strip().replace(",", "")
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise Invalid(t("Enter a whole number of points, e.g. 100 or -50.",
                        "请输入整数积分，例如 100 或 -50。"))
    points = int(raw)
    if points == 0:
        raise Invalid(t("The adjustment cannot be zero.", "调整积分不能为零。"))
    if abs(points) > MAX_POINTS:
        raise Invalid(t("At most {n} points at a time.", "单次最多调整 {n} 积分。",
                        n=fmt.number(MAX_POINTS)))
    return points


def parse_yuan(text: str | float | None) -> int:
    """A positive amount in yuan with at most two decimals, as fen."""
    raw = str(text if text is not None else "").strip().replace(",", "").lstrip("¥")
    try:
        fen = yuan_to_fen(raw) if raw else None
    except ValueError as exc:
        if "decimals" in str(exc):
            raise Invalid(t("At most two decimals (fen).", "金额最多两位小数。")) from None
        fen = None
    if fen is None:
        raise Invalid(t("Enter an amount in yuan, e.g. 100 or 99.50.",
                        "请输入金额（元），例如 100 或 99.50。"))
    if fen <= 0:
        raise Invalid(t("The amount must be more than zero.", "金额必须大于零。"))
    if fen > MAX_YUAN_FEN:
        raise Invalid(t("The amount is too large.", "金额过大。"))
    return fen


def check_reason(reason: str) -> bool:
    if len(reason.strip()) < 2:
        ui.notify(t("Give a reason of at least two characters.", "原因至少两个字。"),
                  type="warning")
        return False
    return True


def note(uow: UnitOfWork, action: str, member_id: int, reason: str,
         **changes: object) -> None:
    """The operator's reason in the audit log, beside what the service recorded itself."""
    audit.record(uow, action=action, target_type="member", target_id=member_id,
                 reason=reason, changes={k: {"before": None, "after": v}
                                         for k, v in changes.items()})


# --- the work, each under the API route's permission -------------------------------------

async def adjust_points(member_id: int, points: int, reason: str, key: str
                        ) -> Adjusted | None:
    def work(uow: UnitOfWork) -> Adjusted:
        return points_service.adjust(uow, member_id=member_id, points=points, reason=reason,
                                     key=key)
    return await act(Permission.POINTS_ADJUST, work,
                     done=t("Points adjusted.", "积分已调整。"))


async def issue_coupon(member_id: int, template_id: int, reason: str, key: str) -> str | None:
    def work(uow: UnitOfWork) -> str:
        made = coupons_service.issue(uow, template_id=template_id, member_id=member_id,
                                     issue_key=key)
        note(uow, "console.coupon_issued", member_id, reason, coupon=made.code,
             template_id=template_id)
        return made.code
    return await act(Permission.COUPONS_ISSUE, work, done=t("Coupon issued.", "优惠券已发放。"))


async def change_status(member_id: int, status: str, reason: str) -> str | None:
    def work(uow: UnitOfWork) -> str:
        return members_service.change_status(uow, member_id, status, reason).status
    done = t("Member frozen.", "会员已冻结。") if status == "frozen" \
        else t("Member unfrozen.", "会员已解冻。")
    return await act(Permission.MEMBERS_WRITE, work, done=done)


async def recharge(member_id: int, amount: int, payment_ref: str, reason: str
                   ) -> RechargeRead | None:
    def work(uow: UnitOfWork) -> RechargeRead:
        row = RechargeRead.of(wallet_service.recharge(
            uow, member_id=member_id, amount=amount, payment_ref=payment_ref))
        note(uow, "console.recharged", member_id, reason, recharge_id=row.id,
             amount=amount, status=row.status)
        return row
    found = await act(Permission.WALLET_RECHARGE, work)
    if found is not None:
        tell_recharge(found)
    return found


def tell_recharge(row: RechargeRead) -> None:
    """The outcome in words: a risk rule may hold or refuse a recharge (still a success)."""
    amount = fmt.money(row.amount)
    if row.status == "settled":
        ui.notify(t("Recharge of {amount} settled (bonus {bonus}).",
                    "充值 {amount} 已到账（赠送 {bonus}）。", amount=amount,
                    bonus=fmt.money(row.bonus)), type="positive")
    elif row.status == "pending_review":
        ui.notify(t("Recharge of {amount} held for review (pending_review): {why}",
                    "充值 {amount} 已进入人工审核（pending_review）：{why}", amount=amount,
                    why=row.risk_reason or row.risk_rule or ""), type="warning",
                  multi_line=True)
    else:
        ui.notify(t("Recharge of {amount}: {status} {why}", "充值 {amount}：{status} {why}",
                    amount=amount, status=row.status, why=row.risk_reason or ""),
                  type="warning" if row.status == "pending" else "negative", multi_line=True)


async def refund_order(member_id: int, order_ref: str, amount: int, reason: str,
                       refund_ref: str) -> RefundRead | None:
    def work(uow: UnitOfWork) -> RefundRead:
        row, order = orders_service.refund(uow, order_ref,
                                           RefundCreate(refund_ref=refund_ref, amount=amount))
        note(uow, "console.order_refunded", member_id, reason, order_ref=order_ref,
             refund_ref=refund_ref, amount=amount)
        return RefundRead.of(row, order)
    return await act(Permission.ORDERS_REFUND, work, done=t(
        "Refunded {amount} of order {ref}.", "订单 {ref} 已退款 {amount}。",
        amount=fmt.money(amount), ref=order_ref))


# --- forms -------------------------------------------------------------------------------

class Form:
    """A dialog of fields. Continue checks them (`check` raises Invalid with the message,
    or returns the confirmation text and the work to run with the reason); the work's
    success closes the form."""

    def __init__(self, title: str, marker: str) -> None:
        self.title = title
        self.busy = False
        with ui.dialog().mark(marker) as self.dialog, ui.card().classes("min-w-[26rem]"):
            ui.label(title).classes("text-lg font-bold")
            self.body = ui.column().classes("w-full")
            self.error = ui.label("").classes("text-negative").mark("form-error")
            with ui.row().classes("w-full justify-end"):
                ui.button(t("Cancel", "取消"), on_click=self.dialog.close).props("flat") \
                    .mark("form-cancel")
                self.next = ui.button(t("Continue", "继续")).props("color=primary") \
                    .mark("form-next")

    def on_continue(self, check: Callable[[], Awaitable[tuple[str, Callable[[str],
                    Awaitable[bool]]]]]) -> None:
        async def go() -> None:
            try:
                message, work = await check()
            except Invalid as exc:
                self.error.set_text(str(exc))
                ui.notify(str(exc), type="warning")
                return
            self.error.set_text("")
            confirm(self.title, message, self.guarded(work))
        self.next.on_click(go)
        self.dialog.open()

    def guarded(self, work: Callable[[str], Awaitable[bool]]) -> Callable[[str], Awaitable[bool]]:
        async def run(reason: str) -> bool:
            if self.busy or not check_reason(reason):
                return False
            self.busy = True  # a second click while the first runs does nothing
            try:
                done = await work(reason.strip())
            finally:
                self.busy = False
            if done:
                self.dialog.close()
            return done
        return run


def buttons(page: MemberPage) -> None:
    """The member's actions the operator's role may take."""
    who = page.who
    with ui.row().classes("gap-2"):
        if who.may(Permission.POINTS_ADJUST):
            ui.button(t("Adjust points", "调整积分"), icon="toll",
                      on_click=lambda: adjust_points_form(page)).mark("action-points")
        if who.may(Permission.COUPONS_ISSUE):
            ui.button(t("Issue coupon", "发放优惠券"), icon="local_activity",
                      on_click=lambda: issue_coupon_form(page)).mark("action-coupon")
        if who.may(Permission.WALLET_RECHARGE):
            ui.button(t("Recharge", "充值"), icon="account_balance_wallet",
                      on_click=lambda: recharge_form(page)).mark("action-recharge")
        if who.may(Permission.MEMBERS_WRITE):
            if page.status == "active":
                ui.button(t("Freeze", "冻结"), icon="ac_unit", color="negative",
                          on_click=lambda: status_form(page, "frozen")).mark("action-freeze")
            elif page.status == "frozen":
                ui.button(t("Unfreeze", "解冻"), icon="lock_open",
                          on_click=lambda: status_form(page, "active")).mark("action-unfreeze")


def refund_button(page: MemberPage) -> None:
    if page.who.may(Permission.ORDERS_REFUND) and page.refundable:
        ui.button(t("Refund an order", "订单退款"), icon="undo",
                  on_click=lambda: refund_form(page)).props("outline").mark("action-refund")


def adjust_points_form(page: MemberPage) -> None:
    key = f"points:adjust:{page.member_id}:console:{uuid.uuid4().hex}"
    form = Form(t("Adjust points", "调整积分"), "points-form")
    with form.body:
        field = ui.input(t("Points (+ to add, − to take away)", "积分（正数增加，负数扣减）")) \
            .classes("w-full").mark("points-delta")

    async def check() -> tuple[str, Callable[[str], Awaitable[bool]]]:
        points = parse_points(field.value)
        if points < 0:
            available = await offload(lambda: available_points(page.member_id))
            if -points > available:
                raise Invalid(t("Only {n} points are available to take away.",
                                "可扣减的积分只有 {n}。", n=fmt.number(available)))

        async def work(reason: str) -> bool:
            if await adjust_points(page.member_id, points, reason, key) is None:
                return False
            await page.changed("points")
            return True
        return t("{points} points for member {id}?", "为会员 {id} 调整 {points} 积分？",
                 points=f"{points:+,}", id=page.member_id), work
    form.on_continue(check)


async def issue_coupon_form(page: MemberPage) -> None:
    key = f"console:{uuid.uuid4().hex}"
    found = await offload(active_templates)
    form = Form(t("Issue a coupon", "发放优惠券"), "coupon-form")
    with form.body:
        if not found:
            ui.label(t("No active coupon templates.", "没有可发放的优惠券模板。"))
        pick = ui.select(found, label=t("Coupon template", "优惠券模板")).classes("w-full") \
            .mark("coupon-template")

    async def check() -> tuple[str, Callable[[str], Awaitable[bool]]]:
        if pick.value is None:
            raise Invalid(t("Pick a coupon template.", "请选择优惠券模板。"))
        template_id = int(pick.value)

        async def work(reason: str) -> bool:
            if await issue_coupon(page.member_id, template_id, reason, key) is None:
                return False
            await page.changed("coupons")
            return True
        return t("Issue {name} to member {id}?", "向会员 {id} 发放 {name}？",
                 name=found.get(template_id, template_id), id=page.member_id), work
    form.on_continue(check)


def status_form(page: MemberPage, status: str) -> None:
    freeze = status == "frozen"
    title = t("Freeze member", "冻结会员") if freeze else t("Unfreeze member", "解冻会员")
    message = (t("Member {id} will not earn, spend, recharge or be issued coupons until "
                 "unfrozen.", "冻结后，会员 {id} 将不能积分、消费、充值或领券，直至解冻。",
                 id=page.member_id) if freeze else
               t("Member {id} will be active again.", "会员 {id} 将恢复正常。",
                 id=page.member_id))

    async def work(reason: str) -> bool:
        if not check_reason(reason):
            return False
        if await change_status(page.member_id, status, reason.strip()) is None:
            return False
        await page.changed_status()
        return True
    confirm(title, message, work)


def recharge_form(page: MemberPage) -> None:
    form = Form(t("Recharge", "充值"), "recharge-form")
    with form.body:
        amount = ui.input(t("Amount (yuan)", "金额（元）")).classes("w-full") \
            .mark("recharge-amount")
        ref = ui.input(t("Payment reference", "支付单号")).classes("w-full") \
            .mark("recharge-ref")

    async def check() -> tuple[str, Callable[[str], Awaitable[bool]]]:
        fen = parse_yuan(amount.value)
        payment_ref = str(ref.value or "").strip()
        if not REF.match(payment_ref):
            raise Invalid(t("Enter the payment reference (no spaces, up to 120 characters).",
                            "请填写支付单号（不含空格，最多 120 个字符）。"))

        async def work(reason: str) -> bool:
            if await recharge(page.member_id, fen, payment_ref, reason) is None:
                return False
            await page.changed("wallet", "tier", "points")
            return True
        return t("Recharge {amount} for member {id} (payment {ref})?",
                 "为会员 {id} 充值 {amount}（支付单号 {ref}）？", amount=fmt.money(fen),
                 id=page.member_id, ref=payment_ref), work
    form.on_continue(check)


def refund_form(page: MemberPage) -> None:
    refund_ref = f"console-{uuid.uuid4().hex[:24]}"
    left = {r.order.order_ref: r.refundable for r in page.refundable}
    form = Form(t("Refund an order", "订单退款"), "refund-form")
    with form.body:
        order = ui.select({ref: f"{ref} · {t('left', '可退')} {fmt.money(fen)}"
                           for ref, fen in left.items()},
                          label=t("Order", "订单"), value=next(iter(left), None)) \
            .classes("w-full").mark("refund-order")
        mode = ui.radio({"full": t("Everything left", "全额退款"),
                         "amount": t("An amount", "部分金额")}, value="full") \
            .props("inline").mark("refund-mode")
        amount = ui.input(t("Amount (yuan)", "金额（元）")).classes("w-full") \
            .mark("refund-amount").bind_visibility_from(mode, "value", value="amount")

    async def check() -> tuple[str, Callable[[str], Awaitable[bool]]]:
        order_ref = order.value
        if order_ref not in left:
            raise Invalid(t("Pick an order.", "请选择订单。"))
        fen = left[order_ref] if mode.value == "full" else parse_yuan(amount.value)
        if fen > left[order_ref]:
            raise Invalid(t("At most {left} of this order is left to refund.",
                            "该订单最多还可退 {left}。", left=fmt.money(left[order_ref])))

        async def work(reason: str) -> bool:
            if await refund_order(page.member_id, order_ref, fen, reason, refund_ref) is None:
                return False
            await page.changed("orders", "wallet", "points",
                               "coupons", "tier")
            return True
        return t("Refund {amount} of order {ref}?", "订单 {ref} 退款 {amount}？",
                 amount=fmt.money(fen), ref=order_ref), work
    form.on_continue(check)


def available_points(member_id: int) -> int:
    clock = state.services().clock
    with state.services().db.session(readonly=True) as session:
        return int(points_queries.summary(session, member_id, clock.now(),
                                          clock.tz)["available"])


def active_templates() -> dict[int, str]:
    with state.services().db.session(readonly=True) as session:
        return {x.id: f"{x.name} ({x.code})"
                for x in coupons_queries.templates(session, status="active").items}
