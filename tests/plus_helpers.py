"""Shared helpers for the paid-membership tests: funded members, purchases, and everything a
refused request must leave as it was (subscriptions, periods, wallet, ledger, audit, events).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from memberops.db import Database
from memberops.plus import queries, service
from memberops.plus.models import PlusPeriod, PlusSubscription
from memberops.wallet import service as wallet_service
from tests.wallet_helpers import MakeUow, assert_consistent, new_member, snapshot, wallet

PRICE = 9_900  # the reference PLUS: ¥99 a year

__all__ = ["PRICE", "assert_consistent", "buy", "everything", "funded", "new_member",
           "subscription", "wallet"]


def funded(make_uow: MakeUow, n: int = 1, *, amount: int = 10_000) -> int:
    """A member whose wallet got one settled recharge (¥100 → principal 10,000, bonus
    1,000 + 5% first recharge = 1,500)."""
    member = new_member(make_uow, n)
    with make_uow() as uow:
        wallet_service.recharge(uow, member_id=member, amount=amount,
                                payment_ref=f"seed-{member}")
    return member


def buy(make_uow: MakeUow, member_id: int, ref: str, *, payment: str = "wallet",
        plan: str = "PLUS", amount: int | None = None) -> service.Purchase:
    with make_uow() as uow:
        return service.buy(uow, member_id=member_id, plan=plan, payment=payment,
                           payment_ref=ref, amount=amount)


def subscription(db: Database, member_id: int) -> PlusSubscription:
    with db.session(readonly=True) as s:
        return queries.subscription(s, member_id)


def everything(db: Database) -> dict[str, Any]:
    """The wallet and ledger snapshot plus every paid-membership row, field by field."""
    def rows(s: Any, model: Any) -> list[tuple[Any, ...]]:
        table = model.__table__
        return sorted(tuple(r) for r in s.execute(select(*table.columns)).all())
    with db.session(readonly=True) as s:
        return {**snapshot(db), "subscriptions": rows(s, PlusSubscription),
                "periods": rows(s, PlusPeriod)}
