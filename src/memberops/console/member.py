"""The member page (会员详情): profile and consent, tier and progress, paid membership,
wallet, points, coupons, orders, insight and the timeline, each card shown only to a role
that may read it (the same permission as the matching API route); and the actions an
operator takes on a member (`member_actions`), each refreshing the cards it changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from nicegui import ui
from sqlalchemy.orm import Session

from memberops.access.rules import Permission
from memberops.analytics import churn, insight
from memberops.analytics import purchases as buys
from memberops.console import fmt, member_actions, problems, state
from memberops.console.frame import page
from memberops.console.i18n import language, t
from memberops.console.member_actions import offload, read
from memberops.console.session import SignedIn
from memberops.coupons import queries as coupons_queries
from memberops.coupons.schemas import CouponRead
from memberops.errors import DomainError, NotFound
from memberops.members import queries as members_queries
from memberops.members.schemas import MemberRead, TimelineEntry
from memberops.orders import queries as orders_queries
from memberops.orders.schemas import OrderRead, RefundRead
from memberops.plus import queries as plus_queries
from memberops.plus.schemas import SubscriptionRead
from memberops.points import queries as points_queries
from memberops.points.schemas import PointsSummary
from memberops.points.schemas import StatementLineRead as PointsLine
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.tiers import queries as tiers_queries
from memberops.tiers.schemas import MemberTierRead, NeedRead, TierChangeRead
from memberops.wallet import queries as wallet_queries
from memberops.wallet.schemas import RechargeRead
from memberops.wallet.schemas import StatementLineRead as WalletLine

T = TypeVar("T")
RECENT = 10  # statement lines, recharges and tier changes shown on the page
LISTED = 50  # orders and coupons shown on the page
TIMELINE_PAGE = 20
# Each card needs what its API route needs (the rest: MEMBERS_READ, as the page itself).
CARD_PERMISSIONS = {"wallet": Permission.WALLET_READ, "points": Permission.POINTS_READ,
                    "coupons": Permission.COUPONS_READ, "orders": Permission.ORDERS_READ}
MONEY_CRITERIA = frozenset({"net_spend", "recharge"})


def card(title: str, marker: str) -> ui.card:
    box = ui.card().classes("w-full").mark(marker)
    with box:
        ui.label(title).classes("text-lg font-bold")
    return box


def facts(rows: list[tuple[str, str]]) -> None:
    """Label–value pairs in two columns."""
    with ui.grid(columns="auto 1fr").classes("gap-x-6 gap-y-1"):
        for name, value in rows:
            ui.label(name).classes("text-gray-500")
            ui.label(value)


def big_numbers(rows: list[tuple[str, str, str]]) -> None:
    """Headline figures: (caption, value, marker)."""
    with ui.row().classes("gap-8"):
        for caption, value, marker in rows:
            with ui.column().classes("gap-0"):
                ui.label(caption).classes("text-gray-500 text-sm")
                ui.label(value).classes("text-2xl font-bold").mark(marker)


def table(columns: list[tuple[str, str]], rows: list[dict[str, Any]], marker: str,
          empty: str) -> None:
    if not rows:
        ui.label(empty).classes("text-gray-500").mark(marker + "-empty")
        return
    ui.table(columns=[{"name": key, "label": label, "field": key, "align": "left"}
                      for key, label in columns], rows=rows, row_key="_key") \
        .props("dense flat").classes("w-full").mark(marker)


def signed_money(fen: int) -> str:
    return ("+" if fen > 0 else "") + fmt.money(fen)


def signed_number(value: int) -> str:
    return ("+" if value > 0 else "") + fmt.number(value)


# --- what each card reads ----------------------------------------------------------------

@dataclass
class Profile:
    member: MemberRead
    store: str | None


@dataclass
class Tier:
    status: MemberTierRead
    names: dict[str, tuple[str, str]]  # code -> (English, Chinese)
    history: list[TierChangeRead]

    def name(self, code: str) -> str:
        en, zh = self.names.get(code, (code, code))
        return t(en, zh)


@dataclass
class Wallet:
    principal: int
    bonus: int
    total: int
    lines: list[WalletLine]
    recharges: list[RechargeRead]


@dataclass
class Points:
    summary: PointsSummary
    lines: list[PointsLine]


@dataclass
class OrderRow:
    order: OrderRead
    paid: int  # money and points value paid: what a refund can give back in all
    refundable: int


@dataclass
class Orders:
    rows: list[OrderRow]
    refunds: list[RefundRead] = field(default_factory=list)


def load_profile(session: Session, member_id: int, with_store: bool) -> Profile:
    member = MemberRead.of(members_queries.get(session, member_id))
    store = None
    if with_store:  # the store of the latest order: orders are for ORDERS_READ
        latest = orders_queries.orders(session, member_id=member_id, limit=1)
        store = latest[0].store if latest else None
    return Profile(member, store)


def load_tier(session: Session, member_id: int) -> Tier:
    clock = state.services().clock
    status = MemberTierRead.of(tiers_queries.status(session, member_id, clock.now(), clock.tz))
    names = {x.code: (x.name_en, x.name_zh) for x in tiers_queries.ladder(session).tiers}
    history = tiers_queries.history(session, member_id, limit=RECENT).items
    return Tier(status, names, [TierChangeRead.of(x) for x in history])


def load_plus(session: Session, member_id: int) -> SubscriptionRead | None:
    members_queries.check_exists(session, member_id)
    found = plus_queries.find(session, member_id)
    return None if found is None else SubscriptionRead.of(found, state.services().clock.now())


def load_wallet(session: Session, member_id: int) -> Wallet:
    balances = wallet_queries.wallet(session, member_id)
    lines = wallet_queries.statement(session, member_id, limit=RECENT)
    recharges = wallet_queries.recharges(session, member_id, limit=RECENT)
    return Wallet(balances["principal"], balances["bonus"], balances["total"],
                  [WalletLine.of(x) for x in lines], [RechargeRead.of(r) for r in recharges])


def load_points(session: Session, member_id: int) -> Points:
    clock = state.services().clock
    summary = PointsSummary.of(points_queries.summary(session, member_id, clock.now(),
                                                      clock.tz))
    lines = points_queries.statement(session, member_id, limit=RECENT)
    return Points(summary, [PointsLine.of(x) for x in lines])


def load_coupons(session: Session, member_id: int) -> list[CouponRead]:
    now = state.services().clock.now()
    found = coupons_queries.member_coupons(session, member_id, now=now, limit=LISTED)
    return [CouponRead.of(c, template, now) for c, template in found.items]


def load_orders(session: Session, member_id: int) -> Orders:
    result = Orders([])
    for order in orders_queries.orders(session, member_id=member_id, limit=LISTED):
        result.rows.append(OrderRow(OrderRead.of(order), order.paid_value,
                                    order.paid_value - order.refunded))
        if order.refunded:
            result.refunds += [RefundRead.of(r, order)
                               for r in orders_queries.refunds(session, order)]
    result.refunds.sort(key=lambda r: r.created_at, reverse=True)
    return result


def load_timeline(session: Session, member_id: int, before_id: int | None
                  ) -> list[TimelineEntry]:
    return members_queries.timeline(session, member_id, limit=TIMELINE_PAGE,
                                    before_id=before_id)


def load_insight(member_id: int) -> dict[str, Any]:
    """What GET /members/{id}/insight answers (it computes over every member: slow-ish)."""
    services = state.services()
    with services.db.session(readonly=True) as session:
        ladder = programme_service.current(session, TierLadder)
    options = insight.Options(horizon_days=churn.DEFAULT_HORIZON_DAYS,
                              tier_levels={x.code: n for n, x in enumerate(ladder.tiers)})
    store = buys.load(services.db.url, services.settings.timezone)
    return insight.member_insight(store, member_id, services.clock.today(), options=options)


# --- the page --------------------------------------------------------------------------

def register() -> None:
    @page("/members/{member_id}", permission=Permission.MEMBERS_READ)
    async def member_page(who: SignedIn, member_id: str) -> None:
        number = int(member_id) if member_id.isdigit() and len(member_id) < 16 else 0
        await MemberPage(who, number).build()


class MemberPage:
    """One member's page for one operator; each card refreshes on its own."""

    def __init__(self, who: SignedIn, member_id: int) -> None:
        self.who = who
        self.member_id = member_id
        self.status = ""
        self.available_points = 0
        self.refundable: list[OrderRow] = []
        self.timeline_before: int | None = None
        self.timeline_box: ui.column | None = None
        self.timeline_more: ui.button | None = None
        self.shown: set[str] = set()

    async def build(self) -> None:
        try:
            first = await read(lambda s: load_profile(s, self.member_id,
                                                      self.who.may(Permission.ORDERS_READ)))
        except NotFound:
            self.not_found()
            return
        self.status = first.member.status
        with ui.row().classes("w-full items-center"):
            ui.button(icon="arrow_back", on_click=lambda: ui.navigate.to("/members")) \
                .props("flat round").mark("back")
            ui.label(first.member.name or first.member.phone).classes("text-2xl font-bold") \
                .mark("member-name")
            ui.label(f"#{first.member.id}").classes("text-gray-500")
            ui.space()
            self.actions_bar()
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
            for name in ("profile", "tier", "plus", "wallet", "points", "coupons"):
                await self.show(name)
        await self.show("orders")
        if self.who.may(Permission.INSIGHT_READ):
            self.insight_card()
        await self.show("timeline")

    async def show(self, name: str) -> None:
        """Draw a card if the operator's role may read it."""
        if self.who.may(CARD_PERMISSIONS.get(name, Permission.MEMBERS_READ)):
            self.shown.add(name)
            draw: Any = getattr(self, name)
            await draw()

    def not_found(self) -> None:
        ui.label(t("No member with id {id}.", "找不到编号为 {id} 的会员。", id=self.member_id)) \
            .classes("text-negative text-lg").mark("not-found")
        ui.button(t("Back to members", "返回会员列表"),
                  on_click=lambda: ui.navigate.to("/members")).props("flat")

    # --- actions ---------------------------------------------------------------------

    @ui.refreshable_method
    def actions_bar(self) -> None:
        member_actions.buttons(self)

    async def changed(self, *cards: str) -> None:
        """After an action: read again the named cards this operator sees, and the
        timeline, which lists the action."""
        for name in (*cards, "timeline"):
            if name in self.shown:
                refresh: Any = getattr(self, name).refresh
                await refresh()

    async def changed_status(self) -> None:
        await self.changed("profile")
        self.actions_bar.refresh()

    # --- cards -----------------------------------------------------------------------

    @ui.refreshable_method
    async def profile(self) -> None:
        found = await read(lambda s: load_profile(s, self.member_id,
                                                  self.who.may(Permission.ORDERS_READ)))
        m = found.member
        self.status = m.status
        region = " ".join(x for x in (m.region.province, m.region.city) if x) or "–"
        status = status_text(m.status) + (f" ({m.status_reason})" if m.status_reason else "")
        with card(t("Profile", "基本资料"), "profile"):
            facts([(t("Name", "姓名"), m.name or "–"), (t("Phone", "手机号"), m.phone),
                   (t("Email", "邮箱"), m.email or "–"),
                   (t("Birthday", "生日"), fmt.day(m.birthday)),
                   (t("Region", "地区"), region), (t("Channel", "注册渠道"), m.channel),
                   (t("Store", "门店"), found.store or "–"),
                   (t("Joined", "入会时间"), fmt.when(m.joined_at))])
            with ui.row().classes("items-center gap-2"):
                ui.label(t("Status", "状态")).classes("text-gray-500")
                ui.badge(status, color="positive" if m.status == "active" else "negative") \
                    .mark("member-status")
            with ui.row().classes("items-center gap-1"):
                ui.label(t("Tags", "标签")).classes("text-gray-500 q-mr-sm")
                for tag in m.tags:
                    ui.chip(tag).props("dense").mark("tag")
                if not m.tags:
                    ui.label("–")
            ui.label(t("Marketing consent", "营销授权")).classes("font-bold q-mt-sm")
            table([("channel", t("Channel", "渠道")), ("granted", t("Consent", "授权")),
                   ("since", t("Since", "时间"))],
                  [{"_key": channel, "channel": channel, "since": fmt.when(
                      c.granted_at if c.granted else c.revoked_at),
                    "granted": t("granted", "已授权") if c.granted else t("revoked", "已撤回")}
                   for channel, c in m.consents.items()],
                  "consents", t("No consent recorded.", "未记录营销授权。"))

    @ui.refreshable_method
    async def tier(self) -> None:
        found = await read(lambda s: load_tier(s, self.member_id))
        status = found.status
        with card(t("Tier", "会员等级"), "tier"):
            ui.label(found.name(status.tier)).classes("text-2xl font-bold").mark("tier-name")
            rows = [(t("Since", "达成时间"), fmt.when(status.reached_at)),
                    (t("Next review", "下次保级评估"), fmt.day(status.anniversary))]
            if status.floor is not None:
                rows.append((t("Floor", "保底等级"), t(
                    "{tier} until {until} ({reason})", "{tier}，至 {until}（{reason}）",
                    tier=found.name(status.floor.tier), until=fmt.day(status.floor.until),
                    reason=status.floor.reason)))
            facts(rows)
            nxt = status.progress.next
            if nxt is None:
                ui.label(t("The highest tier.", "已是最高等级。")).mark("tier-top")
            else:
                for need in nxt.needs:
                    progress_to(need, found.name(nxt.tier))
            history_rows = [{"_key": x.id, "at": fmt.when(x.at),
                             "change": f"{found.name(x.from_tier)} → {found.name(x.to_tier)}",
                             "reason": x.reason, "actor": x.actor} for x in found.history]
            ui.label(t("History", "等级变更")).classes("font-bold q-mt-sm")
            table([("at", t("When", "时间")), ("change", t("Change", "变更")),
                   ("reason", t("Reason", "原因")), ("actor", t("By", "操作人"))],
                  history_rows, "tier-history", t("No tier changes yet.", "暂无等级变更。"))

    @ui.refreshable_method
    async def plus(self) -> None:
        found = await read(lambda s: load_plus(s, self.member_id))
        with card(t("Paid membership", "付费会员"), "plus"):
            if found is None:
                ui.label(t("No paid membership.", "未开通付费会员。")).mark("plus-none")
                return
            facts([(t("Plan", "方案"), found.plan),
                   (t("Status", "状态"), plus_status_text(found.status)),
                   (t("In force", "权益生效"), t("yes", "是") if found.in_force else t("no", "否")),
                   (t("Period ends", "到期时间"), fmt.when(found.ends_at)),
                   (t("Paid", "支付金额"), fmt.money(found.price_paid))])

    @ui.refreshable_method
    async def wallet(self) -> None:
        found = await read(lambda s: load_wallet(s, self.member_id))
        with card(t("Wallet", "储值"), "wallet"):
            big_numbers([(t("Balance", "余额"), fmt.money(found.total), "wallet-total"),
                         (t("Principal", "本金"), fmt.money(found.principal), "wallet-principal"),
                         (t("Bonus", "赠送金"), fmt.money(found.bonus), "wallet-bonus")])
            table([("at", t("When", "时间")), ("kind", t("What", "类型")),
                   ("principal", t("Principal", "本金")), ("bonus", t("Bonus", "赠送金")),
                   ("reference", t("Reference", "参考号"))],
                  [{"_key": x.entry_id, "at": fmt.when(x.at), "kind": x.kind,
                    "principal": signed_money(x.principal), "bonus": signed_money(x.bonus),
                    "reference": x.reference or ""} for x in found.lines],
                  "wallet-statement", t("No wallet movements yet.", "暂无储值流水。"))
            ui.label(t("Recharges", "充值记录")).classes("font-bold q-mt-sm")
            table([("at", t("When", "时间")), ("amount", t("Amount", "金额")),
                   ("bonus", t("Bonus", "赠送")), ("status", t("Status", "状态")),
                   ("payment_ref", t("Payment reference", "支付单号"))],
                  [{"_key": r.id, "at": fmt.when(r.created_at), "amount": fmt.money(r.amount),
                    "bonus": fmt.money(r.bonus), "status": recharge_status_text(r.status),
                    "payment_ref": r.payment_ref} for r in found.recharges],
                  "recharges", t("No recharges yet.", "暂无充值。"))

    @ui.refreshable_method
    async def points(self) -> None:
        found = await read(lambda s: load_points(s, self.member_id))
        summary = found.summary
        self.available_points = summary.available
        with card(t("Points", "积分"), "points"):
            big_numbers([(t("Available", "可用"), fmt.number(summary.available),
                          "points-available"),
                         (t("Pending", "待生效"), fmt.number(summary.pending), "points-pending")])
            if summary.expiring:
                ui.label(t("Expiring", "即将过期")).classes("font-bold")
                for soon in summary.expiring[:3]:
                    ui.label(t("{points} points usable through {day}",
                               "{points} 积分，可用至 {day}", points=fmt.number(soon.points),
                               day=fmt.day(soon.date))).mark("points-expiring")
            table([("at", t("When", "时间")), ("kind", t("What", "类型")),
                   ("available", t("Available", "可用")), ("pending", t("Pending", "待生效")),
                   ("reason", t("Reason", "原因"))],
                  [{"_key": x.entry_id, "at": fmt.when(x.at), "kind": x.kind,
                    "available": signed_number(x.available_change),
                    "pending": signed_number(x.pending_change),
                    "reason": x.reason or x.reference or ""} for x in found.lines],
                  "points-statement", t("No points movements yet.", "暂无积分流水。"))

    @ui.refreshable_method
    async def coupons(self) -> None:
        found = await read(lambda s: load_coupons(s, self.member_id))
        with card(t("Coupons", "优惠券"), "coupons"):
            table([("code", t("Code", "券码")), ("template", t("Coupon", "优惠券")),
                   ("rule", t("Terms", "规则")), ("status", t("Status", "状态")),
                   ("valid", t("Valid", "有效期"))],
                  [{"_key": c.code, "code": c.display_code, "template": c.template_name,
                    "rule": c.rule, "status": coupon_status_text(c.status),
                    "valid": f"{fmt.day(c.valid_from)} – {fmt.day(c.valid_until)}"}
                   for c in found], "coupon-list", t("No coupons.", "暂无优惠券。"))

    @ui.refreshable_method
    async def orders(self) -> None:
        found = await read(lambda s: load_orders(s, self.member_id))
        self.refundable = [r for r in found.rows if r.refundable > 0]
        with card(t("Orders", "订单"), "orders"):
            with ui.row().classes("w-full justify-end"):
                member_actions.refund_button(self)
            table([("order_ref", t("Order", "订单号")), ("at", t("Date", "日期")),
                   ("store", t("Store", "门店")), ("total", t("Amount", "金额")),
                   ("paid", t("Paid", "实付")), ("refunded", t("Refunded", "已退款")),
                   ("status", t("Status", "状态"))],
                  [{"_key": r.order.order_ref, "order_ref": r.order.order_ref,
                    "at": fmt.when(r.order.created_at), "store": r.order.store or "–",
                    "total": fmt.money(r.order.total), "paid": fmt.money(r.order.payable),
                    "refunded": fmt.money(r.order.refunded),
                    "status": order_status_text(r.order.status)} for r in found.rows],
                  "order-list", t("No orders yet.", "暂无订单。"))
            if found.refunds:
                ui.label(t("Refunds", "退款记录")).classes("font-bold q-mt-sm")
                table([("refund_ref", t("Refund", "退款号")), ("order_ref", t("Order", "订单号")),
                       ("at", t("When", "时间")), ("amount", t("Amount", "金额"))],
                      [{"_key": x.refund_ref, "refund_ref": x.refund_ref,
                        "order_ref": x.order_ref, "at": fmt.when(x.created_at),
                        "amount": fmt.money(x.amount)} for x in found.refunds],
                      "refund-list", "")

    def insight_card(self) -> None:
        """Drawn after the rest of the page: the analysis computes over every member."""
        with card(t("Insight", "会员洞察"), "insight"):
            box = ui.column().classes("w-full")
            with box, ui.row().classes("items-center").mark("insight-loading"):
                ui.spinner()
                ui.label(t("Analysing…", "分析中…"))
        ui.timer(0.05, lambda: self.fill_insight(box), once=True)

    async def fill_insight(self, box: ui.column) -> None:
        try:
            found = await offload(lambda: load_insight(self.member_id))
        except DomainError as exc:
            found, problem = None, problems.detail(exc)
        except RuntimeError:  # the console stopped meanwhile
            return
        if box.is_deleted:  # the operator left the page meanwhile
            return
        box.clear()
        with box:
            if found is None:
                ui.label(t("No insight: {detail}", "无法分析：{detail}", detail=problem)) \
                    .mark("insight-none")
                return
            draw_insight(found)

    @ui.refreshable_method
    async def timeline(self) -> None:
        self.timeline_before = None
        with card(t("Timeline", "时间线"), "timeline"):
            self.timeline_box = ui.column().classes("w-full gap-1")
            self.timeline_more = ui.button(t("Load more", "加载更多"),
                                           on_click=self.more_timeline) \
                .props("flat").mark("timeline-more")
        await self.more_timeline()

    async def more_timeline(self) -> None:
        before = self.timeline_before
        entries = await read(lambda s: load_timeline(s, self.member_id, before))
        assert self.timeline_box is not None
        with self.timeline_box:
            for entry in entries:
                with ui.row().classes("gap-3").mark("timeline-entry"):
                    ui.label(fmt.when(entry.at)).classes("text-gray-500")
                    ui.label(entry.summary)
                    ui.label(entry.actor).classes("text-gray-500 text-sm")
            if not entries and before is None:
                ui.label(t("Nothing yet.", "暂无记录。")).classes("text-gray-500")
        self.timeline_before = entries[-1].id if len(entries) == TIMELINE_PAGE else None
        if self.timeline_more is not None:
            self.timeline_more.set_visibility(self.timeline_before is not None)


def progress_to(need: NeedRead, tier: str) -> None:
    """One criterion of the next tier: a bar and what is missing."""
    money = need.criterion in MONEY_CRITERIA
    show = fmt.money if money else fmt.number
    missing = show(need.missing)
    text = {
        "net_spend": t("{x} more spending to {tier}", "再消费 {x} 升级{tier}", x=missing,
                       tier=tier),
        "recharge": t("{x} more recharge to {tier}", "再充值 {x} 升级{tier}", x=missing,
                      tier=tier),
        "orders": t("{x} more orders to {tier}", "再下 {x} 单升级{tier}", x=missing,
                    tier=tier),
    }.get(need.criterion, f"{need.criterion}: {missing} → {tier}")
    with ui.column().classes("w-full gap-0"):
        ui.label(text).mark("tier-progress")
        ui.linear_progress(value=min(1.0, need.current / need.target) if need.target else 1.0,
                           show_value=False).props("rounded size=10px")
        ui.label(f"{show(need.current)} / {show(need.target)}").classes("text-sm text-gray-500")


def draw_insight(found: dict[str, Any]) -> None:
    rfm, stage = found["rfm"], found["lifecycle"]
    if not rfm["frequency"] and not stage["purchases"]:
        ui.label(t("No purchase history yet: nothing to analyse.",
                   "暂无消费记录，无法分析。")).mark("insight-none")
        return
    scores = "/".join(str(rfm[k] if rfm[k] is not None else "–")
                      for k in ("r_score", "f_score", "m_score"))
    rows = [(t("RFM (R/F/M)", "RFM 评分"), scores),
            (t("Segment", "分群"), rfm["segment_name"]),
            (t("Lifecycle stage", "生命周期"), stage["stage"]),
            (t("Value layer", "价值层级"), found["value_layer"]),
            (t("Last purchase", "最近消费"), rfm["last_purchase"] or "–"),
            (t("Spend in window", "窗口期消费"), fmt.money(rfm["monetary"]))]
    clv = found["clv"]
    if clv is not None:
        rows.append((t("CLV (12 months)", "客户终身价值（12个月）"), fmt.money(clv["clv_12m"])))
    risk = found["churn"]
    if risk is not None:
        rows.append((t("Churn risk", "流失风险"), fmt.percent(risk["probability"])))
    with ui.column().mark("insight-facts"):
        facts(rows)
    if risk is not None and risk["factors"]:
        ui.label(t("Main factors", "主要因素")).classes("font-bold")
        for factor in risk["factors"]:
            ui.label(f"{factor['meaning']} ({factor['direction']})").mark("churn-factor")


STATUS = {"active": ("Active", "正常"), "frozen": ("Frozen", "已冻结"),
          "closed": ("Closed", "已注销")}
RECHARGE_STATUS = {"settled": ("settled", "已到账"), "pending": ("pending payment", "待支付"),
                   "pending_review": ("pending review", "待审核"),
                   "rejected": ("rejected", "已拒绝"), "failed": ("failed", "支付失败")}
COUPON_STATUS = {"issued": ("issued", "未使用"), "used": ("used", "已使用"),
                 "expired": ("expired", "已过期")}
ORDER_STATUS = {"paid": ("paid", "已支付"), "partially_refunded": ("partly refunded", "部分退款"),
                "refunded": ("refunded", "已退款")}
PLUS_STATUS = {"active": ("active", "生效中"), "cancelled": ("cancelled", "已取消"),
               "expired": ("expired", "已过期")}


def _named(table_: dict[str, tuple[str, str]], code: str) -> str:
    en, zh = table_.get(code, (code, code))
    return zh if language() == "zh-CN" else en


def status_text(code: str) -> str:
    return _named(STATUS, code)


def recharge_status_text(code: str) -> str:
    return _named(RECHARGE_STATUS, code)


def coupon_status_text(code: str) -> str:
    return _named(COUPON_STATUS, code)


def order_status_text(code: str) -> str:
    return _named(ORDER_STATUS, code)


def plus_status_text(code: str) -> str:
    return _named(PLUS_STATUS, code)
