"""Small hand-made stores for the insight tests, a synthetic programme whose churn is
driven by recency and frequency, and a fast writer of such histories into a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import insert

from memberops.analytics import purchases as buys
from memberops.members.models import Member
from memberops.orders.models import Order, OrderRefund

AS_OF = date(2026, 6, 30)


def ago(days: int, as_of: date = AS_OF) -> date:
    """The date `days` days before `as_of` (0: the day itself)."""
    return as_of - timedelta(days=days)


def store(members: Sequence[tuple[int, date]], orders: Sequence[tuple[Any, ...]] = (),
          refunds: Sequence[tuple[int, date, int]] = (), **others: pl.DataFrame) -> buys.Store:
    """members: (id, joined); orders: (member_id, day, paid) or (…, {extra columns}),
    numbered 1, 2, … in the given order; refunds: (order number, day, amount)."""
    rows = []
    for n, order in enumerate(orders, start=1):
        extra = order[3] if len(order) > 3 else {}
        rows.append({"order_id": n, "member_id": order[0], "day": order[1], "paid": order[2],
                     **extra})
    order_frame = pl.DataFrame(rows, schema_overrides={"day": pl.Date}) if rows else None
    refund_frame = pl.DataFrame(
        {"order_id": [r[0] for r in refunds], "day": [r[1] for r in refunds],
         "amount": [r[2] for r in refunds]},
        schema={"order_id": pl.Int64, "day": pl.Date, "amount": pl.Int64})
    member_frame = pl.DataFrame({"member_id": [m[0] for m in members],
                                 "joined_on": [m[1] for m in members]},
                                schema={"member_id": pl.Int64, "joined_on": pl.Date})
    return buys.Store.of(member_frame, order_frame, refunds=refund_frame, **others)


# ---------------------------------------------------------------------------- synthetic


def synthetic(members: int = 600, *, days: int = 540, end: date = AS_OF,
              seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(members, orders) of a programme where each member buys at their own Poisson rate
    until they drop out for good: who stops is told by how recently and how often they
    bought. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=days - 1)
    joined = rng.integers(0, days - 60, members)
    rate = rng.gamma(2.0, 1 / 40, members)  # purchases a day: every 20 days on average
    life = rng.exponential(240, members)  # days until they stop for good
    stop = np.minimum(joined + life, days)
    counts = rng.poisson(rate * (stop - joined))
    member = np.repeat(np.arange(1, members + 1), counts)
    lo, hi = np.repeat(joined, counts), np.repeat(stop, counts)
    day = np.floor(lo + rng.random(member.size) * (hi - lo)).astype(np.int64)
    base = np.datetime64(start, "D")
    member_frame = pl.DataFrame({"member_id": np.arange(1, members + 1),
                                 "joined_on": base + joined})
    order_frame = pl.DataFrame({
        "order_id": np.arange(1, member.size + 1), "member_id": member,
        "day": base + day, "paid": rng.integers(1_500, 9_000, member.size)})
    return (member_frame.with_columns(pl.col("joined_on").cast(pl.Date)),
            order_frame.with_columns(pl.col("day").cast(pl.Date)))


def synthetic_store(members: int = 600, **kwargs: Any) -> buys.Store:
    m, o = synthetic(members, **kwargs)
    return buys.Store.of(m, o)


# ---------------------------------------------------------------------------- database


def _noon_shanghai(d: date) -> datetime:
    return datetime.combine(d, time(4, 0), tzinfo=UTC)  # 12:00 in Shanghai, same date


def insert_history(db: Any, members: pl.DataFrame, orders: pl.DataFrame,
                   refunds: Sequence[tuple[int, date, int]] = ()) -> None:
    """Write members (member_id, joined_on) and orders (order_id, member_id, day, paid)
    as rows of the store, paid externally, at noon in Shanghai; refunds by order id."""
    member_rows = [{"id": r["member_id"], "phone": f"+86139{r['member_id']:08d}",
                    "gender": "unknown", "channel": "store", "tier": "regular",
                    "status": "active", "joined_at": _noon_shanghai(r["joined_on"]),
                    "created_at": _noon_shanghai(r["joined_on"]),
                    "updated_at": _noon_shanghai(r["joined_on"])}
                   for r in members.iter_rows(named=True)]
    refunded: dict[int, int] = {}
    for order_id, _, amount in refunds:
        refunded[order_id] = refunded.get(order_id, 0) + amount
    order_rows = [order_row(r, refunded.get(r["order_id"], 0))
                  for r in orders.iter_rows(named=True)]
    member_of = {r["order_id"]: r["member_id"] for r in orders.iter_rows(named=True)}
    refund_rows = [{"refund_ref": f"R-{n}", "request_hash": "x", "order_id": order_id,
                    "member_id": member_of[order_id], "amount": amount, "items": [],
                    "points_returned": 0, "points_value": 0, "wallet_refunded": 0,
                    "external_refunded": amount, "points_clawed": 0, "coupons_released": [],
                    "created_at": _noon_shanghai(day)}
                   for n, (order_id, day, amount) in enumerate(refunds, start=1)]
    with db.session() as session:
        session.execute(insert(Member), member_rows)
        if order_rows:
            session.execute(insert(Order), order_rows)
        if refund_rows:
            session.execute(insert(OrderRefund), refund_rows)
        session.commit()


def order_row(r: dict[str, Any], refunded: int) -> dict[str, Any]:
    paid = r["paid"]
    status = "paid" if not refunded else "refunded" if refunded >= paid else \
        "partially_refunded"
    return {"id": r["order_id"], "order_ref": f"O-{r['order_id']}", "request_hash": "x",
            "member_id": r["member_id"], "store": "S1", "channel": "store", "status": status,
            "tier": "regular", "plus": False, "subtotal": paid, "tier_discount": 0,
            "plus_discount": 0, "coupon_discount": 0, "coupons": [], "points_used": 0,
            "points_value": 0, "wallet_paid": 0, "external_paid": paid, "points_earned": 0,
            "refunded": refunded, "refunded_points": 0, "refunded_points_value": 0,
            "refunded_wallet": 0, "refunded_external": refunded, "clawed_points": 0,
            "created_at": _noon_shanghai(r["day"])}
