"""Cross-sell: FP-growth and the rules' metrics, the recommenders and their evaluation,
refunds, and the time split; the pure functions on in-memory frames, the store readers on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import chain, combinations
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memberops.analytics import assoc, crosssell, recommend
from memberops.errors import NotFound, ValidationFailed
from tests.crosssell_helpers import Book, add_members, add_order, refund

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CUTOFF = datetime(2026, 3, 1, tzinfo=SHANGHAI)
END = CUTOFF + timedelta(days=60)


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    crosssell.forget_models()  # each test's database may reuse the last one's URL and ids


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


# --- association rules ----------------------------------------------------------------


def tiny_book() -> Book:
    """Ten orders: coffee and bakery 4 (one with two coffees), coffee alone 2, bakery
    alone 1, beans and brewing 2, beans alone 1."""
    book = Book()
    for n in range(3):
        book.order(1, day(n), "LATTE", "CROISSANT")
    book.order(1, day(3), "LATTE", "AMERICANO", "CROISSANT")
    book.order(2, day(4), "AMERICANO")
    book.order(2, day(5), "LATTE")
    book.order(2, day(6), "BAGEL")
    book.order(3, day(7), "BEANS-HOUSE", "FILTER-PAPERS")
    book.order(3, day(8), "BEANS-YUNNAN", "DRIPPER")
    book.order(3, day(9), "BEANS-HOUSE")
    return book


def test_rules_have_the_hand_computed_support_confidence_and_lift() -> None:
    # given ten baskets: coffee 6, bakery 5, beans 3, brewing 2; coffee+bakery 4,
    # beans+brewing 2
    lines = crosssell.purchases(tiny_book().sales())
    # when
    report = crosssell.mine_rules(lines, min_support=0.2, min_confidence=0.0)
    # then
    assert report.baskets == 10 and report.itemsets == 6
    got = [(r.antecedent, r.consequent, r.count, r.support, r.confidence, r.lift)
           for r in report.rules]
    assert got == [
        (("brewing",), ("beans",), 2, 0.2, 1.0, pytest.approx(1.0 / 0.3)),
        (("beans",), ("brewing",), 2, 0.2, pytest.approx(2 / 3), pytest.approx(2 / 3 / 0.2)),
        (("bakery",), ("coffee",), 4, 0.4, 0.8, pytest.approx(0.8 / 0.6)),
        (("coffee",), ("bakery",), 4, 0.4, pytest.approx(4 / 6), pytest.approx(4 / 6 / 0.5)),
    ]
    assert report.rules[0].antecedent_support == 0.2
    assert report.rules[0].consequent_support == pytest.approx(0.3)


def test_thresholds_drop_weak_itemsets_and_rules() -> None:
    lines = crosssell.purchases(tiny_book().sales())
    strict = crosssell.mine_rules(lines, min_support=0.2, min_confidence=0.7)
    assert [(r.antecedent, r.consequent) for r in strict.rules] == [
        (("brewing",), ("beans",)), (("bakery",), ("coffee",))]
    rare = crosssell.mine_rules(lines, min_support=0.3, min_confidence=0.0)
    assert [(r.antecedent, r.consequent) for r in rare.rules] == [
        (("bakery",), ("coffee",)), (("coffee",), ("bakery",))]
    by_sku = crosssell.mine_rules(lines, level="sku", min_support=0.3)
    assert by_sku.rules[0].antecedent == ("CROISSANT",) and by_sku.rules[0].count == 4
    with pytest.raises(ValidationFailed, match="min_support"):
        crosssell.mine_rules(lines, min_support=0)


def brute_force(baskets: list[tuple[frozenset[str], int]], min_count: int,
                max_len: int) -> dict[frozenset[str], int]:
    items = sorted(set(chain.from_iterable(b for b, _ in baskets)))
    found = {}
    for size in range(1, max_len + 1):
        for candidate in map(frozenset, combinations(items, size)):
            n = sum(w for b, w in baskets if candidate <= b)
            if n >= min_count:
                found[candidate] = n
    return found


@settings(max_examples=150, deadline=None)
@given(baskets=st.lists(st.tuples(st.frozensets(st.sampled_from("abcdefg"), min_size=1),
                                  st.integers(1, 3)), max_size=25),
       min_count=st.integers(1, 6), max_len=st.integers(1, 7))
def test_fp_growth_finds_exactly_the_itemsets_counted_by_brute_force(
        baskets: list[tuple[frozenset[str], int]], min_count: int, max_len: int) -> None:
    assert assoc.frequent_itemsets(baskets, min_count, max_len) == \
        brute_force(baskets, min_count, max_len)


@settings(max_examples=50, deadline=None)
@given(baskets=st.lists(st.tuples(st.frozensets(st.sampled_from("abcde"), min_size=1),
                                  st.integers(1, 3)), min_size=1, max_size=20))
def test_every_rule_agrees_with_its_definition(
        baskets: list[tuple[frozenset[str], int]]) -> None:
    total = sum(w for _, w in baskets)
    itemsets = assoc.frequent_itemsets(baskets, 1)
    found = assoc.rules(itemsets, total)
    for r in found:
        a, c = set(r.antecedent), set(r.consequent)
        both = sum(w for b, w in baskets if a | c <= b)
        with_a = sum(w for b, w in baskets if a <= b)
        with_c = sum(w for b, w in baskets if c <= b)
        assert r.count == both and r.support == pytest.approx(both / total)
        assert r.confidence == pytest.approx(both / with_a)
        assert r.lift == pytest.approx(both / with_a / (with_c / total))
    assert found == sorted(found, key=assoc.rule_order)


# --- refunds ----------------------------------------------------------------------------


def test_refunds_remove_what_went_back_and_only_from_when_it_went_back() -> None:
    # given an order with a croissant refunded, one refunded in full by amount, one
    # partly by amount, and one refunded in full later on
    book = Book()
    one = book.order(1, day(0), "LATTE", "CROISSANT", quantities={"COOKIE": 2})
    book.refund(one, day(1), items={"CROISSANT": 1, "COOKIE": 1})
    two = book.order(1, day(2), "MOCHA")
    book.refund(two, day(2) + timedelta(hours=1), amount=600)
    book.refund(two, day(3), amount=400)
    three = book.order(1, day(4), "BAGEL")
    book.refund(three, day(5), amount=300)
    four = book.order(2, day(6), "TIRAMISU")
    book.refund(four, day(30), items={"TIRAMISU": 1})
    sales = book.sales()
    # when
    now = crosssell.purchases(sales)
    before = crosssell.purchases(sales, day(10))
    # then
    assert now.select("order_id", "sku", "quantity").rows() == [
        (one, "COOKIE", 1), (one, "LATTE", 1), (three, "BAGEL", 1)]
    assert (four, "TIRAMISU", 1) in before.select("order_id", "sku", "quantity").rows()
    assert crosssell.purchases(sales, day(2) + timedelta(hours=2)).filter(
        pl.col("order_id") == two).height == 1  # only 600 of 1,000 back by then
    assert now.schema == crosssell.PURCHASE_SCHEMA


def test_both_store_readers_see_orders_lines_and_refunds(db, database_url) -> None:
    # given orders in the store, one partly refunded by items, one fully by amount
    m1, m2 = add_members(db, 2)
    kept = add_order(db, m1, day(0), {"LATTE": 1, "CROISSANT": 2})
    refund(db, kept, day(1), items={"CROISSANT": 2})
    gone = add_order(db, m2, day(2), {"BEANS-HOUSE": 1, "FILTER-PAPERS": 1})
    refund(db, gone, day(3), amount=2000)
    add_order(db, m2, day(4), {"AMERICANO": 1})
    # when read through the app's session, then (its connections closed: two SQLite
    # libraries must not share a file in one process) over ADBC
    with db.session(readonly=True) as session:
        through_session = crosssell.session_sales(session)
    db.dispose()
    sales = crosssell.read_sales(database_url)
    # then both hold the same, and the lines kept are what the refunds left
    for name in ("orders", "lines", "refunds"):
        ours, theirs = getattr(sales, name), getattr(through_session, name)
        assert ours.schema == theirs.schema
        assert ours.sort(ours.columns[:2]).equals(theirs.sort(theirs.columns[:2])), name
    lines = crosssell.purchases(sales)
    assert lines.select("member_id", "sku", "category", "quantity").rows() == [
        (m1, "LATTE", "coffee", 1), (m2, "AMERICANO", "coffee", 1)]
    assert sales.refunds.filter(pl.col("order_id") == kept)["items"].to_list() == [
        [{"sku": "CROISSANT", "quantity": 2}]]
    assert crosssell.purchases(sales, day(2) + timedelta(hours=1)).height == 3
    report = crosssell.association_rules(database_url, min_support=0.01)
    assert report.baskets == 2 and report.rules == []


# --- recommendations ------------------------------------------------------------------


def popularity_book() -> Book:
    """Background members 100…110: member 100+j bought P01…P(11-j) once, so P(i) has 12-i
    buyers and the popular list is P01…P10; member 1 bought P11 twice and P12 once."""
    book = Book()
    for j in range(11):
        skus = [f"P{i:02d}" for i in range(1, min(10, 11 - j) + 1)]
        book.order(100 + j, day(j), *skus)
    book.order(1, day(20), "P11")
    book.order(1, day(21), "P11", "P12")
    return book


def test_precision_recall_and_hit_rate_are_the_hand_computed_ones() -> None:
    # given the training above; in the test window member 1 buys P11, P12 and P01;
    # member 2, new, buys P10 and P05; member 100 buys P02
    book = popularity_book()
    book.order(1, CUTOFF + timedelta(days=1), "P11", "P12", "P01")
    book.order(2, CUTOFF + timedelta(days=2), "P10", "P05")
    book.order(100, CUTOFF + timedelta(days=3), "P02")
    # when
    train, test = crosssell.split(book.sales(), CUTOFF, END)
    ev = recommend.evaluate(train, test, CUTOFF, END)
    # then popular lists P01…P10 for everyone: hits 1, 2, 1 (member 1's P11, P12 missed);
    # buy-again lists P11, P12, P01…P08 for member 1: 3 hits
    assert ev.members.tolist() == [1, 2, 100] and ev.cold_members == 1
    assert ev.hits["popular"].tolist() == [1, 2, 1]
    assert ev.hits["buy_again"].tolist() == [3, 2, 1]
    popular, buy_again = ev.score("popular"), ev.score("buy_again")
    assert popular.precision == pytest.approx((0.1 + 0.2 + 0.1) / 3)
    assert popular.recall == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert buy_again.precision == pytest.approx((0.3 + 0.2 + 0.1) / 3)
    assert buy_again.recall == pytest.approx(1.0)
    assert popular.hit_rate == buy_again.hit_rate == 1.0
    assert ev.best in ("buy_again", "itemknn")
    assert ev.train_orders == 13 and ev.test_orders == 3
    versus = recommend.paired(ev, "buy_again", "popular")
    assert versus.difference == pytest.approx(0.2 / 3)
    assert (versus.a_better, versus.b_better) == (1, 0)


def test_buy_again_ranks_by_orders_then_recency_then_popularity() -> None:
    book = popularity_book()
    book.order(5, day(30), "P12")
    book.order(5, day(31), "P09")
    book.order(5, day(32), "P12")
    book.order(5, day(33), "P10", "P07")
    model = recommend.fit(crosssell.purchases(book.sales()), CUTOFF)
    got = [r.sku for r in recommend.for_member(model, 5, method="buy_again")]
    # P12 twice; then the latest order's P07 and P10 (P07 the more popular), then P09;
    # then the popular skus not yet listed
    assert got == ["P12", "P07", "P10", "P09", "P01", "P02", "P03", "P04", "P05", "P06"]
    assert [r.orders for r in recommend.for_member(model, 5, method="buy_again", k=3)] == \
        [2, 1, 1]


@pytest.mark.parametrize("method", recommend.METHODS)
def test_a_member_without_history_gets_the_popular_list(method: str) -> None:
    model = recommend.fit(crosssell.purchases(popularity_book().sales()), CUTOFF)
    got = recommend.for_member(model, 999, method=method)
    assert [r.sku for r in got] == [f"P{i:02d}" for i in range(1, 11)]
    assert [r.rank for r in got] == list(range(1, 11))
    assert all(r.orders == 0 for r in got)


def test_itemknn_suggests_what_goes_with_a_members_purchases() -> None:
    # given many members buying beans with filter papers, and one who bought beans alone
    book = Book()
    for m in range(10, 20):
        book.order(m, day(m), "BEANS-HOUSE", "FILTER-PAPERS")
        book.order(m + 100, day(m), "LATTE")
        book.order(m + 200, day(m), "AMERICANO")
    book.order(1, day(40), "BEANS-HOUSE")
    model = recommend.fit(crosssell.purchases(book.sales()), CUTOFF)
    # when
    knn = [r.sku for r in recommend.for_member(model, 1, method="itemknn", k=2)]
    again = [r.sku for r in recommend.for_member(model, 1, method="buy_again", k=2)]
    # then the filter papers come next to the beans, where buy-again falls back on popularity
    assert knn == ["BEANS-HOUSE", "FILTER-PAPERS"]
    assert again == ["BEANS-HOUSE", "AMERICANO"]


def test_an_unknown_method_is_refused() -> None:
    model = recommend.fit(crosssell.purchases(popularity_book().sales()), CUTOFF)
    with pytest.raises(ValidationFailed, match="method"):
        recommend.for_member(model, 1, method="magic")


# --- the time split -----------------------------------------------------------------------


def test_nothing_after_the_cutoff_reaches_training() -> None:
    # given a history and its evaluation
    book = popularity_book()
    book.order(1, CUTOFF + timedelta(days=1), "P11", "P01")
    book.order(100, CUTOFF + timedelta(days=5), "P03")
    first = crosssell.evaluate_sales(book.sales(), tz=SHANGHAI, cutoff=CUTOFF.date())
    # when after the cutoff everyone buys a new sku (in the test window and after it) and
    # member 1's training orders are refunded in full
    for j in range(11):
        book.order(100 + j, END + timedelta(days=j), "NEW", quantities={"P12": 5})
    book.order(7, END - timedelta(days=1), "NEW")
    book.refund(12, CUTOFF + timedelta(days=2), amount=1000)
    book.refund(13, CUTOFF + timedelta(minutes=1), items={"P11": 1, "P12": 1})
    second = crosssell.evaluate_sales(book.sales(), tz=SHANGHAI, cutoff=CUTOFF.date())
    # then the models were the same: same skus, same lists for the same members
    assert second.skus == first.skus and "NEW" not in second.skus
    same = np.isin(second.members, first.members)
    for method in recommend.METHODS:
        assert (second.lists[method][same] == first.lists[method]).all()
    assert second.train_orders == first.train_orders
    train, _ = crosssell.split(book.sales(), CUTOFF, END)
    assert train["created_at"].max() < CUTOFF


def test_the_default_cutoff_leaves_the_last_days_with_orders_for_the_test() -> None:
    book = popularity_book()
    book.order(1, datetime(2026, 4, 30, 20, 0, tzinfo=UTC), "P01")  # 1 May in Shanghai
    sales = book.sales()
    assert crosssell.default_cutoff(sales, 60, SHANGHAI) == date(2026, 3, 3)
    ev = crosssell.evaluate_sales(sales, tz=SHANGHAI)
    assert ev.cutoff == datetime(2026, 3, 3, tzinfo=SHANGHAI)
    assert ev.members.tolist() == [1]
    with pytest.raises(NotFound):
        crosssell.default_cutoff(Book().sales(), 60, SHANGHAI)
    with pytest.raises(ValidationFailed, match="cutoff"):
        crosssell.evaluate_sales(sales, tz=SHANGHAI, cutoff=date(2027, 1, 1))


def test_the_cached_model_follows_new_orders_and_refunds(db, database_url) -> None:
    # given a store where most members buy lattes
    members = add_members(db, 4)
    for m in members[:3]:
        add_order(db, m, day(1), {"LATTE": 1})
    add_order(db, members[3], day(2), {"BAGEL": 1})
    now = day(100)

    def top(member_id: int) -> list[str]:
        with db.session(readonly=True) as session:
            model = crosssell.cached_model(session, database_url, now)
        return [r.sku for r in crosssell.recommendations(model, member_id,
                                                         method="buy_again")]

    assert top(members[3]) == ["BAGEL", "LATTE"]
    # when the member buys a scone that is refunded, then a cookie
    refund(db, add_order(db, members[3], day(3), {"SCONE": 1}), day(4), amount=1000)
    add_order(db, members[3], day(5), {"COOKIE": 1})
    # then the model is fitted again
    assert top(members[3]) == ["COOKIE", "BAGEL", "LATTE"]
    with db.session(readonly=True) as session:
        assert crosssell.cached_model(session, database_url, now) is \
            crosssell.cached_model(session, database_url, now + timedelta(days=1))
        with pytest.raises(ValidationFailed, match="method"):
            crosssell.recommendations(crosssell.cached_model(session, database_url, now),
                                      1, method="magic")
