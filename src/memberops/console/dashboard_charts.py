"""The dashboard's ECharts options, built from its figures. Money is drawn in yuan (the
chart's axis; the figures stay integer fen) and shown in tooltips as ¥1,234.56."""

from __future__ import annotations

from typing import Any

from memberops.analytics.dashboard_series import Week
from memberops.analytics.kpi_behaviour import Cohorts
from memberops.console.i18n import t
from memberops.points.queries import PointsLiability

Options = dict[str, Any]
YUAN = ':valueFormatter'
YUAN_JS = ('v => "¥" + Number(v).toLocaleString("en-US", '
           '{minimumFractionDigits: 2, maximumFractionDigits: 2})')
PERCENT_JS = 'v => v == null ? "–" : Number(v).toFixed(1) + "%"'


def yuan(fen: int) -> float:
    return round(fen / 100, 2)


def _weeks_axis(weeks: list[Week]) -> Options:
    return {"type": "category", "data": [w.monday.isoformat() for w in weeks]}


def _base(title: str) -> Options:
    return {"title": {"text": title, "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 30},
            "grid": {"top": 80, "left": 64, "right": 64, "bottom": 32}}


def growth(weeks: list[Week]) -> Options:
    return _base(t("Member growth by week", "每周会员增长")) | {
        "xAxis": _weeks_axis(weeks),
        "yAxis": [{"type": "value", "name": t("New", "新增")},
                  {"type": "value", "name": t("Total", "总数")}],
        "series": [
            {"name": t("New members", "新增会员"), "type": "bar",
             "data": [w.new_members for w in weeks]},
            {"name": t("Members", "会员总数"), "type": "line", "yAxisIndex": 1,
             "data": [w.members for w in weeks]}]}


def active_ratio(weeks: list[Week]) -> Options:
    data = [None if w.active_ratio is None else round(w.active_ratio * 100, 1) for w in weeks]
    options = _base(t("Active ratio (30 days) at each week's end", "每周末30天活跃率")) | {
        "xAxis": _weeks_axis(weeks),
        "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
        "series": [{"name": t("Active ratio", "活跃率"), "type": "line", "data": data,
                    "areaStyle": {}}]}
    options["tooltip"][":valueFormatter"] = PERCENT_JS
    return options


def sales(weeks: list[Week]) -> Options:
    return _base(t("GMV and orders by week", "每周GMV与订单")) | {
        "xAxis": _weeks_axis(weeks),
        "yAxis": [{"type": "value", "name": "¥"},
                  {"type": "value", "name": t("Orders", "订单")}],
        "series": [
            {"name": "GMV", "type": "bar", "data": [yuan(w.gmv) for w in weeks],
             "tooltip": {YUAN: YUAN_JS}},
            {"name": t("Orders", "订单数"), "type": "line", "yAxisIndex": 1,
             "data": [w.orders for w in weeks]}]}


def recharges(weeks: list[Week]) -> Options:
    return _base(t("Recharges and bonus cost by week", "每周充值与赠送成本")) | {
        "xAxis": _weeks_axis(weeks),
        "yAxis": {"type": "value", "name": "¥"},
        "series": [
            {"name": t("Recharged", "充值金额"), "type": "bar",
             "data": [yuan(w.recharged) for w in weeks], "tooltip": {YUAN: YUAN_JS}},
            {"name": t("Bonus cost", "赠送成本"), "type": "bar",
             "data": [yuan(w.bonus_cost) for w in weeks], "tooltip": {YUAN: YUAN_JS}}]}


def tiers(counts: dict[str, int | float | None]) -> Options:
    data = [{"name": k, "value": v or 0} for k, v in counts.items()]
    return {"title": {"text": t("Members by tier", "会员等级分布"), "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item"}, "legend": {"top": 30},
            "series": [{"name": t("Members", "会员"), "type": "pie",
                        "radius": ["35%", "65%"], "top": 50, "data": data}]}


def regions(counts: dict[str, int | float | None]) -> Options:
    rows = sorted(counts.items(), key=lambda kv: (kv[1] or 0, kv[0]))
    names = [t("unknown", "未知") if k == "unknown" else k for k, _ in rows]
    return _base(t("Members by region", "会员地区分布")) | {
        "grid": {"top": 60, "left": 72, "right": 24, "bottom": 24},
        "xAxis": {"type": "value"}, "yAxis": {"type": "category", "data": names},
        "series": [{"name": t("Members", "会员"), "type": "bar",
                    "data": [v or 0 for _, v in rows]}]}


def cohort_heatmap(c: Cohorts) -> Options:
    rows = [f"{m} ({n})" for m, n in zip(c.months, c.sizes, strict=True)]
    cells = [[offset, row, round(value * 100, 1)]
             for row, line in enumerate(c.retention)
             for offset, value in enumerate(line) if value is not None]
    return {
        "title": {"text": t("Monthly retention cohorts (% buying)", "月度留存（购买会员占比%）"),
                  "textStyle": {"fontSize": 14}},
        "tooltip": {"position": "top"},
        "grid": {"top": 40, "left": 110, "right": 72, "bottom": 40},
        "xAxis": {"type": "category", "name": t("Month +", "月 +"),
                  "data": [str(o) for o in range(c.offsets)]},
        "yAxis": {"type": "category", "data": rows, "inverse": True},
        "visualMap": {"min": 0, "max": 100, "calculable": True, "orient": "vertical",
                      "right": 0, "top": "middle", "itemHeight": 140},
        "series": [{"name": t("Retention", "留存"), "type": "heatmap", "data": cells,
                    "label": {"show": True, "fontSize": 10}}]}


def points_liability(points: PointsLiability) -> Options:
    months = [m for m, _ in points.by_expiry_month]
    return _base(t("Points owed, by expiry month (today)", "积分负债（按到期月份，截至今日）")) | {
        "xAxis": {"type": "category", "data": [*months, t("pending", "待生效")]},
        "yAxis": {"type": "value"},
        "series": [{"name": t("Points", "积分"), "type": "bar",
                    "data": [*(p for _, p in points.by_expiry_month), points.pending]}]}


def stored_value(balances: dict[str, int]) -> Options:
    data = [{"name": t("Principal", "本金"), "value": yuan(balances.get("principal", 0))},
            {"name": t("Bonus", "赠送金"), "value": yuan(balances.get("bonus", 0))}]
    return {"title": {"text": t("Stored value owed (today)", "储值负债（截至今日）"),
                      "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item", YUAN: YUAN_JS}, "legend": {"top": 30},
            "series": [{"name": t("Stored value", "储值"), "type": "pie",
                        "radius": ["35%", "65%"], "top": 50, "data": data}]}
