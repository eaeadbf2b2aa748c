"""The dashboard's weekly series, cohorts and filter values on the hand-computed world of
test_kpis.py (March 2026, taken on 15 June 2026): each week's figures are the KPIs of
that week, so the weeks inside March add up to March's KPIs."""

from __future__ import annotations

from datetime import date

from memberops.analytics.dashboard_series import (
    DashboardFigures,
    compute_dashboard,
    options,
    week_starts,
)
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpis import as_json, compute_kpis
from tests.analytics.test_kpis import AS_OF, MARCH, SPEND, TZ, WORLD, frames_of


def _dashboard(filters: Filters | None = None) -> DashboardFigures:
    return compute_dashboard(frames_of(WORLD), MARCH, filters, time_zone=TZ, as_of=AS_OF,
                             spend=SPEND)


def test_a_short_period_shows_twelve_weeks_a_long_one_every_week_it_touches() -> None:
    march = week_starts(MARCH)
    assert len(march) == 12
    assert march[0] == date(2026, 1, 12) and march[-1] == date(2026, 3, 30)
    half_year = week_starts(Period(date(2026, 1, 1), date(2026, 6, 30)))
    assert half_year[0] == date(2025, 12, 29) and half_year[-1] == date(2026, 6, 29)
    assert len(half_year) == 27


def test_each_week_holds_its_orders_gmv_new_members_and_recharges() -> None:
    weeks = {w.monday: w for w in _dashboard().weeks}
    # 2 Mar: m1's ¥100 order; 6 Mar: m2's ¥80 order, refunded in full (GMV, not an order)
    assert (weeks[date(2026, 3, 2)].orders, weeks[date(2026, 3, 2)].gmv) == (1, 18_000)
    assert (weeks[date(2026, 3, 9)].orders, weeks[date(2026, 3, 9)].gmv) == (1, 5_000)
    assert (weeks[date(2026, 2, 16)].orders, weeks[date(2026, 2, 16)].gmv) == (1, 6_000)
    # m6 joined at 00:30 on Sunday 1 March, local time: the week of 23 February
    assert weeks[date(2026, 2, 23)].new_members == 1
    assert weeks[date(2026, 3, 2)].new_members == 1   # m2
    assert weeks[date(2026, 3, 16)].new_members == 1  # m3
    assert (weeks[date(2026, 3, 2)].recharged, weeks[date(2026, 3, 2)].bonus_cost) == (
        50_000, 8_000)
    assert weeks[date(2026, 3, 9)].recharged == 10_000


def test_the_weeks_of_the_period_add_up_to_its_kpis() -> None:
    board = _dashboard()
    march = [w for w in board.weeks if w.monday >= date(2026, 3, 1)]
    report = board.report
    assert sum(w.orders for w in march) == report.value("orders") == 3
    assert sum(w.gmv for w in march) == report.value("gmv") == 27_000
    assert sum(w.recharged for w in march) == report.value("recharge_amount")
    last = board.weeks[-1]  # cut at the period's end: its members are the period's
    assert last.members == report.value("members_total")
    assert last.active_ratio == report.value("active_ratio_30d")


def test_the_report_is_the_kpi_engines() -> None:
    board = _dashboard(Filters(store="S1"))
    expected = compute_kpis(frames_of(WORLD), MARCH, Filters(store="S1"), time_zone=TZ,
                            as_of=AS_OF, spend=SPEND)
    assert as_json(board.report) == as_json(expected)
    weeks = {w.monday: w for w in board.weeks}
    assert (weeks[date(2026, 3, 2)].orders, weeks[date(2026, 3, 2)].gmv) == (1, 10_000)


def test_twelve_cohort_months_up_to_the_periods_end() -> None:
    cohorts = _dashboard().cohorts
    assert cohorts.months[0] == "2025-04" and cohorts.months[-1] == "2026-03"
    assert cohorts.offsets == 12
    march = cohorts.months.index("2026-03")
    assert cohorts.sizes[march] == 3  # m2, m3 and m6 (joined 1 March, local time)


def test_the_filters_values_come_from_the_data() -> None:
    found = options(frames_of(WORLD))
    assert found.stores == ["S1", "S2"]
    assert found.channels == ["app", "mini_program", "store"]
    assert found.regions == ["上海", "北京", "浙江"]
    assert found.tiers == ["regular", "silver"]


def test_an_empty_store_gives_empty_weeks() -> None:
    empty = {name: [] for name in WORLD}
    board = compute_dashboard(frames_of(empty), MARCH, time_zone=TZ, as_of=AS_OF)
    assert len(board.weeks) == 12
    assert all(w.orders == 0 and w.members == 0 and w.active_ratio is None
               for w in board.weeks)
