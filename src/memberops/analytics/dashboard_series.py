"""What the console's dashboard shows: the KPI report of a period (memberops.analytics.kpis)
and, from the same prepared frames, weekly series for its charts, twelve monthly retention
cohorts and the values its filters can take.

Nothing here defines a metric anew: each week's figure is the KPI of that week as
docs/metrics.md defines it (members and new members, the 30-day active ratio at the
week's end, orders and GMV, recharged and bonus cost), computed with the engine's own
views (`kpi_prepare.view`, `kpi_members.active_ids`, `kpi_behaviour.cohorts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from memberops.analytics.kpi_behaviour import Cohorts, cohorts
from memberops.analytics.kpi_members import active_ids
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpi_prepare import BASE_TIER, Prepared, between, prepare, ratio, view
from memberops.analytics.kpis import KpiReport, kpis_of
from memberops.errors import ValidationFailed
from memberops.programme.schemas import MarketingSpend

MIN_WEEKS = 12  # a short period's charts still show a quarter's trend
COHORT_MONTHS = 12
ACTIVE_DAYS = 30


@dataclass(frozen=True)
class Week:
    """One calendar week (Monday first, in the programme's time zone), cut at the
    period's last day."""

    monday: date
    new_members: int
    members: int           # at the week's end
    active_ratio: float | None  # active in the 30 days up to the week's end / members
    orders: int
    gmv: int               # fen
    recharged: int         # fen, settled recharges
    bonus_cost: int        # fen, the bonus those recharges granted


@dataclass(frozen=True)
class Options:
    """The values each filter can take, from the data itself."""

    stores: list[str]
    channels: list[str]
    regions: list[str]
    tiers: list[str]


@dataclass(frozen=True)
class DashboardFigures:
    report: KpiReport
    weeks: list[Week]
    cohorts: Cohorts  # the 12 months up to the period's end
    options: Options


def compute_dashboard(tables: Mapping[str, pl.DataFrame], period: Period,
                      filters: Filters | None = None, *, time_zone: str, as_of: datetime,
                      spend: MarketingSpend | None = None) -> DashboardFigures:
    """The KPI report of `period` and the dashboard's series, under the same filters."""
    if as_of.tzinfo is None:
        raise ValidationFailed("as_of must be an aware instant")
    prep = prepare(tables, filters or Filters(), as_of=as_of.astimezone(UTC))
    report = kpis_of(prep, period, time_zone=time_zone, spend=spend)
    return DashboardFigures(report=report, weeks=weekly(prep, period, time_zone),
                            cohorts=recent_cohorts(prep, period, time_zone),
                            options=options(tables))


def week_starts(period: Period, minimum: int = MIN_WEEKS) -> list[date]:
    """The Mondays of the weeks the charts show: every week the period touches, and
    earlier ones until there are at least `minimum`."""
    last = period.last - timedelta(days=period.last.weekday())
    first = period.first - timedelta(days=period.first.weekday())
    first = min(first, last - timedelta(weeks=minimum - 1))
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def weekly(prep: Prepared, period: Period, time_zone: str) -> list[Week]:
    """Each week's figures, as the KPIs of a period that is that week."""
    zone = ZoneInfo(time_zone)
    stop = _instant(period.last + timedelta(days=1), zone)
    weeks = []
    for monday in week_starts(period):
        start = _instant(monday, zone)
        end = min(_instant(monday + timedelta(weeks=1), zone), stop)
        v = view(prep, start, end)
        placed = v.for_orders(prep.orders).filter(between("created_at", start, end))
        recharges = v.for_members(prep.recharges).filter(between("at", start, end))
        active = active_ids(prep, v, v.until - timedelta(days=ACTIVE_DAYS), v.until).len()
        weeks.append(Week(
            monday=monday,
            new_members=v.selected.filter(between("joined_at", start, end)).height,
            members=v.population.height,
            active_ratio=ratio(active, v.population.height),
            orders=placed.filter("counted").height,
            gmv=int(placed["subtotal"].sum()),
            recharged=int(recharges["amount"].sum()),
            bonus_cost=int(recharges["bonus"].sum())))
    return weeks


def recent_cohorts(prep: Prepared, period: Period, time_zone: str) -> Cohorts:
    """The retention cohorts of the 12 months up to the period's last month (the KPI
    report's own cohorts are only the months the period touches: one or two for a
    30-day period, too few for a heat map)."""
    last = period.last
    index = last.year * 12 + last.month - 1 - (COHORT_MONTHS - 1)
    months = Period(date(index // 12, index % 12 + 1, 1), last)
    v = view(prep, *period.bounds(time_zone))
    return cohorts(prep, v, months, time_zone=time_zone, offsets=COHORT_MONTHS)


def _distinct(frame: pl.DataFrame, column: str) -> list[str]:
    return sorted(frame[column].drop_nulls().unique().to_list())


def options(tables: Mapping[str, pl.DataFrame]) -> Options:
    tiers = set(_distinct(tables["tier_changes"], "to_tier")) | {BASE_TIER}
    return Options(stores=_distinct(tables["orders"], "store"),
                   channels=_distinct(tables["members"], "channel"),
                   regions=_distinct(tables["members"], "province"),
                   tiers=sorted(tiers))
