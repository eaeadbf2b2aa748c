"""Buying KPIs for one period: orders, GMV, net sales, ARPU, average order value,
repurchase rate and cycle, 30-day conversion; and the monthly retention cohorts
(docs/metrics.md "Behaviour")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from memberops.analytics.kpi_members import Scalars, active_ids
from memberops.analytics.kpi_period import Period
from memberops.analytics.kpi_prepare import Prepared, View, between, ratio

CONVERSION_DAYS = 30


def behaviour(prep: Prepared, v: View) -> Scalars:
    """The order figures of one period."""
    placed = v.for_orders(prep.orders).filter(between("created_at", v.start, v.end))
    counted = placed.filter("counted")
    net = int(placed["net"].sum())
    active = active_ids(prep, v, v.start, v.until).len()
    per_buyer = counted.group_by("member_id").len()
    repeat = per_buyer.filter(pl.col("len") >= 2).height
    gaps = v.for_orders(prep.counted).filter(between("created_at", v.start, v.end))
    cycle = gaps["gap_days"].drop_nulls().median()
    return {
        "orders": counted.height,
        "gmv": int(placed["subtotal"].sum()),
        "net_sales": net,
        "refunded": int(placed["refunded"].sum()),
        "members_active": active,
        "arpu": ratio(net, active),
        "average_order_value": ratio(net, counted.height),
        "buyers": per_buyer.height,
        "repurchase_rate": ratio(repeat, per_buyer.height),
        "repurchase_cycle_days": None if cycle is None else float(cycle),  # type: ignore[arg-type]
        **conversion(prep, v),
    }


def conversion(prep: Prepared, v: View) -> Scalars:
    """Of the members who joined in the period and whose 30 days have passed, the share
    whose first counted order came within 30 days of joining."""
    window = timedelta(days=CONVERSION_DAYS)
    joined = v.selected.filter(between("joined_at", v.start, v.end)
                               & (pl.col("joined_at") + window <= prep.as_of))
    firsts = joined.join(prep.first_order, left_on="id", right_on="member_id", how="inner")
    converted = firsts.filter(pl.col("first_at") < pl.col("joined_at") + window).height
    return {"conversion_30d_members": joined.height,
            "conversion_30d": ratio(converted, joined.height)}


@dataclass(frozen=True)
class Cohorts:
    """Monthly retention: for members who joined in each month, the share who placed a
    counted order in the month of joining (offset 0) and in each month after."""

    months: list[str]            # cohort months, "YYYY-MM"
    sizes: list[int]             # members who joined in each
    retention: list[list[float | None]]  # [cohort][offset]; None: that month is to come
    offsets: int


def _month_index(instant: pl.Expr, time_zone: str) -> pl.Expr:
    local = instant.dt.convert_time_zone(time_zone)
    return local.dt.year().cast(pl.Int32) * 12 + local.dt.month().cast(pl.Int32) - 1


def _month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def cohorts(prep: Prepared, v: View, period: Period, *, time_zone: str,
            offsets: int = 12) -> Cohorts:
    """The cohorts of the months the period touches, `offsets` months each."""
    first, last = _month_of(period.first), _month_of(period.last)
    now = _month_of(prep.as_of.astimezone(ZoneInfo(time_zone)).date())
    joined = v.selected.select("id", cohort=_month_index(pl.col("joined_at"), time_zone)) \
        .filter(pl.col("cohort").is_between(first, last))
    buying = v.for_orders(prep.counted).join(joined, left_on="member_id", right_on="id") \
        .select("member_id", "cohort",
                offset=_month_index(pl.col("created_at"), time_zone) - pl.col("cohort")) \
        .filter(pl.col("offset").is_between(0, offsets - 1)).unique()
    cells = buying.group_by("cohort", "offset").len()
    sizes = dict(joined.group_by("cohort").len().iter_rows())
    found = {(c, o): n for c, o, n in cells.iter_rows()}
    months, counts, matrix = [], [], []
    for cohort in range(first, last + 1):
        size = int(sizes.get(cohort, 0))
        months.append(f"{cohort // 12:04d}-{cohort % 12 + 1:02d}")
        counts.append(size)
        matrix.append([None if cohort + o > now or not size else found.get((cohort, o), 0) / size
                       for o in range(offsets)])
    return Cohorts(months=months, sizes=counts, retention=matrix, offsets=offsets)
