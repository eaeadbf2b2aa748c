"""Kill -9 a process that is writing wallet payments, again and again: every payment it
acknowledged is there exactly once, nothing else moved, and the ledger verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from memberops.ledger import queries as ledger_queries
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.wallet import service as wallet_service
from memberops.wallet.models import WalletPayment

WORKER = Path(__file__).with_name("crash_worker.py")
KILLS = 8


def _seed(make_uow) -> list[int]:
    ids = []
    with make_uow() as uow:
        for i in range(5):
            member = members_service.register_member(uow, MemberCreate(phone=f"1380000{i:04d}"))
            wallet_service.recharge(uow, member_id=member.id, amount=100_000,
                                    payment_ref=f"seed-{i}", key=f"seed-{i}")
            ids.append(member.id)
    return ids


def _run_and_kill(url: str, first: int, members: list[int], rng: random.Random) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(WORKER), url, str(first),
                             ",".join(map(str, members))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    acks: list[str] = []
    deadline = time.monotonic() + 30
    target = rng.randint(3, 40)  # kill after a random number of acknowledged payments
    assert proc.stdout is not None
    while len(acks) < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("ack "):
            acks.append(line.split()[1])
    time.sleep(rng.random() * 0.02)  # land the kill anywhere inside the next payment
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    acks += [line.split()[1] for line in proc.stdout.read().splitlines()
             if line.startswith("ack ")]
    return acks


def test_acknowledged_payments_survive_sigkill(make_uow, db, database_url) -> None:
    members = _seed(make_uow)
    rng, acknowledged, first = random.Random(11), [], 0
    for _ in range(KILLS):
        acks = _run_and_kill(database_url, first, members, rng)
        acknowledged += acks
        first += 10_000  # each life of the worker uses its own payment refs
    assert len(acknowledged) >= KILLS * 3
    with db.session(readonly=True) as s:
        stored = set(s.execute(select(WalletPayment.payment_ref)).scalars())
        duplicates = s.execute(select(func.count()).select_from(WalletPayment)).scalar_one() \
            - len(stored)
        report = ledger_queries.verify(s)
    assert set(acknowledged) <= stored, "an acknowledged payment is missing"
    assert duplicates == 0
    assert report.ok, report
