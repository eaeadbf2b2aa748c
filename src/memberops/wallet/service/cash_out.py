"""Cashing out a wallet (退卡): the remaining principal goes back, the bonus is forfeited."""

from __future__ import annotations

from memberops.audit import service as audit
from memberops.errors import Conflict
from memberops.ledger import service as ledger_service
from memberops.ledger.rules import Posting
from memberops.members import service as members_service
from memberops.tiers import service as tiers_service
from memberops.uow import UnitOfWork
from memberops.wallet import queries, rules
from memberops.wallet.events import WalletCashedOut
from memberops.wallet.models import CashOut
from memberops.wallet.service import lots
from memberops.wallet.service.common import check_ref, check_text, flush_unique


def cash_out(uow: UnitOfWork, *, member_id: int, cash_out_ref: str, reason: str,
             key: str | None = None) -> CashOut:
    """Refund the remaining principal and forfeit the remaining bonus, emptying every lot.

    This does not close the member: closing is a member status change of its own (the
    wallet can be recharged again until then). Refused while a recharge of the member is
    pending or held, since it could still be credited after the wallet was emptied.
    """
    check_ref(cash_out_ref, "cash_out_ref")
    reason = check_text(reason, "reason")
    members_service.lock_active(uow, member_id)
    existing = queries.cash_out_by_ref(uow.session, cash_out_ref)
    if existing is not None:
        if existing.member_id != member_id:
            raise Conflict(f"cash_out_ref {cash_out_ref!r} was already used for another "
                           "member", code="cash_out_ref_reused")
        return existing
    if queries.outstanding_total(uow.session, member_id):
        raise Conflict(f"member {member_id} has a recharge pending payment or review; "
                       "settle, fail or reject it first", code="recharges_outstanding")
    principal, bonus, entry_id = _empty_wallet(uow, member_id, cash_out_ref, reason, key)
    row = CashOut(member_id=member_id, cash_out_ref=cash_out_ref, principal_refunded=principal,
                  bonus_forfeited=bonus, reason=reason, entry_id=entry_id,
                  created_at=uow.clock.now())
    flush_unique(uow, row, "cash_out_ref", cash_out_ref)
    if principal:
        tiers_service.record_cash_out(uow, member_id=member_id, amount=principal,
                                      reference=cash_out_ref)
    audit.record(uow, action="wallet.cashed_out", target_type="member", target_id=member_id,
                 reason=reason, changes={"principal": {"before": principal, "after": 0},
                                         "bonus": {"before": bonus, "after": 0}})
    uow.emit(WalletCashedOut(member_id=member_id, cash_out_ref=cash_out_ref,
                             principal_refunded=principal, bonus_forfeited=bonus,
                             reason=reason))
    return row


def _empty_wallet(uow: UnitOfWork, member_id: int, cash_out_ref: str, reason: str,
                  key: str | None) -> tuple[int, int, int | None]:
    # Principal leaves to the cash-out account (paid back to the member outside the
    # programme); bonus was never paid for, so it is forfeited, not refunded.
    principal, bonus = queries.balances(uow.session, member_id)
    if not (principal or bonus):
        return 0, 0, None
    postings = [Posting(src, dst, rules.ASSET, n) for src, dst, n in (
        (rules.principal_account(member_id), rules.CASH_OUT, principal),
        (rules.bonus_account(member_id), rules.BONUS_FORFEITED, bonus)) if n]
    entry = ledger_service.post(
        uow, key=key or f"wallet:cash_out:{cash_out_ref}", kind="wallet.cash_out",
        postings=postings, reference=cash_out_ref, reason=reason,
        details={"member_id": member_id})
    lots.consume(uow, member_id=member_id, kind="principal", amount=principal)
    lots.consume(uow, member_id=member_id, kind="bonus", amount=bonus)
    return principal, bonus, entry.id
