"""The dashboard: the KPI cards with the change against the previous period, the charts,
and the period and filters. The frame and the filters are drawn at once; the figures are
computed off the event loop (console.dashboard_data, cached a few minutes per choice)
and drawn when they arrive."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from nicegui import background_tasks, run, ui

from memberops.access.rules import Permission
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpis import UNITS, KpiReport, change
from memberops.api.deps import Services
from memberops.console import dashboard_charts as charts
from memberops.console import dashboard_data, fmt, problems, state
from memberops.console.dashboard_data import Board
from memberops.console.frame import page
from memberops.console.i18n import t
from memberops.console.session import SignedIn
from memberops.errors import DomainError


@dataclass(frozen=True)
class Card:
    metric: str
    en: str
    zh: str
    better: int  # +1: up is good, -1: up is bad (a cost), 0: neither (a liability)


CARDS = (
    Card("members_total", "Members", "会员总数", 1),
    Card("members_new", "New members", "新增会员", 1),
    Card("active_ratio_30d", "Active ratio (30 days)", "30天活跃率", 1),
    Card("orders", "Orders", "订单数", 1),
    Card("gmv", "GMV", "GMV（交易总额）", 1),
    Card("net_sales", "Net sales", "净销售额", 1),
    Card("average_order_value", "Average order value", "客单价", 1),
    Card("arpu", "ARPU", "人均消费（ARPU）", 1),
    Card("repurchase_rate", "Repurchase rate", "复购率", 1),
    Card("recharge_amount", "Recharged", "充值金额", 1),
    Card("recharge_bonus_cost", "Recharge bonus cost", "充值赠送成本", -1),
    Card("outstanding_stored_value", "Stored value owed", "储值余额", 0),
    Card("points_outstanding", "Points owed", "积分负债", 0),
    Card("coupon_redemption_rate", "Coupon redemption rate", "券核销率", 1),
)
PRESETS = ("7", "30", "90", "month", "custom")
ALL = ""  # the "all" choice of a filter


def preset_period(preset: str, today: date) -> Period:
    """Last 7/30/90 days (today included) or this month so far."""
    if preset == "month":
        return Period(today.replace(day=1), today)
    return Period(today - timedelta(days=int(preset) - 1), today)


def shown(unit: str, value: int | float | None) -> str:
    """A KPI value as the console shows it."""
    if value is None:
        return "–"
    if unit == "fen":
        return fmt.money(int(value))
    if unit == "ratio":
        return fmt.percent(value)
    if unit == "days":
        return fmt.number(value, 1)
    return fmt.number(value)


def change_text(unit: str, delta: float | None) -> str:
    """▲ 12.5% (a relative change) or ▲ 2.0 pp (a rate's difference); – without a base."""
    if delta is None:
        return "–"
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "●"
    if unit == "ratio":
        return f"{arrow} {abs(delta) * 100:.1f} " + t("pp", "个百分点")
    return f"{arrow} {abs(delta) * 100:.1f}%"


def change_colour(delta: float | None, better: int) -> str:
    if not delta or not better:
        return "text-grey-7"
    return "text-positive" if delta * better > 0 else "text-negative"


class Dashboard:
    """One open dashboard: the operator's choice of period and filters, and its figures."""

    def __init__(self) -> None:
        self.today = state.services().clock.today()
        self.preset = "30"
        period = preset_period(self.preset, self.today)
        self.first, self.last = period.first, period.last
        self.filters: dict[str, str] = {"store": ALL, "channel": ALL, "region": ALL,
                                        "tier": ALL}
        self.generation = 0  # the latest load: an older one finishing later is dropped
        self.early: tuple[dashboard_data.Key, asyncio.Task[Board | None]] | None = None
        self.selects: dict[str, ui.select] = {}

    # --- the choice ------------------------------------------------------------------

    def draw_filters(self) -> None:
        with ui.row().classes("w-full items-end gap-3"):
            ui.select({"7": t("Last 7 days", "近7天"), "30": t("Last 30 days", "近30天"),
                       "90": t("Last 90 days", "近90天"), "month": t("This month", "本月"),
                       "custom": t("Custom", "自定义")},
                      value=self.preset, label=t("Period", "时间范围"),
                      on_change=lambda e: self._choose_preset(e.value)) \
                .classes("w-36").mark("preset")
            self.from_input = ui.input(t("From", "开始日期"), value=self.first.isoformat()) \
                .props("type=date").classes("w-40").mark("from")
            self.to_input = ui.input(t("To", "结束日期"), value=self.last.isoformat()) \
                .props("type=date").classes("w-40").mark("to")
            ui.button(t("Apply", "应用"), icon="check", on_click=self._apply_custom) \
                .props("outline no-caps").mark("apply")
            for name, en, zh in (("store", "Store", "门店"), ("channel", "Channel", "渠道"),
                                 ("region", "Region", "地区"), ("tier", "Tier", "等级")):
                self.selects[name] = ui.select(
                    {ALL: t("All", "全部")}, value=ALL, label=t(en, zh),
                    with_input=True, on_change=lambda e, n=name: self._choose(n, e.value)) \
                    .classes("w-36").mark(f"filter-{name}")
            ui.button(t("Refresh", "刷新"), icon="refresh",
                      on_click=lambda: self.load(fresh=True)) \
                .props("flat no-caps").mark("refresh")

    async def _choose_preset(self, preset: str) -> None:
        self.preset = preset
        if preset == "custom":
            return  # the dates are entered, then applied
        period = preset_period(preset, self.today)
        self.first, self.last = period.first, period.last
        self.from_input.value, self.to_input.value = period.first.isoformat(), \
            period.last.isoformat()
        await self.load()

    async def _apply_custom(self) -> None:
        try:
            first = date.fromisoformat(str(self.from_input.value or "").strip())
            last = date.fromisoformat(str(self.to_input.value or "").strip())
        except ValueError:
            ui.notify(t("Enter both dates as YYYY-MM-DD.", "请按 YYYY-MM-DD 填写两个日期。"),
                      type="warning")
            return
        if last < first:
            ui.notify(t("The end date is before the start date.", "结束日期早于开始日期。"),
                      type="warning")
            return
        self.preset, self.first, self.last = "custom", first, last
        await self.load()

    async def _choose(self, name: str, value: str | None) -> None:
        self.filters[name] = value or ALL
        await self.load()

    def _set_options(self, board: Board) -> None:
        options = board.figures.options
        values = {"store": options.stores, "channel": options.channels,
                  "region": options.regions, "tier": options.tiers}
        for name, select in self.selects.items():
            choices = {ALL: t("All", "全部")} | {v: v for v in values[name]}
            if self.filters[name] not in choices:
                choices[self.filters[name]] = self.filters[name]
            select.set_options(choices, value=self.filters[name])

    # --- the figures -----------------------------------------------------------------

    def draw_body(self) -> None:
        self.summary = ui.label("").classes("text-sm text-grey-7").mark("period")
        self.body = ui.column().classes("w-full gap-4")

    def _key(self) -> dashboard_data.Key:
        period = Period(self.first, self.last)
        filters = Filters(**{k: v or None for k, v in self.filters.items()})
        return dashboard_data.key_for(state.services(), period, filters)

    def start_early(self) -> None:
        """Start computing the first board while the browser is still loading the page."""
        key = self._key()
        if dashboard_data.cached(key) is None:
            work = run.io_bound(dashboard_data.board, state.services(), key)
            self.early = (key, background_tasks.create(work, name="dashboard"))

    async def load(self, fresh: bool = False) -> None:
        try:
            key = self._key()
        except DomainError as exc:
            ui.notify(t("Not shown: {detail}", "无法显示：{detail}", detail=problems.detail(exc)),
                      type="warning")
            return
        services = state.services()
        early, self.early = self.early, None
        self.generation += 1
        mine = self.generation
        board = None if fresh else dashboard_data.cached(key)
        if board is None:
            self.body.clear()
            with self.body, ui.row().classes("items-center gap-2").mark("loading"):
                ui.spinner(size="lg")
                ui.label(t("Computing the figures…", "正在计算…"))
            try:
                if early is not None and early[0] == key and not fresh:
                    board = await early[1]
                else:
                    board = await run.io_bound(dashboard_data.board, services, key,
                                               fresh=fresh)
            except DomainError as exc:  # e.g. analytics need a database file
                self.body.clear()
                with self.body:
                    ui.label(t("The figures could not be computed: {detail}",
                               "无法计算数据：{detail}", detail=problems.detail(exc))) \
                        .classes("text-negative").mark("failed")
                return
        if board is None or mine != self.generation:  # None: the app is shutting down
            return
        self.draw(board)

    def draw(self, board: Board) -> None:
        report = board.figures.report
        self._set_options(board)
        previous = report.previous.period
        self.summary.text = t(
            "{first} – {last}, compared with {p_first} – {p_last} · as of {as_of}",
            "{first} 至 {last}，对比 {p_first} 至 {p_last} · 数据时间 {as_of}",
            first=self.first.isoformat(), last=self.last.isoformat(),
            p_first=previous.first.isoformat(), p_last=previous.last.isoformat(),
            as_of=fmt.when(board.as_of))
        self.body.clear()
        with self.body:
            with ui.element("div").classes(
                    "w-full grid gap-3 grid-cols-2 md:grid-cols-4 xl:grid-cols-7"):
                for card in CARDS:
                    _card(card, report)
            with ui.element("div").classes("w-full grid gap-4 grid-cols-1 lg:grid-cols-2"):
                _charts(board)


def _card(card: Card, report: KpiReport) -> None:
    unit = UNITS[card.metric]
    value = report.current.values[card.metric]
    delta = change(unit, value, report.previous.values[card.metric])
    with ui.card().classes("q-pa-sm gap-1").mark(f"kpi-{card.metric}"):
        ui.label(t(card.en, card.zh)).classes("text-xs text-grey-7")
        ui.label(shown(unit, value)).classes("text-xl font-bold").mark(f"value-{card.metric}")
        ui.label(change_text(unit, delta)).classes(f"text-xs {change_colour(delta, card.better)}") \
            .mark(f"change-{card.metric}")


def _charts(board: Board) -> None:
    figures = board.figures
    breakdowns = figures.report.current.breakdowns
    made: list[tuple[str, dict[str, Any]]] = [
        ("growth", charts.growth(figures.weeks)),
        ("active", charts.active_ratio(figures.weeks)),
        ("sales", charts.sales(figures.weeks)),
        ("recharges", charts.recharges(figures.weeks)),
        ("tiers", charts.tiers(breakdowns["members_by_tier"])),
        ("regions", charts.regions(breakdowns["members_by_region"])),
        ("cohorts", charts.cohort_heatmap(figures.cohorts)),
        ("points", charts.points_liability(board.points)),
        ("stored-value", charts.stored_value(board.stored_value)),
    ]
    for name, options in made:
        with ui.card().classes("w-full"):
            ui.echart(options).classes("w-full h-80").mark(f"chart-{name}")


def opening_key(services: Services) -> dashboard_data.Key:
    """The choice the dashboard opens with: the last 30 days, no filter."""
    today = services.clock.today()
    return dashboard_data.key_for(services, preset_period("30", today), Filters())


def keep_opening_board(services: Services) -> threading.Event:
    """Keep the board the dashboard opens with computed, in a thread of the server's
    (console.mount starts it): an operator then finds it ready. Set the returned event
    to stop."""
    stop = threading.Event()
    threading.Thread(target=dashboard_data.keep_fresh, daemon=True, name="dashboard board",
                     args=(services, lambda: opening_key(services), stop)).start()
    return stop


def register() -> None:
    dashboard_data.start_reader()

    @page("/", permission=Permission.REPORTS_READ)
    def view(who: SignedIn) -> None:
        ui.label(t("Dashboard", "仪表盘")).classes("text-2xl")
        dashboard = Dashboard()
        dashboard.draw_filters()
        dashboard.draw_body()
        ready = dashboard_data.cached(dashboard._key())
        if ready is not None:  # drawn with the page itself
            dashboard.draw(ready)
            return
        dashboard.start_early()
        # Drawn first, filled once the browser is connected: the page never waits for
        # the figures.
        ui.timer(0, dashboard.load, once=True)
