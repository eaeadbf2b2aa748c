"""Paying with the wallet, its cashback, and refunds of a wallet payment.

A payment spends principal and bonus in proportion to what the member holds (see
`rules.split_payment`), consuming lots oldest first within each kind, and earns cashback
as a new bonus lot. A refund returns each part to where it came from and takes back the
cashback the refunded part earned.
"""

from __future__ import annotations

from memberops.audit import service as audit
from memberops.errors import Conflict, InsufficientBalance, NotFound, RuleViolated
from memberops.ledger import service as ledger_service
from memberops.ledger.rules import Posting
from memberops.members import service as members_service
from memberops.money import Money
from memberops.programme import service as programme_service
from memberops.programme.schemas import WalletSettings
from memberops.uow import UnitOfWork
from memberops.wallet import queries, rules
from memberops.wallet.events import CashbackCredited, WalletPaid, WalletRefunded
from memberops.wallet.models import WalletPayment, WalletRefund
from memberops.wallet.rules import Split
from memberops.wallet.service import lots
from memberops.wallet.service.common import (
    check_amount,
    check_ref,
    flush_unique,
    insert_unique,
)


def _postings(pairs: list[tuple[str, str, int]]) -> list[Posting]:
    return [Posting(src, dst, rules.ASSET, n) for src, dst, n in pairs if n > 0]


def pay(uow: UnitOfWork, *, member_id: int, amount: int, payment_ref: str,
        reference: str | None = None, key: str | None = None) -> WalletPayment:
    """Pay `amount` fen from the wallet, principal and bonus in proportion, and credit the
    cashback. The same payment_ref and content return the first payment."""
    check_amount(amount)
    check_ref(payment_ref, "payment_ref")
    if reference is not None:
        check_ref(reference, "reference")
    members_service.lock_active_id(uow, member_id)
    if queries.payment_ref_used(uow.session, payment_ref):
        existing = queries.payment_by_ref(uow.session, payment_ref)
        assert existing is not None
        return _same_payment(existing, member_id, amount, reference)
    # The lots mirror the ledger's balances; the ledger checks them again under its locks.
    open_lots = lots.open_lots(uow, member_id)
    principal, bonus = lots.totals(open_lots)
    if principal + bonus < amount:
        raise InsufficientBalance(
            f"the wallet holds {Money(principal + bonus).format()}, "
            f"{Money(amount).format()} needed", available=principal + bonus, requested=amount)
    split = rules.split_payment(amount, principal=principal, bonus=bonus)
    cashback_pct = programme_service.current(uow.session, WalletSettings).cashback_pct
    cashback = rules.cashback_for(amount, cashback_pct)
    entry = _post_payment(uow, member_id, split, cashback, payment_ref=payment_ref,
                          reference=reference, key=key or f"wallet:pay:{payment_ref}")
    lots.consume_from(uow, member_id, open_lots,
                      {"principal": split.principal, "bonus": split.bonus})
    lots.credit(uow, member_id=member_id, kind="bonus", source="cashback",
                reference=payment_ref, amount=cashback, entry_id=entry.id)
    payment = WalletPayment(
        member_id=member_id, payment_ref=payment_ref, reference=reference, amount=amount,
        principal_part=split.principal, bonus_part=split.bonus, cashback=cashback,
        refunded=0, entry_id=entry.id, created_at=uow.clock.now())
    insert_unique(uow, payment, "payment_ref", payment_ref)
    uow.emit(WalletPaid(member_id=member_id, payment_ref=payment_ref, amount=amount,
                        principal=split.principal, bonus=split.bonus, reference=reference))
    if cashback:
        uow.emit(CashbackCredited(member_id=member_id, payment_ref=payment_ref,
                                  amount=cashback))
    return payment


def _post_payment(uow: UnitOfWork, member_id: int, split: Split, cashback: int, *,
                  payment_ref: str, reference: str | None, key: str) -> ledger_service.Entry:
    # The cashback rides in the payment's own entry rather than a second one: a purchase
    # is one atomic movement, its balances are locked once in address order (a second
    # entry would lock again, in an order of its own), and the statement shows one line,
    # the bonus net of the cashback.
    principal, bonus = rules.principal_account(member_id), rules.bonus_account(member_id)
    return ledger_service.post(
        uow, key=key, kind="wallet.payment", reference=payment_ref, reason=reference,
        postings=_postings([(principal, rules.SPENT_PRINCIPAL, split.principal),
                            (bonus, rules.SPENT_BONUS, split.bonus),
                            (rules.CASHBACK, bonus, cashback)]),
        details={"member_id": member_id, "reference": reference, "cashback": cashback})


def _same_payment(existing: WalletPayment, member_id: int, amount: int,
                  reference: str | None) -> WalletPayment:
    if (existing.member_id, existing.amount, existing.reference) != \
            (member_id, amount, reference):
        raise Conflict(f"payment_ref {existing.payment_ref!r} was already used for another "
                       "payment", code="payment_ref_reused")
    return existing


def refund_payment(uow: UnitOfWork, *, payment_ref: str, refund_ref: str, amount: int,
                   key: str | None = None) -> WalletRefund:
    """Refund part or all of a wallet payment back to principal and bonus, taking back the
    cashback the refunded part earned. A frozen member cannot be credited: refused."""
    check_amount(amount)
    check_ref(payment_ref, "payment_ref")
    check_ref(refund_ref, "refund_ref")
    found = queries.payment_by_ref(uow.session, payment_ref)
    if found is None:
        raise NotFound(f"no wallet payment {payment_ref!r}", code="payment_not_found")
    members_service.lock_active(uow, found.member_id)
    done = queries.refund_by_ref(uow.session, refund_ref)
    if done is not None:
        if (done.payment_id, done.amount) != (found.id, amount):
            raise Conflict(f"refund_ref {refund_ref!r} was already used for another refund",
                           code="refund_ref_reused")
        return done
    payment = queries.payment_by_ref(uow.session, payment_ref)  # re-read under the lock
    assert payment is not None
    if amount > payment.amount - payment.refunded:
        raise RuleViolated(
            f"refund of {Money(amount).format()} exceeds what is left of the payment "
            f"({Money(payment.amount - payment.refunded).format()})",
            code="refund_exceeds_payment", refundable=payment.amount - payment.refunded)
    refund = _refund(uow, payment, refund_ref, amount, key or f"wallet:refund:{refund_ref}")
    audit.record(uow, action="wallet.refunded", target_type="wallet_payment",
                 target_id=payment.id, reason=f"refund {refund_ref}",
                 changes={"refunded": {"before": payment.refunded - amount,
                                       "after": payment.refunded}})
    return refund


def _clawback_sources(uow: UnitOfWork, member_id: int, clawback: int,
                      back: Split) -> Split:
    # The cashback is taken back from bonus first — what the member holds after this
    # refund's bonus part returns — and only the rest from principal (the member already
    # spent that cashback). The refund itself credits `amount` ≥ the clawback, so the
    # two together always cover it.
    _, bonus = queries.balances(uow.session, member_id)
    from_bonus = min(clawback, bonus + back.bonus)
    return Split(principal=clawback - from_bonus, bonus=from_bonus)


def _refund(uow: UnitOfWork, payment: WalletPayment, refund_ref: str, amount: int,
            key: str) -> WalletRefund:
    member_id = payment.member_id
    back = rules.refund_parts(Split(payment.principal_part, payment.bonus_part),
                              already_refunded=payment.refunded, amount=amount)
    clawback = rules.cashback_clawback(payment.cashback, payment.amount,
                                       already_refunded=payment.refunded, amount=amount)
    take = _clawback_sources(uow, member_id, clawback, back)
    principal, bonus = rules.principal_account(member_id), rules.bonus_account(member_id)
    entry = ledger_service.post(
        uow, key=key, kind="wallet.refund", reference=payment.payment_ref,
        reason=f"refund {refund_ref}", details={"member_id": member_id,
                                                "refund_ref": refund_ref},
        postings=_postings([(rules.SPENT_PRINCIPAL, principal, back.principal),
                            (rules.SPENT_BONUS, bonus, back.bonus),
                            (bonus, rules.CASHBACK, take.bonus),
                            (principal, rules.CASHBACK, take.principal)]))
    lots.credit(uow, member_id=member_id, kind="principal", source="refund",
                reference=refund_ref, amount=back.principal, entry_id=entry.id)
    lots.credit(uow, member_id=member_id, kind="bonus", source="refund",
                reference=refund_ref, amount=back.bonus, entry_id=entry.id)
    lots.consume(uow, member_id=member_id, kind="bonus", amount=take.bonus)
    lots.consume(uow, member_id=member_id, kind="principal", amount=take.principal)
    refund = WalletRefund(
        payment_id=payment.id, member_id=member_id, refund_ref=refund_ref, amount=amount,
        principal_part=back.principal, bonus_part=back.bonus, cashback_clawback=clawback,
        entry_id=entry.id, created_at=uow.clock.now())
    payment.refunded += amount
    flush_unique(uow, refund, "refund_ref", refund_ref)
    uow.emit(WalletRefunded(member_id=member_id, payment_ref=payment.payment_ref,
                            refund_ref=refund_ref, amount=amount, principal=back.principal,
                            bonus=back.bonus, cashback_clawback=clawback))
    return refund
