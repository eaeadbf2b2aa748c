"""Member benchmarks: CSV import of 100,000 rows, and POST /api/v1/members on a real server.

    .venv/bin/python bench/members.py [--rows 100000] [--requests 2000] [--threads 4]

Prints the figures and writes bench/results/members.json and members.md.
Working files (the CSV, the databases, the server log) go to bench/work/ (gitignored).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select

from memberops import migrate
from memberops.clock import SystemClock
from memberops.db import Database
from memberops.members import importing
from memberops.members.models import Member
from memberops.members.rules import normalise_phone
from memberops.uow import Actor, UnitOfWork

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 20260615

MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
                   "177", "180", "181", "182", "183", "185", "186", "187", "188", "189",
                   "198", "199")
CITIES = {
    "广东": ("广州", "深圳", "佛山", "东莞", "珠海"), "浙江": ("杭州", "宁波", "温州", "绍兴"),
    "江苏": ("南京", "苏州", "无锡", "常州"), "北京": ("北京",), "上海": ("上海",),
    "四川": ("成都", "绵阳", "德阳"), "湖北": ("武汉", "宜昌", "襄阳"),
    "山东": ("济南", "青岛", "烟台"), "福建": ("福州", "厦门", "泉州"),
    "河南": ("郑州", "洛阳"), "陕西": ("西安", "宝鸡"), "重庆": ("重庆",),
}
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田"
            "董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉"
         "建国子涵浩然欣怡梓轩雨桐一诺")
CHANNELS = ("门店", "门店", "门店", "小程序", "小程序", "app", "电商", "推荐")
TAGS = ("coffee", "bakery", "student", "vip", "新客", "宝妈", "白领", "夜猫子", "周末党")
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "foxmail.com")
HEADER = ("手机号", "姓名", "邮箱", "生日", "性别", "省份", "城市", "渠道", "标签", "注册时间",
          "consent_sms", "consent_email", "consent_push", "consent_wechat")


# --- 1. the CSV import ------------------------------------------------------------------------

def unique_phones(rng: random.Random, count: int) -> Iterator[str]:
    """Distinct mainland mobile numbers, each accepted by the import's own phone rule."""
    seen: set[str] = set()
    while len(seen) < count:
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
        if phone in seen:
            continue
        try:
            normalise_phone(phone)
        except ValueError:
            continue
        seen.add(phone)
        yield phone


def fake_row(rng: random.Random, i: int, phone: str, today: date) -> list[str]:
    province = rng.choice(list(CITIES))
    joined = datetime.now(SHANGHAI) - timedelta(seconds=rng.randrange(3 * 365 * 86400))
    born = today - timedelta(days=rng.randrange(18 * 365, 65 * 365))
    flag = lambda: rng.choice(("", "", "true", "false", "是", "否"))  # noqa: E731
    return [
        phone if i % 4 else f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
        f"u{i}.{phone[-4:]}@{rng.choice(EMAIL_DOMAINS)}" if rng.random() < 0.4 else "",
        born.strftime("%Y-%m-%d" if i % 3 else "%Y/%m/%d") if rng.random() < 0.6 else "",
        rng.choice(("男", "女", "女", "")),
        province, rng.choice(CITIES[province]), rng.choice(CHANNELS),
        "|".join(rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3)))),
        joined.strftime("%Y-%m-%d %H:%M:%S") if i % 2 else joined.strftime("%Y-%m-%d"),
        flag(), flag(), flag(), flag(),
    ]


def generate_csv(path: Path, rows: int) -> None:
    rng = random.Random(SEED)
    today = datetime.now(SHANGHAI).date()
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i, phone in enumerate(unique_phones(rng, rows)):
            writer.writerow(fake_row(rng, i, phone, today))


def fresh_sqlite(name: str) -> str:
    path = WORK / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url


def bench_import(rows: int) -> dict[str, object]:
    """Time importing.import_members on a fresh SQLite database; stages from its progress."""
    path = WORK / f"members-{rows}.csv"
    generate_csv(path, rows)
    data = path.read_bytes()
    db = Database(fresh_sqlite("import.db"))
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks[stage] = time.perf_counter()

    started = time.perf_counter()
    with UnitOfWork(db, actor=Actor.system("bench"), clock=SystemClock()) as uow:
        report = importing.import_members(uow, data, file_name=path.name, progress=progress)
    seconds = time.perf_counter() - started
    with db.session(readonly=True) as session:
        stored = session.execute(select(func.count()).select_from(Member)).scalar_one()
    db.dispose()
    assert report.imported == rows == stored, (report.imported, rows, stored)
    return {"rows": rows, "file_mb": round(len(data) / 1e6, 1), "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "validate_seconds": round(marks["validating"] - started, 2),
            "write_and_commit_seconds": round(started + seconds - marks["validating"], 2)}


# --- 2. POST /api/v1/members on the real server ----------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memberops(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "memberops.cli.main", *args], env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}); see bench/work/")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer /health in time")


def registration(rng: random.Random, phone: str) -> dict[str, object]:
    province = rng.choice(list(CITIES))
    return {"phone": phone, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "gender": rng.choice(("male", "female", "unknown")),
            "region": {"province": province, "city": rng.choice(CITIES[province])},
            "channel": rng.choice(("store", "mini_program", "app")),
            "tags": rng.sample(TAGS, rng.choice((0, 1, 2))),
            "consents": {"sms": rng.random() < 0.5}}


def run_clients(base: str, key: str, bodies: list[dict[str, object]],
                threads: int) -> tuple[list[float], dict[int, int], float]:
    """Send the bodies from `threads` clients; latencies (s), statuses, wall time (s)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(share: list[dict[str, object]]) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for body in share:
                started = time.perf_counter()
                status = http.post("/api/v1/members", json=body).status_code
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1

    workers = [threading.Thread(target=client, args=(bodies[i::threads],))
               for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench_api(requests: int, threads: int) -> dict[str, object]:
    """Serve a fresh SQLite database with `memberops serve` and register `requests` members."""
    env = {**os.environ, "MEMBEROPS_DATABASE_URL": fresh_sqlite("api.db"),
           # the default per-key limit (1200/minute) would measure the limiter, not the API
           "MEMBEROPS_RATE_LIMIT": "10000000/minute", "MEMBEROPS_LOG_FORMAT": "json"}
    key = memberops(env, "apikey", "create", "--role", "admin", "--name", "bench").split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(SEED + 1)
    phones = list(unique_phones(rng, requests + 20))
    with (WORK / "server.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "memberops.cli.main", "serve",
                                   "--port", str(port)], env=env, stdout=log, stderr=log)
        try:
            wait_healthy(base, server)
            run_clients(base, key, [registration(rng, p) for p in phones[:20]], 2)  # warm-up
            bodies = [registration(rng, p) for p in phones[20:]]
            latencies, statuses, wall = run_clients(base, key, bodies, threads)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert statuses == {201: requests}, statuses
    return {"requests": requests, "client_threads": threads, "seconds": round(wall, 2),
            "requests_per_second": round(requests / wall),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 95) * 1000, 1)}


# --- results -----------------------------------------------------------------------------

def machine() -> dict[str, object]:
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "load_1m_before": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def markdown(results: dict[str, dict[str, object]]) -> str:
    env, imp, api = results["machine"], results["import"], results["api"]
    return "\n".join([
        "# Member benchmarks", "",
        f"{env['date']} · nproc {env['nproc']} (load {env['load_1m_before']} before the run) · "
        f"Python {env['python']} · SQLite {env['sqlite']} · {env['platform']}", "",
        "| benchmark | figure | detail |", "|---|---|---|",
        f"| CSV import, {imp['rows']:,} rows ({imp['file_mb']} MB), SQLite | "
        f"**{imp['rows_per_second']:,} rows/s** | {imp['seconds']} s: validate "
        f"{imp['validate_seconds']} s, write + commit {imp['write_and_commit_seconds']} s |",
        f"| `POST /api/v1/members`, {api['requests']:,} requests, "
        f"{api['client_threads']} client threads, SQLite | "
        f"**{api['requests_per_second']:,} req/s** | p50 {api['p50_ms']} ms, "
        f"p95 {api['p95_ms']} ms |", "",
        "Run with `.venv/bin/python bench/members.py`; see bench/README.md.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows to import")
    parser.add_argument("--requests", type=int, default=2000, help="registrations to send")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, dict[str, object]] = {"machine": machine()}
    results["import"] = bench_import(args.rows)
    print(f"import: {json.dumps(results['import'])}", flush=True)
    results["api"] = bench_api(args.requests, args.threads)
    print(f"api:    {json.dumps(results['api'])}", flush=True)
    (RESULTS / "members.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "members.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
