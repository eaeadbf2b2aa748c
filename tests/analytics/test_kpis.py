"""Every KPI on a small world computed by hand (docs/metrics.md), on in-memory frames.

The world, in the programme's time zone (Asia/Shanghai); the report is March 2026, taken
on 15 June 2026, so the previous period is February 2026 and the year-ago one March 2025:

- m1 joined 10 Jan 2026 through a store (上海); silver from 12 Mar; PLUS from 10 Mar.
- m2 joined 5 Mar through the app (浙江 杭州); silver only from 5 Apr; PLUS refunded.
- m3 joined 20 Mar through the app (浙江 宁波); never orders; bonus actions (check-ins)
  on 20 Mar and 1 Apr.
- m4 joined 2 Apr, after the period.
- m5 joined 10 Mar 2025 through a store (北京), closed on 15 Feb 2026.
- m6 joined at 00:30 on 1 Mar 2026 (still 28 Feb in UTC) through the mini-program; first
  order on 10 Apr.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from memberops.analytics import frames
from memberops.analytics.kpi_period import Filters, Period
from memberops.analytics.kpis import as_json, compute_kpis
from memberops.errors import ValidationFailed
from memberops.programme.schemas import MarketingSpend
from tests.conftest import SHANGHAI

TZ = "Asia/Shanghai"
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
AS_OF = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def member(id: int, joined: datetime, channel: str, province: str | None = None,
           city: str | None = None, closed: datetime | None = None) -> dict[str, Any]:
    return {"id": id, "joined_at": joined, "channel": channel, "province": province,
            "city": city, "status": "closed" if closed else "active",
            "status_changed_at": closed}


def order(id: int, member_id: int, at: datetime, store: str, subtotal: int, *,
          external: int = 0, wallet: int = 0, points_value: int = 0, refunded: int = 0,
          status: str = "paid") -> dict[str, Any]:
    return {"id": id, "member_id": member_id, "store": store, "status": status,
            "subtotal": subtotal, "points_value": points_value, "wallet_paid": wallet,
            "external_paid": external, "refunded": refunded, "created_at": at}


def entry(id: int, at: datetime, *postings: tuple[str, str, str, int]) -> dict[str, Any]:
    return {"id": id, "created_at": at, "postings": postings}


P, B = "wallet:principal", "wallet:bonus"
PTS, PEND = "points", "points:pending"
ISSUED, REDEEMED, EXPIRED = ("system:points:issued", "system:points:redeemed",
                             "system:points:expired")


def m(member_id: int, account: str) -> str:
    return f"member:{member_id}:{account}"


WORLD: dict[str, list[dict[str, Any]]] = {
    "members": [
        member(1, local(2026, 1, 10), "store", "上海", "上海"),
        member(2, local(2026, 3, 5), "app", "浙江", "杭州"),
        member(3, local(2026, 3, 20, 9), "app", "浙江", "宁波"),
        member(4, local(2026, 4, 2), "store", "上海", "上海"),
        member(5, local(2025, 3, 10), "store", "北京", "北京", closed=local(2026, 2, 15)),
        member(6, local(2026, 3, 1, 0, 30), "mini_program"),
    ],
    "orders": [
        order(1, 1, local(2026, 3, 2), "S1", 10_000, external=9_000),
        order(2, 1, local(2026, 3, 14), "S1", 5_000, wallet=5_000, refunded=2_000,
              status="partially_refunded"),
        order(3, 2, local(2026, 3, 6), "S2", 8_000, external=8_000, refunded=8_000,
              status="refunded"),
        order(4, 2, local(2026, 3, 25), "S2", 4_000, points_value=1_000, external=3_000),
        order(5, 1, local(2026, 2, 20), "S1", 6_000, external=6_000),
        order(6, 6, local(2026, 4, 10), "S2", 2_000, external=2_000),
        order(7, 5, local(2025, 3, 15), "S1", 7_000, external=7_000),
    ],
    "recharges": [
        {"member_id": 1, "amount": 10_000, "bonus": 1_500, "status": "settled",
         "settled_at": local(2026, 1, 15)},
        {"member_id": 1, "amount": 50_000, "bonus": 8_000, "status": "settled",
         "settled_at": local(2026, 3, 3)},
        {"member_id": 2, "amount": 10_000, "bonus": 1_500, "status": "settled",
         "settled_at": local(2026, 3, 10)},
        {"member_id": 3, "amount": 20_000, "bonus": 0, "status": "pending",
         "settled_at": None},
        {"member_id": 2, "amount": 30_000, "bonus": 0, "status": "failed",
         "settled_at": None},
    ],
    "points_bonus_claims": [
        {"member_id": 3, "created_at": local(2026, 3, 20, 10)},
        {"member_id": 3, "created_at": local(2026, 4, 1)},
    ],
    "gift_redemptions": [{"member_id": 2, "created_at": local(2026, 3, 25), "entry_id": 9}],
    "coupons": [
        {"member_id": 1, "status": "used", "issued_at": local(2026, 3, 1),
         "used_at": local(2026, 3, 2), "discount": 1_000},
        {"member_id": 2, "status": "issued", "issued_at": local(2026, 3, 5),
         "used_at": None, "discount": None},
        {"member_id": 2, "status": "used", "issued_at": local(2026, 2, 10),
         "used_at": local(2026, 3, 25), "discount": 500},
        {"member_id": 3, "status": "expired", "issued_at": local(2026, 3, 20),
         "used_at": None, "discount": None},
    ],
    "plus_periods": [
        {"member_id": 1, "starts_at": local(2026, 3, 10), "ends_at": local(2027, 3, 10),
         "refund_status": "none"},
        {"member_id": 2, "starts_at": local(2026, 3, 20), "ends_at": local(2027, 3, 20),
         "refund_status": "refunded"},
    ],
    "tier_changes": [
        {"id": 1, "member_id": 1, "to_tier": "silver", "at": local(2026, 3, 12)},
        {"id": 2, "member_id": 2, "to_tier": "silver", "at": local(2026, 4, 5)},
    ],
    "ledger_entries": [
        entry(1, local(2026, 1, 15), ("system:wallet:payments_in", m(1, P), "CNY", 10_000),
              ("system:wallet:bonus_issued", m(1, B), "CNY", 1_500)),
        entry(2, local(2026, 3, 3), ("system:wallet:payments_in", m(1, P), "CNY", 50_000),
              ("system:wallet:bonus_issued", m(1, B), "CNY", 8_000)),
        entry(3, local(2026, 3, 14), (m(1, P), "system:wallet:spent_principal", "CNY", 4_000),
              (m(1, B), "system:wallet:spent_bonus", "CNY", 1_000)),
        entry(4, local(2026, 3, 10), ("system:wallet:payments_in", m(2, P), "CNY", 10_000),
              ("system:wallet:bonus_issued", m(2, B), "CNY", 1_500)),
        entry(5, local(2026, 4, 2), (m(2, P), "system:wallet:spent_principal", "CNY", 3_000)),
        entry(6, local(2026, 3, 2), (ISSUED, m(1, PEND), "POINTS", 90)),
        entry(7, local(2026, 3, 9), (m(1, PEND), m(1, PTS), "POINTS", 90)),
        entry(8, local(2026, 3, 25), (ISSUED, m(2, PEND), "POINTS", 40)),
        entry(9, local(2026, 3, 25), (m(2, PTS), REDEEMED, "POINTS", 100)),
        entry(10, local(2026, 3, 6), (ISSUED, m(2, PEND), "POINTS", 80)),
        entry(11, local(2026, 3, 7), (m(2, PEND), ISSUED, "POINTS", 80)),
        entry(12, local(2026, 3, 5), (ISSUED, m(2, PTS), "POINTS", 200)),
        entry(13, local(2026, 3, 31), (m(1, PTS), EXPIRED, "POINTS", 30)),
        entry(14, local(2026, 3, 26), (REDEEMED, m(2, PTS), "POINTS", 20)),
        entry(15, local(2026, 3, 20, 10), (ISSUED, m(3, PTS), "POINTS", 5)),
        entry(16, local(2026, 4, 1), (ISSUED, m(3, PTS), "POINTS", 5)),
    ],
}
SPEND = MarketingSpend.model_validate({"spend": [
    {"channel": "app", "month": "2026-03", "amount": 31_000},
    {"channel": "store", "month": "2026-03", "amount": 62_000},
    {"channel": "mini_program", "month": "2026-02", "amount": 28_000},
]})


def frames_of(world: dict[str, list[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """The world as the loader would hand it over: the KPI columns with the store's types."""
    tables = dict(world)
    tables["ledger_postings"] = [
        {"entry_id": e["id"], "source": s, "destination": d, "asset": a, "amount": n}
        for e in world.get("ledger_entries", []) for s, d, a, n in e["postings"]]
    out = {}
    for name, columns in frames.KPI_TABLES.items():
        schema = frames.schema(name, columns)
        rows = [{c: row.get(c) for c in columns} for row in tables.get(name, [])]
        out[name] = pl.DataFrame(rows, schema=schema, orient="row") if rows else \
            pl.DataFrame(schema=schema)
    return out


def kpis(world: dict[str, list[dict[str, Any]]] | None = None, period: Period = MARCH,
         filters: Filters | None = None, spend: MarketingSpend = SPEND, **kw: Any):
    return compute_kpis(frames_of(WORLD if world is None else world), period, filters, time_zone=TZ,
                        as_of=AS_OF, spend=spend, **kw)


def without(table: str, **changes: Any) -> dict[str, list[dict[str, Any]]]:
    world = dict(WORLD)
    world[table] = changes.get("rows", [])
    return world


# --- periods --------------------------------------------------------------------------

def test_periods_compare_with_the_month_before_and_the_year_before() -> None:
    assert MARCH.previous() == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert MARCH.year_ago() == Period(date(2025, 3, 1), date(2025, 3, 31))
    week = Period(date(2026, 3, 2), date(2026, 3, 8))
    assert week.previous() == Period(date(2026, 2, 23), date(2026, 3, 1))
    leap = Period(date(2024, 2, 29), date(2024, 2, 29))
    assert leap.year_ago() == Period(date(2023, 2, 28), date(2023, 2, 28))
    start, end = MARCH.bounds(TZ)
    assert start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert end == datetime(2026, 3, 31, 16, tzinfo=UTC)


def test_a_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValidationFailed, match="before from"):
        Period(date(2026, 3, 2), date(2026, 3, 1))


# --- members --------------------------------------------------------------------------

def test_members() -> None:
    # when
    report = kpis()
    now, before, year = report.current.values, report.previous.values, report.year_ago.values
    # then: m1, m2, m3, m6 (m4 joins later, m5 was closed); m6 counts in March although it
    # was 28 February in UTC
    assert now["members_total"] == 4
    assert now["members_new"] == 3
    assert report.current.breakdowns["members_new_by_channel"] == {"app": 2, "mini_program": 1}
    # at the start of March only m1 (m5 closed in February): (4 - 1) / 1
    assert now["members_growth_rate"] == pytest.approx(3.0)
    # February: m1 and m5 at its start, m1 alone at its end
    assert before["members_total"] == 1 and before["members_growth_rate"] == pytest.approx(-0.5)
    # March 2025: m5 joined; nobody before it
    assert year["members_total"] == 1 and year["members_new"] == 1
    assert year["members_growth_rate"] is None


def test_active_ratios_count_orders_and_other_activity() -> None:
    now = kpis().current.values
    # 30 days to the end of March (2–31 Mar): m1 and m2 ordered, m3's bonus action on 20 Mar
    assert now["members_active_30d"] == 3 and now["active_ratio_30d"] == pytest.approx(0.75)
    assert now["members_active_90d"] == 3
    # a refunded order is still activity (m2 without o4)
    world = dict(WORLD, orders=[o for o in WORLD["orders"] if o["id"] != 4])
    assert kpis(world).current.values["members_active_30d"] == 3
    # so are a recharge and a gift: m2 with no order at all is still active …
    world = dict(world, orders=[o for o in world["orders"] if o["member_id"] != 2])
    assert kpis(world).current.values["members_active_30d"] == 3
    # … and not without them
    world = dict(world, gift_redemptions=[],
                 recharges=[r for r in WORLD["recharges"] if r["member_id"] != 2])
    assert kpis(world).current.values["members_active_30d"] == 2


def test_tier_region_and_paid_members_at_the_end_of_the_period() -> None:
    report = kpis()
    assert report.current.breakdowns["members_by_tier"] == {"regular": 3, "silver": 1}
    assert report.current.breakdowns["members_by_region"] == {
        "上海": 1, "浙江": 2, "unknown": 1}
    # m1's PLUS runs; m2's was refunded
    assert report.current.values["members_paid"] == 1
    assert report.current.values["paid_ratio"] == pytest.approx(0.25)
    assert report.previous.values["members_paid"] == 0


# --- behaviour ------------------------------------------------------------------------

def test_orders_sales_arpu_and_order_value() -> None:
    now = kpis().current.values
    # o1, o2, o4; o3 was refunded in full
    assert now["orders"] == 3
    assert now["gmv"] == 10_000 + 5_000 + 8_000 + 4_000
    assert now["net_sales"] == 9_000 + 3_000 + 0 + 4_000
    assert now["refunded"] == 2_000 + 8_000
    # active in March: m1, m2 (orders) and m3 (bonus action)
    assert now["members_active"] == 3
    assert now["arpu"] == round(16_000 / 3)
    assert now["average_order_value"] == round(16_000 / 3)


def test_repurchase_rate_and_median_cycle() -> None:
    now = kpis().current.values
    # buyers m1 (o1, o2) and m2 (o4: o3 does not count)
    assert now["buyers"] == 2 and now["repurchase_rate"] == pytest.approx(0.5)
    # m1: 20 Feb → 2 Mar (10 days) → 14 Mar (12 days); m2's o4 is its first counted order
    assert now["repurchase_cycle_days"] == pytest.approx(11.0)


def test_orders_in_time_order_give_the_same_report_as_orders_out_of_it() -> None:
    # given the same orders as the store usually holds them (written as they happen, so
    # in time order: the cycle is then found by a faster sort) and shuffled as in WORLD
    in_time_order = {**WORLD, "orders": sorted(WORLD["orders"], key=lambda o: o["created_at"])}
    assert in_time_order["orders"] != WORLD["orders"]
    # when / then every figure of the three periods is the same
    ordered, shuffled = kpis(in_time_order), kpis()
    for part in ("current", "previous", "year_ago"):
        assert getattr(ordered, part).values == getattr(shuffled, part).values
    assert ordered.current.values["repurchase_cycle_days"] == pytest.approx(11.0)
    assert ordered.cohorts == shuffled.cohorts


def test_conversion_within_30_days_of_joining() -> None:
    now = kpis().current.values
    # joined in March: m2 (first counted order o4 on 25 Mar: converted), m3 (none),
    # m6 (10 Apr: more than 30 days after 1 Mar)
    assert now["conversion_30d_members"] == 3
    assert now["conversion_30d"] == pytest.approx(1 / 3)
    # members whose 30 days have not passed when the report is taken are left out
    early = compute_kpis(frames_of(WORLD), MARCH, time_zone=TZ,
                         as_of=datetime(2026, 4, 10, tzinfo=SHANGHAI))
    assert early.current.values["conversion_30d_members"] == 2  # m6 and m2 (5 Mar + 30)
    assert early.current.values["conversion_30d"] == pytest.approx(0.5)


def test_retention_cohorts() -> None:
    cohorts = kpis().cohorts
    # March's cohort: m2, m3, m6; m2 bought in March (o4), m6 in April
    assert cohorts.months == ["2026-03"] and cohorts.sizes == [3]
    row = cohorts.retention[0]
    assert row[:4] == [pytest.approx(1 / 3), pytest.approx(1 / 3), 0.0, 0.0]
    assert row[4:] == [None] * 8  # July 2026 onwards has not come yet
    quarter = kpis(period=Period(date(2026, 1, 1), date(2026, 3, 31)), cohort_months=3)
    assert quarter.cohorts.months == ["2026-01", "2026-02", "2026-03"]
    assert quarter.cohorts.sizes == [1, 0, 3]
    # m1: orders in Feb (offset 1) and Mar (offset 2), none in January
    assert quarter.cohorts.retention[0] == [0.0, 1.0, 1.0]
    assert quarter.cohorts.retention[1] == [None, None, None]


# --- stored value and points ----------------------------------------------------------

def test_recharges() -> None:
    now = kpis().current.values
    # settled by the end of March: m1 (twice) and m2, of the 4 members
    assert now["recharge_conversion"] == pytest.approx(0.5)
    assert now["recharges"] == 2 and now["recharge_members"] == 2
    assert now["recharge_amount"] == 60_000 and now["recharge_bonus_cost"] == 9_500
    # m1 had recharged before; m2 recharged for the first time
    assert now["re_recharge_rate"] == pytest.approx(0.5)


def test_outstanding_stored_value_and_points_at_the_end() -> None:
    now = kpis().current.values
    assert now["outstanding_principal"] == 10_000 + 50_000 - 4_000 + 10_000
    assert now["outstanding_bonus"] == 1_500 + 8_000 - 1_000 + 1_500
    assert now["outstanding_stored_value"] == 66_000 + 10_000
    # m1: 90 released, 30 expired; m2: 200 - 100 + 20 available, 40 pending; m3: 5
    assert now["points_available"] == 60 + 120 + 5 and now["points_pending"] == 40
    assert now["points_outstanding"] == 225


def test_points_flows_are_net_of_clawbacks_and_returns() -> None:
    now = kpis().current.values
    assert now["points_issued"] == 90 + 40 + 80 - 80 + 200 + 5
    assert now["points_redeemed"] == 100 - 20
    assert now["points_expired"] == 30


# --- coupons --------------------------------------------------------------------------

def test_coupons() -> None:
    now = kpis().current.values
    assert now["coupons_issued"] == 3  # 1, 5 and 20 March
    assert now["coupons_redeemed"] == 2  # used on 2 and 25 March
    assert now["coupon_redemption_rate"] == pytest.approx(1 / 3)  # of March's, one used
    assert now["coupon_discount_cost"] == 1_500


# --- CAC and LTV ----------------------------------------------------------------------

def test_cac_and_ltv() -> None:
    report = kpis()
    now = report.current.values
    assert now["marketing_spend"] == 93_000
    assert now["cac"] == 31_000  # 93,000 over 3 new members
    # the app brought m2 and m3; the store spend brought nobody this month
    assert report.current.breakdowns["cac_by_channel"] == {"app": 15_500, "store": None}
    # net sales to the end of March: m1 18,000, m2 4,000, m3 and m6 nothing
    assert now["ltv"] == 5_500
    assert now["ltv_to_cac"] == pytest.approx(5_500 / 31_000)
    assert report.current.breakdowns["ltv_by_channel"] == {
        "app": 2_000, "mini_program": 0, "store": 18_000}
    # February: the mini-program spend brought nobody
    assert report.previous.values["marketing_spend"] == 28_000
    assert report.previous.values["cac"] is None


def test_spend_of_a_month_counts_by_the_days_the_period_covers() -> None:
    week = Period(date(2026, 3, 1), date(2026, 3, 7))
    assert kpis(period=week).current.values["marketing_spend"] == round(93_000 * 7 / 31)


def test_no_spend_entered_gives_no_cac() -> None:
    now = kpis(spend=MarketingSpend()).current.values
    assert now["marketing_spend"] is None and now["cac"] is None and now["ltv"] == 5_500


# --- filters --------------------------------------------------------------------------

def test_store_filter() -> None:
    report = kpis(filters=Filters(store="S1"))
    now = report.current.values
    # the orders taken at S1 in March: o1, o2
    assert now["orders"] == 2 and now["net_sales"] == 12_000
    # S1's members are those whose first order was there: m1 and m5 (closed)
    assert now["members_total"] == 1 and now["recharge_conversion"] == pytest.approx(1.0)
    assert now["outstanding_principal"] == 56_000
    assert now["cac"] is None  # spend is not known by store
    assert report.year_ago.values["orders"] == 1


def test_channel_region_and_tier_filters() -> None:
    app = kpis(filters=Filters(channel="app")).current.values
    assert app["members_total"] == 2 and app["orders"] == 1 and app["cac"] == 15_500
    zhejiang = kpis(filters=Filters(region="浙江")).current.values
    assert zhejiang["members_total"] == 2 and zhejiang["net_sales"] == 4_000
    hangzhou = kpis(filters=Filters(region="杭州")).current.values
    assert hangzhou["members_total"] == 1
    silver = kpis(filters=Filters(tier="silver"))
    # m1 was silver at the end of March; m2 only became silver in April
    assert silver.current.values["members_total"] == 1
    assert silver.current.values["orders"] == 2
    assert silver.previous.values["members_total"] == 0


def test_blank_filters_are_no_filters() -> None:
    blank = as_json(kpis(filters=Filters(store="", channel=" ", region=None, tier="")))
    assert blank["filters"] == {"store": None, "channel": None, "region": None, "tier": None}
    assert blank["metrics"] == as_json(kpis())["metrics"]


def test_a_filter_matching_nobody_gives_zeros_and_no_ratios() -> None:
    now = kpis(filters=Filters(store="nowhere")).current.values
    assert now["members_total"] == 0 and now["orders"] == 0 and now["net_sales"] == 0
    for name in ("members_growth_rate", "active_ratio_30d", "arpu", "average_order_value",
                 "repurchase_rate", "repurchase_cycle_days", "conversion_30d",
                 "recharge_conversion", "coupon_redemption_rate", "ltv"):
        assert now[name] is None, name


# --- edge cases -----------------------------------------------------------------------

def test_no_orders_at_all() -> None:
    report = kpis(without("orders"))
    now = report.current.values
    assert now["orders"] == 0 and now["gmv"] == 0 and now["net_sales"] == 0
    assert now["average_order_value"] is None and now["repurchase_rate"] is None
    assert now["repurchase_cycle_days"] is None and now["conversion_30d"] == 0.0
    assert now["members_total"] == 4 and now["ltv"] == 0
    assert report.cohorts.retention[0][:4] == [0.0, 0.0, 0.0, 0.0]


def test_everything_refunded() -> None:
    refunded = [dict(o, status="refunded", refunded=o["points_value"] + o["wallet_paid"]
                     + o["external_paid"]) for o in WORLD["orders"]]
    now = kpis(dict(WORLD, orders=refunded)).current.values
    assert now["orders"] == 0 and now["net_sales"] == 0
    assert now["gmv"] == 27_000 and now["refunded"] == 9_000 + 5_000 + 8_000 + 4_000
    assert now["buyers"] == 0 and now["average_order_value"] is None
    assert now["arpu"] == 0  # still active (they ordered), but bought nothing that stayed
    assert now["conversion_30d"] == 0.0 and now["ltv"] == 0


def test_members_who_joined_after_the_period_count_nowhere() -> None:
    later = [dict(r, joined_at=local(2026, 5, 1), status="active", status_changed_at=None)
             for r in WORLD["members"]]
    world = dict(WORLD, members=later, orders=[], recharges=[], points_bonus_claims=[],
                 gift_redemptions=[], coupons=[], plus_periods=[], tier_changes=[],
                 ledger_entries=[])
    report = kpis(world)
    now = report.current.values
    assert now["members_total"] == 0 and now["members_new"] == 0
    assert now["members_growth_rate"] is None and now["active_ratio_30d"] is None
    assert now["conversion_30d_members"] == 0 and now["ltv"] is None
    assert report.current.breakdowns["members_by_tier"] == {}
    assert report.cohorts.sizes == [0]


def test_an_empty_store() -> None:
    report = kpis({})
    now = report.current.values
    assert now["members_total"] == 0 and now["orders"] == 0
    assert now["points_outstanding"] == 0 and now["outstanding_stored_value"] == 0
    assert as_json(report)["metrics"]["members_total"]["previous_change"] is None


# --- comparisons ----------------------------------------------------------------------

def test_json_compares_with_the_previous_period_and_the_year_before() -> None:
    body = as_json(kpis())
    assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert body["previous"] == {"from": "2026-02-01", "to": "2026-02-28"}
    assert body["year_ago"] == {"from": "2025-03-01", "to": "2025-03-31"}
    orders = body["metrics"]["orders"]
    assert (orders["value"], orders["previous"], orders["year_ago"]) == (3, 1, 1)
    assert orders["previous_change"] == pytest.approx(2.0)  # relative: 3 against 1
    active = body["metrics"]["active_ratio_30d"]
    # a rate changes by its difference: 3 of 4 against February's 1 of 1 (m1 on 20 Feb)
    assert active["previous"] == 1.0 and active["previous_change"] == pytest.approx(-0.25)
    channels = {r["key"]: r for r in body["breakdowns"]["members_new_by_channel"]["rows"]}
    assert channels["app"]["value"] == 2 and channels["store"]["year_ago"] == 1
    assert channels["store"]["value"] == 0
    assert body["cohorts"]["rows"][0]["members"] == 3
