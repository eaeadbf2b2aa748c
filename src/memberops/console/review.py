"""The review queue: recharges a risk rule held, oldest first, for finance or an
administrator to approve or reject with a reason. Nothing reaches the wallet before an
approval; a rejection credits nothing. A decision another reviewer made first (another tab,
a double click) is refused by the wallet service and shown as such; the queue then
refreshes so the row leaves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nicegui import events, run, ui

from memberops.access.rules import Permission
from memberops.console import fmt, state
from memberops.console.frame import act, confirm, page
from memberops.console.i18n import t
from memberops.console.session import SignedIn
from memberops.members import queries as member_queries
from memberops.uow import UnitOfWork
from memberops.wallet import queries as wallet_queries
from memberops.wallet import service as wallet_service
from memberops.wallet.models import Recharge

QUEUE_LIMIT = wallet_queries.MAX_LIMIT  # a longer queue is worked through in this order


@dataclass(frozen=True)
class Decided:
    """What a decision did, for the message that follows it."""

    recharge_id: int
    status: str  # settled (credited now) | pending (approved, awaiting payment) | rejected
    amount: int
    bonus: int


Decision = Callable[[UnitOfWork, int, str], Decided]


def _rule_label(rule: str | None) -> str:
    labels = {"review_threshold": t("Review threshold", "审核阈值"),
              "velocity": t("Velocity", "频次限制"),
              "daily_limit": t("Daily limit", "单日限额")}
    return labels.get(rule or "", rule or "–")


def age_text(age: timedelta) -> str:
    """How long a recharge has waited: 2 d 3 h, 3 h 12 min, 5 min."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("{d} d {h} h", "{d}天{h}小时", d=days, h=hours)
    if hours:
        return t("{h} h {m} min", "{h}小时{m}分钟", h=hours, m=minutes)
    return t("{m} min", "{m}分钟", m=minutes)


@dataclass(frozen=True)
class Held:
    """A held recharge with its member, read in a worker thread; shown on the event loop
    (where the operator's language is known)."""

    recharge: Recharge
    name: str | None
    phone: str


def load_queue() -> list[Held]:
    """The held recharges, oldest first, with their members' names and phones."""
    with state.services().db.session(readonly=True) as session:
        held = wallet_queries.review_queue(session, limit=QUEUE_LIMIT)
        members = {m: member_queries.get(session, m) for m in {r.member_id for r in held}}
        return [Held(r, members[r.member_id].name, members[r.member_id].phone) for r in held]


def table_row(held: Held, now: datetime) -> dict[str, Any]:
    recharge = held.recharge
    age = now - recharge.created_at
    return {
        "id": recharge.id, "member_id": recharge.member_id, "member": held.name or "–",
        "phone": held.phone, "amount": fmt.money(recharge.amount),
        "amount_fen": recharge.amount, "bonus": fmt.money(recharge.bonus),
        "bonus_fen": recharge.bonus, "rule": _rule_label(recharge.risk_rule),
        "rule_reason": recharge.risk_reason or "",
        "payment": t("Paid", "已支付") if recharge.payment_status == "confirmed"
        else t("Awaiting payment", "待支付"),
        "when": fmt.when(recharge.created_at), "created": recharge.created_at.isoformat(),
        "age": age_text(age), "age_minutes": int(age.total_seconds() // 60),
    }


def still_held(recharge_id: int) -> bool:
    with state.services().db.session(readonly=True) as session:
        return wallet_queries.get_recharge(session, recharge_id).status == "pending_review"


def approve(uow: UnitOfWork, recharge_id: int, reason: str) -> Decided:
    row = wallet_service.approve(uow, recharge_id, reason)
    return Decided(row.id, row.status, row.amount, row.bonus)


def reject(uow: UnitOfWork, recharge_id: int, reason: str) -> Decided:
    row = wallet_service.reject(uow, recharge_id, reason)
    return Decided(row.id, row.status, row.amount, row.bonus)


def decided_text(done: Decided, member: str) -> str:
    if done.status == "settled":
        return t("Recharge {id} approved: {amount} + bonus {bonus} credited to {member}.",
                 "充值 {id} 已通过：{amount}（赠送 {bonus}）已入账至 {member}。",
                 id=done.recharge_id, amount=fmt.money(done.amount),
                 bonus=fmt.money(done.bonus), member=member)
    if done.status == "pending":
        return t("Recharge {id} approved; it is credited when the payment is confirmed.",
                 "充值 {id} 已通过；支付确认后入账。", id=done.recharge_id)
    return t("Recharge {id} rejected; nothing was credited.",
             "充值 {id} 已拒绝，未入账。", id=done.recharge_id)


def _columns() -> list[dict[str, Any]]:
    def column(name: str, en: str, zh: str, field: str, **more: Any) -> dict[str, Any]:
        return {"name": name, "label": t(en, zh), "field": field, "align": "left",
                "sortable": True, **more}

    shown = "(value, row) => row.{}".format
    return [
        column("id", "No.", "编号", "id"),
        column("member", "Member", "会员", "member"),
        column("amount", "Amount", "金额", "amount_fen", align="right",
               **{":format": shown("amount")}),
        column("bonus", "Bonus", "赠送", "bonus_fen", align="right",
               **{":format": shown("bonus")}),
        column("rule", "Held by rule", "触发规则", "rule"),
        column("payment", "Payment", "支付", "payment"),
        column("when", "Submitted", "提交时间", "created", **{":format": shown("when")}),
        column("age", "Waiting", "已等待", "age_minutes", **{":format": shown("age")}),
        {"name": "actions", "label": "", "field": "id", "align": "right"},
    ]


MEMBER_CELL = """
<q-td :props="props">
  <a class="text-primary cursor-pointer" @click="$parent.$emit('member', props.row)">
    {{ props.row.member }}</a>
  <div class="text-caption text-grey-7">{{ props.row.phone }}</div>
</q-td>"""
RULE_CELL = """
<q-td :props="props">
  {{ props.row.rule }}
  <div class="text-caption text-grey-7" style="white-space: normal; max-width: 22rem">
    {{ props.row.rule_reason }}</div>
</q-td>"""
ACTIONS_CELL = """
<q-td :props="props" auto-width>
  <q-btn dense flat no-caps color="positive" icon="check" label="APPROVE"
         @click="$parent.$emit('approve', props.row)" />
  <q-btn dense flat no-caps color="negative" icon="close" label="REJECT"
         @click="$parent.$emit('reject', props.row)" />
</q-td>"""


class ReviewQueue:
    """The queue's table and its two actions, for one open page."""

    def __init__(self) -> None:
        with ui.row().classes("items-center gap-2"):
            ui.label(t("Held recharges", "待审核充值")).classes("text-xl font-bold")
            self.badge = ui.badge("0", color="orange").mark("review-count")
            ui.button(icon="refresh", on_click=self.refresh).props("flat round dense") \
                .tooltip(t("Refresh", "刷新")).mark("review-refresh")
        ui.label(t("Nothing is credited before approval. A reason is required either way.",
                   "通过审核前不会入账。通过或拒绝都须填写原因。")).classes("text-grey-7")
        self.empty = ui.label(t("No recharges are waiting for review.", "暂无待审核的充值。")) \
            .mark("review-empty")
        self.full = ui.label(t("Showing the oldest {n}; decide these first.",
                               "仅显示最早的 {n} 笔，请先处理。", n=QUEUE_LIMIT)) \
            .classes("text-warning").mark("review-full")
        self.table = ui.table(columns=_columns(), rows=[], row_key="id", pagination={
            "sortBy": "when", "descending": False, "rowsPerPage": 25}).classes("w-full") \
            .mark("review-table")
        self.table.add_slot("body-cell-member", MEMBER_CELL)
        self.table.add_slot("body-cell-rule", RULE_CELL)
        self.table.add_slot("body-cell-actions", ACTIONS_CELL
                            .replace("APPROVE", t("Approve", "通过"))
                            .replace("REJECT", t("Reject", "拒绝")))
        # Each confirmation dialog replaces the last one, rather than piling up in the page.
        self.dialogs = ui.element()
        self.table.on("member", self._open_member)
        self.table.on("approve", self._ask_approve)
        self.table.on("reject", self._ask_reject)

    async def refresh(self) -> None:
        now = state.services().clock.now()
        rows = [table_row(held, now) for held in await run.io_bound(load_queue) or []]
        self.table.rows = rows
        self.table.update()
        self.badge.text = str(len(rows))
        self.empty.set_visibility(not rows)
        self.full.set_visibility(len(rows) >= QUEUE_LIMIT)

    def _row(self, args: Any) -> dict[str, Any] | None:
        wanted = int(args["id"])
        return next((r for r in self.table.rows if r["id"] == wanted), None)

    def _open_member(self, e: events.GenericEventArguments) -> None:
        ui.navigate.to(f"/members/{int(e.args['member_id'])}")

    def _ask_approve(self, e: events.GenericEventArguments) -> None:
        row = self._row(e.args)
        if row is None:
            return
        self.dialogs.clear()
        with self.dialogs:
            self._confirm_approve(row)

    def _confirm_approve(self, row: dict[str, Any]) -> None:
        confirm(t("Approve recharge {id}", "通过充值 {id}", id=row["id"]),
                t("{amount} + bonus {bonus} for {member} ({phone}) is credited once approved "
                  "and paid ({payment}).",
                  "通过且已支付后，{amount}（赠送 {bonus}）将计入 {member}（{phone}）的钱包"
                  "（{payment}）。", amount=row["amount"], bonus=row["bonus"],
                  member=row["member"], phone=row["phone"], payment=row["payment"]),
                lambda reason: self._decide(approve, row, reason),
                label=t("Approve", "通过"))

    def _ask_reject(self, e: events.GenericEventArguments) -> None:
        row = self._row(e.args)
        if row is None:
            return
        self.dialogs.clear()
        with self.dialogs:
            self._confirm_reject(row)

    def _confirm_reject(self, row: dict[str, Any]) -> None:
        confirm(t("Reject recharge {id}", "拒绝充值 {id}", id=row["id"]),
                t("{amount} for {member} ({phone}) is not credited.",
                  "{amount} 不会计入 {member}（{phone}）的钱包。", amount=row["amount"],
                  member=row["member"], phone=row["phone"]),
                lambda reason: self._decide(reject, row, reason),
                label=t("Reject", "拒绝"))

    async def _decide(self, decision: Decision, row: dict[str, Any], reason: str) -> bool:
        """Run the decision; on success, or when someone else decided first, the dialog
        closes and the queue refreshes; on a bad reason the dialog stays open."""
        recharge_id = int(row["id"])
        done: Decided | None = await act(
            Permission.RISK_REVIEW, lambda uow: decision(uow, recharge_id, reason))
        if done is not None:
            ui.notify(decided_text(done, row["member"]), type="positive", multi_line=True)
        elif await run.io_bound(still_held, recharge_id):
            return False
        await self.refresh()
        return True


def register() -> None:
    @page("/review", permission=Permission.RISK_REVIEW)
    async def review_queue(who: SignedIn) -> None:
        queue = ReviewQueue()
        await queue.refresh()
