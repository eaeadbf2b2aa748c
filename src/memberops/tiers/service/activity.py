"""Qualifying activity (orders, refunds, recharges), appended by the flows that make it,
in their own unit of work; each re-evaluates the member and upgrades at once.

These run inside every order, so they stay small: the member row lock (already held by
the order), one INSERT that skips a reference already recorded, and one indexed sum over
the member's window — no ORM loading of history. The activity row is the record of the
fact (reference, time); the order, refund or recharge that made it is audited by its own
flow, and a tier change it causes is audited here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from memberops.errors import Conflict, field_error
from memberops.prepared import Prepared
from memberops.tiers import rules
from memberops.tiers.models import TierActivity
from memberops.tiers.queries import ladder
from memberops.tiers.service.common import (
    ACTIVITY,
    MAX_REF,
    Change,
    check_amount,
    check_occurred,
    check_text,
    live_sums,
    lock_member,
    new_state,
    reach,
    state_of,
    write_history,
)
from memberops.uow import UnitOfWork

SPEND, REFUND, RECHARGE, CASH_OUT = "spend", "refund", "recharge", "cash_out"
# INSERT … ON CONFLICT DO NOTHING on (kind, reference): a retried order is not counted
# twice, and no error aborts the caller's transaction (PostgreSQL would).
# RETURNING tells a row inserted from one skipped on both databases (rowcount does not,
# once the ORM adds RETURNING of its own on PostgreSQL).
_COLUMNS = ("member_id", "kind", "amount", "orders", "reference", "occurred_at", "created_at")
_INSERT = {name: Prepared(dialect.insert(ACTIVITY).values(
    {c: bindparam(c) for c in _COLUMNS}).on_conflict_do_nothing(
    index_elements=["kind", "reference"]).returning(ACTIVITY.c.id))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


@dataclass(frozen=True)
class Recorded:
    """What recording one activity did: the tier before and after, and whether it counted
    (False: the reference was already recorded, a retry)."""

    member_id: int
    previous: str
    tier: str
    counted: bool

    @property
    def upgraded(self) -> bool:
        return self.tier != self.previous


def record_spend(uow: UnitOfWork, *, member_id: int, amount: int, reference: str,
                 occurred_at: datetime | None = None) -> Recorded:
    """An order paid (`amount` fen, what the member paid): +amount net spend, +1 order.
    The same reference again counts once."""
    return _record(uow, member_id, SPEND, check_amount(amount), 1, reference, occurred_at)


def record_refund(uow: UnitOfWork, *, member_id: int, amount: int, reference: str,
                  full_refund: bool = False,
                  occurred_at: datetime | None = None) -> Recorded:
    """A refund (`amount` fen returned; `reference` the refund's own): deducted from net
    spend; a full refund also takes the order off the count. Never downgrades."""
    amount = check_amount(amount)
    if amount == 0 and not full_refund:
        raise field_error("amount", "a partial refund must return at least 1 fen")
    return _record(uow, member_id, REFUND, -amount, -1 if full_refund else 0, reference,
                   occurred_at)


def record_recharge(uow: UnitOfWork, *, member_id: int, amount: int, reference: str,
                    occurred_at: datetime | None = None) -> Recorded:
    """A settled recharge (`reference` its payment_ref): counts towards recharge-based
    qualification (Diamond at ¥10,000 recharged in the reference programme); a cash-out
    takes its principal off again (`record_cash_out`)."""
    return _record(uow, member_id, RECHARGE, check_amount(amount, low=1), 0, reference,
                   occurred_at)


def record_cash_out(uow: UnitOfWork, *, member_id: int, amount: int, reference: str,
                    occurred_at: datetime | None = None) -> Recorded:
    """A cash-out (`amount` fen of principal paid back; `reference` its cash_out_ref):
    that money is no longer recharged, so it comes off the recharge total (else a member
    could recharge ¥10,000, become Diamond and take the money straight back). Like a
    refund, never downgrades."""
    amount = check_amount(amount, low=1)
    return _record(uow, member_id, CASH_OUT, -amount, 0, reference, occurred_at)


def _record(uow: UnitOfWork, member_id: int, kind: str, amount: int, orders: int,
            reference: object, occurred_at: datetime | None) -> Recorded:
    reference = check_text(reference, "reference", max_length=MAX_REF)
    at = check_occurred(uow, occurred_at)
    tier, status = lock_member(uow, member_id)
    values = {"member_id": member_id, "kind": kind, "amount": amount, "orders": orders,
              "reference": reference, "occurred_at": at, "created_at": uow.clock.now()}
    inserted = _INSERT[uow.session.get_bind().dialect.name].scalar(uow.session, values)
    if inserted is None:
        _same_activity(uow, values)
        return Recorded(member_id, tier, tier, counted=False)
    # A closed member's tier no longer changes; the activity is still kept (a refund
    # after closing belongs to the member's history).
    after = evaluate(uow, member_id, tier) if status != "closed" else tier
    return Recorded(member_id, tier, after, counted=True)


def _same_activity(uow: UnitOfWork, values: dict[str, Any]) -> None:
    # A retry is the same activity only for the same member, amount and count.
    first = uow.session.execute(select(TierActivity).where(
        TierActivity.kind == values["kind"],
        TierActivity.reference == values["reference"])).scalar_one()
    if (first.member_id, first.amount, first.orders) != \
            (values["member_id"], values["amount"], values["orders"]):
        raise Conflict(f"{values['kind']} reference {values['reference']!r} was already "
                       f"recorded for another amount or member",
                       code="tier_activity_reused")


def evaluate(uow: UnitOfWork, member_id: int, tier: str) -> str:
    """Upgrade at once when the activity over the window qualifies for a higher tier; never
    downgrade here (that is the retention review's). Returns the tier held after."""
    found = ladder(uow.session)
    if found.rank(tier) == len(found.tiers) - 1:
        return tier  # already at the top: no sum needed
    activity = live_sums(uow, member_id, found)
    target = rules.upgrade_to(found, tier, activity)
    if target is None:
        return tier
    state = state_of(uow, member_id) or new_state(uow, member_id)
    reach(uow, state, found, target, uow.clock.today())
    criteria = {name: activity.value(name) for name in found.tiers[found.rank(target) or 0]
                .qualify.thresholds()}
    write_history(uow, member_id, Change(before=tier, after=target, reason=rules.UPGRADE,
                                         details={"activity": criteria}), state)
    return target
