"""What the benchmarks share: the raw baselines (sqlite3 TPC-B-like, pgbench), latency
summaries, worker processes started together, profiles, and a real server to load.

Imported by bench/ledger.py and bench/orders.py (run as scripts from the project root,
so this directory is on sys.path).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import dataclasses
import io
import json
import multiprocessing
import os
import pstats
import random
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from memberops.db import sqlite_pragmas

HERE = Path(__file__).resolve().parent
WORK, RESULTS = HERE / "work", HERE / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
Request = tuple[str, dict[str, str], dict[str, Any]]  # path, headers, JSON body


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {"tps": round(len(latencies) / seconds, 1), "count": len(latencies),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2)}


def sqlite_tpcb(path: Path, seconds: float, accounts: int = 100_000) -> dict[str, float]:
    """pgbench's TPC-B-like transaction on raw sqlite3, with memberops' pragmas."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    sqlite_pragmas(conn)
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


_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def _parameterised(sql: str) -> tuple[str, list[object]]:
    """SQL with its literals taken out as parameters, so that replaying it reuses
    sqlite3's prepared statements as the application does."""
    params: list[object] = []

    def take(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            params.append(text[1:-1].replace("''", "'"))
        else:
            params.append(float(text) if "." in text else int(text))
        return "?"

    return _LITERAL.sub(take, sql), params


def record_transactions(engine: Any, work: Callable[[], None]) -> list[list[str]]:
    """Every write transaction `work` runs on a SQLite engine, as the statements SQLite
    executed (from its trace, with their values)."""
    from sqlalchemy import event

    executed: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(executed.append)

    engine.dispose()
    event.listen(engine, "connect", trace)
    try:
        work()
    finally:
        engine.dispose()
        event.remove(engine, "connect", trace)
    transactions: list[list[str]] = []
    current: list[str] | None = None
    for sql in executed:
        if sql.startswith("BEGIN IMMEDIATE"):
            current = []
        elif sql.startswith("COMMIT") and current is not None:
            transactions.append([_parameterised(q)[0] + "\x00" + json.dumps(
                _parameterised(q)[1]) for q in current])
            current = None
        elif current is not None:
            current.append(sql)
    return transactions


def same_statements_raw(db: Any, work: Callable[[], None]) -> dict[str, float]:
    """The ceiling for `work` on SQLite: record the write transactions it runs, then
    replay them on a copy of the database taken before, by raw sqlite3."""
    import shutil

    db.dispose()
    path = Path(make_url(db.url).database)
    copy = path.with_name(path.stem + "-replay.db")
    for suffix in ("", "-wal"):
        copy_part = Path(f"{copy}{suffix}")
        copy_part.unlink(missing_ok=True)
        if Path(f"{path}{suffix}").exists():
            shutil.copy(f"{path}{suffix}", copy_part)
    return replay_transactions(copy, record_transactions(db.engine, work))


def replay_transactions(path: Path, transactions: list[list[str]]) -> dict[str, float]:
    """The recorded transactions again, on a copy of the database as it was before they
    ran, by raw sqlite3 with the same pragmas: the same reads and writes with no
    application code in between — the most the application could reach."""
    conn = sqlite3.connect(path, isolation_level=None)
    sqlite_pragmas(conn)
    prepared = [[(sql, tuple(json.loads(params))) for sql, _, params in
                 (q.partition("\x00") for q in tx)] for tx in transactions]
    latencies: list[float] = []
    began = time.perf_counter()
    for tx in prepared:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in tx:
            conn.execute(sql, params).fetchall()
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - started)
    conn.close()
    statements = sum(len(tx) for tx in prepared) / max(1, len(prepared))
    return {**summary(latencies, time.perf_counter() - began),
            "statements_per_transaction": round(statements, 1)}


_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since it started (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICK


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds each running PostgreSQL server process has used (user + system)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        found[int(proc.name)] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return found


class CpuWindow:
    """Where the machine's CPU went over `seconds` from `start()`: to the PostgreSQL
    server processes, or to everything else (the clients: Python workers or pgbench).
    On a machine that runs both, it says what an operation costs each side: what limits
    the throughput when every core is busy."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._thread: Any = None
        self.busy = self.server = 0.0

    def start(self) -> None:
        import threading

        def measure() -> None:
            busy, server = _machine_busy(), _postgres_cpu()
            time.sleep(self.seconds)
            self.busy = _machine_busy() - busy
            self.server = sum(cpu - server.get(pid, 0.0)
                              for pid, cpu in _postgres_cpu().items())

        self._thread = threading.Thread(target=measure, daemon=True)
        self._thread.start()

    def per_operation(self, tps: float) -> dict[str, float]:
        """CPU milliseconds per operation at `tps`: the server's and the rest."""
        self._thread.join()
        done = tps * self.seconds
        return {"server_cpu_ms": round(self.server / done * 1000, 3),
                "client_cpu_ms": round((self.busy - self.server) / done * 1000, 3),
                "busy_cores": round(self.busy / self.seconds, 2)}


def pg_cpu_lines(what: str, pg: dict[str, Any], service: dict[str, Any]) -> list[str]:
    """What limits `what` ("a payment") on PostgreSQL, from the CPU each side spent per operation
    (CpuWindow): with every core busy, throughput is cores / (server + client) ms."""
    bench = pg["pgbench"]
    if "server_cpu_ms" not in service or "server_cpu_ms" not in bench:
        return []
    # The most `what` could reach if its client cost what pgbench's C client costs per
    # transaction: only the server's work for its statements left.
    ceiling = bench["busy_cores"] * 1000 / (service["server_cpu_ms"] + bench["client_cpu_ms"])
    return [
        f"CPU per operation on PostgreSQL (machine {bench['busy_cores']} / "
        f"{service['busy_cores']} cores busy): pgbench's transaction "
        f"{bench['server_cpu_ms']} ms in the server and {bench['client_cpu_ms']} ms in "
        f"pgbench; {what} {service['server_cpu_ms']} ms in the server and "
        f"{service['client_cpu_ms']} ms in the Python workers. With the workers costing no "
        f"more than pgbench's client, the server's own work would allow at most "
        f"{ceiling:,.0f} a second: **{ceiling / bench['tps']:.1%}** of pgbench, the ceiling "
        f"on this machine.", ""]


def pg_workers(target: Callable[..., None], per_worker: list[tuple[Any, ...]],
               seconds: float) -> dict[str, float]:
    """`run_processes` against PostgreSQL for `seconds`: throughput and latencies, with the
    CPU each operation cost the server and the workers (CpuWindow)."""
    window = CpuWindow(seconds - 1)
    measured = summary(run_processes(target, per_worker, on_start=window.start), seconds)
    return measured | window.per_operation(measured["tps"])


def pgbench(url: str, seconds: int, clients: int) -> dict[str, float]:
    """pgbench -c clients on a database of its own on the same server, with the CPU each
    transaction cost the server and pgbench (CpuWindow)."""
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
    window = CpuWindow(max(1.0, seconds - 2))  # inside the run: connecting is left out
    run = subprocess.Popen(["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds),
                            "-r", *base, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    time.sleep(1)
    window.start()
    out, err = run.communicate()
    if run.returncode:
        raise RuntimeError(f"pgbench failed: {err}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": round(tps, 1), "latency_avg_ms": float(latency.group(1)) if latency else 0.0,
            **window.per_operation(tps)}


def fresh_pg(url: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database}_bench"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_sqlite(name: str) -> str:
    path = WORK / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_processes(target: Callable[..., None], per_worker: list[tuple[Any, ...]],
                  on_start: Callable[[], None] | None = None) -> list[float]:
    """One process per argument tuple, as that many app-server processes would be (Python
    threads share one interpreter lock; pgbench's clients are processes too). Each calls
    target(*args, out, ready, go): warms up, puts on `ready`, waits for `go`, runs, and
    puts its latencies on `out`; all start together, after every import is done, and
    `on_start` is called as they start."""
    ctx = multiprocessing.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, out, ready, go)) for args in per_worker]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    go.set()
    if on_start is not None:
        on_start()
    latencies = [x for _ in procs for x in out.get()]
    for p in procs:
        p.join()
    return latencies


def profile_top(work: Callable[[], object], lines: int = 12) -> list[str]:
    """The functions with the most own time while `work` runs (cProfile)."""
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    found = [line for line in out.getvalue().splitlines() if re.match(r"\s+\d", line)]
    return [re.sub(r"\s+", " ", line.strip()) for line in found[:lines]]


@contextlib.contextmanager
def server(url: str, workers: int, log_name: str) -> Iterator[str]:
    """`memberops serve` on a free port over `url`; yields the API base address."""
    import httpx

    port = free_port()
    env = {**os.environ, "MEMBEROPS_DATABASE_URL": url,
           "MEMBEROPS_RATE_LIMIT": "1000000/minute", "MEMBEROPS_LOG_LEVEL": "WARNING"}
    with open(WORK / log_name, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "memberops.cli.main", "serve", "--port",
                                 str(port), "--workers", str(workers)],
                                env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            with httpx.Client(timeout=5) as client:
                for _ in range(200):
                    try:
                        if client.get(f"{base}/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(10)


class _Connection:
    """One keep-alive HTTP/1.1 connection that writes requests and reads answers itself.

    The load generator shares the machine's two cores with the server, so it has to be
    cheap. Measured against `memberops serve`: httpx's async client spent 2.6 ms of CPU
    per request, this one 0.2 ms; the server spends about 4 ms."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, headers: dict[str, str], body: object) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                   f"{head}\r\n").encode() + data
        for attempt in (1, 2):
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(request)
            status_line = await self.reader.readline()
            if status_line:
                break
            # The server closed a connection that sat idle past its keep-alive time; the
            # request carries its Idempotency-Key, so sending it again is safe.
            self.close()
            self.reader = self.writer = None
            assert attempt == 1, "the server closed a fresh connection"
        status = int(status_line.split()[1])
        length = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None, "the server answered without a Content-Length"
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def closed_loop(base: str, make: Callable[[int], Request], seconds: float,
                start: int = 0, connections: int = 1) -> list[float]:
    """`connections` callers, each sending its next request when the last one is answered:
    with one, the server's speed for one caller; with many, what it can serve at most."""
    url = make_url_parts(base)

    async def run() -> list[float]:
        latencies: list[float] = []
        end, counter = time.perf_counter() + seconds, iter(range(start, start + 10**9))

        async def caller() -> None:
            conn = _Connection(url.host, url.port)
            while time.perf_counter() < end:
                path, headers, body = make(next(counter))
                started = time.perf_counter()
                status, answer = await conn.post(url.path + path, headers, body)
                assert status == 201, answer
                latencies.append(time.perf_counter() - started)
            conn.close()

        await asyncio.gather(*(caller() for _ in range(connections)))
        return latencies

    return asyncio.run(run())


def open_loop(base: str, make: Callable[[int], Request], seconds: float, rate: int,
              start: int = 0) -> list[float]:
    """Requests sent on a fixed schedule whatever the answers do (an open loop), each timed
    from its scheduled send: a server that falls behind shows it in the tail."""
    url = make_url_parts(base)

    async def run() -> list[float]:
        latencies: list[float] = []
        idle: list[_Connection] = []

        async def send(n: int, scheduled: float) -> None:
            conn = idle.pop() if idle else _Connection(url.host, url.port)
            path, headers, body = make(n)
            status, answer = await conn.post(url.path + path, headers, body)
            assert status == 201, answer
            latencies.append(time.perf_counter() - scheduled)
            idle.append(conn)

        first, tasks = time.perf_counter() + 0.1, []
        for i in range(int(seconds * rate)):
            scheduled = first + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(send(start + i, scheduled)))
        await asyncio.gather(*tasks)
        for conn in idle:
            conn.close()
        return latencies

    return asyncio.run(run())


def http_load(url: str, workers: int, log_name: str, make: Callable[[int], Request],
              seconds: float, rate: int) -> dict[str, Any]:
    """A server on `url`, then one caller, then 16 callers, then `rate` requests/s on a
    schedule; `make(n)` builds request n, and n counts up through all three runs."""
    with server(url, workers, log_name) as base:
        one = closed_loop(base, make, seconds)
        many = closed_loop(base, make, seconds, start=len(one), connections=16)
        opened = open_loop(base, make, seconds, rate, start=len(one) + len(many))
    return {"server_processes": workers, "closed_loop": summary(one, seconds),
            "closed_loop_16": summary(many, seconds),
            "open_loop": {"rate": rate, **summary(opened, seconds)}}


def http_lines(title: str, http: dict[str, Any]) -> list[str]:
    """The Markdown lines for an http_load result."""
    one, many, opened = http["closed_loop"], http["closed_loop_16"], http["open_loop"]
    return [f"## {title} (SQLite, {http['server_processes']} server processes)", "",
            f"- one caller at a time: **{one['tps']} req/s**, p50 {one['p50_ms']} ms, "
            f"p99 {one['p99_ms']} ms",
            f"- 16 callers at a time (what it can serve): **{many['tps']} req/s**, "
            f"p50 {many['p50_ms']} ms, p99 {many['p99_ms']} ms",
            f"- {opened['rate']} requests/s on a schedule: p50 {opened['p50_ms']} ms, "
            f"**p99 {opened['p99_ms']} ms** (target p99 ≤ 100 ms)", ""]


@dataclasses.dataclass(frozen=True)
class _UrlParts:
    host: str
    port: int
    path: str


def make_url_parts(base: str) -> _UrlParts:
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    assert parts.hostname and parts.port
    return _UrlParts(parts.hostname, parts.port, parts.path)


def machine_line(results: dict[str, Any]) -> str:
    """The line under a results page's title: when, on what, and how busy the machine was."""
    return (f"{results['date']} · nproc {results['nproc']} · Python {results['python']} · "
            f"SQLite {results['sqlite_version']} · load average before "
            f"{results['load_average']}")


def machine() -> dict[str, object]:
    import platform
    from datetime import UTC, datetime

    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(),
            "python": platform.python_version(), "sqlite_version": sqlite3.sqlite_version,
            "load_average": [round(x, 2) for x in os.getloadavg()]}


