"""Analytics benchmark (issue 5): the full insight refresh on a generated programme, beside a
plain pandas version of the same KPIs and RFM and the `lifetimes` package's BG/NBD fit.

    .venv/bin/python bench/analytics.py [--members 1000000] [--orders 10000000] [--regenerate]

1. **Data set** (cached in bench/work/analytics-<members>-<orders>.db, made again only with
   other sizes or --regenerate, in a process of its own): three years of a café chain's
   programme written by raw sqlite3 into the migrated schema — members joining at a growing
   rate; buyers who purchase as BG/NBD assumes (a Poisson rate per member drawn from a
   Gamma, a dropout probability after each repeat purchase drawn from a Beta); channels,
   stores, cities, tiers earned by spend, PLUS periods, welcome and monthly coupons,
   log-normal baskets, refunds, stored value topped up at the till and spent from the
   wallet, and the points and wallet ledger of the last 90 days (the programme moved onto
   memberops' ledger then, its balances carried over as opening entries). The KPIs read no
   order lines: none are written. Generation time is reported apart.
2. **Ours**, each in a process of its own, timed from the database file, read over ADBC
   (these processes never write: `frames.use_adbc_for_sqlite`): the KPIs (`load_frames` +
   `compute_kpis`: the last 30 days beside the 30 before and a year earlier, breakdowns and
   cohorts) and `insight.refresh` (its own load, RFM, lifecycle and pyramid, BG/NBD +
   Gamma-Gamma and each member's CLV, and the churn model trained in the same refresh at
   as-of − 90 days, then every member scored). Again with OPENBLAS_NUM_THREADS=1.
3. **(a) pandas**: the same KPIs and RFM as an analyst would write them — `pandas.read_sql`
   over sqlite3, then filters, group-bys and merges. Every KPI value of the three periods,
   the breakdowns, the cohort matrix and every member's R, F, M scores and segment must
   equal ours; compared with ours doing the same (KPIs and RFM, loading included), and
   with ours reading through sqlite3 as a process that writes must.
4. **(b) lifetimes**: `BetaGeoFitter().fit(frequency, recency, T)` on the summary our
   refresh fits BG/NBD on (the up to 200,000 buyers it samples, times in days), beside
   `clv.fit_bgnbd` on the same arrays; both parameter sets are reported. Again with one
   BLAS thread.
5. **Peak memory**: each run above is a process of its own and reports its VmHWM.

Writes bench/results/analytics.json and analytics.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from baselines import RESULTS, WORK, fresh_sqlite, machine, machine_line

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
AS_OF = date(2026, 3, 31)  # the last day of data; the refresh is as of it
AS_OF_INSTANT = datetime(2026, 4, 1, tzinfo=SHANGHAI)  # the report is taken at its end
KPI_DAYS = 30  # the KPI period: the last 30 days
DAY, HOUR, MINUTE, SECOND = 86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000  # µs
OFFSET = 8 * HOUR  # Asia/Shanghai has had no daylight saving time since 1991
END = ((AS_OF - date(1970, 1, 1)).days + 1) * DAY - OFFSET  # UTC µs of that end
DAYS = 3 * 365
START = END - DAYS * DAY
LEDGER_DAYS = 90
GO_LIVE = END - LEDGER_DAYS * DAY
GENERATOR_VERSION = 1

# The buying process (BG/NBD in days): rate λ ~ Gamma(R, 1/α), dropout p ~ Beta(A, B); α is
# set so that the orders come to the number asked for.
R_SHAPE, DROP_A, DROP_B = 0.75, 0.8, 9.0
CITIES = [  # province, city, store code, share of members
    ("上海", "上海", "SH", 16), ("北京", "北京", "BJ", 12), ("广东", "深圳", "SZ", 9),
    ("广东", "广州", "GZ", 8), ("浙江", "杭州", "HZ", 8), ("四川", "成都", "CD", 7),
    ("江苏", "南京", "NJ", 5), ("江苏", "苏州", "SU", 5), ("湖北", "武汉", "WH", 5),
    ("重庆", "重庆", "CQ", 5), ("陕西", "西安", "XA", 4), ("湖南", "长沙", "CS", 4),
    ("天津", "天津", "TJ", 3), ("福建", "厦门", "XM", 3), ("山东", "青岛", "QD", 3),
    ("浙江", "宁波", "NB", 3)]
JOIN_CHANNELS = {"store": (0.45, 0.08), "mini_program": (0.30, 0.5),  # share, online orders
                 "app": (0.12, 0.6), "ecommerce": (0.06, 0.9), "referral": (0.07, 0.3)}
CAC_FEN = {"store": 1_500, "mini_program": 2_500, "app": 4_000, "ecommerce": 3_000}
TIERS = ["regular", "silver", "gold", "diamond"]
TIER_SPEND = [100_000, 500_000, 2_000_000]  # cumulative list spend (fen) for each upgrade
TIER_DISCOUNT = np.array([0, 2, 5, 8])
TIER_POINTS = np.array([100, 120, 150, 200])  # points multiplier, per cent
RECHARGES = [(10_000, 0), (30_000, 1_500), (50_000, 4_000), (100_000, 10_000)]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰飞鹏辉")
PHONE_PREFIXES = ["139", "138", "137", "136", "135", "188", "187", "186", "158", "159",
                  "150", "151", "152", "157", "182", "183", "184", "177", "176", "199"]


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def local_midnight(t: np.ndarray) -> np.ndarray:
    """The UTC µs of the local midnight that begins each instant's day."""
    return (t + OFFSET) // DAY * DAY - OFFSET


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Local time of a visit (µs after midnight): a lunch and an evening peak."""
    kind = rng.random(n)
    hours = np.where(kind < 0.35, rng.normal(12.5, 1.2, n),
                     np.where(kind < 0.8, rng.normal(18.5, 1.8, n), rng.uniform(8, 22, n)))
    return (np.clip(hours, 7.0, 22.95) * HOUR).astype(np.int64) + rng.integers(0, SECOND, n)


# ---------------------------------------------------------------------------- members


def gen_members(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Members joining over three years at a growing rate, ids in joining order."""
    day = np.floor(DAYS * rng.random(n) ** (1 / 1.6)).astype(np.int64)
    joined = np.sort(START + day * DAY + time_of_day(rng, n))
    ids = np.arange(1, n + 1)
    weights = np.array([c[3] for c in CITIES], dtype=float)
    city = rng.choice(len(CITIES), n, p=weights / weights.sum())
    stores_per_city = np.maximum(2, np.round(150 * weights / weights.sum())).astype(int)
    first_store = np.r_[0, np.cumsum(stores_per_city)[:-1]]
    store_codes = np.array([f"{c[2]}-{k + 1:03d}" for c, s in zip(CITIES, stores_per_city,
                                                                   strict=True)
                            for k in range(s)])
    home = first_store[city] + (rng.random(n) * stores_per_city[city]).astype(int)
    names = list(JOIN_CHANNELS)
    shares = np.array([JOIN_CHANNELS[c][0] for c in names])
    channel = rng.choice(len(names), n, p=shares / shares.sum())
    online = np.array([JOIN_CHANNELS[c][1] for c in names])[channel]
    given = np.char.add(rng.choice(GIVEN, n), np.where(rng.random(n) < 0.5,
                                                       rng.choice(GIVEN, n), ""))
    no_region = rng.random(n) < 0.04
    return pl.DataFrame({
        "id": ids, "joined": joined,
        "phone": np.char.add(np.asarray(PHONE_PREFIXES)[ids % len(PHONE_PREFIXES)],
                             np.char.zfill(ids.astype(str), 8)),
        "name": np.where(rng.random(n) < 0.9, np.char.add(rng.choice(SURNAMES, n), given),
                         None),
        "email": np.where(rng.random(n) < 0.3, np.char.add(np.char.add("u", ids.astype(str)),
                                                           "@example.com"), None),
        "birthday_days": np.where(rng.random(n) < 0.6, rng.integers(-3650, 13_500, n), -99_999),
        "gender": rng.choice(["female", "male", "unknown"], n, p=[0.55, 0.4, 0.05]),
        "province": np.where(no_region, None, np.array([c[0] for c in CITIES])[city]),
        "city": np.where(no_region, None, np.array([c[1] for c in CITIES])[city]),
        "channel": np.asarray(names)[channel],
        "online_share": np.clip(online + rng.normal(0, 0.15, n), 0, 1),
        "home_store": store_codes[home],
        "spend_level": rng.lognormal(0, 0.35, n),
        "wallet_user": rng.random(n) < 0.15,
        "wallet_option": rng.choice(len(RECHARGES), n, p=[0.2, 0.4, 0.3, 0.1]),
    }, strict=False).with_columns(pl.col("birthday_days").replace(-99_999, None))


# ---------------------------------------------------------------------------- purchases


def _repeats(rng: np.random.Generator, shape: np.ndarray, alpha: float, p: np.ndarray,
             span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson points in each buyer's span, and how many of them come before dropout."""
    points = rng.poisson(shape / alpha * span)
    return points, np.minimum(points, rng.geometric(p))


def _calibrate(rng: np.random.Generator, shape: np.ndarray, p: np.ndarray, span: np.ndarray,
               target: int) -> float:
    """The α whose repeat purchases come to about `target`."""
    alpha = 20.0
    for _ in range(12):
        total = _repeats(rng, shape, alpha, p, span)[1].sum()
        if abs(total / target - 1) < 0.002:
            break
        alpha *= (total / target) ** 1.5
    return alpha


def gen_purchases(rng: np.random.Generator, members: pl.DataFrame, orders: int
                  ) -> tuple[pl.DataFrame, float]:
    """Every order's member and instant, sorted by time: the first purchase soon after
    joining (often on the same visit), then repeat purchases as BG/NBD draws them."""
    n = members.height
    joined = members["joined"].to_numpy()
    in_store = (members["channel"] == "store").to_numpy()
    same_visit = rng.random(n) < np.where(in_store, 0.7, 0.3)
    delay = np.where(same_visit, rng.integers(MINUTE, 30 * MINUTE, n),
                     (rng.exponential(8.0, n) * DAY).astype(np.int64))
    first = joined + delay
    buyer = (rng.random(n) < 0.86) & (first < END)
    ids, first = members["id"].to_numpy()[buyer], first[buyer]
    span = (END - first) / DAY
    shape, p = rng.gamma(R_SHAPE, 1.0, ids.size), rng.beta(DROP_A, DROP_B, ids.size)
    target = orders - ids.size
    assert target > 0, "fewer orders than buyers"
    alpha = _calibrate(rng, shape, p, span, target)
    while True:
        points, count = _repeats(rng, shape, alpha * 0.99, p, span)
        if count.sum() >= target:
            break
        alpha *= 0.98
    times = _repeat_times(rng, points, count, span)
    who = np.repeat(ids, count)
    start = np.repeat(first, count)
    at = start + (times * DAY).astype(np.int64)
    at = local_midnight(at) + time_of_day(rng, at.size)  # a visit in opening hours
    at = np.where(at <= start, start + rng.integers(MINUTE, 90 * MINUTE, at.size), at)
    at = np.minimum(at, END - 1)
    keep = np.ones(at.size, dtype=bool)
    keep[rng.choice(at.size, at.size - target, replace=False)] = False
    member_id = np.r_[ids, who[keep]]
    created = np.r_[first, at[keep]]
    order = np.lexsort((member_id, created))
    return pl.DataFrame({"id": np.arange(1, orders + 1), "member_id": member_id[order],
                         "created": created[order]}), alpha


def _repeat_times(rng: np.random.Generator, points: np.ndarray, count: np.ndarray,
                  span: np.ndarray) -> np.ndarray:
    """The first `count` of `points` uniform instants in (0, span), per buyer: order
    statistics from exponential spacings, without drawing the points left out."""
    gaps = rng.exponential(1.0, int(count.sum()))
    sums = np.r_[0.0, np.cumsum(gaps)]
    ends = np.cumsum(count)
    starts = ends - count
    base = sums[starts]
    rest = rng.gamma(np.maximum(points - count + 1, 1).astype(float))
    total = sums[ends] - base + rest
    within = sums[1:] - np.repeat(base, count)
    return within / np.repeat(total, count) * np.repeat(span, count)


# ---------------------------------------------------------------------------- orders


def member_status(rng: np.random.Generator, members: pl.DataFrame, orders: pl.DataFrame
                  ) -> pl.DataFrame:
    """Closed (1.5%, some time after their last visit) and frozen (0.5%) members."""
    last = orders.group_by("member_id").agg(pl.col("created").max().alias("last"))
    m = members.join(last, left_on="id", right_on="member_id", how="left",
                     maintain_order="left")
    n = m.height
    seen = np.maximum(m["joined"].to_numpy(), m["last"].fill_null(0).to_numpy())
    closed_at = seen + rng.integers(DAY, 120 * DAY, n)
    u = rng.random(n)
    closed = (u < 0.015) & (closed_at < END)
    frozen = (u >= 0.015) & (u < 0.02)
    frozen_at = m["joined"].to_numpy() + (rng.random(n) * (END - m["joined"].to_numpy())
                                          ).astype(np.int64)
    return m.with_columns(
        status=pl.Series(np.where(closed, "closed", np.where(frozen, "frozen", "active"))),
        status_changed=pl.Series(np.where(closed, closed_at, np.where(frozen, frozen_at, -1)))
        .replace(-1, None))


def base_orders(rng: np.random.Generator, orders: pl.DataFrame, members: pl.DataFrame
                ) -> pl.DataFrame:
    """Channel, store, basket, and the tier each order was placed in (tiers are earned by
    cumulative list spend; an upgrade follows the order that crossed the line)."""
    m = orders.height
    o = orders.join(members.select("id", "online_share", "home_store", "spend_level"),
                    left_on="member_id", right_on="id", how="left", maintain_order="left")
    online = rng.random(m) < o["online_share"].to_numpy()
    channel = np.where(online, rng.choice(["mini_program", "app", "ecommerce"], m,
                                          p=[0.6, 0.3, 0.1]), "store")
    stores = members["home_store"].unique().sort().to_numpy()
    store = np.where(rng.random(m) < 0.85, o["home_store"].to_numpy(),
                     rng.choice(stores, m))
    basket = o["spend_level"].to_numpy() * rng.lognormal(np.log(3_600), 0.5, m)
    cum = pl.col("subtotal").cum_sum().over("member_id")
    level = sum(((cum - pl.col("subtotal")) >= line).cast(pl.Int64) for line in TIER_SPEND)
    after = sum((cum >= line).cast(pl.Int64) for line in TIER_SPEND)
    return o.select("id", "member_id", "created").with_columns(
        channel=pl.Series(channel), store=pl.Series(np.where(online, None, store)),
        subtotal=pl.Series(np.maximum(300, np.round(basket / 10) * 10).astype(np.int64)),
        k=pl.int_range(pl.len()).over("member_id"),
    ).with_columns(level=level, level_after=after)


def tier_changes(o: pl.DataFrame) -> pl.DataFrame:
    """The upgrades: right after the order that crossed a line."""
    up = o.filter(pl.col("level_after") > pl.col("level")).sort("created")
    names = pl.Series(TIERS)
    return up.select(pl.int_range(1, pl.len() + 1).alias("id"), "member_id",
                     from_tier=names.gather(up["level"]), to_tier=names.gather(up["level_after"]),
                     at=pl.col("created") + SECOND)


def gen_plus(rng: np.random.Generator, o: pl.DataFrame) -> pl.DataFrame:
    """PLUS (¥99 a year) bought at the till by 4% of the buyers with three orders or more,
    on a later visit; a third renew; 3% of periods are refunded within the week."""
    third = o.filter(pl.col("k") == 2).select("member_id")
    chosen = third.filter(pl.Series(rng.random(third.height) < 0.04))
    visits = o.filter(pl.col("k") >= 2).join(chosen, on="member_id")
    rows = visits.with_columns(r=pl.Series(rng.random(visits.height))) \
        .sort("r").unique("member_id", keep="first")
    starts = rows["created"].to_numpy() - 2 * MINUTE
    members = rows["member_id"].to_numpy()
    ends = starts + 365 * DAY
    renew = (rng.random(starts.size) < 0.35) & (ends < END)
    members = np.r_[members, members[renew]]
    kind = np.r_[np.full(starts.size, "purchase"), np.full(renew.sum(), "renewal")]
    starts, ends = np.r_[starts, ends[renew]], np.r_[ends, ends[renew] + 365 * DAY]
    refunded_at = starts + rng.integers(HOUR, 6 * DAY, starts.size)
    refunded = (rng.random(starts.size) < 0.03) & (refunded_at < END)
    order = np.argsort(starts, kind="stable")
    return pl.DataFrame({
        "member_id": members, "kind": kind, "starts": starts, "ends": ends,
        "refunded": refunded, "refunded_at": np.where(refunded, refunded_at, -1),
    })[order].with_columns(pl.int_range(1, pl.len() + 1).alias("id"),
                           pl.col("refunded_at").replace(-1, None))


def plus_flag(o: pl.DataFrame, plus: pl.DataFrame) -> pl.Series:
    """Whether a PLUS period covered each order (a refunded one until its refund)."""
    periods = plus.select("member_id", "starts", until=pl.when(pl.col("refunded"))
                          .then(pl.col("refunded_at")).otherwise(pl.col("ends"))) \
        .sort("starts")
    found = o.select("id", "member_id", "created").sort("created").join_asof(
        periods, left_on="created", right_on="starts", by="member_id", strategy="backward",
        check_sortedness=False)
    found = found.select("id", covered=pl.col("until").is_not_null()
                         & (pl.col("created") < pl.col("until"))).sort("id")
    return found["covered"]


def _month_starts() -> list[date]:
    first = (datetime.fromtimestamp((START + OFFSET) / SECOND, UTC).date()
             .replace(day=1) + timedelta(days=32)).replace(day=1)
    found = []
    while first <= AS_OF:
        found.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return found


def _instant(day: date, hours: float) -> int:
    return (day - date(1970, 1, 1)).days * DAY - OFFSET + int(hours * HOUR)


def gen_coupons(rng: np.random.Generator, members: pl.DataFrame, o: pl.DataFrame
                ) -> pl.DataFrame:
    """A welcome coupon (¥5 off, 30 days) for 70% of new members; on the first of each
    month a 9折 coupon (10% off up to ¥10, 14 days) for 8% of the members then open.
    A coupon is used on the member's next order within its validity, or not at all."""
    welcome = members.filter(pl.Series(rng.random(members.height) < 0.7)).select(
        "id", issued=pl.col("joined") + SECOND, template=pl.lit(1))
    parts = [welcome]
    joined = members["joined"].to_numpy()
    closed = members.select(pl.when(pl.col("status") == "closed")
                            .then(pl.col("status_changed")).otherwise(END + 1))["status_changed"]
    closed_at = closed.to_numpy()
    for first in _month_starts():
        at = _instant(first, 10)
        open_ = (joined < at) & (closed_at > at) & (rng.random(joined.size) < 0.08)
        parts.append(members.filter(pl.Series(open_)).select(
            "id", issued=pl.lit(at + rng.integers(0, HOUR)), template=pl.lit(2)))
    coupons = pl.concat(parts).rename({"id": "member_id"}).sort("issued", "member_id") \
        .with_columns(pl.int_range(1, pl.len() + 1).alias("coupon_id"),
                      valid_until=pl.col("issued") + pl.when(pl.col("template") == 1)
                      .then(30 * DAY).otherwise(14 * DAY))
    nxt = coupons.join_asof(o.select("member_id", order_id="id", at="created").sort("at"),
                            left_on="issued", right_on="at", by="member_id",
                            strategy="forward", check_sortedness=False)
    use = rng.random(nxt.height) < np.where(nxt["template"].to_numpy() == 1, 0.55, 0.45)
    nxt = nxt.with_columns(order_id=pl.when(pl.Series(use) & (pl.col("at") < pl.col(
        "valid_until"))).then(pl.col("order_id")))
    first_on_order = nxt.filter(pl.col("order_id").is_not_null()).sort("coupon_id") \
        .unique("order_id", keep="first").select("coupon_id", used_on="order_id")
    return nxt.join(first_on_order, on="coupon_id", how="left", maintain_order="left") \
        .select("coupon_id", "member_id", "template", "issued", "valid_until",
                order_id="used_on", used_at=pl.when(pl.col("used_on").is_not_null())
                .then(pl.col("at")))


def by_level(values: np.ndarray) -> pl.Expr:
    """A value per tier level, for each order's `level`."""
    return pl.col("level").replace_strict(dict(enumerate(values.tolist())),
                                          return_dtype=pl.Int64)


def price_orders(o: pl.DataFrame, plus: pl.Series, coupons: pl.DataFrame) -> pl.DataFrame:
    """Tier and PLUS discounts, the coupon used (if any) and what is left to pay (`due`)."""
    used = coupons.filter(pl.col("order_id").is_not_null()).select(
        "order_id", "template", code=pl.format("C{}", pl.col("coupon_id").cast(pl.String)
                                               .str.zfill(10)))
    rest = pl.col("subtotal") - pl.col("tier_discount") - pl.col("plus_discount")
    coupon = pl.when(pl.col("template") == 1).then(pl.min_horizontal(500, rest)) \
        .when(pl.col("template") == 2).then(pl.min_horizontal(rest * 10 // 100, 1_000)) \
        .otherwise(0)
    return o.with_columns(plus=plus).with_columns(
        tier_discount=pl.col("subtotal") * by_level(TIER_DISCOUNT) // 100).with_columns(
        plus_discount=pl.when("plus").then((pl.col("subtotal") - pl.col("tier_discount")) * 5
                                           // 100).otherwise(0)
    ).join(used, left_on="id", right_on="order_id", how="left", maintain_order="left") \
        .with_columns(coupon_discount=coupon).with_columns(
            due=rest - pl.col("coupon_discount"))


def points_plan(rng: np.random.Generator, o: pl.DataFrame, members: pl.DataFrame
                ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Points used at checkout, gifts and the expiry run. Before the ledger existed, 3% of
    the orders of members with three orders behind them used points; since, 6% of orders
    want to, and the balance the old system carried over (80% of what was earned and not
    used before: some had expired) pays for them, for gifts (3% of the holders) and for
    the expiry run (a quarter of the balance of 20% of them), in time order, while it lasts.
    Returns the orders with `points_value`, the opening balances, and gifts and expiry."""
    m = o.height
    pre = (o["created"] < GO_LIVE).to_numpy()
    want = np.where(pre & (o["k"].to_numpy() >= 3) & (rng.random(m) < 0.03),
                    100 * rng.integers(3, 16, m), 0)
    want = np.where(~pre & (rng.random(m) < 0.06), 100 * rng.integers(2, 11, m), want)
    o = o.with_columns(want=pl.min_horizontal(pl.Series(want), pl.col("due") // 100 * 100))
    multiplier = by_level(TIER_POINTS)
    earned_pre = o.filter(pl.col("created") < GO_LIVE).group_by("member_id").agg(
        ((pl.col("due") - pl.col("want")) // 100 * multiplier // 100).sum().alias("earned"),
        pl.col("want").sum().alias("used"))
    live = members.filter((pl.col("status") != "closed") | (pl.col("status_changed") > GO_LIVE))
    opening = live.select("id").join(earned_pre, left_on="id", right_on="member_id") \
        .select(member_id="id", points=(pl.col("earned") - pl.col("used")) * 80 // 100) \
        .filter(pl.col("points") > 0)
    n = opening.height
    chosen = opening.filter(pl.Series(rng.random(n) < 0.03))
    g = chosen.height
    gifts = chosen.select("member_id", kind=pl.lit("gift"), ref=pl.int_range(1, g + 1),
                          at=pl.Series(GO_LIVE + rng.integers(0, LEDGER_DAYS * DAY, g)),
                          amount=pl.Series(rng.choice([500, 1_500], g)))
    expiry_at = _instant(datetime.fromtimestamp((GO_LIVE + OFFSET) / SECOND, UTC).date()
                         + timedelta(days=45), 3)
    expiring = opening.filter(pl.Series(rng.random(n) < 0.2)).select(
        "member_id", kind=pl.lit("expiry"), ref=pl.lit(0), at=pl.lit(expiry_at),
        amount=pl.col("points") // 4).filter(pl.col("amount") > 0)
    orders_ = o.filter((pl.col("want") > 0) & (pl.col("created") >= GO_LIVE)).select(
        "member_id", kind=pl.lit("order"), ref="id", at="created", amount="want")
    wanted = pl.concat([orders_, gifts, expiring], how="vertical_relaxed") \
        .sort("member_id", "at").join(opening, on="member_id", how="left") \
        .filter(pl.col("amount").cum_sum().over("member_id") <= pl.col("points").fill_null(0))
    paid_post = wanted.filter(pl.col("kind") == "order").select(id="ref", kept="amount")
    o = o.join(paid_post, on="id", how="left", maintain_order="left").with_columns(
        points_value=pl.when(pl.col("created") < GO_LIVE).then("want")
        .otherwise(pl.col("kept").fill_null(0))).drop("want", "kept")
    return o, opening, wanted.filter(pl.col("kind") != "order").drop("points")


def refund_plan(rng: np.random.Generator, o: pl.DataFrame) -> pl.DataFrame:
    """2% of orders refunded in full, 1% in part (20–70%), a day or two later."""
    m = o.height
    u = rng.random(m)
    share = np.where(u < 0.02, 1.0, np.where(u < 0.03, rng.uniform(0.2, 0.7, m), 0.0))
    at = o["created"].to_numpy() + 10 * MINUTE + (rng.exponential(1.5, m) * DAY).astype(
        np.int64)
    share = np.where(at < END, share, 0.0)
    return o.with_columns(refund_share=pl.Series(share), refund_at=pl.Series(at))


def wallet_loop(rng: np.random.Generator, o: pl.DataFrame, members: pl.DataFrame
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stored value, member by member in time order: 15% of members are wallet users, who
    top up at the till when their balance does not cover the order (70% of the time; 3%
    of top-ups fail, are rejected or held) and then pay from the wallet (90%): principal
    first, then bonus; a refund gives back the wallet's share. Returns the orders with
    `wallet_principal` and `wallet_bonus`, and the recharges."""
    users = members.filter("wallet_user").select("id", "wallet_option")
    w = o.with_row_index("pos").join(users, left_on="member_id", right_on="id")
    n = w.height
    refunded = (w["refund_share"] > 0).to_numpy()
    idx = np.arange(n)
    member = w["member_id"].to_numpy()
    ev_member = np.r_[member, member[refunded]]
    ev_time = np.r_[w["created"].to_numpy(), w["refund_at"].to_numpy()[refunded]]
    ev_kind = np.r_[np.zeros(n, dtype=np.int64), np.ones(refunded.sum(), dtype=np.int64)]
    ev_order = np.r_[idx, idx[refunded]]
    order = np.lexsort((ev_kind, ev_time, ev_member))
    due = (w["due"] - w["points_value"]).to_list()
    share, option = w["refund_share"].to_list(), w["wallet_option"].to_list()
    paid_p, paid_b = [0] * n, [0] * n
    topups: list[tuple[int, int, int, int, str]] = []
    draws = rng.random((order.size, 4)).tolist()
    cur, bp, bb = -1, 0, 0
    for e, (m, t, kind, i) in enumerate(zip(ev_member[order].tolist(), ev_time[order].tolist(),
                                            ev_kind[order].tolist(), ev_order[order].tolist(),
                                            strict=True)):
        if m != cur:
            cur, bp, bb = m, 0, 0
        if kind:  # a refund gives back the wallet's share of the order
            bp += int(paid_p[i] * share[i])
            bb += int(paid_b[i] * share[i])
            continue
        d, (u0, u1, u2, u3) = due[i], draws[e]
        if bp + bb < d and u0 < 0.7:
            opt = option[i]
            while opt < len(RECHARGES) - 1 and sum(RECHARGES[opt]) + bp + bb < d:
                opt += 1
            amount, bonus = RECHARGES[opt]
            status = ("settled" if u1 < 0.97 else "failed" if u1 < 0.99
                      else "rejected" if u1 < 0.995 else "pending_review")
            topups.append((m, t - 5 * SECOND - int(u2 * 45 * SECOND), amount, bonus, status))
            if status == "settled":
                bp, bb = bp + amount, bb + bonus
        if bp + bb > 0 and u3 < 0.9:
            pay = min(d, bp + bb)
            paid_p[i] = min(pay, bp)
            paid_b[i] = pay - paid_p[i]
            bp, bb = bp - paid_p[i], bb - paid_b[i]
    wallet = pl.DataFrame({"pos": w["pos"], "wallet_principal": paid_p, "wallet_bonus": paid_b},
                          schema_overrides={"pos": pl.UInt32})
    o = o.with_row_index("pos").join(wallet, on="pos", how="left", maintain_order="left") \
        .drop("pos").with_columns(pl.col("wallet_principal", "wallet_bonus").fill_null(0))
    recharges = pl.DataFrame(topups, schema=["member_id", "created", "amount", "bonus",
                                             "status"], orient="row").sort("created") \
        .with_columns(pl.int_range(1, pl.len() + 1).alias("id"))
    return o, recharges


def settle_orders(o: pl.DataFrame) -> pl.DataFrame:
    """The rest paid outside, points earned (1 a yuan paid, times the tier's multiplier),
    the refunds' amounts by part, the status."""
    share = pl.col("refund_share")

    def part(column: str) -> pl.Expr:
        return (pl.col(column) * share).floor().cast(pl.Int64)

    o = o.with_columns(wallet_paid=pl.col("wallet_principal") + pl.col("wallet_bonus"))
    o = o.with_columns(external_paid=pl.col("due") - pl.col("points_value")
                       - pl.col("wallet_paid"))
    o = o.with_columns(
        points_earned=(pl.col("wallet_paid") + pl.col("external_paid")) // 100
        * by_level(TIER_POINTS) // 100,
        back_principal=part("wallet_principal"), back_bonus=part("wallet_bonus"),
        refunded_points_value=part("points_value"), refunded_external=part("external_paid"))
    o = o.with_columns(
        refunded_wallet=pl.col("back_principal") + pl.col("back_bonus"),
        clawed_points=part("points_earned"))
    o = o.with_columns(refunded=pl.col("refunded_wallet") + pl.col("refunded_points_value")
                       + pl.col("refunded_external"))
    has = pl.col("refunded") > 0
    return o.with_columns(
        status=pl.when(~has).then(pl.lit("paid")).when(share >= 1.0)
        .then(pl.lit("refunded")).otherwise(pl.lit("partially_refunded")),
        refund_at=pl.when(has).then("refund_at"),
        clawed_points=pl.when(has).then("clawed_points").otherwise(0))


# ---------------------------------------------------------------------------- the ledger


def _member(account: str) -> pl.Expr:
    return pl.format("member:{}:" + account, pl.col("member_id"))


def _postings(frame: pl.DataFrame, source: pl.Expr | str, destination: pl.Expr | str,
              asset: str, amount: str) -> pl.DataFrame:
    """One posting per row of `frame` whose `amount` column is above 0."""
    def address(a: pl.Expr | str) -> pl.Expr:
        return pl.lit(a) if isinstance(a, str) else a

    return frame.filter(pl.col(amount) > 0).select(
        "key", source=address(source), destination=address(destination),
        asset=pl.lit(asset), amount=pl.col(amount).cast(pl.Int64))


def release_at(created: pl.Expr) -> pl.Expr:
    """Pending points are released by the 02:00 job after their 7-day return window."""
    later = created + 7 * DAY
    return (later + OFFSET) // DAY * DAY - OFFSET + DAY + 2 * HOUR


def order_ledger(o: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each order since go-live (points used, wallet paid, points earned pending), the
    nightly releases, and each refund since go-live (wallet back, points back, earned
    points clawed back from pending or, once released, from available)."""
    live = o.filter(pl.col("created") >= GO_LIVE).with_columns(
        key=pl.format("order:{}", "order_ref"), released=release_at(pl.col("created")))
    entries = [live.select("key", kind=pl.lit("order.place"), reference="order_ref",
                           at="created")]
    postings = [
        _postings(live, _member("points"), "system:points:redeemed", "POINTS", "points_value"),
        _postings(live, _member("wallet:principal"), "system:wallet:spent_principal", "CNY",
                  "wallet_principal"),
        _postings(live, _member("wallet:bonus"), "system:wallet:spent_bonus", "CNY",
                  "wallet_bonus"),
        _postings(live, "system:points:issued", _member("points:pending"), "POINTS",
                  "points_earned")]
    clawed_first = pl.col("refund_at").is_not_null() & (pl.col("refund_at") < pl.col("released"))
    release = live.with_columns(
        amount=pl.col("points_earned") - pl.when(clawed_first).then("clawed_points")
        .otherwise(0)).filter((pl.col("released") < END) & (pl.col("amount") > 0)) \
        .with_columns(key=pl.format("points:release:{}", pl.col("released")))
    entries.append(release.group_by("key").agg(at=pl.col("released").first()).select(
        "key", kind=pl.lit("points.release"), reference=pl.lit(None, pl.String), at="at"))
    postings.append(_postings(release, _member("points:pending"), _member("points"), "POINTS",
                              "amount"))
    refunds = o.filter(pl.col("refund_at") >= GO_LIVE).with_columns(
        key=pl.format("refund:{}", "refund_ref"), released=release_at(pl.col("created")),
        claw=pl.when(pl.col("created") >= GO_LIVE).then("clawed_points").otherwise(0))
    entries.append(refunds.select("key", kind=pl.lit("order.refund"), reference="order_ref",
                                  at="refund_at"))
    postings += [
        _postings(refunds, "system:wallet:spent_principal", _member("wallet:principal"), "CNY",
                  "back_principal"),
        _postings(refunds, "system:wallet:spent_bonus", _member("wallet:bonus"), "CNY",
                  "back_bonus"),
        _postings(refunds, "system:points:redeemed", _member("points"), "POINTS",
                  "refunded_points_value"),
        _postings(refunds, pl.when(pl.col("refund_at") < pl.col("released"))
                  .then(_member("points:pending")).otherwise(_member("points")),
                  "system:points:issued", "POINTS", "claw")]
    return pl.concat(entries), pl.concat(postings)


def opening_ledger(o: pl.DataFrame, recharges: pl.DataFrame, points: pl.DataFrame
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The balances carried over at go-live: points, and each wallet as its recharges,
    payments and refunds before then left it."""
    before = [
        recharges.filter((pl.col("status") == "settled") & (pl.col("settled") < GO_LIVE))
        .select("member_id", principal="amount", bonus="bonus"),
        o.filter(pl.col("created") < GO_LIVE).select(
            "member_id", principal=-pl.col("wallet_principal"), bonus=-pl.col("wallet_bonus")),
        o.filter(pl.col("refund_at") < GO_LIVE).select(
            "member_id", principal="back_principal", bonus="back_bonus")]
    wallets = pl.concat(before).group_by("member_id").agg(pl.col("principal", "bonus").sum())
    opening = wallets.join(points, on="member_id", how="full", coalesce=True) \
        .fill_null(0).with_columns(key=pl.format("migration:opening:{}", "member_id"))
    assert opening.filter((pl.col("principal") < 0) | (pl.col("bonus") < 0)).height == 0
    entries = opening.select("key", kind=pl.lit("migration.opening"),
                             reference=pl.lit(None, pl.String), at=pl.lit(GO_LIVE))
    postings = pl.concat([
        _postings(opening, "system:migration:points", _member("points"), "POINTS", "points"),
        _postings(opening, "system:migration:wallet", _member("wallet:principal"), "CNY",
                  "principal"),
        _postings(opening, "system:migration:wallet", _member("wallet:bonus"), "CNY", "bonus")])
    return entries, postings


def other_ledger(recharges: pl.DataFrame, claims: pl.DataFrame, extras: pl.DataFrame
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Recharges settled since go-live, bonus points, gifts and the expiry run."""
    topups = recharges.filter((pl.col("status") == "settled") & (pl.col("settled") >= GO_LIVE)) \
        .with_columns(key=pl.format("recharge:{}", "payment_ref"))
    claims = claims.with_columns(key=pl.format("points:bonus:{}", "id"))
    gifts = extras.filter(pl.col("kind") == "gift").with_columns(
        key=pl.format("gift:G{}", "ref"))
    expiry = extras.filter(pl.col("kind") == "expiry").with_columns(
        key=pl.format("points:expire:{}", "member_id"))
    none = pl.lit(None, pl.String)
    entries = pl.concat([
        topups.select("key", kind=pl.lit("wallet.recharge"), reference="payment_ref",
                      at="settled"),
        claims.select("key", kind=pl.lit("points.bonus"), reference=none, at="created"),
        gifts.select("key", kind=pl.lit("points.gift"), reference=none, at="at"),
        expiry.select("key", kind=pl.lit("points.expiry"), reference=none, at="at")])
    postings = pl.concat([
        _postings(topups, "system:wallet:payments_in", _member("wallet:principal"), "CNY",
                  "amount"),
        _postings(topups, "system:wallet:bonus_issued", _member("wallet:bonus"), "CNY",
                  "bonus"),
        _postings(claims, "system:points:issued", _member("points"), "POINTS", "points"),
        _postings(gifts, _member("points"), "system:points:redeemed", "POINTS", "amount"),
        _postings(expiry, _member("points"), "system:points:expired", "POINTS", "amount")])
    return entries, postings


def bonus_claims(rng: np.random.Generator, o: pl.DataFrame, members: pl.DataFrame
                 ) -> pl.DataFrame:
    """Check-ins, reviews and profile bonuses since go-live: 35% of the members who
    bought in the 60 days before it or since claim 1–4 times (10 points each)."""
    recent = o.filter(pl.col("created") >= GO_LIVE - 60 * DAY).select("member_id").unique() \
        .sort("member_id").join(members.select("id", "joined", "status", "status_changed"),
                                left_on="member_id", right_on="id")
    chosen = recent.filter(pl.Series(rng.random(recent.height) < 0.35))
    times = rng.poisson(1.0, chosen.height) + 1
    rows = chosen.select(pl.all().repeat_by(pl.Series(times)).explode())
    begin = np.maximum(rows["joined"].to_numpy(), GO_LIVE)
    at = begin + (rng.random(rows.height) * (END - begin)).astype(np.int64)
    closed = rows.select(pl.when(pl.col("status") == "closed").then("status_changed")
                         .otherwise(END))["status_changed"].to_numpy()
    keep = at < closed
    return pl.DataFrame({
        "member_id": rows["member_id"].to_numpy()[keep], "created": at[keep],
        "action": rng.choice(["check_in", "review", "profile"], keep.sum(), p=[0.7, 0.2, 0.1]),
    }).sort("created").with_columns(pl.int_range(1, pl.len() + 1).alias("id"),
                                    points=pl.lit(10))


def ledger(o: pl.DataFrame, recharges: pl.DataFrame, opening_points: pl.DataFrame,
           claims: pl.DataFrame, extras: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Entries (ids in time order) and their postings."""
    parts = [order_ledger(o), opening_ledger(o, recharges, opening_points),
             other_ledger(recharges, claims, extras)]
    entries = pl.concat([e for e, _ in parts]).sort("at", "key") \
        .with_columns(pl.int_range(1, pl.len() + 1).alias("id"))
    postings = pl.concat([p for _, p in parts]).join(
        entries.select("key", entry_id="id"), on="key").sort("entry_id", maintain_order=True) \
        .with_columns(pl.int_range(1, pl.len() + 1).alias("id"))
    return entries, postings


# ---------------------------------------------------------------------------- the tables


def ts(column: str) -> pl.Expr:
    """A UTC instant (µs) as SQLite holds memberops' instants: naive ISO text."""
    return pl.from_epoch(pl.col(column), time_unit="us").dt.strftime(
        "%Y-%m-%d %H:%M:%S%.6f").alias(column)


def digest(column: str) -> pl.Expr:
    """A 64-character request hash standing in for the SHA-256 the services store."""
    return pl.col(column).hash(seed=5).cast(pl.String).str.zfill(64)


def members_table(members: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    final = changes.sort("id").group_by("member_id").agg(pl.col("to_tier").last())
    n = members.height
    referrer = (np.random.default_rng(3).random(n) * np.arange(n)).astype(np.int64) + 1
    return members.join(final, left_on="id", right_on="member_id", how="left",
                        maintain_order="left").select(
        "id", "phone", "name", "email",
        birthday=pl.from_epoch("birthday_days", time_unit="d").dt.strftime("%Y-%m-%d"),
        gender="gender", province="province", city="city", channel="channel",
        referrer_id=pl.when((pl.col("channel") == "referral") & (pl.col("id") > 1))
        .then(pl.Series(referrer)),
        tier=pl.col("to_tier").fill_null("regular"), status="status",
        status_reason=pl.when(pl.col("status") != "active").then(pl.lit("bench")),
        status_changed_at=ts("status_changed"), joined_at=ts("joined"),
        created_at=ts("joined"),
        updated_at=pl.coalesce(ts("status_changed"), ts("joined")))


def orders_table(o: pl.DataFrame) -> pl.DataFrame:
    return o.select(
        "id", "order_ref", request_hash=digest("order_ref"), member_id="member_id",
        store="store", channel="channel", status="status",
        tier=pl.col("level").replace_strict(dict(enumerate(TIERS)), return_dtype=pl.String),
        plus=pl.col("plus").cast(pl.Int64), subtotal="subtotal",
        tier_discount="tier_discount", plus_discount="plus_discount",
        coupon_discount="coupon_discount",
        coupons=pl.when(pl.col("code").is_not_null()).then(pl.format('["{}"]', "code"))
        .otherwise(pl.lit("[]")),
        points_used="points_value", points_value="points_value", wallet_paid="wallet_paid",
        external_paid="external_paid", points_earned="points_earned", refunded="refunded",
        refunded_points="refunded_points_value",
        refunded_points_value="refunded_points_value", refunded_wallet="refunded_wallet",
        refunded_external="refunded_external", clawed_points="clawed_points",
        created_at=ts("created"))


def refunds_table(o: pl.DataFrame) -> pl.DataFrame:
    return o.filter(pl.col("refunded") > 0).sort("refund_at").select(
        pl.int_range(1, pl.len() + 1).alias("id"), "refund_ref",
        request_hash=digest("refund_ref"), order_id="id", member_id="member_id",
        amount="refunded", items=pl.lit("[]"), points_returned="refunded_points_value",
        points_value="refunded_points_value", wallet_refunded="refunded_wallet",
        external_refunded="refunded_external", points_clawed="clawed_points",
        coupons_released=pl.lit("[]"), created_at=ts("refund_at"))


def recharges_table(recharges: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    ids = entries.filter(pl.col("kind") == "wallet.recharge").select(
        payment_ref=pl.col("key").str.strip_prefix("recharge:"), entry_id="id")
    status = pl.col("status")
    return recharges.join(ids, on="payment_ref", how="left", maintain_order="left").select(
        "id", "member_id", "payment_ref", "amount", "bonus", bonus_breakdown=pl.lit("{}"),
        referrer_id=pl.lit(None, pl.Int64), referrer_points=pl.lit(0),
        campaign_points=pl.lit(0), status="status",
        payment_status=pl.when(status == "failed").then(pl.lit("failed"))
        .otherwise(pl.lit("confirmed")),
        review_status=pl.when(status == "pending_review").then(pl.lit("held"))
        .when(status == "rejected").then(pl.lit("rejected")).otherwise(pl.lit("none")),
        scheme_version=pl.lit(1), entry_id="entry_id", created_at=ts("created"),
        settled_at=ts("settled"))


def coupons_table(coupons: pl.DataFrame, o: pl.DataFrame) -> pl.DataFrame:
    used = o.filter(pl.col("code").is_not_null()).select(
        order_id="id", order_ref="order_ref", discount="coupon_discount")
    status = pl.when(pl.col("order_id").is_not_null()).then(pl.lit("used")) \
        .when(pl.col("valid_until") < END).then(pl.lit("expired")).otherwise(pl.lit("issued"))
    return coupons.join(used, on="order_id", how="left", maintain_order="left").select(
        id="coupon_id", code=pl.format("C{}", pl.col("coupon_id").cast(pl.String).str.zfill(10)),
        template_id="template", member_id="member_id", status=status,
        source=pl.when(pl.col("template") == 1).then(pl.lit("welcome"))
        .otherwise(pl.lit("campaign")),
        issued_at=ts("issued"), valid_from=ts("issued"), valid_until=ts("valid_until"),
        order_ref="order_ref", discount="discount", used_at=ts("used_at"),
        expired_at=pl.when(status == "expired").then(ts("valid_until")), details=pl.lit("{}"))


def plus_table(plus: pl.DataFrame) -> pl.DataFrame:
    refunded = pl.col("refunded")
    return plus.with_columns(requested=pl.col("refunded_at") - HOUR).select(
        "id", "member_id", plan_code=pl.lit("PLUS"), kind="kind",
        payment_method=pl.lit("external"), payment_ref=pl.format("P{}", "id"),
        price=pl.lit(9_900), starts_at=ts("starts"), ends_at=ts("ends"),
        extra_discount_pct=pl.lit(5), points_multiplier_pct=pl.lit(100),
        cancel_within_days=pl.lit(7),
        refund_status=pl.when(refunded).then(pl.lit("refunded")).otherwise(pl.lit("none")),
        refund_ref=pl.when(refunded).then(pl.format("PR{}", "id")),
        refund_amount=pl.when(refunded).then(9_900).otherwise(0),
        refund_requested_at=ts("requested"), refunded_at=ts("refunded_at"),
        created_at=ts("starts"))


def static_tables(coupons: pl.DataFrame) -> dict[str, pl.DataFrame]:
    start = datetime.fromtimestamp(START / SECOND, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    issued = coupons.group_by("template").len()
    counts = dict(zip(issued["template"].to_list(), issued["len"].to_list(), strict=True))
    templates = pl.DataFrame([
        {"id": 1, "code": "welcome-5", "name": "新人立减5元", "kind": "amount_off",
         "amount_off": 500, "percent_off": None, "max_discount": None, "valid_days": 30},
        {"id": 2, "code": "monthly-90", "name": "月度9折券", "kind": "percent_off",
         "amount_off": None, "percent_off": 10, "max_discount": 1_000, "valid_days": 14}],
        schema_overrides={"amount_off": pl.Int64, "percent_off": pl.Int64,
                          "max_discount": pl.Int64}).with_columns(
        min_spend=pl.lit(0), validity=pl.lit("days"),
        issued=pl.col("id").replace_strict(counts, default=0), stackable=pl.lit(0),
        eligible_tiers=pl.lit("[]"), status=pl.lit("active"), created_at=pl.lit(start),
        updated_at=pl.lit(start))
    gifts = pl.DataFrame({"id": [1, 2], "sku": ["GIFT-MUG", "GIFT-BEANS"],
                          "name": ["马克杯", "咖啡豆 250g"], "points_price": [500, 1_500],
                          "stock": [100_000, 100_000], "active": [1, 1],
                          "created_at": [start] * 2, "updated_at": [start] * 2})
    return {"coupon_templates": templates, "gift_items": gifts}


def ledger_tables(entries: pl.DataFrame, postings: pl.DataFrame, claims: pl.DataFrame,
                  extras: pl.DataFrame) -> dict[str, pl.DataFrame]:
    gift_entries = entries.filter(pl.col("kind") == "points.gift").select(
        ref=pl.col("key").str.strip_prefix("gift:G").cast(pl.Int64), entry_id="id")
    gifts = extras.filter(pl.col("kind") == "gift").join(gift_entries, on="ref") \
        .sort("at").select(
            pl.int_range(1, pl.len() + 1).alias("id"), "member_id",
            gift_id=pl.when(pl.col("amount") == 500).then(1).otherwise(2),
            quantity=pl.lit(1), points="amount", redemption_ref=pl.format("G{}", "ref"),
            entry_id="entry_id", created_at=ts("at"), details=pl.lit("{}"))
    return {
        "ledger_entries": entries.select(
            "id", idempotency_key="key", input_hash=digest("key"), kind="kind",
            reference="reference", details=pl.lit("{}"), actor=pl.lit("system:bench"),
            created_at=ts("at")),
        "ledger_postings": postings.select("id", "entry_id", "source", "destination", "asset",
                                           "amount"),
        "points_bonus_claims": claims.select(
            "id", "member_id", "action",
            period=pl.from_epoch(pl.col("created") + OFFSET, time_unit="us")
            .dt.strftime("%Y-%m-%d"), points="points", created_at=ts("created")),
        "gift_redemptions": gifts}


def tier_changes_table(changes: pl.DataFrame) -> pl.DataFrame:
    return changes.select("id", "member_id", "from_tier", "to_tier", reason=pl.lit("upgrade"),
                          details=pl.lit("{}"), actor=pl.lit("system"), at=ts("at"))


# ---------------------------------------------------------------------------- generation


def marketing_spend(members: pl.DataFrame) -> list[dict[str, Any]]:
    """What each paid channel cost per month: its new members times a CAC of ¥15–40,
    rounded to the yuan (programme configuration `marketing_spend`)."""
    month = pl.from_epoch(pl.col("joined") + OFFSET, time_unit="us").dt.strftime("%Y-%m")
    new = members.filter(pl.col("channel").is_in(list(CAC_FEN))).group_by(
        "channel", month.alias("month")).len().sort("channel", "month")
    return [{"channel": c, "month": m, "amount": round(n * CAC_FEN[c] * 1.0 / 100) * 100}
            for c, m, n in new.iter_rows()]


def build(members_n: int, orders_n: int, seed: int) -> tuple[dict[str, pl.DataFrame],
                                                               dict[str, Any]]:
    """Every table's rows, as they are written, and what the run needs to know of them."""
    rng = np.random.default_rng(seed)
    members = gen_members(rng, members_n)
    log(f"{members_n:,} members")
    orders, alpha = gen_purchases(rng, members, orders_n)
    log(f"{orders_n:,} orders drawn (BG/NBD: r {R_SHAPE}, α {alpha:.1f} days, "
        f"a {DROP_A}, b {DROP_B})")
    members = member_status(rng, members, orders)
    o = base_orders(rng, orders, members)
    changes = tier_changes(o)
    plus = gen_plus(rng, o)
    coupons = gen_coupons(rng, members, o)
    o = price_orders(o, plus_flag(o, plus), coupons)
    o, opening_points, extras = points_plan(rng, o, members)
    o = refund_plan(rng, o)
    log("tiers, PLUS, coupons, points priced; stored value, member by member …")
    o, recharges = wallet_loop(rng, o, members)
    o = settle_orders(o).with_columns(
        order_ref=pl.format("O{}", pl.col("id").cast(pl.String).str.zfill(10)),
        refund_ref=pl.format("F{}", pl.col("id").cast(pl.String).str.zfill(10)))
    recharges = recharges.with_columns(
        payment_ref=pl.format("R{}", pl.col("id").cast(pl.String).str.zfill(9)),
        settled=pl.when(pl.col("status") == "settled").then(pl.col("created") + 2 * SECOND))
    claims = bonus_claims(rng, o, members)
    entries, postings = ledger(o, recharges, opening_points, claims, extras)
    log(f"ledger: {entries.height:,} entries, {postings.height:,} postings")
    tables = {
        "members": members_table(members, changes),
        **static_tables(coupons),
        "orders": orders_table(o),
        "order_refunds": refunds_table(o),
        "recharges": recharges_table(recharges, entries),
        "coupons": coupons_table(coupons, o),
        "plus_periods": plus_table(plus),
        "tier_changes": tier_changes_table(changes),
        **ledger_tables(entries, postings, claims, extras),
    }
    facts = {"bgnbd_alpha_days": alpha, "spend": marketing_spend(members)}
    return tables, facts


def write_db(path: Path, tables: dict[str, pl.DataFrame], chunk: int = 250_000) -> None:
    """Raw sqlite3 into the migrated schema: the indexes are dropped, every table written
    in large transactions with executemany, and the indexes built again."""
    from memberops import migrate

    url = fresh_sqlite(path.name)
    migrate.upgrade(url)
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                   "cache_size=-2000000", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    names = ", ".join(f"'{t}'" for t in tables)
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                           f"sql IS NOT NULL AND tbl_name IN ({names})").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for table, frame in tables.items():
        columns = frame.columns
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        conn.execute("BEGIN")
        for start in range(0, frame.height, chunk):
            part = frame.slice(start, chunk)
            conn.executemany(sql, zip(*(part[c].to_list() for c in columns), strict=True))
            if start and start % (10 * chunk) == 0:
                conn.execute("COMMIT")
                log(f"{table}: {start:,} / {frame.height:,}")
                conn.execute("BEGIN")
        conn.execute("COMMIT")
        log(f"{table}: {frame.height:,} rows")
    started = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    log(f"{len(indexes)} indexes built in {time.perf_counter() - started:.0f} s")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def dataset(members: int, orders: int, seed: int, regenerate: bool) -> tuple[Path, dict[str, Any]]:
    """The database of these sizes: made once (in a process of its own), then reused; its
    facts are kept beside it."""
    WORK.mkdir(exist_ok=True)
    path = WORK / f"analytics-{members}-{orders}.db"
    meta = path.with_suffix(".json")
    wanted = {"members": members, "orders": orders, "seed": seed, "version": GENERATOR_VERSION}
    if not regenerate and path.exists() and meta.exists():
        facts = json.loads(meta.read_text())
        if facts["parameters"] == wanted:
            log(f"reusing {path.name} (generated in {facts['generation_seconds']:.0f} s)")
            return path, facts
    meta.unlink(missing_ok=True)
    log(f"generating {members:,} members and {orders:,} orders …")
    started = time.perf_counter()
    facts = child("generate", path, "generate", facts={"parameters": wanted})
    facts |= {"parameters": wanted, "generation_seconds": time.perf_counter() - started,
              "file_bytes": path.stat().st_size}
    meta.write_text(json.dumps(facts, indent=1, ensure_ascii=False))
    return path, facts


# ---------------------------------------------------------------------------- ours


def kpi_period() -> Any:
    from memberops.analytics.kpi_period import Period

    return Period(AS_OF - timedelta(days=KPI_DAYS - 1), AS_OF)


def ours_kpis(url: str, facts: dict[str, Any], seconds: dict[str, float]) -> Any:
    """Load the KPI frames and compute the report, as `memberops report kpis` does."""
    from memberops.analytics import kpis
    from memberops.programme.schemas import MarketingSpend

    started = time.perf_counter()
    tables = kpis.load_frames(url)
    seconds["kpi_load"] = time.perf_counter() - started
    started = time.perf_counter()
    report = kpis.compute_kpis(tables, kpi_period(), time_zone=TZ, as_of=AS_OF_INSTANT,
                               spend=MarketingSpend.model_validate({"spend": facts["spend"]}))
    seconds["kpi_compute"] = time.perf_counter() - started
    return report


def reader(name: str) -> None:
    """How ours reads SQLite: over ADBC, as a process that never writes declares
    (`frames.use_adbc_for_sqlite`), or through the app's own sqlite3, row by row, as the
    API server must."""
    from memberops.analytics import frames

    if name == "adbc":
        frames.use_adbc_for_sqlite()


def run_ours_full(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """The full refresh: KPIs, then `insight.refresh` (RFM, lifecycle, CLV, churn)."""
    from memberops.analytics import insight

    url = f"sqlite:///{db}"
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    ours_kpis(url, facts, seconds)
    refreshed = time.perf_counter()
    done = insight.refresh(url, AS_OF, TZ)
    seconds["refresh"] = time.perf_counter() - refreshed
    total = time.perf_counter() - started
    peak = peak_rss_mib()
    model = done.model
    return {"total_seconds": total, "seconds": seconds,
            "refresh_seconds": dict(done.seconds), "peak_rss_mib": peak,
            "members": done.members.height, "notes": list(done.notes),
            "churn": None if model is None else {
                "kind": model.kind, "trained_cutoff": model.cutoff.isoformat(),
                "train_members": model.train_members,
                "train_churn_rate": model.train_churn_rate},
            "scored": int(done.members["churn_probability"].is_not_null().sum()),
            "with_clv": int(done.members["clv_12m"].is_not_null().sum()),
            "stages": dict(zip(done.stages["stage"].to_list(), done.stages["members"].to_list(),
                               strict=True))}


def kpi_figures(report: Any) -> dict[str, Any]:
    """A KPI report as plain data: each period's values and breakdowns, the cohorts."""
    periods = (report.current, report.previous, report.year_ago)
    c = report.cohorts
    return {"periods": [{"from": f.period.first.isoformat(), "to": f.period.last.isoformat(),
                         "values": f.values, "breakdowns": f.breakdowns} for f in periods],
            "cohorts": {"months": c.months, "sizes": c.sizes, "retention": c.retention}}


def run_ours_kpi_rfm(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """The part pandas is compared on: the KPIs and every member's RFM, loads included."""
    from memberops.analytics import purchases, rfm

    url = f"sqlite:///{db}"
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report = ours_kpis(url, facts, seconds)
    step = time.perf_counter()
    store = purchases.load(url, TZ)
    seconds["rfm_load"] = time.perf_counter() - step
    step = time.perf_counter()
    scored = rfm.rfm(store, AS_OF)
    seconds["rfm_compute"] = time.perf_counter() - step
    total = time.perf_counter() - started
    peak = peak_rss_mib()
    if facts["reader"] == "adbc":  # what pandas is checked against
        (WORK / "analytics-ours-kpis.json").write_text(json.dumps(kpi_figures(report)))
        scored.select("member_id", "r_score", "f_score", "m_score", "segment").write_parquet(
            WORK / "analytics-ours-rfm.parquet")
    return {"total_seconds": total, "seconds": seconds, "peak_rss_mib": peak}


def run_summary(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """The calibration summary our refresh fits BG/NBD on (times in days, the buyers it
    samples), written for both fits."""
    from memberops.analytics import purchases as buys

    store = buys.load(f"sqlite:///{db}", TZ)
    summary = buys.clv_input(buys.purchases_as_of(store, AS_OF), AS_OF, 1.0)
    at = buys._sample(summary.frequency.size, buys.FIT_SAMPLE)  # what fit_bgnbd draws
    np.savez(WORK / "analytics-bgnbd-summary.npz", frequency=summary.frequency[at],
             recency=summary.recency[at], T=summary.T[at])
    return {"buyers": int(summary.frequency.size), "fitted_on": int(at.size),
            "mean_frequency": float(summary.frequency[at].mean()),
            "mean_T_days": float(summary.T[at].mean())}


def _summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    found = np.load(WORK / "analytics-bgnbd-summary.npz")
    return found["frequency"], found["recency"], found["T"]


def run_fit_ours(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    from memberops.analytics import clv

    x, t_x, big_t = _summary()
    started = time.perf_counter()
    params = clv.fit_bgnbd(x, t_x, big_t)
    fit = time.perf_counter() - started
    return {"fit_seconds": fit, "peak_rss_mib": peak_rss_mib(),
            "params": {"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b}}


def run_fit_lifetimes(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    import pandas as pd
    from lifetimes import BetaGeoFitter

    imported = time.perf_counter() - started
    x, t_x, big_t = _summary()
    started = time.perf_counter()
    fitter = BetaGeoFitter(penalizer_coef=0.0)
    fitter.fit(pd.Series(x), pd.Series(t_x), pd.Series(big_t))
    fit = time.perf_counter() - started
    import lifetimes

    return {"fit_seconds": fit, "import_seconds": imported, "peak_rss_mib": peak_rss_mib(),
            "version": lifetimes.__version__,
            "params": {k: float(v) for k, v in fitter.params_.items()}}


def peak_rss_mib() -> float:
    """This process's peak resident set, MiB. VmHWM belongs to the process image and
    starts again at exec; getrusage's ru_maxrss does not on Linux — a child started by a
    large parent reports the parent's peak — so it is only the fallback."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- (a) pandas
#
# The same KPIs and RFM as an analyst would write them in pandas: read the columns needed
# with read_sql, then masks, group-bys, maps and merges. Definitions: docs/metrics.md and
# docs/insight.md; the RFM segment grid is memberops' table (a definition, not code).

PANDAS_SQL = {
    "members": ("SELECT id, joined_at, channel, province, status, status_changed_at "
                "FROM members", ["joined_at", "status_changed_at"]),
    "orders": ("SELECT id, member_id, status, subtotal, points_value, wallet_paid, "
               "external_paid, refunded, created_at FROM orders", ["created_at"]),
    "order_refunds": ("SELECT order_id, amount, created_at FROM order_refunds",
                      ["created_at"]),
    "recharges": ("SELECT member_id, amount, bonus, status, settled_at FROM recharges",
                  ["settled_at"]),
    "points_bonus_claims": ("SELECT member_id, created_at FROM points_bonus_claims",
                            ["created_at"]),
    "gift_redemptions": ("SELECT member_id, created_at FROM gift_redemptions", ["created_at"]),
    "coupons": ("SELECT member_id, status, issued_at, used_at, discount FROM coupons",
                ["issued_at", "used_at"]),
    "plus_periods": ("SELECT member_id, starts_at, ends_at, refund_status FROM plus_periods",
                     ["starts_at", "ends_at"]),
    "tier_changes": ("SELECT id, member_id, to_tier, at FROM tier_changes", ["at"]),
    "ledger_entries": ("SELECT id, created_at FROM ledger_entries", ["created_at"]),
    "ledger_postings": ("SELECT entry_id, source, destination, amount FROM ledger_postings",
                        []),
}
ACCOUNT_NAMES = ["points", "points:pending", "wallet:principal", "wallet:bonus"]
POINTS_FLOWS = {"system:points:issued": "issued", "system:points:redeemed": "redeemed",
                "system:points:expired": "expired"}
KPI_UNITS_ROUNDED = {  # money, counts and points are whole numbers in the report
    "members_total", "members_new", "members_active_30d", "members_active_90d",
    "members_paid", "orders", "gmv", "net_sales", "refunded", "members_active", "arpu",
    "average_order_value", "buyers", "conversion_30d_members", "recharges",
    "recharge_members", "recharge_amount", "recharge_bonus_cost", "outstanding_principal",
    "outstanding_bonus", "outstanding_stored_value", "points_issued", "points_redeemed",
    "points_expired", "points_available", "points_pending", "points_outstanding",
    "coupons_issued", "coupons_redeemed", "coupon_discount_cost", "marketing_spend", "cac",
    "ltv"}


def pandas_read(db: Path) -> dict[str, Any]:
    import pandas as pd

    conn = sqlite3.connect(db)
    try:
        return {name: pd.read_sql(sql, conn, parse_dates={
            c: {"format": "ISO8601", "utc": True} for c in dates})
            for name, (sql, dates) in PANDAS_SQL.items()}
    finally:
        conn.close()


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


class PandasKpis:
    """The KPIs of a period in pandas (no filters: the benchmark reports on everyone)."""

    def __init__(self, t: dict[str, Any], as_of: Any, spend: list[dict[str, Any]]) -> None:
        import pandas as pd

        self.pd, self.as_of, self.spend = pd, as_of, spend
        m = t["members"]
        closed = m["status"] == "closed"
        m["closed_at"] = m["status_changed_at"].where(closed)
        m.loc[closed & m["closed_at"].isna(), "closed_at"] = m["joined_at"]
        self.members = m
        o = t["orders"]
        o["net"] = o["points_value"] + o["wallet_paid"] + o["external_paid"] - o["refunded"]
        self.orders = o
        c = o[o["status"] != "refunded"].sort_values(["member_id", "created_at"])
        c["gap_days"] = c.groupby("member_id")["created_at"].diff().dt.total_seconds() / 86_400
        self.counted = c
        self.first_order = c.groupby("member_id")["created_at"].min()
        r = t["recharges"]
        self.recharges = r[r["status"] == "settled"].rename(columns={"settled_at": "at"})
        self.activity = pd.concat([
            o[["member_id", "created_at"]].rename(columns={"created_at": "at"}),
            self.recharges[["member_id", "at"]],
            t["points_bonus_claims"].rename(columns={"created_at": "at"}),
            t["gift_redemptions"].rename(columns={"created_at": "at"})])
        self.moves = self._moves(t["ledger_postings"], t["ledger_entries"])
        self.coupons = t["coupons"]
        p = t["plus_periods"]
        self.plus = p[p["refund_status"] == "none"]
        self.tier_changes = t["tier_changes"]

    def _moves(self, postings: Any, entries: Any) -> Any:
        p = postings.merge(entries.rename(columns={"id": "entry_id", "created_at": "at"}),
                           on="entry_id")
        into = p[p["destination"].str.startswith("member:")]
        out = p[p["source"].str.startswith("member:")]
        moves = self.pd.concat([
            self.pd.DataFrame({"address": into["destination"], "other": into["source"],
                               "delta": into["amount"], "at": into["at"]}),
            self.pd.DataFrame({"address": out["source"], "other": out["destination"],
                               "delta": -out["amount"], "at": out["at"]})])
        account = moves["address"].str.extract(r"^member:\d+:(.+)$")[0]
        moves["account"] = account.where(account.isin(ACCOUNT_NAMES))
        moves["flow"] = moves["other"].map(POINTS_FLOWS)
        return moves

    def figures(self, start: Any, end: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        until = min(end, self.as_of)
        tc = self.tier_changes
        tiers = tc[tc["at"] < end].sort_values(["at", "id"]).drop_duplicates(
            "member_id", keep="last").set_index("member_id")["to_tier"]
        m = self.members
        m = m.assign(tier=m["id"].map(tiers).fillna("regular"))
        pop = m[(m["joined_at"] < end) & (m["closed_at"].isna() | (m["closed_at"] >= end))]
        new = m[(m["joined_at"] >= start) & (m["joined_at"] < end)]
        v: dict[str, Any] = {}
        b: dict[str, Any] = {}
        self._members(v, b, m, pop, new, start, until)
        self._behaviour(v, pop, new, start, end, until)
        self._stored_value(v, pop, start, end)
        self._ledger(v, start, end)
        self._coupons(v, start, end)
        self._acquisition(v, b, pop, new, start, end)
        return {k: (None if x is None else round(x) if k in KPI_UNITS_ROUNDED else float(x))
                for k, x in v.items()}, b

    def _active(self, pop: Any, start: Any, end: Any) -> int:
        a = self.activity
        ids = a.loc[(a["at"] >= start) & (a["at"] < end), "member_id"]
        return int(pop["id"].isin(ids).sum())

    def _members(self, v: dict[str, Any], b: dict[str, Any], m: Any, pop: Any, new: Any,
                 start: Any, until: Any) -> None:
        at_start = int(((m["joined_at"] < start)
                        & (m["closed_at"].isna() | (m["closed_at"] >= start))).sum())
        v["members_total"], v["members_new"] = len(pop), len(new)
        v["members_growth_rate"] = _ratio(len(pop) - at_start, at_start)
        for days in (30, 90):
            active = self._active(pop, until - self.pd.Timedelta(days=days), until)
            v[f"members_active_{days}d"] = active
            v[f"active_ratio_{days}d"] = _ratio(active, len(pop))
        p = self.plus
        paying = p.loc[(p["starts_at"] < until) & (p["ends_at"] >= until), "member_id"]
        v["members_paid"] = int(pop["id"].isin(paying).sum())
        v["paid_ratio"] = _ratio(v["members_paid"], len(pop))

        def counts(column: Any) -> dict[str, int]:
            return {k: int(n) for k, n in column.fillna("unknown").value_counts().items()}

        b["members_new_by_channel"] = counts(new["channel"])
        b["members_by_tier"] = counts(pop["tier"])
        b["members_by_region"] = counts(pop["province"])

    def _behaviour(self, v: dict[str, Any], pop: Any, new: Any, start: Any, end: Any,
                   until: Any) -> None:
        o = self.orders
        placed = o[(o["created_at"] >= start) & (o["created_at"] < end)]
        counted = placed[placed["status"] != "refunded"]
        net = int(placed["net"].sum())
        active = self._active(pop, start, until)
        per_buyer = counted.groupby("member_id").size()
        c = self.counted
        gaps = c.loc[(c["created_at"] >= start) & (c["created_at"] < end), "gap_days"].dropna()
        window = self.pd.Timedelta(days=30)
        joined = new[new["joined_at"] + window <= self.as_of]
        firsts = joined["id"].map(self.first_order)
        converted = int((firsts < joined["joined_at"] + window).sum())
        v |= {"orders": len(counted), "gmv": int(placed["subtotal"].sum()), "net_sales": net,
              "refunded": int(placed["refunded"].sum()), "members_active": active,
              "arpu": _ratio(net, active), "average_order_value": _ratio(net, len(counted)),
              "buyers": len(per_buyer),
              "repurchase_rate": _ratio(int((per_buyer >= 2).sum()), len(per_buyer)),
              "repurchase_cycle_days": float(gaps.median()) if len(gaps) else None,
              "conversion_30d_members": len(joined),
              "conversion_30d": _ratio(converted, len(joined))}

    def _stored_value(self, v: dict[str, Any], pop: Any, start: Any, end: Any) -> None:
        r = self.recharges[self.recharges["at"] < end]
        in_period = r[r["at"] >= start]
        ever = r.loc[r["member_id"].isin(pop["id"]), "member_id"].nunique()
        times = r.groupby("member_id").size()
        rechargers = times[times.index.isin(in_period["member_id"])]
        v |= {"recharge_conversion": _ratio(ever, len(pop)), "recharges": len(in_period),
              "recharge_members": len(rechargers),
              "re_recharge_rate": _ratio(int((rechargers >= 2).sum()), len(rechargers)),
              "recharge_amount": int(in_period["amount"].sum()),
              "recharge_bonus_cost": int(in_period["bonus"].sum())}

    def _ledger(self, v: dict[str, Any], start: Any, end: Any) -> None:
        moves = self.moves[self.moves["at"] < end]
        held = moves.groupby("account")["delta"].sum()
        flows = moves[moves["at"] >= start].groupby("flow")["delta"].sum()
        v |= {"outstanding_principal": int(held.get("wallet:principal", 0)),
              "outstanding_bonus": int(held.get("wallet:bonus", 0)),
              "points_available": int(held.get("points", 0)),
              "points_pending": int(held.get("points:pending", 0))}
        v["outstanding_stored_value"] = v["outstanding_principal"] + v["outstanding_bonus"]
        v["points_outstanding"] = v["points_available"] + v["points_pending"]
        v |= {"points_issued": int(flows.get("issued", 0)),
              "points_redeemed": -int(flows.get("redeemed", 0)),
              "points_expired": -int(flows.get("expired", 0))}

    def _coupons(self, v: dict[str, Any], start: Any, end: Any) -> None:
        c = self.coupons
        issued = c[(c["issued_at"] >= start) & (c["issued_at"] < end)]
        redeemed = c[(c["status"] == "used") & (c["used_at"] >= start) & (c["used_at"] < end)]
        v |= {"coupons_issued": len(issued), "coupons_redeemed": len(redeemed),
              "coupon_redemption_rate": _ratio(int((issued["status"] == "used").sum()),
                                               len(issued)),
              "coupon_discount_cost": int(redeemed["discount"].fillna(0).sum())}

    def _spent(self, start: Any, end: Any) -> dict[str, float]:
        first = start.tz_convert(TZ).date()
        last = (end.tz_convert(TZ) - self.pd.Timedelta(days=1)).date()
        spent: dict[str, float] = {}
        for row in self.spend:
            month = self.pd.Period(row["month"], freq="M")
            lo, hi = month.start_time.date(), month.end_time.date()
            overlap = (min(hi, last) - max(lo, first)).days + 1
            if overlap > 0:
                spent[row["channel"]] = spent.get(row["channel"], 0.0) + \
                    row["amount"] * overlap / month.days_in_month
        return spent

    def _acquisition(self, v: dict[str, Any], b: dict[str, Any], pop: Any, new: Any,
                     start: Any, end: Any) -> None:
        spent = self._spent(start, end)
        new_by = b["members_new_by_channel"]
        total = sum(spent.values())
        v["marketing_spend"] = round(total) if spent else None
        cac = _ratio(total, len(new)) if spent else None
        v["cac"] = None if cac is None else round(cac)
        b["cac_by_channel"] = {
            ch: (None if not new_by.get(ch) else round(a / new_by[ch]))
            for ch, a in sorted(spent.items())}
        c = self.counted
        sales = c[c["created_at"] < end].groupby("member_id")["net"].sum()
        per_member = pop[["id", "channel"]].assign(net=pop["id"].map(sales).fillna(0))
        ltv = round(per_member["net"].mean()) if len(per_member) else None
        v["ltv"] = ltv
        v["ltv_to_cac"] = None if ltv is None or not v["cac"] else ltv / v["cac"]
        b["ltv_by_channel"] = {k: round(x) for k, x in
                               per_member.groupby("channel")["net"].mean().items()}

    def cohorts(self, first: date, last: date, offsets: int = 12) -> dict[str, Any]:
        def month(instants: Any) -> Any:
            local = instants.dt.tz_convert(TZ)
            return local.dt.year * 12 + local.dt.month - 1

        lo, hi = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1
        now_local = self.as_of.tz_convert(TZ)
        now = now_local.year * 12 + now_local.month - 1
        m = self.members
        joined = self.pd.DataFrame({"member_id": m["id"], "cohort": month(m["joined_at"])})
        joined = joined[(joined["cohort"] >= lo) & (joined["cohort"] <= hi)]
        buying = self.counted.merge(joined, on="member_id")
        buying["offset"] = month(buying["created_at"]) - buying["cohort"]
        buying = buying[(buying["offset"] >= 0) & (buying["offset"] < offsets)]
        cells = buying.drop_duplicates(["member_id", "cohort", "offset"]).groupby(
            ["cohort", "offset"]).size()
        sizes = joined.groupby("cohort").size()
        months, counts, matrix = [], [], []
        for cohort in range(lo, hi + 1):
            size = int(sizes.get(cohort, 0))
            months.append(f"{cohort // 12:04d}-{cohort % 12 + 1:02d}")
            counts.append(size)
            matrix.append([None if cohort + k > now or not size
                           else int(cells.get((cohort, k), 0)) / size
                           for k in range(offsets)])
        return {"months": months, "sizes": counts, "retention": matrix}


def pandas_periods(pd: Any) -> list[tuple[date, date]]:
    first = AS_OF - timedelta(days=KPI_DAYS - 1)
    previous = (first - timedelta(days=KPI_DAYS), first - timedelta(days=1))
    year_ago = (first.replace(year=first.year - 1), AS_OF.replace(year=AS_OF.year - 1))
    return [(first, AS_OF), previous, year_ago]


def pandas_kpis(t: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    as_of = pd.Timestamp(AS_OF_INSTANT).tz_convert("UTC")
    k = PandasKpis(t, as_of, facts["spend"])
    periods = []
    for first, last in pandas_periods(pd):
        start = pd.Timestamp(first, tz=TZ).tz_convert("UTC")
        end = pd.Timestamp(last + timedelta(days=1), tz=TZ).tz_convert("UTC")
        values, breakdowns = k.figures(start, end)
        periods.append({"from": first.isoformat(), "to": last.isoformat(), "values": values,
                        "breakdowns": breakdowns})
    return {"periods": periods, "cohorts": k.cohorts(*pandas_periods(pd)[0])}


def pandas_rfm(t: dict[str, Any]) -> Any:
    """R, F, M scores and segments as of AS_OF (docs/insight.md): quintiles of ordinal
    ranks (ties in member-id order) among the members who ever bought."""
    import pandas as pd

    from memberops.analytics.rfm import SEGMENT_MAP

    day = pd.Timestamp(AS_OF)

    def local_day(instants: Any) -> Any:
        return instants.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()

    m = t["members"]
    members = m.loc[local_day(m["joined_at"]) <= day, "id"].sort_values()
    r = t["order_refunds"]
    refunded = r[local_day(r["created_at"]) <= day].groupby("order_id")["amount"].sum()
    o = t["orders"]
    bought = pd.DataFrame({"member_id": o["member_id"], "day": local_day(o["created_at"]),
                           "net": o["points_value"] + o["wallet_paid"] + o["external_paid"]
                           - o["id"].map(refunded).fillna(0)})
    bought = bought[(bought["day"] <= day) & (bought["net"] > 0)]
    window = bought[bought["day"] > day - pd.Timedelta(days=365)]
    s = pd.DataFrame(index=pd.Index(members, name="member_id"))
    s["last"] = bought.groupby("member_id")["day"].max()
    s["frequency"] = window.groupby("member_id").size()
    s["monetary"] = window.groupby("member_id")["net"].sum()
    s[["frequency", "monetary"]] = s[["frequency", "monetary"]].fillna(0)
    buyers = s[s["last"].notna()].copy()
    buyers["recency"] = (day - buyers["last"]).dt.days
    n = len(buyers)

    def score(column: str) -> Any:
        rank = buyers[column].rank(method="first").astype("int64")
        if n == 1:
            return rank * 0 + 3
        return np.maximum((5 * (rank - 1) + n - 2) // (n - 1), 1)

    buyers["r_score"] = 6 - score("recency")
    buyers["f_score"] = score("frequency")
    buyers["m_score"] = score("monetary")
    codes = {r * 10 + f: seg for (r, f), seg in SEGMENT_MAP.items()}
    buyers["segment"] = (buyers["r_score"] * 10 + buyers["f_score"]).map(codes)
    out = s.join(buyers[["r_score", "f_score", "m_score", "segment"]])
    out["segment"] = out["segment"].fillna("no_purchases")
    return out.reset_index()


def run_pandas(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    t = pandas_read(db)
    seconds["read_sql"] = time.perf_counter() - started
    step = time.perf_counter()
    figures = pandas_kpis(t, facts)
    seconds["kpis"] = time.perf_counter() - step
    step = time.perf_counter()
    scored = pandas_rfm(t)
    seconds["rfm"] = time.perf_counter() - step
    total = time.perf_counter() - started
    peak = peak_rss_mib()
    (WORK / "analytics-pandas-kpis.json").write_text(json.dumps(figures))
    scored.to_parquet(WORK / "analytics-pandas-rfm.parquet")
    return {"total_seconds": total, "seconds": seconds, "peak_rss_mib": peak,
            "pandas": pd.__version__}


# ---------------------------------------------------------------------------- comparing


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=1e-12))


def compare_kpis(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Every value, breakdown and cohort cell that differs (empty: they all agree)."""
    wrong = []
    for i, (mine, other) in enumerate(zip(ours["periods"], theirs["periods"], strict=True)):
        name = ("current", "previous", "year_ago")[i]
        for key in sorted(set(mine["values"]) | set(other["values"])):
            a, b = mine["values"].get(key, "missing"), other["values"].get(key, "missing")
            if not _same(a, b):
                wrong.append(f"{name} {key}: ours {a}, pandas {b}")
        for key in sorted(set(mine["breakdowns"]) | set(other["breakdowns"])):
            a, b = mine["breakdowns"].get(key, {}), other["breakdowns"].get(key, {})
            if set(a) != set(b) or not all(_same(a[k], b[k]) for k in a):
                wrong.append(f"{name} {key}: ours {a}, pandas {b}")
    a, b = ours["cohorts"], theirs["cohorts"]
    if a["months"] != b["months"] or a["sizes"] != b["sizes"]:
        wrong.append(f"cohorts: ours {a['months']} {a['sizes']}, pandas {b['months']} "
                     f"{b['sizes']}")
    cells = [(x, y) for row, other in zip(a["retention"], b["retention"], strict=True)
             for x, y in zip(row, other, strict=True)]
    wrong += [f"cohort cell: ours {x}, pandas {y}" for x, y in cells if not _same(x, y)]
    return wrong


def compare_rfm() -> dict[str, Any]:
    ours = pl.read_parquet(WORK / "analytics-ours-rfm.parquet")
    theirs = pl.read_parquet(WORK / "analytics-pandas-rfm.parquet").select(
        "member_id", *[pl.col(c).cast(pl.Int8).alias(f"{c}_pd")
                       for c in ("r_score", "f_score", "m_score")],
        segment_pd="segment")
    both = ours.join(theirs, on="member_id", how="full", coalesce=True)
    differs = pl.lit(False)
    for c in ("r_score", "f_score", "m_score", "segment"):
        differs = differs | pl.col(c).ne_missing(pl.col(f"{c}_pd"))
    wrong = both.filter(differs)
    return {"members": both.height, "differ": wrong.height,
            "examples": wrong.head(5).to_dicts()}


def bgnbd_log_likelihoods(ours: dict[str, float], theirs: dict[str, float]
                          ) -> dict[str, float]:
    """The summary's total log-likelihood at each parameter set (the higher fits better)."""
    from memberops.analytics import clv

    x, t_x, big_t = _summary()

    def total(p: dict[str, float]) -> float:
        params = clv.BgNbdParams(r=p["r"], alpha=p["alpha"], a=p["a"], b=p["b"],
                                 log_likelihood=0.0)
        return float(clv.bgnbd_log_likelihood(params, x, t_x, big_t).sum())

    return {"ours": total(ours), "lifetimes": total(theirs)}


# ---------------------------------------------------------------------------- the run

def run_generate(db: Path, facts: dict[str, Any]) -> dict[str, Any]:
    p = facts["parameters"]
    tables, found = build(p["members"], p["orders"], p["seed"])
    started = time.perf_counter()
    write_db(db, tables)
    return found | {"write_seconds": time.perf_counter() - started,
                    "rows": {t: f.height for t, f in tables.items()},
                    "peak_rss_mib": peak_rss_mib()}


CHILDREN = {"generate": run_generate, "ours_full": run_ours_full,
            "ours_kpi_rfm": run_ours_kpi_rfm, "pandas": run_pandas, "summary": run_summary,
            "fit_ours": run_fit_ours, "fit_lifetimes": run_fit_lifetimes}
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1"}
# label: (part, how ours reads SQLite, environment). The first of each part is the
# measurement; "_blas1" runs the same with one OpenBLAS thread (see the Markdown).
RUNS: dict[str, tuple[str, str, dict[str, str]]] = {
    "ours_full": ("ours_full", "adbc", {}),
    "ours_full_blas1": ("ours_full", "adbc", ONE_BLAS_THREAD),
    "ours_kpi_rfm": ("ours_kpi_rfm", "adbc", {}),
    "ours_kpi_rfm_sqlite3": ("ours_kpi_rfm", "sqlite3", {}),
    "pandas": ("pandas", "", {}),
    "summary": ("summary", "adbc", {}),
    "fit_ours": ("fit_ours", "", {}),
    "fit_lifetimes": ("fit_lifetimes", "", {}),
    "fit_ours_blas1": ("fit_ours", "", ONE_BLAS_THREAD),
    "fit_lifetimes_blas1": ("fit_lifetimes", "", ONE_BLAS_THREAD),
}


def child(label: str, db: Path, part: str, how: str = "", env: dict[str, str] | None = None,
          facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one part in a fresh interpreter (its own peak RSS); its answer is its last line."""
    log(f"{label} …")
    started = time.perf_counter()
    args = [sys.executable, __file__, "--child", part, "--db", str(db), "--reader", how]
    if facts is not None:
        args += ["--facts", json.dumps(facts)]
    done = subprocess.run(args, capture_output=part != "generate", text=True,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        sys.stderr.write((done.stdout or "") + (done.stderr or ""))
        raise SystemExit(f"{label} failed")
    if part == "generate":
        return json.loads(db.with_suffix(".answer").read_text())
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer["process_seconds"] = time.perf_counter() - started
    return answer


def warm(path: Path) -> float:
    """Read the database once so that every run finds it in the page cache."""
    started = time.perf_counter()
    for part in (path, Path(f"{path}-wal")):
        if part.exists():
            with part.open("rb") as fh:
                while fh.read(1 << 24):
                    pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20260331)
    parser.add_argument("--regenerate", action="store_true", help="make the data set again")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="", help=argparse.SUPPRESS)
    parser.add_argument("--facts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        facts = json.loads(args.facts or args.db.with_suffix(".json").read_text())
        facts["reader"] = args.reader
        reader(args.reader)
        answer = json.dumps(CHILDREN[args.child](args.db, facts), default=str)
        if args.child == "generate":
            args.db.with_suffix(".answer").write_text(answer)
        else:
            print(answer)
        return
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = machine()
    from memberops.analytics import frames

    results["readers"] = frames.READERS
    path, facts = dataset(args.members, args.orders, args.seed, args.regenerate)
    results["data"] = {k: facts[k] for k in ("parameters", "generation_seconds",
                                             "write_seconds", "rows", "file_bytes",
                                             "bgnbd_alpha_days")}
    results["data"] |= {"as_of": AS_OF.isoformat(), "ledger_days": LEDGER_DAYS,
                        "warm_read_seconds": warm(path)}
    runs = {label: child(label, path, *how) for label, how in RUNS.items()}
    results["runs"] = runs
    ours = json.loads((WORK / "analytics-ours-kpis.json").read_text())
    theirs = json.loads((WORK / "analytics-pandas-kpis.json").read_text())
    kpi_wrong = compare_kpis(ours, theirs)
    results["agreement"] = {"kpi_values_compared": sum(len(p["values"])
                                                       for p in ours["periods"]),
                            "kpi_differences": kpi_wrong, "rfm": compare_rfm()}
    fit_ours, fit_theirs = runs["fit_ours"]["params"], runs["fit_lifetimes"]["params"]
    results["bgnbd"] = {
        "max_relative_difference": max(abs(fit_theirs[k] / fit_ours[k] - 1)
                                       for k in ("r", "alpha", "a", "b")),
        "log_likelihood": bgnbd_log_likelihoods(fit_ours, fit_theirs)}
    ours_compute = sum(runs["ours_kpi_rfm"]["seconds"][k] for k in ("kpi_compute",
                                                                     "rfm_compute"))
    results["ratios"] = {
        "pandas_over_ours": runs["pandas"]["total_seconds"]
        / runs["ours_kpi_rfm"]["total_seconds"],
        "pandas_over_ours_compute_only": (runs["pandas"]["seconds"]["kpis"]
                                          + runs["pandas"]["seconds"]["rfm"]) / ours_compute,
        "lifetimes_over_ours": runs["fit_lifetimes"]["fit_seconds"]
        / runs["fit_ours"]["fit_seconds"]}
    write(results)
    if kpi_wrong or results["agreement"]["rfm"]["differ"]:
        raise SystemExit("pandas and ours disagree: see bench/results/analytics.md")


def _s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def _stage_rows(full: dict[str, Any], one: dict[str, Any]) -> list[str]:
    stages = [
        ("KPIs: load the frames (ADBC)", "seconds", "kpi_load"),
        ("KPIs: compute (30 days, the 30 before, a year before; breakdowns, cohorts)",
         "seconds", "kpi_compute"),
        ("refresh: load the purchases' frames (ADBC)", "refresh_seconds", "load"),
        ("refresh: purchases as of the date", "refresh_seconds", "purchases"),
        ("refresh: RFM", "refresh_seconds", "rfm"),
        ("refresh: lifecycle and value pyramid", "refresh_seconds", "lifecycle"),
        ("refresh: BG/NBD summary and fit", "refresh_seconds", "bgnbd"),
        ("refresh: CLV (Gamma-Gamma fit, every buyer's predictions)", "refresh_seconds",
         "clv"),
        ("refresh: churn model trained (features and labels at as-of − 90 days)",
         "refresh_seconds", "churn_train"),
        ("refresh: churn features as of the date", "refresh_seconds", "churn_features"),
        ("refresh: churn scores", "refresh_seconds", "churn_score")]
    rows = [f"| {label} | {_s(full[part].get(key, 0))} | {_s(one[part].get(key, 0))} |"
            for label, part, key in stages]
    return [*rows, f"| **total** | **{_s(full['total_seconds'])}** | "
                   f"**{_s(one['total_seconds'])}** |",
            f"| peak RSS | {full['peak_rss_mib']:,.0f} MiB | {one['peak_rss_mib']:,.0f} MiB |"]


def _data_lines(results: dict[str, Any]) -> list[str]:
    d = results["data"]
    rows = d["rows"]
    return [
        "## Data set", "",
        f"{rows['members']:,} members, {rows['orders']:,} orders over three years to "
        f"{d['as_of']} ({rows['order_refunds']:,} refunds, {rows['recharges']:,} recharges, "
        f"{rows['coupons']:,} coupons, {rows['plus_periods']:,} PLUS periods, "
        f"{rows['tier_changes']:,} tier changes, {rows['points_bonus_claims']:,} bonus "
        f"claims; the last {d['ledger_days']} days' ledger: {rows['ledger_entries']:,} "
        f"entries, {rows['ledger_postings']:,} postings). SQLite file "
        f"{d['file_bytes'] / 2**30:.2f} GiB, generated in {d['generation_seconds']:.0f} s "
        f"({d['write_seconds']:.0f} s of it writing with sqlite3 and building the indexes; "
        f"not part of any comparison). Each run below is a process of its own reading the "
        f"file from the page cache (read once beforehand, {d['warm_read_seconds']:.1f} s).",
        ""]


def _full_lines(runs: dict[str, Any]) -> list[str]:
    full = runs["ours_full"]
    churn = full["churn"] or {}
    return [
        "## Ours: the full refresh", "",
        "KPIs (`load_frames` + `compute_kpis`), then `insight.refresh`. The second column "
        "is the same run with `OPENBLAS_NUM_THREADS=1` (see below).", "",
        "| stage | seconds | one BLAS thread |", "|---|---|---|",
        *_stage_rows(full, runs["ours_full_blas1"]), "",
        f"{full['members']:,} members refreshed: {full['with_clv']:,} with a CLV, "
        f"{full['scored']:,} with a churn probability. The churn model "
        f"({churn.get('kind')}) is trained in the same refresh (none is given to "
        f"`refresh`): on {churn.get('train_members', 0):,} members sampled at the cutoff "
        f"{churn.get('trained_cutoff')}, then every member is scored as of the date."
        + (f" Notes: {full['notes']}" if full["notes"] else ""), ""]


def _pandas_lines(results: dict[str, Any]) -> list[str]:
    runs, agreement = results["runs"], results["agreement"]
    kr, kq, pd_ = runs["ours_kpi_rfm"], runs["ours_kpi_rfm_sqlite3"], runs["pandas"]
    rfm_ = agreement["rfm"]

    def read(run: dict[str, Any]) -> str:
        return _s(run["seconds"]["kpi_load"] + run["seconds"]["rfm_load"])

    agree = ("Every KPI value (" + f"{agreement['kpi_values_compared']} over the three "
             "periods), breakdown and cohort cell is the same in both"
             if not agreement["kpi_differences"] else
             f"**{len(agreement['kpi_differences'])} KPI figures differ**: "
             + "; ".join(agreement["kpi_differences"][:5]))
    agree += (f"; so are the R, F, M scores and segments of all {rfm_['members']:,} members."
              if not rfm_["differ"] else
              f"; **{rfm_['differ']:,} members' RFM differ** (e.g. {rfm_['examples'][:2]}).")
    return [
        "## (a) KPIs and RFM: ours against pandas", "",
        "| | ours (ADBC) | ours (sqlite3 reader) | pandas |", "|---|---|---|---|",
        f"| read the tables | {read(kr)} | {read(kq)} | {_s(pd_['seconds']['read_sql'])} |",
        f"| KPIs | {_s(kr['seconds']['kpi_compute'])} | {_s(kq['seconds']['kpi_compute'])} | "
        f"{_s(pd_['seconds']['kpis'])} |",
        f"| RFM | {_s(kr['seconds']['rfm_compute'])} | {_s(kq['seconds']['rfm_compute'])} | "
        f"{_s(pd_['seconds']['rfm'])} |",
        f"| **total** | **{_s(kr['total_seconds'])}** | **{_s(kq['total_seconds'])}** | "
        f"**{_s(pd_['total_seconds'])}** |",
        f"| peak RSS | {kr['peak_rss_mib']:,.0f} MiB | {kq['peak_rss_mib']:,.0f} MiB | "
        f"{pd_['peak_rss_mib']:,.0f} MiB |", "",
        f"Ours is **{results['ratios']['pandas_over_ours']:.1f}× faster** than pandas "
        f"(target ≥ 10×); reading through sqlite3 row by row (what a process that also "
        f"writes must do, see `frames.use_adbc_for_sqlite`), "
        f"{pd_['total_seconds'] / kq['total_seconds']:.1f}×. Leaving the reading out, the "
        f"KPIs and RFM compute {results['ratios']['pandas_over_ours_compute_only']:.1f}× "
        f"faster. Ours reads the orders twice (the KPI frames, then the purchases' frames "
        f"for RFM); pandas reads each table once. {agree} pandas {pd_['pandas']}.", ""]


def _fit_lines(results: dict[str, Any]) -> list[str]:
    runs, bg = results["runs"], results["bgnbd"]
    fo, fl = runs["fit_ours"], runs["fit_lifetimes"]
    table = [f"| {name} | {_s(run['fit_seconds'])} | {_s(one['fit_seconds'])} | "
             f"{run['params']['r']:.5f} | {run['params']['alpha']:.4f} | "
             f"{run['params']['a']:.5f} | {run['params']['b']:.5f} | "
             f"{bg['log_likelihood'][key]:,.2f} | {run['peak_rss_mib']:,.0f} MiB |"
             for name, key, run, one in (
                 ("ours (`clv.fit_bgnbd`)", "ours", fo, runs["fit_ours_blas1"]),
                 (f"lifetimes {fl['version']} `BetaGeoFitter`", "lifetimes", fl,
                  runs["fit_lifetimes_blas1"]))]
    s = runs["summary"]
    one_ratio = runs["fit_lifetimes_blas1"]["fit_seconds"] / runs["fit_ours_blas1"]["fit_seconds"]
    return [
        "## (b) BG/NBD: ours against lifetimes", "",
        f"The calibration summary the refresh fits: {s['fitted_on']:,} of {s['buyers']:,} "
        f"buyers (its fixed-seed sample), times in days (mean T {s['mean_T_days']:.0f} days, "
        f"mean repeat purchases {s['mean_frequency']:.2f}); both fit it with no penalty.", "",
        "| | fit seconds | one BLAS thread | r | α (days) | a | b | log-likelihood "
        "| peak RSS |", "|---|---|---|---|---|---|---|---|---|", *table, "",
        f"Ours is **{results['ratios']['lifetimes_over_ours']:.1f}× faster** (target ≥ 5×); "
        f"with one BLAS thread {one_ratio:.1f}×. The parameters differ by at most "
        f"{bg['max_relative_difference']:.2e} (relative). Importing lifetimes (and pandas) "
        f"took {fl['import_seconds']:.2f} s more, outside its fit time.", ""]


def _notes(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    full, one = runs["ours_full"], runs["ours_full_blas1"]
    loads = full["seconds"]["kpi_load"] + full["refresh_seconds"]["load"]
    fo, f1 = runs["fit_ours"], runs["fit_ours_blas1"]
    pd_ = runs["pandas"]
    return [
        "## Notes", "",
        f"- Reading SQLite is most of the time: the full refresh reads the orders twice (the "
        f"KPI frames, then the refresh's own frames), {loads:.0f} s of its "
        f"{full['total_seconds']:.0f} s. Ours reads over {results.get('readers', 1)} ADBC "
        f"connections at once (`frames.READERS`: one per core, up to 4), a table of more "
        f"than a million rows in ranges of its key, all pinned to one instant "
        f"(`frames.pinned_readers`); over one connection the KPI frames took 21.1 s on this "
        f"machine. For (a)'s 10× ours would have to finish in "
        f"{pd_['total_seconds'] / 10:.1f} s, less than reading the KPI frames alone takes "
        f"over ADBC ({full['seconds']['kpi_load']:.1f} s, both cores reading); pandas' "
        f"`read_sql` takes {pd_['seconds']['read_sql']:.0f} s.",
        f"- One BLAS thread: the BG/NBD and Gamma-Gamma objectives (`analytics/clv.py`) are "
        f"dot products (`@`) of vectors as long as the distinct customers; handing each to a "
        f"second OpenBLAS thread cost more than it saved (an earlier run: 1.71 s against "
        f"0.28 s), so the fit limits itself to one BLAS thread (threadpoolctl). This run: "
        f"{fo['fit_seconds']:.2f} s with the default threads and {f1['fit_seconds']:.2f} s "
        f"with `OPENBLAS_NUM_THREADS=1`; the full refresh {full['total_seconds']:.0f} s and "
        f"{one['total_seconds']:.0f} s. lifetimes' fit (autograd) is the same either way.",
        "- Timings depend on what else runs on the machine (the load average before the run "
        "is above); compare runs on the same quiet machine.", ""]


def write(results: dict[str, Any]) -> None:
    (RESULTS / "analytics.json").write_text(json.dumps(results, indent=2, ensure_ascii=False,
                                                       default=str))
    runs = results["runs"]
    memory = [("ours: full refresh", "ours_full"), ("ours: KPIs + RFM", "ours_kpi_rfm"),
              ("ours: KPIs + RFM, sqlite3 reader", "ours_kpi_rfm_sqlite3"),
              ("pandas: KPIs + RFM", "pandas"), ("ours: BG/NBD fit", "fit_ours"),
              ("lifetimes: BG/NBD fit", "fit_lifetimes")]
    lines = [
        "# Analytics benchmarks", "",
        machine_line(results),
        "", *_data_lines(results), *_full_lines(runs), *_pandas_lines(results),
        *_fit_lines(results), *_notes(results),
        "## Peak memory (VmHWM of each process)", "", "| run | peak RSS |", "|---|---|",
        *[f"| {label} | {runs[k]['peak_rss_mib']:,.0f} MiB |" for label, k in memory]]
    (RESULTS / "analytics.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
