"""Order benchmarks: committing an order through the service layer against raw baselines.

    .venv/bin/python bench/orders.py [--seconds 20] [--workers 16] [--pg URL] [--skip-http]

Every order is the full case issue 4 names: a Gold member (a tier floor) with PLUS, a
coupon (9折, 10% off up to ¥50), 500 points used, ¥30 from the wallet, the rest paid
outside; points earned pending, the tier counted, events and audit written.

1. SQLite: the raw `sqlite3` TPC-B-like rate, then `orders.service.place` in a loop (one
   unit of work per order), same pragmas, same run; a cProfile of that loop. The
   ceiling: the statements the service sent, recorded and replayed by raw sqlite3 on a
   copy of the database as it was before them.
2. PostgreSQL: `pgbench -c W` then W worker processes placing orders, started together.
3. HTTP: `POST /api/v1/orders` on a real server over SQLite: one caller, 16 callers,
   then 200 requests/s on a schedule (p50/p99).

Writes bench/results/orders.json and orders.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import timedelta
from multiprocessing import Queue
from typing import Any

from baselines import (
    DEFAULT_PG,
    RESULTS,
    WORK,
    Request,
    fresh_pg,
    fresh_sqlite,
    http_lines,
    http_load,
    machine,
    machine_line,
    pg_cpu_lines,
    pg_workers,
    pgbench,
    profile_top,
    same_statements_raw,
    sqlite_tpcb,
    summary,
)

from memberops import migrate
from memberops.access import service as access_service
from memberops.clock import SystemClock
from memberops.coupons import service as coupons_service
from memberops.db import Database
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.orders import service as orders_service
from memberops.orders.schemas import OrderCreate
from memberops.plus import service as plus_service
from memberops.points import service as points_service
from memberops.tiers import service as tiers_service
from memberops.uow import Actor, UnitOfWork
from memberops.wallet import service as wallet_service

ACTOR = Actor.system("bench")
Members = dict[int, list[str]]  # member id → coupon codes not used yet


def prepare(url: str, members: int, coupons_each: int) -> tuple[Database, Members]:
    """Members with ¥4,000 in the wallet, 100,000 points, a Gold floor, PLUS, and
    `coupons_each` 9折 coupons each — all through the services."""
    migrate.upgrade(url)
    db = Database(url, pool_size=20)
    clock = SystemClock()
    with UnitOfWork(db, actor=ACTOR, clock=clock) as uow:
        template = coupons_service.create_template(uow, {
            "code": "bench-10off", "name": "bench 9折", "kind": "percent_off",
            "percent_off": 10, "max_discount": 5_000, "validity": "days",
            "valid_days": 30, "per_member_limit": None, "quantity": None}).id
    found: Members = {}
    for start in range(0, members, 200):
        with UnitOfWork(db, actor=ACTOR, clock=clock) as uow:
            until = clock.today() + timedelta(days=30)
            for i in range(start, min(members, start + 200)):
                member_id = members_service.register_member(
                    uow, MemberCreate(phone=f"1391{i:07d}")).id
                wallet_service.recharge(uow, member_id=member_id, amount=400_000,
                                        payment_ref=f"seed-{member_id}")
                points_service.adjust(uow, member_id=member_id, points=100_000,
                                      reason="bench points", key=f"seed-pts-{member_id}")
                tiers_service.set_floor(uow, member_id=member_id, tier="gold",
                                        reason="bench member", until=until)
                plus_service.buy(uow, member_id=member_id, plan="PLUS", payment="external",
                                 payment_ref=f"plus-{member_id}")
                found[member_id] = [
                    coupons_service.issue(uow, template_id=template, member_id=member_id).code
                    for _ in range(coupons_each)]
    return db, found


def order_body(member_id: int, code: str, ref: str) -> dict[str, Any]:
    return {"order_ref": ref, "member_id": member_id,
            "items": [{"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": 3_200},
                      {"sku": "CROISSANT", "category": "bakery", "quantity": 1,
                       "unit_price": 1_800}],
            "coupon_codes": [code], "points_to_use": 500, "wallet_amount": 3_000,
            "store": "SH-001", "channel": "store"}


def order_loop(db: Database, members: Members, seconds: float, tag: str,
               latencies: list[float]) -> None:
    clock = SystemClock()
    rng, end, n = random.Random(tag), time.perf_counter() + seconds, 0
    ids = [m for m, codes in members.items() if codes]
    while time.perf_counter() < end and ids:
        member_id = rng.choice(ids)
        code = members[member_id].pop()
        if not members[member_id]:
            ids.remove(member_id)
        n += 1
        body = OrderCreate.model_validate(order_body(member_id, code, f"o-{tag}-{n}"))
        started = time.perf_counter()
        with UnitOfWork(db, actor=ACTOR, clock=clock) as uow:
            placed = orders_service.place(uow, body)
        latencies.append(time.perf_counter() - started)
        assert placed.coupon_discount and placed.points_used and placed.wallet_paid


def _order_worker(url: str, members: Members, seconds: float, tag: str,
                  out: Queue, ready: Queue, go: Any) -> None:  # type: ignore[type-arg]
    db = Database(url, pool_size=2)
    latencies: list[float] = []
    order_loop(db, members, 0.5, f"{tag}-warm", [])
    ready.put(tag)
    go.wait()
    order_loop(db, members, seconds, tag, latencies)
    db.dispose()
    out.put(latencies)


def split(members: Members, parts: int) -> list[Members]:
    """Members dealt out to workers: no coupon is sent by two workers."""
    ids = sorted(members)
    return [{m: members[m] for m in ids[w::parts]} for w in range(parts)]


def http_orders(seconds: float, rate: int, workers: int) -> dict[str, object]:
    needed = int(seconds * (rate + 800))  # three runs: one caller, 16 callers, the schedule
    url = fresh_sqlite("http-orders.db")
    db, members = prepare(url, needed // 4 + 1, 4)
    with UnitOfWork(db, actor=ACTOR, clock=SystemClock()) as uow:
        key = access_service.create_api_key(uow, role="till", name="bench").secret
    db.dispose()
    pairs = [(m, code) for m, codes in members.items() for code in codes]
    random.Random(7).shuffle(pairs)

    def make(n: int) -> Request:
        member_id, code = pairs[n]
        ref = f"http-{n}"
        return ("/orders", {"Authorization": f"Bearer {key}", "Idempotency-Key": ref},
                order_body(member_id, code, ref))

    return http_load(url, workers, "http-orders-server.log", make, seconds, rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--pg", default=os.environ.get("MEMBEROPS_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--http-workers", type=int, default=2, help="server processes")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = machine()

    print("SQLite: raw TPC-B-like …", flush=True)
    raw = sqlite_tpcb(WORK / "tpcb.db", args.seconds)
    print("SQLite: preparing members …", flush=True)
    db, members = prepare(fresh_sqlite("orders-sqlite.db"), 1_000, 40)
    print("SQLite: orders through the service …", flush=True)
    order_loop(db, members, 1, "warm", [])
    latencies: list[float] = []
    order_loop(db, members, args.seconds, "s", latencies)
    service = summary(latencies, args.seconds)
    results["sqlite_profile_top"] = profile_top(
        lambda: order_loop(db, members, min(args.seconds, 8), "profile", []))
    print("SQLite: the same statements on raw sqlite3 …", flush=True)
    floor = same_statements_raw(
        db, lambda: order_loop(db, members, args.seconds, "replay", []))
    results["sqlite"] = {"raw_tpcb": raw, "service_order": service,
                         "same_statements_raw": floor,
                         "ratio": round(service["tps"] / raw["tps"], 3),
                         "same_statements_ratio": round(floor["tps"] / raw["tps"], 3)}
    db.dispose()

    if not args.skip_pg:
        print(f"PostgreSQL: pgbench -c {args.workers} …", flush=True)
        bench_pgbench = pgbench(args.pg, int(args.seconds), args.workers)
        pg_url = fresh_pg(args.pg)
        print("PostgreSQL: preparing members …", flush=True)
        pg_db, pg_members = prepare(pg_url, 1_600, 30)
        pg_db.dispose()
        print(f"PostgreSQL: orders, {args.workers} worker processes …", flush=True)
        pg_service = pg_workers(
            _order_worker, [(pg_url, part, args.seconds, f"p{w}")
                            for w, part in enumerate(split(pg_members, args.workers))],
            args.seconds)
        results["postgresql"] = {"pgbench": bench_pgbench, "service_order": pg_service,
                                 "workers": args.workers,
                                 "ratio": round(pg_service["tps"] / bench_pgbench["tps"], 3)}
    if not args.skip_http:
        print("HTTP: POST /orders …", flush=True)
        results["http_orders_sqlite"] = http_orders(min(args.seconds, 15), 200,
                                                    args.http_workers)
    write(results)


def write(results: dict[str, Any]) -> None:
    (RESULTS / "orders.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    s = results["sqlite"]
    lines = [
        "# Order benchmarks", "",
        machine_line(results), "",
        "Each order: Gold + PLUS member, a 9折 coupon, 500 points, ¥30 from the wallet.", "",
        "| run | tps | p50 ms | p99 ms |", "|---|---|---|---|",
        f"| SQLite raw TPC-B-like (sqlite3) | {s['raw_tpcb']['tps']} | "
        f"{s['raw_tpcb']['p50_ms']} | {s['raw_tpcb']['p99_ms']} |",
        f"| SQLite order (service) | {s['service_order']['tps']} | "
        f"{s['service_order']['p50_ms']} | {s['service_order']['p99_ms']} |",
        f"| SQLite: the service's own statements replayed by raw sqlite3 | "
        f"{s['same_statements_raw']['tps']} | {s['same_statements_raw']['p50_ms']} | "
        f"{s['same_statements_raw']['p99_ms']} |",
    ]
    p = results.get("postgresql")
    if p:
        lines += [f"| PostgreSQL pgbench -c {p['workers']} | {p['pgbench']['tps']} | – | – |",
                  f"| PostgreSQL order, {p['workers']} worker processes | "
                  f"{p['service_order']['tps']} | {p['service_order']['p50_ms']} | "
                  f"{p['service_order']['p99_ms']} |"]
    floor = s["same_statements_raw"]
    lines += ["", f"Ratios: SQLite **{s['ratio']:.1%}** of raw TPC-B-like (target ≥ 15%)"
              + (f"; PostgreSQL **{p['ratio']:.1%}** of pgbench (target ≥ 20%)." if p else "."),
              "",
              f"An order's own statements ({floor['statements_per_transaction']} per order, "
              f"recorded from the service and replayed by raw sqlite3 with no application "
              f"code) reach **{s['same_statements_ratio']:.1%}** of TPC-B-like: the ceiling "
              f"for this schema. The service reaches "
              f"{s['service_order']['tps'] / floor['tps']:.0%} of that ceiling.",
              "", *(pg_cpu_lines("an order", p, p["service_order"]) if p else [])]
    if results.get("http_orders_sqlite"):
        lines += http_lines("HTTP orders", results["http_orders_sqlite"])
    lines += ["## Where the time goes (cProfile, SQLite service loop, by own time)", "",
              "```", *results["sqlite_profile_top"], "```"]
    (RESULTS / "orders.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
