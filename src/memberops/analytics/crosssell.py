"""Cross-sell on the live store: association rules between categories (or skus) and
per-member product recommendations with their evaluation.

Orders, lines and refunds are read into Polars (`Sales`), then `purchases` keeps the
lines as they stood at a given instant: orders refunded in full and lines whose every unit
went back are left out, so a basket is what the member took home. The mining (`assoc`)
and the recommenders (`recommend`) are pure functions of those frames.

Two readers. A command (its own process) reads through `frames` (`read_sales`): ADBC on
PostgreSQL, and on SQLite the app's own sqlite3 unless the process has declared it never
writes (`frames.use_adbc_for_sqlite`). A process that also writes to the store — the
API server — reads through its own SQLAlchemy session (`session_sales`): on SQLite the
ADBC driver carries its own copy of the SQLite library, and two copies in one process
break each other's POSIX file locks (closing a file drops every lock the process holds on
it: sqlite.org/howtocorrupt.html §2.2.1) — measured here: after an ADBC read, the
server's next writes were invisible to both and then failed with "disk I/O error".
See docs/crosssell.md.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Executable, func, make_url, select
from sqlalchemy.orm import Session

from memberops.analytics import assoc, frames, recommend
from memberops.errors import NotFound, field_error
from memberops.orders.models import Order, OrderLine, OrderRefund

Level = Literal["category", "sku"]
PURCHASE_SCHEMA = pl.Schema({"order_id": pl.Int64(), "member_id": pl.Int64(),
                             "created_at": pl.Datetime("us", "UTC"), "sku": pl.String(),
                             "category": pl.String(), "quantity": pl.Int64()})
REFUND_ITEMS = pl.List(pl.Struct({"sku": pl.String(), "quantity": pl.Int64()}))


@dataclass(frozen=True, eq=False)
class Sales:
    """Orders, their lines and their refunds, as read from the store.

    `orders`: order_id, member_id, created_at, paid (fen: points value + wallet + outside);
    `lines`: order_id, sku, category, quantity (as sold);
    `refunds`: order_id, created_at, amount, items (list of {sku, quantity}; empty when
    refunded by amount)."""

    orders: pl.DataFrame
    lines: pl.DataFrame
    refunds: pl.DataFrame


_WHEN = pl.Datetime("us", "UTC")
ORDERS_SCHEMA = pl.Schema({"order_id": pl.Int64(), "member_id": pl.Int64(),
                           "created_at": _WHEN, "paid": pl.Int64()})
LINES_SCHEMA = pl.Schema({"order_id": pl.Int64(), "sku": pl.String(),
                          "category": pl.String(), "quantity": pl.Int64()})
REFUNDS_SCHEMA = pl.Schema({"order_id": pl.Int64(), "created_at": _WHEN,
                            "amount": pl.Int64(), "items": REFUND_ITEMS})


def read_sales(database_url: str) -> Sales:
    """Orders, lines and refunds of the store through `frames`, on one connection (see the
    module's docstring for which reader a SQLite store gets)."""
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    with frames.connect(database_url) as conn:
        orders = frames.read_table(conn, "orders", [
            "id", "member_id", "created_at", "points_value", "wallet_paid", "external_paid"],
            sqlite=sqlite)
        lines = frames.read_table(conn, "order_lines",
                                  ["order_id", "sku", "category", "quantity"], sqlite=sqlite)
        refunds = frames.read_table(conn, "order_refunds",
                                    ["id", "order_id", "created_at", "amount"], sqlite=sqlite)
        items = _refund_items(conn)
    return Sales(
        orders.select(pl.col("id").alias("order_id"), "member_id", "created_at",
                      (pl.col("points_value") + pl.col("wallet_paid")
                       + pl.col("external_paid")).alias("paid")),
        lines,
        refunds.join(items, on="id", how="left").drop("id").select(REFUNDS_SCHEMA.names()))


def _refund_items(conn: Any) -> pl.DataFrame:
    """Each refund's items: JSON read as text (portable between the two stores), decoded by
    Polars. `conn` is what `frames.connect` gives: an ADBC connection, or a sqlite3 one."""
    sql = "SELECT id, CAST(items AS TEXT) AS items FROM order_refunds"
    if isinstance(conn, sqlite3.Connection):
        raw = pl.DataFrame(conn.execute(sql).fetchall(), schema={"id": pl.Int64(),
                                                                 "items": pl.String()},
                           orient="row")
    else:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            fetched = pl.from_arrow(cursor.fetch_arrow_table())
        assert isinstance(fetched, pl.DataFrame)
        raw = fetched
    return raw.select(pl.col("id").cast(pl.Int64),
                      pl.col("items").cast(pl.String).str.json_decode(REFUND_ITEMS))


def session_sales(session: Session) -> Sales:
    """The same frames read through a SQLAlchemy session: for the API server, which writes
    to the store with the same driver."""
    def frame(statement: Executable, schema: pl.Schema) -> pl.DataFrame:
        rows = session.execute(statement).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    paid = Order.points_value + Order.wallet_paid + Order.external_paid
    return Sales(
        frame(select(Order.id, Order.member_id, Order.created_at, paid), ORDERS_SCHEMA),
        frame(select(OrderLine.order_id, OrderLine.sku, OrderLine.category,
                     OrderLine.quantity), LINES_SCHEMA),
        frame(select(OrderRefund.order_id, OrderRefund.created_at, OrderRefund.amount,
                     OrderRefund.items), REFUNDS_SCHEMA))


def purchases(sales: Sales, as_of: datetime | None = None) -> pl.DataFrame:
    """The order lines kept as of `as_of` (PURCHASE_SCHEMA): orders created before it,
    less the refunds made before it — an order whose refunds add up to what was paid is
    gone (even when refunded by amount), and so is a line whose every unit went back.
    Refunds made later do not change the past. `as_of` None: everything up to now."""
    orders, lines, refunds = sales.orders, sales.lines, sales.refunds
    if as_of is not None:
        as_of = recommend.utc(as_of)
        orders = orders.filter(pl.col("created_at") < as_of)
        refunds = refunds.filter(pl.col("created_at") < as_of)
    refunded = refunds.group_by("order_id").agg(pl.col("amount").sum().alias("refunded"))
    kept = (orders.join(refunded, on="order_id", how="left")
            .filter(pl.col("refunded").is_null() | (pl.col("refunded") < pl.col("paid")))
            .select("order_id", "member_id", "created_at"))
    back = (refunds.select("order_id", "items").explode("items").drop_nulls("items")
            .unnest("items").group_by("order_id", "sku")
            .agg(pl.col("quantity").sum().alias("back")))
    return (lines.join(back, on=["order_id", "sku"], how="left")
            .with_columns((pl.col("quantity") - pl.col("back").fill_null(0)).alias("quantity"))
            .filter(pl.col("quantity") > 0)
            .join(kept, on="order_id", how="inner")
            .select(PURCHASE_SCHEMA.names())
            .cast(PURCHASE_SCHEMA)
            .sort("created_at", "order_id", "sku"))


# --- association rules ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleReport:
    level: Level
    baskets: int
    min_support: float
    min_confidence: float
    itemsets: int
    rules: list[assoc.Rule]


def baskets(lines: pl.DataFrame, level: Level = "category") -> pl.DataFrame:
    """One row per distinct basket (the order's distinct categories or skus, sorted) with
    the number of orders that had exactly it: `items` (list of str), `orders`."""
    return (lines.group_by("order_id")
            .agg(pl.col(level).unique().sort().alias("items"))
            .group_by("items").agg(pl.len().cast(pl.Int64).alias("orders"))
            .sort("orders", descending=True))


def mine_rules(lines: pl.DataFrame, *, level: Level = "category", min_support: float = 0.01,
               min_confidence: float = 0.1, max_len: int = 4) -> RuleReport:
    """FP-growth over the orders' baskets, then the rules at or above the thresholds."""
    if not 0 < min_support <= 1:
        raise field_error("min_support", "must be in (0, 1]")
    if not 0 <= min_confidence <= 1:
        raise field_error("min_confidence", "must be in [0, 1]")
    grouped = baskets(lines, level)
    pairs = list(zip(grouped["items"].to_list(), grouped["orders"].to_list(), strict=True))
    total = int(grouped["orders"].sum())
    # The smallest count that reaches min_support (a tiny epsilon absorbs float noise).
    min_count = max(1, -int(-(min_support * total - 1e-9) // 1))
    itemsets = assoc.frequent_itemsets(pairs, min_count, max_len) if total else {}
    found = assoc.rules(itemsets, total, min_confidence=min_confidence)
    return RuleReport(level, total, min_support, min_confidence, len(itemsets), found)


def association_rules(database_url: str, *, level: Level = "category",
                      min_support: float = 0.01, min_confidence: float = 0.1) -> RuleReport:
    """The rules mined from every order of the store, net of refunds."""
    return mine_rules(purchases(read_sales(database_url)), level=level,
                      min_support=min_support, min_confidence=min_confidence)


# --- recommendations and their evaluation -----------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in the programme's time zone, as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=tz)


def default_cutoff(sales: Sales, test_days: int, tz: ZoneInfo) -> date:
    """The cutoff that leaves the last `test_days` days with orders for the test: the day
    after the last order's local date, less `test_days`."""
    if sales.orders.is_empty():
        raise NotFound("no orders to evaluate on", code="no_orders")
    last = sales.orders.select(frames.local_date(pl.col("created_at").max(), str(tz))).item()
    assert isinstance(last, date)
    return last + timedelta(days=1 - test_days)


def split(sales: Sales, cutoff: datetime, end: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, test): the purchases as they stood at the cutoff — orders before it, net of
    the refunds made before it — and the purchases made in [cutoff, end), net of the
    refunds made before `end`. Nothing dated at or after the cutoff reaches `train`."""
    cutoff, end = recommend.utc(cutoff), recommend.utc(end)
    train = purchases(sales, cutoff)
    test = purchases(sales, end).filter(pl.col("created_at") >= cutoff)
    return train, test


def evaluate_sales(sales: Sales, *, tz: ZoneInfo, cutoff: date | None = None,
                   test_days: int = 60, k: int = recommend.K,
                   params: recommend.Params | None = None) -> recommend.Evaluation:
    """Every method trained on the orders before `cutoff` (local midnight) and scored on
    the `test_days` after it (default cutoff: `default_cutoff`)."""
    if test_days < 1:
        raise field_error("test_days", "must be at least 1")
    start = local_midnight(cutoff or default_cutoff(sales, test_days, tz), tz)
    end = start + timedelta(days=test_days)
    train, test = split(sales, start, end)
    return recommend.evaluate(train, test, start, end, k=k, params=params)


def evaluation(database_url: str, *, tz: ZoneInfo, cutoff: date | None = None,
               test_days: int = 60, k: int = recommend.K) -> recommend.Evaluation:
    """`evaluate_sales` on the store."""
    return evaluate_sales(read_sales(database_url), tz=tz, cutoff=cutoff,
                          test_days=test_days, k=k)


@dataclass(frozen=True, eq=False)
class _Fitted:
    fingerprint: tuple[int, ...]
    model: recommend.Model
    valid_until: datetime | None  # the first order or refund dated after the model's as_of


# Fitted models by database URL. A model reads every order of the store, so it is kept
# until an order or a refund is added (the fingerprint: counts and largest ids) instead
# of being refitted on every request; a member's list is then one row of it.
_MODELS: dict[str, _Fitted] = {}


def forget_models() -> None:
    """Drop the cached models: after a database was replaced under the same URL (a
    restore, a test's fresh database), when ids may repeat."""
    _MODELS.clear()


def _fingerprint(session: Session) -> tuple[int, ...]:
    orders = session.execute(select(func.count(), func.coalesce(func.max(Order.id), 0))).one()
    refunds = session.execute(select(func.count(),
                                     func.coalesce(func.max(OrderRefund.id), 0))).one()
    return tuple(int(v) for v in (*orders, *refunds))


def fit_sales(sales: Sales, as_of: datetime) -> tuple[recommend.Model, datetime | None]:
    """The recommenders fitted on the purchases as they stood at `as_of`, and the first
    order or refund dated at or after it (None: none), until which the model holds."""
    fitted = recommend.fit(purchases(sales, as_of), as_of)
    dates = pl.concat([sales.orders["created_at"], sales.refunds["created_at"]])
    first = dates.filter(dates >= fitted.as_of).min()
    return fitted, first if isinstance(first, datetime) else None


def cached_model(session: Session, key: str, as_of: datetime) -> recommend.Model:
    """The recommenders for the store behind `session` (named `key`, its URL) at `as_of`:
    the cached fit when no order or refund was added since and none is dated between the
    two instants, a new fit otherwise."""
    fingerprint = _fingerprint(session)
    found = _MODELS.get(key)
    if found is not None and found.fingerprint == fingerprint \
            and found.model.as_of <= as_of \
            and (found.valid_until is None or as_of <= found.valid_until):
        return found.model
    fitted, until = fit_sales(session_sales(session), as_of)
    _MODELS[key] = _Fitted(fingerprint, fitted, until)
    return fitted


def recommendations(model: recommend.Model, member_id: int, *, method: str,
                    k: int = recommend.K) -> list[recommend.Recommendation]:
    """The top `k` skus for one member."""
    if method not in recommend.METHODS:
        raise field_error("method", f"must be one of {', '.join(recommend.METHODS)}")
    return recommend.for_member(model, member_id, method=method, k=k)
