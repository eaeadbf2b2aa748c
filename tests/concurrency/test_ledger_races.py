"""16 threads moving money between a few hot and many cold accounts, with every movement
submitted twice: nothing lost, nothing applied twice, no member account below zero."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from memberops.errors import InsufficientBalance
from memberops.ledger import queries, service
from memberops.ledger.models import LedgerEntry
from memberops.ledger.rules import Posting

THREADS = 16
HOT = [f"member:{i}:wallet:principal" for i in range(3)]
COLD = [f"member:{i}:wallet:principal" for i in range(100, 140)]


def test_concurrent_transfers_conserve_value_and_apply_once(make_uow, db) -> None:
    with make_uow() as uow:
        for account in HOT + COLD:
            service.post(uow, key=f"seed:{account}", kind="recharge",
                         postings=[Posting("system:cash", account, "CNY", 1_000)])
    rng = random.Random(7)
    moves = []
    for n in range(400):
        source = rng.choice(HOT) if n % 2 else rng.choice(COLD)
        destination = rng.choice([a for a in HOT + COLD if a != source])
        moves.append((f"move:{n}", source, destination, rng.randint(1, 400)))
    submissions = moves + moves  # every movement arrives twice, interleaved by the pool
    rng.shuffle(submissions)

    def submit(move: tuple[str, str, str, int]) -> str:
        key, source, destination, amount = move
        try:
            with make_uow() as uow:
                entry = service.post(uow, key=key, kind="transfer",
                                     postings=[Posting(source, destination, "CNY", amount)])
                return f"ok:{entry.id}"
        except InsufficientBalance:
            return "refused"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(submit, submissions))

    by_key: dict[str, set[str]] = {}
    for move, outcome in zip(submissions, outcomes, strict=True):
        by_key.setdefault(move[0], set()).add(outcome)
    with db.session(readonly=True) as s:
        report = queries.verify(s)
        entries = s.execute(select(LedgerEntry)).scalars().all()
        member_total = sum(service.balances(s, HOT + COLD, "CNY").values())
    assert report.ok, report
    applied = [e for e in entries if e.kind == "transfer"]
    assert len({e.idempotency_key for e in applied}) == len(applied)  # none twice
    # A duplicate either got the same entry back or was refused for funds at its time.
    for outcomes_of_key in by_key.values():
        assert len({o for o in outcomes_of_key if o.startswith("ok:")}) <= 1
    assert member_total == 1_000 * len(HOT + COLD)
    assert len(applied) > 100
