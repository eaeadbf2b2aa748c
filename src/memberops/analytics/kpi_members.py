"""Member KPIs for one period: total, new (by channel), growth, active ratios, tier and
region distribution, paid members (docs/metrics.md "Members")."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from memberops.analytics.kpi_prepare import Prepared, View, between, ratio, view

Scalars = dict[str, int | float | None]
Breakdowns = dict[str, dict[str, int | float | None]]
ACTIVE_WINDOWS = (30, 90)


def counts(rows: pl.DataFrame, column: str) -> dict[str, int | float | None]:
    """How many rows per value of `column` (missing values as "unknown")."""
    grouped = rows.group_by(pl.col(column).fill_null("unknown")).len().sort(column)
    return dict(zip(grouped[column].to_list(), grouped["len"].to_list(), strict=True))


def active_ids(prep: Prepared, v: View, start: datetime, end: datetime) -> pl.Series:
    """Members of the population with any activity in [start, end)."""
    ids = prep.activity.filter(between("at", start, end))["member_id"].unique()
    return v.population["id"].filter(v.population["id"].is_in(ids.implode()))


def members(prep: Prepared, v: View) -> tuple[Scalars, Breakdowns]:
    """The member figures of one period."""
    population = v.population
    total = population.height
    at_start = view(prep, v.start, v.start).population.height
    new = v.selected.filter(between("joined_at", v.start, v.end))
    values: Scalars = {
        "members_total": total,
        "members_new": new.height,
        "members_growth_rate": ratio(total - at_start, at_start),
    }
    for days in ACTIVE_WINDOWS:
        active = active_ids(prep, v, v.until - timedelta(days=days), v.until).len()
        values[f"members_active_{days}d"] = active
        values[f"active_ratio_{days}d"] = ratio(active, total)
    paying = prep.plus.filter((pl.col("starts_at") < v.until) & (pl.col("ends_at") >= v.until))
    values["members_paid"] = population.filter(
        pl.col("id").is_in(paying["member_id"].implode())).height
    values["paid_ratio"] = ratio(values["members_paid"] or 0, total)
    breakdowns: Breakdowns = {
        "members_new_by_channel": counts(new, "channel"),
        "members_by_tier": counts(population, "tier"),
        "members_by_region": counts(population, "province"),
    }
    return values, breakdowns
