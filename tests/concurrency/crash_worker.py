"""A process that writes payments as fast as it can and acknowledges each one on stdout
after its commit returned — to be killed with SIGKILL by test_crash_safety.py.

    python crash_worker.py DATABASE_URL FIRST_NUMBER MEMBERS
"""

from __future__ import annotations

import sys

from memberops.clock import SystemClock
from memberops.db import Database
from memberops.errors import InsufficientBalance
from memberops.uow import Actor, UnitOfWork
from memberops.wallet import service as wallet_service


def main() -> None:
    url, first, members = sys.argv[1], int(sys.argv[2]), [int(m) for m in sys.argv[3].split(",")]
    db = Database(url)
    clock, actor = SystemClock(), Actor.system("crash-worker")
    n = first
    while True:
        member_id = members[n % len(members)]
        ref = f"crash-{n}"
        try:
            with UnitOfWork(db, actor=actor, clock=clock) as uow:
                wallet_service.pay(uow, member_id=member_id, amount=100 + n % 900,
                                   payment_ref=ref, key=ref)
            print(f"ack {ref}", flush=True)
        except InsufficientBalance:
            print(f"refused {ref}", flush=True)
        n += 1


if __name__ == "__main__":
    main()
