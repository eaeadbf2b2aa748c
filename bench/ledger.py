"""Ledger benchmarks: a wallet payment through the service layer against raw baselines.

    .venv/bin/python bench/ledger.py [--seconds 20] [--workers 16] [--pg URL] [--skip-http]

1. SQLite: the raw `sqlite3` TPC-B-like transaction (pgbench's: update an account,
   read it, update a teller and a branch, insert history) in a loop, then
   `memberops.wallet.service.pay` in a loop (one unit of work per payment: member
   lock, ledger entry, lots, cashback, audit, outbox) — the same pragmas, same run.
2. PostgreSQL: `pgbench -c W -j 2` on its own database, then W threads paying
   through the service on a migrated database with many members.
3. A cProfile of the SQLite service loop: where the time goes.
4. HTTP: `POST /api/v1/members/{id}/recharges` on a real server over SQLite,
   closed loop (req/s), then open loop at 200 req/s (p50/p99).

Writes bench/results/ledger.json and ledger.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from multiprocessing import Queue
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from memberops import migrate
from memberops.access import service as access_service
from memberops.clock import SystemClock
from memberops.db import Database
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.uow import Actor, UnitOfWork
from memberops.wallet import service as wallet_service

HERE = Path(__file__).resolve().parent
WORK, RESULTS = HERE / "work", HERE / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {"tps": round(len(latencies) / seconds, 1), "count": len(latencies),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2)}


# --- raw baselines ----------------------------------------------------------------------

def sqlite_tpcb(path: Path, seconds: float, accounts: int = 100_000) -> dict[str, float]:
    """pgbench's TPC-B-like transaction on raw sqlite3, with memberops' pragmas."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript("""
        CREATE TABLE branches (bid INTEGER PRIMARY KEY, bbalance INTEGER);
        CREATE TABLE tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER);
        CREATE TABLE accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER);
        CREATE TABLE history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER,
                              mtime TEXT);""")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO branches VALUES (1, 0)")
    conn.executemany("INSERT INTO tellers VALUES (?, 1, 0)", [(i,) for i in range(1, 11)])
    conn.executemany("INSERT INTO accounts VALUES (?, 1, 0)",
                     [(i,) for i in range(1, accounts + 1)])
    conn.execute("COMMIT")
    rng, latencies, end = random.Random(1), [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        aid, tid, delta = rng.randint(1, accounts), rng.randint(1, 10), rng.randint(-5000, 5000)
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?", (delta, aid))
        conn.execute("SELECT abalance FROM accounts WHERE aid = ?", (aid,)).fetchone()
        conn.execute("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?", (delta, tid))
        conn.execute("UPDATE branches SET bbalance = bbalance + ? WHERE bid = 1", (delta,))
        conn.execute("INSERT INTO history VALUES (?, 1, ?, ?, datetime('now'))",
                     (tid, aid, delta))
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - started)
    conn.close()
    return summary(latencies, seconds)


def pgbench(url: str, seconds: int, clients: int) -> dict[str, float]:
    """pgbench -c clients on a database of its own on the same server."""
    parsed = make_url(url)
    name = f"{parsed.database}_pgbench"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres"]
    subprocess.run(["pgbench", "-i", "-s", str(clients), "-q", *base, name], check=True,
                   capture_output=True)
    out = subprocess.run(["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds),
                          "-r", *base, name], check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": round(tps, 1), "latency_avg_ms": float(latency.group(1)) if latency else 0.0}


# --- memberops ------------------------------------------------------------------------

def prepare(url: str, members: int) -> tuple[Database, list[int]]:
    """A migrated database with `members` members, each with a settled ¥5,000 recharge."""
    migrate.upgrade(url)
    db = Database(url, pool_size=20)
    ids: list[int] = []
    clock, actor = SystemClock(), Actor.system("bench")
    for start in range(0, members, 500):
        with UnitOfWork(db, actor=actor, clock=clock) as uow:
            for i in range(start, min(members, start + 500)):
                member = members_service.register_member(
                    uow, MemberCreate(phone=f"1390{i:07d}"))
                wallet_service.recharge(uow, member_id=member.id, amount=400_000,
                                        payment_ref=f"seed-{member.id}",
                                        key=f"seed-{member.id}")
                ids.append(member.id)
    return db, ids


def pay_loop(db: Database, ids: list[int], seconds: float, tag: str,
             latencies: list[float]) -> None:
    clock, actor = SystemClock(), Actor.system("bench")
    rng, end, n = random.Random(tag), time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
        member_id, ref = rng.choice(ids), f"pay-{tag}-{n}"
        started = time.perf_counter()
        with UnitOfWork(db, actor=actor, clock=clock) as uow:
            wallet_service.pay(uow, member_id=member_id, amount=rng.randint(100, 3_000),
                               payment_ref=ref, key=ref)
        latencies.append(time.perf_counter() - started)


def service_run(db: Database, ids: list[int], seconds: float, workers: int) -> dict[str, float]:
    per_worker: list[list[float]] = [[] for _ in range(workers)]
    threads = [threading.Thread(target=pay_loop, args=(db, ids, seconds, f"w{w}", per_worker[w]))
               for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summary([x for lat in per_worker for x in lat], seconds)


def _process_worker(url: str, ids: list[int], seconds: float, tag: str,
                    out: Queue, ready: Queue, go: Any) -> None:  # type: ignore[type-arg]
    db = Database(url, pool_size=2)
    latencies: list[float] = []
    pay_loop(db, ids, 0.5, f"{tag}-warm", [])  # connections open, statements prepared
    ready.put(tag)
    go.wait()  # all start together, none while another is still importing
    pay_loop(db, ids, seconds, tag, latencies)
    db.dispose()
    out.put(latencies)


def service_run_processes(url: str, ids: list[int], seconds: float,
                          workers: int) -> dict[str, float]:
    """`workers` processes paying at once, as `workers` app-server processes would: Python
    threads would share one interpreter lock, and pgbench's clients are processes too."""
    ctx = multiprocessing.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_process_worker,
                         args=(url, ids, seconds, f"p{w}", out, ready, go))
             for w in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    go.set()
    latencies = [x for _ in procs for x in out.get()]
    for p in procs:
        p.join()
    return summary(latencies, seconds)


def profile(db: Database, ids: list[int], seconds: float) -> list[str]:
    profiler, latencies = cProfile.Profile(), []
    profiler.enable()
    pay_loop(db, ids, seconds, "profile", latencies)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [line for line in out.getvalue().splitlines() if re.match(r"\s+\d", line)]
    return [re.sub(r"\s+", " ", line.strip()) for line in lines[:12]]


def fresh_pg(url: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database}_bench"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


# --- HTTP -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _open_loop(base: str, headers: dict[str, str], ids: list[int], seconds: float,
                     rate: int) -> list[float]:
    """Requests sent on a fixed schedule whatever the answers do (an open loop), each
    timed from its scheduled send: a server that falls behind shows it in the tail."""
    import httpx

    latencies: list[float] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def send(n: int, scheduled: float) -> None:
            ref = f"open-{n}"
            resp = await client.post(f"{base}/members/{ids[n % len(ids)]}/recharges",
                                     headers={**headers, "Idempotency-Key": ref},
                                     json={"amount": 10_000, "payment_ref": ref})
            assert resp.status_code == 201, resp.text
            latencies.append(time.perf_counter() - scheduled)

        start, tasks = time.perf_counter() + 0.1, []
        for n in range(int(seconds * rate)):
            scheduled = start + n / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(send(n, scheduled)))
        await asyncio.gather(*tasks)
    return latencies


def http_recharges(seconds: float, rate: int, workers: int) -> dict[str, object]:
    import httpx

    path = WORK / "http-recharge.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    # Enough members that none recharges more than a few times: the velocity rule (more
    # than 5 in 10 minutes → rejected) would otherwise turn the load into cheap refusals.
    db, ids = prepare(url, 4_000)
    with UnitOfWork(db, actor=Actor.system("bench"), clock=SystemClock()) as uow:
        key = access_service.create_api_key(uow, role="till", name="bench").secret
    db.dispose()
    port = free_port()
    env = {**os.environ, "MEMBEROPS_DATABASE_URL": url, "MEMBEROPS_RATE_LIMIT": "1000000/minute",
           "MEMBEROPS_LOG_LEVEL": "WARNING"}
    log = open(WORK / "http-recharge-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "memberops.cli.main", "serve", "--port",
                               str(port), "--workers", str(workers)],
                              env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(timeout=10) as client:
            for _ in range(100):
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            counter = iter(range(10**9))

            def one() -> float:
                n = next(counter)
                ref = f"http-{n}"
                started = time.perf_counter()
                resp = client.post(f"{base}/members/{ids[n % len(ids)]}/recharges",
                                   headers={**headers, "Idempotency-Key": ref},
                                   json={"amount": 10_000, "payment_ref": ref})
                assert resp.status_code == 201, resp.text
                return time.perf_counter() - started

            closed, end = [], time.perf_counter() + seconds
            while time.perf_counter() < end:
                closed.append(one())
        opened = asyncio.run(_open_loop(base, headers, ids, seconds, rate))
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    return {"server_processes": workers, "closed_loop": summary(closed, seconds),
            "open_loop": {"rate": rate, **summary(opened, seconds)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--pg", default=os.environ.get("MEMBEROPS_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--http-workers", type=int, default=2, help="server processes")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(),
        "python": platform.python_version(), "sqlite_version": sqlite3.sqlite_version}

    print("SQLite: raw TPC-B-like …", flush=True)
    raw = sqlite_tpcb(WORK / "tpcb.db", args.seconds)
    path = WORK / "ledger-sqlite.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db, ids = prepare(f"sqlite:///{path}", 1_000)
    print("SQLite: wallet payments through the service …", flush=True)
    service = service_run(db, ids, args.seconds, 1)
    results["sqlite"] = {"raw_tpcb": raw, "service_payment": service,
                         "ratio": round(service["tps"] / raw["tps"], 3)}
    print("SQLite: profile …", flush=True)
    results["sqlite_profile_top"] = profile(db, ids, min(args.seconds, 10))
    db.dispose()

    print(f"PostgreSQL: pgbench -c {args.workers} …", flush=True)
    bench_pgbench = pgbench(args.pg, int(args.seconds), args.workers)
    pg_url = fresh_pg(args.pg)
    pg_db, pg_ids = prepare(pg_url, 2_000)
    print(f"PostgreSQL: wallet payments, {args.workers} workers …", flush=True)
    pg_db.dispose()
    pg_service = service_run_processes(pg_url, pg_ids, args.seconds, args.workers)
    results["postgresql"] = {"pgbench": bench_pgbench, "service_payment": pg_service,
                             "workers": args.workers,
                             "ratio": round(pg_service["tps"] / bench_pgbench["tps"], 3)}
    if not args.skip_http:
        print("HTTP: POST /members/{id}/recharges …", flush=True)
        results["http_recharge_sqlite"] = http_recharges(min(args.seconds, 15), 200,
                                                         args.http_workers)
    write(results)


def write(results: dict[str, object]) -> None:
    (RESULTS / "ledger.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    s, p = results["sqlite"], results["postgresql"]  # type: ignore[index]
    lines = [
        "# Ledger benchmarks", "",
        f"{results['date']} · nproc {results['nproc']} · Python {results['python']} · "
        f"SQLite {results['sqlite_version']}", "",
        "| run | tps | p50 ms | p99 ms |", "|---|---|---|---|",
        f"| SQLite raw TPC-B-like (sqlite3) | {s['raw_tpcb']['tps']} | "
        f"{s['raw_tpcb']['p50_ms']} | {s['raw_tpcb']['p99_ms']} |",
        f"| SQLite wallet payment (service) | {s['service_payment']['tps']} | "
        f"{s['service_payment']['p50_ms']} | {s['service_payment']['p99_ms']} |",
        f"| PostgreSQL pgbench -c {p['workers']} | {p['pgbench']['tps']} | – | – |",
        f"| PostgreSQL wallet payment, {p['workers']} worker processes | "
        f"{p['service_payment']['tps']} | "
        f"{p['service_payment']['p50_ms']} | {p['service_payment']['p99_ms']} |", "",
        f"Ratios: SQLite **{s['ratio']:.1%}** of raw TPC-B-like (target ≥ 25%); "
        f"PostgreSQL **{p['ratio']:.1%}** of pgbench (target ≥ 30%).", "",
    ]
    http = results.get("http_recharge_sqlite")
    if http:
        c, o = http["closed_loop"], http["open_loop"]  # type: ignore[index]
        lines += [f"## HTTP recharges (SQLite, {http['server_processes']} server processes)", "",
                  f"- closed loop: **{c['tps']} req/s**, p50 {c['p50_ms']} ms, "
                  f"p99 {c['p99_ms']} ms",
                  f"- open loop at {o['rate']} req/s: p50 {o['p50_ms']} ms, "
                  f"**p99 {o['p99_ms']} ms** (target ≤ 100 ms)", ""]
    lines += ["## Where the time goes (cProfile, SQLite service loop, by own time)", "",
              "```", *results["sqlite_profile_top"], "```"]  # type: ignore[misc]
    (RESULTS / "ledger.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
