"""The programme's KPIs (关键指标) for a date range, beside the period before it and the
same period a year earlier, under store, channel, region and tier filters.

Loading and computing are apart: `load_frames` reads the live store (SQLite or
PostgreSQL) into Polars frames; `compute_kpis` is a pure function of those frames, the
period, the filters, the instant the report is taken (`as_of`) and the marketing spend.
Every definition is in docs/metrics.md; the names here are the names there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from memberops.analytics import frames
from memberops.analytics.kpi_acquisition import acquisition
from memberops.analytics.kpi_behaviour import Cohorts, behaviour, cohorts
from memberops.analytics.kpi_members import Breakdowns, Scalars, members
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpi_prepare import Prepared, View, prepare, view
from memberops.analytics.kpi_value import balances_and_points, coupons, stored_value
from memberops.errors import ValidationFailed
from memberops.programme.schemas import MarketingSpend

Unit = Literal["count", "fen", "ratio", "days", "points", "times"]


@dataclass(frozen=True)
class Metric:
    name: str
    group: str
    unit: Unit
    label: str


def _m(group: str, unit: Unit, *pairs: tuple[str, str]) -> list[Metric]:
    return [Metric(name, group, unit, label) for name, label in pairs]


METRICS: list[Metric] = [
    *_m("members", "count", ("members_total", "Members"), ("members_new", "New members")),
    *_m("members", "ratio", ("members_growth_rate", "Growth rate")),
    *_m("members", "count", ("members_active_30d", "Active members, 30 days")),
    *_m("members", "ratio", ("active_ratio_30d", "Active ratio, 30 days")),
    *_m("members", "count", ("members_active_90d", "Active members, 90 days")),
    *_m("members", "ratio", ("active_ratio_90d", "Active ratio, 90 days")),
    *_m("members", "count", ("members_paid", "Paid members (PLUS)")),
    *_m("members", "ratio", ("paid_ratio", "Paid member ratio")),
    *_m("behaviour", "count", ("orders", "Orders")),
    *_m("behaviour", "fen", ("gmv", "GMV"), ("net_sales", "Net sales"),
        ("refunded", "Refunded")),
    *_m("behaviour", "count", ("members_active", "Active members in the period")),
    *_m("behaviour", "fen", ("arpu", "ARPU (per active member)"),
        ("average_order_value", "Average order value")),
    *_m("behaviour", "count", ("buyers", "Buyers")),
    *_m("behaviour", "ratio", ("repurchase_rate", "Repurchase rate")),
    *_m("behaviour", "days", ("repurchase_cycle_days", "Median repurchase cycle")),
    *_m("behaviour", "count", ("conversion_30d_members", "Joined, 30 days passed")),
    *_m("behaviour", "ratio", ("conversion_30d", "First order within 30 days")),
    *_m("stored_value", "ratio", ("recharge_conversion", "Recharge conversion")),
    *_m("stored_value", "count", ("recharges", "Recharges"),
        ("recharge_members", "Members recharging")),
    *_m("stored_value", "ratio", ("re_recharge_rate", "Re-recharge rate")),
    *_m("stored_value", "fen", ("recharge_amount", "Recharged"),
        ("recharge_bonus_cost", "Recharge bonus cost"),
        ("outstanding_principal", "Outstanding principal"),
        ("outstanding_bonus", "Outstanding bonus"),
        ("outstanding_stored_value", "Outstanding stored value")),
    *_m("points", "points", ("points_issued", "Points issued"),
        ("points_redeemed", "Points redeemed"), ("points_expired", "Points expired"),
        ("points_available", "Points available"), ("points_pending", "Points pending"),
        ("points_outstanding", "Points liability")),
    *_m("coupons", "count", ("coupons_issued", "Coupons issued"),
        ("coupons_redeemed", "Coupons redeemed")),
    *_m("coupons", "ratio", ("coupon_redemption_rate", "Redemption rate")),
    *_m("coupons", "fen", ("coupon_discount_cost", "Coupon discount cost")),
    *_m("acquisition", "fen", ("marketing_spend", "Marketing spend"), ("cac", "CAC"),
        ("ltv", "LTV (net sales per member to date)")),
    *_m("acquisition", "times", ("ltv_to_cac", "LTV / CAC")),
]
BREAKDOWNS: dict[str, tuple[Unit, str]] = {
    "members_new_by_channel": ("count", "New members by channel"),
    "members_by_tier": ("count", "Members by tier"),
    "members_by_region": ("count", "Members by region (province)"),
    "cac_by_channel": ("fen", "CAC by channel"),
    "ltv_by_channel": ("fen", "LTV by join channel"),
}
UNITS: dict[str, Unit] = {m.name: m.unit for m in METRICS}


@dataclass(frozen=True)
class Figures:
    """Every KPI of one period."""

    period: Period
    values: Scalars
    breakdowns: Breakdowns


@dataclass(frozen=True)
class KpiReport:
    """A period's KPIs beside the previous period and the same period a year earlier."""

    current: Figures
    previous: Figures
    year_ago: Figures
    filters: Filters
    as_of: datetime
    time_zone: str
    cohorts: Cohorts

    def value(self, name: str) -> int | float | None:
        return self.current.values[name]


def load_frames(database_url: str) -> dict[str, pl.DataFrame]:
    """The tables the KPIs read, from the live store (see frames.KPI_TABLES)."""
    return frames.load(database_url, frames.KPI_TABLES)


def compute_kpis(tables: Mapping[str, pl.DataFrame], period: Period,
                 filters: Filters | None = None, *, time_zone: str, as_of: datetime,
                 spend: MarketingSpend | None = None, cohort_months: int = 12) -> KpiReport:
    """Every KPI of `period`, the period before and the same period a year earlier."""
    if as_of.tzinfo is None:
        raise ValidationFailed("as_of must be an aware instant")
    as_of = as_of.astimezone(UTC)  # the frames' instants are UTC
    prep = prepare(tables, filters or Filters(), as_of=as_of)
    return kpis_of(prep, period, time_zone=time_zone, spend=spend,
                   cohort_months=cohort_months)


def kpis_of(prep: Prepared, period: Period, *, time_zone: str,
            spend: MarketingSpend | None = None, cohort_months: int = 12) -> KpiReport:
    """`compute_kpis` on frames already prepared (the console's dashboard prepares them
    once for the report and for its weekly series)."""
    if not 1 <= cohort_months <= 60:
        raise ValidationFailed("cohort_months must be 1 to 60")
    spend = spend or MarketingSpend()
    current, current_view = _figures(prep, period, time_zone, spend)
    return KpiReport(
        current=current,
        previous=_figures(prep, period.previous(), time_zone, spend)[0],
        year_ago=_figures(prep, period.year_ago(), time_zone, spend)[0],
        filters=prep.filters, as_of=prep.as_of, time_zone=time_zone,
        cohorts=cohorts(prep, current_view, period, time_zone=time_zone,
                        offsets=cohort_months))


def _figures(prep: Prepared, period: Period, time_zone: str,
             spend: MarketingSpend) -> tuple[Figures, View]:
    v = view(prep, *period.bounds(time_zone))
    values, breakdowns = members(prep, v)
    values |= behaviour(prep, v)
    values |= stored_value(prep, v)
    values |= balances_and_points(prep, v)
    values |= coupons(prep, v)
    costs, cost_breakdowns = acquisition(prep, v, period, spend,
                                         breakdowns["members_new_by_channel"])
    values |= costs
    breakdowns |= cost_breakdowns
    values = {name: _rounded(name, value) for name, value in values.items()}
    return Figures(period=period, values=values, breakdowns=breakdowns), v


def _rounded(name: str, value: int | float | None) -> int | float | None:
    # Money and points are whole fen and points; rates and days stay fractional.
    if value is None or UNITS[name] not in ("fen", "count", "points"):
        return value
    return round(value)


def change(unit: Unit, value: int | float | None, base: int | float | None) -> float | None:
    """A rate's change is the difference (in points of the rate); anything else's the
    relative change, None when the base is 0 or missing."""
    if value is None or base is None:
        return None
    if unit == "ratio":
        return value - base
    if base == 0:
        return None
    return (value - base) / abs(base)


def as_json(report: KpiReport) -> dict[str, Any]:
    """The report as JSON-ready data: every metric with its comparisons, the breakdowns
    and the cohort matrix."""
    periods = (report.current, report.previous, report.year_ago)
    metrics = {}
    for metric in METRICS:
        value, previous, year_ago = (f.values[metric.name] for f in periods)
        metrics[metric.name] = {
            "group": metric.group, "unit": metric.unit, "label": metric.label,
            "value": value, "previous": previous,
            "previous_change": change(metric.unit, value, previous),
            "year_ago": year_ago, "year_ago_change": change(metric.unit, value, year_ago)}
    breakdowns = {}
    for name, (unit, label) in BREAKDOWNS.items():
        keys = sorted({k for f in periods for k in f.breakdowns[name]})
        missing = 0 if unit == "count" else None  # no member of that kind is 0 of them
        breakdowns[name] = {"unit": unit, "label": label, "rows": [
            {"key": key, **_compared(unit, *(f.breakdowns[name].get(key, missing)
                                             for f in periods))}
            for key in keys]}
    c = report.cohorts
    return {
        "period": _period(report.current.period), "previous": _period(report.previous.period),
        "year_ago": _period(report.year_ago.period), "filters": report.filters.as_dict(),
        "as_of": report.as_of.isoformat(), "time_zone": report.time_zone,
        "metrics": metrics, "breakdowns": breakdowns,
        "cohorts": {"offsets": c.offsets, "rows": [
            {"cohort": m, "members": n, "retention": r}
            for m, n, r in zip(c.months, c.sizes, c.retention, strict=True)]},
    }


def _compared(unit: Unit, value: Any, previous: Any, year_ago: Any) -> dict[str, Any]:
    return {"value": value, "previous": previous,
            "previous_change": change(unit, value, previous),
            "year_ago": year_ago, "year_ago_change": change(unit, value, year_ago)}


def _period(period: Period) -> dict[str, str]:
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}
