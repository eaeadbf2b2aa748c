"""The demo's orders: what a user of the demo would check — two years of orders through the
orders service, with baskets across categories, stores in several cities, the shop's
calendar, coupons, points, wallet, refunds, tiers and PLUS — and the planning behind them."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from statistics import mean

import pytest
from sqlalchemy import select

from memberops.coupons.models import Coupon
from memberops.db import Database
from memberops.demo import DemoPlan
from memberops.demo.catalogue import BY_SKU, STORE_CITIES, basket, taste
from memberops.demo.members import SPRING_FESTIVAL
from memberops.demo.runner import verify_ledger
from memberops.demo.summary import figures
from memberops.members.models import Member
from memberops.orders.models import Order, OrderLine, OrderRefund
from memberops.plus.models import PlusPeriod
from tests.conftest import SHANGHAI
from tests.demo_helpers import (
    NOW,
    PLAN,
    Played,
    all_rows,
    local,
    own_database,
    planned,
    play,
    played,
)

PREFIX_CITY = {prefix: city for city, (prefix, _) in STORE_CITIES.items()}


@pytest.fixture(scope="module")
def history(migrated: str) -> Played:
    return played(migrated)


@pytest.fixture(scope="module")
def orders(history: Played) -> list[Order]:
    with history.db.session(readonly=True) as session:
        found = list(session.execute(select(Order).order_by(Order.id)).scalars())
        for order in found:
            _ = order.lines  # loaded while the session is open
        return found


def test_orders_come_from_every_kind_of_member(history: Played, orders: list[Order]) -> None:
    assert len(orders) == history.report.operations["order"]
    assert 12 * PLAN.members <= len(orders) <= 30 * PLAN.members, "about 20 a member"
    per_member = Counter(o.member_id for o in orders)
    counts = sorted(per_member.values(), reverse=True)
    top = counts[:len(counts) // 10]
    assert sum(top) > 0.35 * len(orders), "a few heavy buyers make much of the business"
    assert sum(1 for c in counts if c <= 3) > 0.15 * PLAN.members, "many come once or twice"
    # Members drift away at different times: the last orders spread over the two years.
    last = {m: max(o.created_at for o in orders if o.member_id == m) for m in per_member}
    gone = [at for at in last.values() if at < NOW - timedelta(days=90)]
    assert len(gone) > 0.25 * len(last)
    assert len({(local(at).year, local(at).month) for at in gone}) > 12


def test_baskets_span_the_menu_with_pairs_that_go_together(orders: list[Order]) -> None:
    lines = [line for o in orders for line in o.lines]
    categories = Counter(line.category for line in lines)
    assert set(categories) >= {"coffee", "tea", "bakery", "dessert", "food", "beans",
                               "brewing", "gifts"}
    assert categories.most_common(1)[0][0] == "coffee"
    assert all(line.unit_price == BY_SKU[line.sku].price for line in lines)
    skus = [{line.sku for line in o.lines} for o in orders]

    def lift(a: str, b: str) -> float:
        both = sum(a in s and b in s for s in skus)
        return both * len(skus) / (sum(a in s for s in skus) * sum(b in s for s in skus))
    assert lift("BEANS-HOUSE", "FILTER-PAPERS") > 3
    assert lift("CAESAR-SALAD", "FRUIT-TEA") > 2
    assert lift("LATTE", "CROISSANT") > 1.2


def test_stores_in_several_cities_members_mostly_at_home(history: Played,
                                                         orders: list[Order]) -> None:
    prefixes = Counter(str(o.store).split("-")[0] for o in orders)
    assert len([p for p in prefixes if p in PREFIX_CITY]) >= 6
    assert {"SH", "BJ", "GZ", "SZ", "HZ", "CD"} <= set(prefixes)
    assert Counter(o.channel for o in orders).keys() == {"store", "mini_program", "delivery"}
    with history.db.session(readonly=True) as session:
        cities = {row.id: row.city for row in session.execute(select(Member.id, Member.city))}
    in_town = [PREFIX_CITY.get(str(o.store).split("-")[0]) == cities[o.member_id]
               for o in orders if cities[o.member_id] in STORE_CITIES]
    assert sum(in_town) > 0.85 * len(in_town)


def test_weekends_and_sales_are_busier(orders: list[Order]) -> None:
    by_day = Counter(local(o.created_at).date() for o in orders)
    first, last = min(by_day), max(by_day)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    late = [d for d in days if d >= date(2025, 1, 1)]  # a base big enough to compare

    def per_day(chosen: list[date]) -> float:
        return mean(by_day[d] for d in chosen)
    ordinary = [d for d in late if d.weekday() < 4 and not _special(d)]
    weekends = [d for d in late if d.weekday() >= 5 and not _special(d)]
    sales = [d for d in late if (d.month, d.day) in ((6, 18), (11, 11))
             or (d.month == 11 and d.day <= 11) or (d.month == 6 and 10 <= d.day <= 18)]
    assert per_day(weekends) > 1.1 * per_day(ordinary)
    assert per_day(sales) > 1.2 * per_day(ordinary)
    hours = Counter(local(o.created_at).hour for o in orders if o.channel == "store")
    assert hours[8] + hours[12] > hours[16] + hours[20], "morning and lunch peaks"
    assert set(hours) <= set(range(7, 23))


def _special(day: date) -> bool:
    festival = SPRING_FESTIVAL[day.year]
    return abs((day - festival).days) <= 14 or day.month in (6, 11) \
        or (day.month == 10 and day.day <= 7) or (day.month == 12 and day.day >= 24)


def test_coupons_points_and_the_wallet_pay_for_orders(history: Played,
                                                      orders: list[Order]) -> None:
    assert sum(o.points_used > 0 for o in orders) > 20
    assert sum(o.wallet_paid > 0 for o in orders) > 200
    assert any(o.wallet_paid and o.external_paid for o in orders), "the rest paid outside"
    used = [c for o in orders for c in o.coupons]
    kinds = Counter(c["kind"] for c in used)
    assert kinds["first_order"] and kinds["amount_off"] and kinds["percent_off"]
    coupons = all_rows(history.db, Coupon)
    sources = Counter(c.source for c in coupons)
    assert sources["welcome"] == PLAN.members, "every member joined with the welcome coupon"
    assert sources["birthday"] and sources["batch"], "birthday job and campaigns"
    statuses = Counter(c.status for c in coupons)
    assert statuses["used"] and statuses["expired"]
    codes = {o.order_ref: {c["code"] for c in o.coupons} for o in orders}
    assert all(c.code in codes[c.order_ref] for c in coupons if c.status == "used")
    for o in orders:
        if o.coupons and o.coupons[0]["kind"] == "first_order":
            assert o.order_ref == min((x for x in orders if x.member_id == o.member_id),
                                      key=lambda x: x.id).order_ref


def test_refunds_in_full_and_by_items(history: Played, orders: list[Order]) -> None:
    refunds = all_rows(history.db, OrderRefund)
    assert 0.01 * len(orders) < len(refunds) < 0.08 * len(orders)
    by_items = [r for r in refunds if r.items]
    assert by_items and any(not r.items for r in refunds)
    statuses = Counter(o.status for o in orders)
    assert statuses["refunded"] and statuses["partially_refunded"]
    ordered = {o.id: o for o in orders}
    for r in refunds:
        assert timedelta(0) < r.created_at - ordered[r.order_id].created_at < timedelta(days=4)
    with history.db.session(readonly=True) as session:
        lines = list(session.execute(select(OrderLine).where(
            OrderLine.refunded_quantity > 0)).scalars())
    assert lines, "items went back"


def test_tiers_and_plus(history: Played, orders: list[Order]) -> None:
    tiers = Counter(m.tier for m in all_rows(history.db, Member))
    assert tiers["silver"] + tiers["gold"] + tiers["diamond"] > 0.05 * PLAN.members
    assert tiers["regular"] > 0.5 * PLAN.members
    assert {o.tier for o in orders} >= {"regular", "silver", "gold"}
    assert any(o.tier_discount for o in orders)
    periods = all_rows(history.db, PlusPeriod)
    assert periods and {p.payment_method for p in periods} >= {"external"}
    assert any(o.plus and o.plus_discount for o in orders)
    assert history.report.operations["tier_kept"] + history.report.operations[
        "tier_downgraded"] > 0, "the retention review ran"


def test_the_ledger_verifies(history: Played) -> None:
    verify_ledger(history.db)


# --- the plan behind it (pure) --------------------------------------------------------

def test_planned_orders_follow_the_calendar() -> None:
    orders = planned().orders
    by_day = Counter(local(o.at).date() for o in orders)
    assert 15 * 2000 < len(orders) < 25 * 2000
    assert by_day[date(2025, 11, 11)] > by_day[date(2025, 10, 21)] * 1.3  # both Tuesdays
    assert by_day[date(2025, 6, 18)] > by_day[date(2025, 5, 21)] * 1.3  # both Wednesdays
    before = sum(by_day[SPRING_FESTIVAL[2026] - timedelta(days=n)] for n in range(1, 8))
    during = sum(by_day[SPRING_FESTIVAL[2026] + timedelta(days=n)] for n in range(7))
    assert before > 1.4 * during, "New Year shopping, then the cities empty out"


def test_rates_and_dropouts_vary_by_member() -> None:
    habits, orders = planned().habits, planned().orders
    segments = Counter(h.segment for h in habits.values())
    assert segments["heavy"] and segments["regular"] and segments["occasional"]
    rates = sorted(h.rate for h in habits.values())
    assert rates[-len(rates) // 10] > 5 * rates[len(rates) // 2], "a long tail of heavy buyers"
    per_member = Counter(o.member_id for o in orders)
    heavy = mean(per_member[m] for m, h in habits.items() if h.segment == "heavy")
    occasional = mean(per_member[m] for m, h in habits.items() if h.segment == "occasional")
    assert heavy > 5 * occasional
    gaps: defaultdict[int, list] = defaultdict(list)
    for o in orders:
        gaps[o.member_id].append(o.at)
    left = [h for h in habits.values() if h.until < NOW]
    assert 0.25 * len(habits) < len(left) < 0.7 * len(habits)
    assert all(not gaps[h.member_id] or max(gaps[h.member_id]) < h.until for h in left)


def test_a_basket_follows_the_hour() -> None:
    rng = DemoPlan().rng("test")
    fan = taste(rng, frozenset({"白领"}))
    lunch = [basket(rng, datetime(2025, 3, 12, 12, 10, tzinfo=SHANGHAI), "store", fan)
             for _ in range(1000)]
    morning = [basket(rng, datetime(2025, 3, 12, 8, 10, tzinfo=SHANGHAI), "store", fan)
               for _ in range(1000)]
    food = {sku for sku, item in BY_SKU.items() if item.category == "food"}
    assert sum(any(s in food for s, _ in b) for b in lunch) > 300
    assert sum(any(s in food for s, _ in b) for b in morning) < 50
    bakery = {sku for sku, item in BY_SKU.items() if item.category == "bakery"}
    assert sum(any(s in bakery for s, _ in b) for b in morning) > 250
    assert all(len({s for s, _ in b}) == len(b) for b in lunch + morning), "one line a sku"


# --- reproducible ----------------------------------------------------------------------

def test_same_seed_same_history(migrated: str) -> None:
    """Two runs of one plan (a smaller one: 40 members, three months) in two databases."""
    plan = DemoPlan(members=40, history_days=90)
    runs = []
    for name in ("same_seed_1", "same_seed_2"):
        db = Database(own_database(migrated, name))
        try:
            _, report = play(db, plan)
            with db.session(readonly=True) as session:
                rows = list(session.execute(select(
                    Order.order_ref, Order.member_id, Order.store, Order.channel,
                    Order.subtotal, Order.coupon_discount, Order.points_used, Order.wallet_paid,
                    Order.refunded, Order.created_at).order_by(Order.id)))
                runs.append((report.operations, rows, figures(session, SHANGHAI, NOW)))
        finally:
            db.dispose()
    assert runs[0][1], "orders were placed"
    assert runs[0] == runs[1]
