"""After submission: the payment gateway's callback and the review queue's decisions.

Each decides a recharge once. The recharge row is locked and re-read before any check, so
two callbacks, two reviewers, or a callback and a reviewer, queue and the second sees the
first's result: the same outcome again is a no-op, a different one a 409.
"""

from __future__ import annotations

from memberops.errors import Conflict, NotFound, field_error
from memberops.members import service as members_service
from memberops.risk import service as risk_service
from memberops.uow import UnitOfWork
from memberops.wallet import queries
from memberops.wallet.events import RechargeFailed, RechargeRejected
from memberops.wallet.models import Recharge
from memberops.wallet.service.common import check_ref, check_text, lock_recharge
from memberops.wallet.service.recharge import settle

OUTCOMES = ("confirmed", "failed")


def confirm_payment(uow: UnitOfWork, *, payment_ref: str, outcome: str = "confirmed",
                    key: str | None = None) -> Recharge:
    """Record the gateway's outcome: confirmed settles a pending recharge (a held one
    stays held, now paid); failed ends it uncredited. Repeating an outcome is a no-op."""
    check_ref(payment_ref, "payment_ref")
    if outcome not in OUTCOMES:
        raise field_error("outcome", "must be confirmed or failed")
    found = queries.recharge_by_ref(uow.session, payment_ref)
    if found is None:
        raise NotFound(f"no recharge with payment_ref {payment_ref!r}",
                       code="payment_not_found")
    if found.payment_status == outcome:
        return found  # a repeated callback: already recorded, nothing to do
    if outcome == "confirmed":
        # Confirming credits the member, so the member must be active (lock order: member
        # row, then the recharge row, then ledger balances). Failing credits nothing.
        members_service.lock_active(uow, found.member_id)
    row = lock_recharge(uow, found.id)
    if row.payment_status == outcome:
        return row
    if row.payment_status != "pending":
        raise Conflict(f"payment {payment_ref!r} was already {row.payment_status}",
                       code="payment_outcome_conflict", payment_status=row.payment_status)
    row.payment_status = outcome
    if outcome == "failed":
        _fail(uow, row)
    elif row.status == "pending":
        settle(uow, row, key=key)
    return row


def _fail(uow: UnitOfWork, row: Recharge) -> None:
    # A held recharge whose payment failed leaves the review queue: nothing to approve.
    if row.status in ("pending", "pending_review"):
        row.status = "failed"
    uow.emit(RechargeFailed(member_id=row.member_id, recharge_id=row.id,
                            payment_ref=row.payment_ref, amount=row.amount))


def _decide(uow: UnitOfWork, row: Recharge, outcome: str, reason: str) -> None:
    if row.review_status in ("approved", "rejected"):
        raise Conflict(f"recharge {row.id} was already {row.review_status} by "
                       f"{row.reviewed_by}", code="review_already_decided",
                       review_status=row.review_status)
    if row.status != "pending_review":
        raise Conflict(f"recharge {row.id} is {row.status}, not held for review",
                       code="recharge_not_held", status=row.status)
    row.review_status, row.review_reason = outcome, reason
    row.reviewed_by, row.reviewed_at = uow.actor.label, uow.clock.now()
    risk_service.record_review(uow, recharge_id=row.id, member_id=row.member_id,
                               outcome="approved" if outcome == "approved" else "rejected",
                               rule=row.risk_rule, reason=reason)


def approve(uow: UnitOfWork, recharge_id: int, reason: str, *,
            key: str | None = None) -> Recharge:
    """Release a held recharge (finance or admin): it settles now if paid, else when the
    payment is confirmed. A second decision is a 409."""
    risk_service.require_reviewer(uow)
    reason = check_text(reason, "reason")
    found = queries.get_recharge(uow.session, recharge_id)
    members_service.lock_active(uow, found.member_id)
    row = lock_recharge(uow, recharge_id)
    _decide(uow, row, "approved", reason)
    if row.payment_status == "confirmed":
        settle(uow, row, key=key)
    else:
        row.status = "pending"  # approved, waiting for the payment callback
    return row


def reject(uow: UnitOfWork, recharge_id: int, reason: str) -> Recharge:
    """Refuse a held recharge (finance or admin): nothing is credited. A second decision
    is a 409."""
    risk_service.require_reviewer(uow)
    reason = check_text(reason, "reason")
    row = lock_recharge(uow, recharge_id)
    _decide(uow, row, "rejected", reason)
    row.status = "rejected"
    uow.emit(RechargeRejected(member_id=row.member_id, recharge_id=row.id, amount=row.amount,
                              rule="review", reason=reason))
    return row
