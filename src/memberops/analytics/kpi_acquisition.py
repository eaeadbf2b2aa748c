"""Acquisition cost and lifetime value for one period (docs/metrics.md "CAC and LTV").

CAC divides the marketing spend entered per join channel and month (programme
configuration `marketing_spend`) by the members that channel brought in the period; a
month's spend counts in proportion to the days of it the period covers. LTV is the
historical value so far: net sales per member, from joining to the period's end.
"""

from __future__ import annotations

import calendar
from datetime import date

import polars as pl

from memberops.analytics.kpi_members import Breakdowns, Scalars
from memberops.analytics.kpi_period import Period
from memberops.analytics.kpi_prepare import Prepared, View, ratio
from memberops.programme.schemas import MarketingSpend


def spend_in(spend: MarketingSpend, period: Period) -> dict[str, float]:
    """Spend per channel falling in the period (fen, pro rata by day)."""
    found: dict[str, float] = {}
    for row in spend.spend:
        year, month = (int(part) for part in row.month.split("-"))
        days = calendar.monthrange(year, month)[1]
        first, last = date(year, month, 1), date(year, month, days)
        overlap = (min(last, period.last) - max(first, period.first)).days + 1
        if overlap > 0:
            found[row.channel] = found.get(row.channel, 0.0) + row.amount * overlap / days
    return found


def _money(value: float | None) -> int | None:
    return None if value is None else round(value)


def acquisition(prep: Prepared, v: View, period: Period, spend: MarketingSpend,
                new_by_channel: dict[str, int | float | None]) -> tuple[Scalars, Breakdowns]:
    """Spend, CAC (overall and by channel), LTV (overall and by channel) and LTV/CAC."""
    values: Scalars = {}
    by_channel: dict[str, int | float | None] = {}
    filters = prep.filters
    # Spend is known per channel only: under a store, region or tier filter there is no
    # share of it to divide.
    costed = not (filters.store or filters.region or filters.tier)
    spent = spend_in(spend, period) if costed else {}
    if filters.channel is not None:
        spent = {c: a for c, a in spent.items() if c == filters.channel}
    new_total = sum(int(n or 0) for n in new_by_channel.values())
    values["marketing_spend"] = _money(sum(spent.values())) if spent else None
    values["cac"] = _money(ratio(sum(spent.values()), new_total)) if spent else None
    for channel, amount in sorted(spent.items()):
        by_channel[channel] = _money(ratio(amount, int(new_by_channel.get(channel) or 0)))
    ltv, ltv_by_channel = lifetime_value(prep, v)
    values["ltv"] = ltv
    values["ltv_to_cac"] = None if ltv is None or not values["cac"] else ltv / int(values["cac"])
    return values, {"cac_by_channel": by_channel, "ltv_by_channel": ltv_by_channel}


def lifetime_value(prep: Prepared, v: View) -> tuple[int | None, dict[str, int | float | None]]:
    """Net sales of counted orders before the end, per member of the population."""
    population = v.population.select("id", "channel")
    sales = v.for_orders(prep.counted).filter(pl.col("created_at") < v.end) \
        .group_by("member_id").agg(pl.col("net").sum())
    per_member = population.join(sales, left_on="id", right_on="member_id", how="left") \
        .with_columns(pl.col("net").fill_null(0))
    if not per_member.height:
        return None, {}
    grouped = per_member.group_by("channel").agg(pl.col("net").mean()).sort("channel")
    return (_money(float(per_member["net"].mean())),  # type: ignore[arg-type]
            {c: _money(n) for c, n in grouped.iter_rows()})

