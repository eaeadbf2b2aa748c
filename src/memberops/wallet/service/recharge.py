"""Recharging (充值): submit, decide the risk, and settle — credit principal and bonus.

A recharge is `pending` until its payment is confirmed, `pending_review` while held,
`settled` once credited, `rejected` by a risk rule or a reviewer, `failed` when its
payment failed. Settling is the only step that moves value, and it happens once: under
the member lock and the recharge row lock, from a `pending`/`pending_review` state.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Table, bindparam, update

from memberops.errors import Conflict, field_error
from memberops.ledger import service as ledger_service
from memberops.ledger.rules import Posting
from memberops.members import queries as member_queries
from memberops.members import service as members_service
from memberops.members.service import LockedMember
from memberops.money import Money
from memberops.points import service as points_service
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import RechargeScheme
from memberops.risk import service as risk_service
from memberops.risk.rules import Decision
from memberops.tiers import service as tiers_service
from memberops.uow import UnitOfWork
from memberops.wallet import queries, rules
from memberops.wallet.events import (
    RechargeHeld,
    RechargeRejected,
    RechargeSettled,
    RechargeSubmitted,
)
from memberops.wallet.models import Recharge
from memberops.wallet.service import lots
from memberops.wallet.service.common import (
    check_amount,
    check_cap,
    check_ref,
    insert_unique,
)

PaymentState = Literal["confirmed", "pending"]


def recharge(uow: UnitOfWork, *, member_id: int, amount: int, payment_ref: str,
             payment: str = "confirmed", key: str | None = None) -> Recharge:
    """Submit a recharge; credit it at once when its payment is confirmed and no risk rule
    holds or rejects it. The same payment_ref and content return the first recharge."""
    scheme = programme_service.current(uow.session, RechargeScheme)
    check_amount(amount, low=scheme.min_amount, high=scheme.max_amount)
    check_ref(payment_ref, "payment_ref")
    if payment not in ("confirmed", "pending"):
        raise field_error("payment", "must be confirmed or pending")
    member = members_service.lock_active_id(uow, member_id)
    existing = queries.recharge_by_ref(uow.session, payment_ref)
    if existing is not None:
        return _same_recharge(existing, member_id, amount)
    check_cap(uow, member_id, amount, with_outstanding=True)
    recent = queries.recent_recharges(uow.session, member_id,
                                      since=risk_service.lookback_start(uow))
    row = _new_recharge(uow, member, scheme, amount=amount, payment_ref=payment_ref,
                        payment_status="confirmed" if payment == "confirmed" else "pending")
    uow.emit(RechargeSubmitted(member_id=member_id, recharge_id=row.id,
                               payment_ref=payment_ref, amount=amount, bonus=row.bonus))
    decision = risk_service.assess_recharge(uow, recharge_id=row.id, member_id=member_id,
                                            amount=amount, recent=recent)
    _apply_decision(uow, row, decision, key=key)
    OUTCOME.execute(uow.session, {name: getattr(row, name) for name in OUTCOME_FIELDS}
                    | {"recharge_id": row.id}).close()
    return row


# A new recharge is written with prepared statements, not the ORM (two flushes cost more
# than the rest of a recharge): inserted when submitted, for its id, and its outcome —
# held, rejected or settled — written by one UPDATE. The returned object stays transient.
# Later steps (payment callback, review) load it through the ORM as usual.
RECHARGES: Table = Recharge.__table__  # type: ignore[assignment]
OUTCOME_FIELDS = ("status", "review_status", "risk_rule", "risk_reason", "referrer_points",
                  "entry_id", "settled_at")
OUTCOME = Prepared(update(RECHARGES).where(RECHARGES.c.id == bindparam("recharge_id"))
                   .values({name: bindparam(name) for name in OUTCOME_FIELDS}))


def _same_recharge(existing: Recharge, member_id: int, amount: int) -> Recharge:
    # A retry: the same payment_ref is the same recharge only with the same member and
    # amount (the payment state is not compared: a callback may have moved it on since).
    if (existing.member_id, existing.amount) != (member_id, amount):
        raise Conflict(f"payment_ref {existing.payment_ref!r} was already used for another "
                       "recharge", code="payment_ref_reused", recharge_id=existing.id)
    return existing


def _new_recharge(uow: UnitOfWork, member: LockedMember, scheme: RechargeScheme, *, amount: int,
                  payment_ref: str, payment_status: str) -> Recharge:
    # The bonus is fixed at submission — what the member is told at the till — from the
    # recharges settled before it (PROGRAMME.md). Recharges still pending or held do not
    # count yet: two recharges in flight at once can both carry the first-recharge extra.
    today = uow.clock.today()
    settled_total, settled_count = queries.recharge_history(uow.session, member.id)
    # Tags are loaded only when a campaign is limited to a tag: it costs a query.
    tags = members_service.get_member(uow, member.id).tag_names \
        if any(c.segment_tag for c in scheme.campaigns) else []
    campaigns = rules.campaigns_for(scheme, today=today, tags=tags)
    bonus, breakdown = rules.bonus_for(
        amount, scheme, settled_before_total=settled_total,
        settled_before_count=settled_count, campaigns_active=campaigns, today=today)
    row = Recharge(
        member_id=member.id, payment_ref=payment_ref, amount=amount, bonus=bonus,
        bonus_breakdown=breakdown, referrer_id=member.referrer_id,
        referrer_points=rules.referral_points(amount, scheme) if member.referrer_id else 0,
        campaign_points=rules.campaign_points(amount, campaigns, today),
        status="pending", payment_status=payment_status, review_status="none",
        scheme_version=programme_service.current_version(uow.session, "recharge_scheme"),
        created_at=uow.clock.now())
    insert_unique(uow, row, "payment_ref", payment_ref)
    return row


def _apply_decision(uow: UnitOfWork, row: Recharge, decision: Decision, *,
                    key: str | None) -> None:
    if decision.outcome == "rejected":
        row.status, row.risk_rule, row.risk_reason = "rejected", decision.rule, decision.reason
        uow.emit(RechargeRejected(member_id=row.member_id, recharge_id=row.id,
                                  amount=row.amount, rule=decision.rule,
                                  reason=decision.reason))
    elif decision.outcome == "held":
        row.status, row.review_status = "pending_review", "held"
        row.risk_rule, row.risk_reason = decision.rule, decision.reason
        uow.emit(RechargeHeld(member_id=row.member_id, recharge_id=row.id, amount=row.amount,
                              rule=decision.rule, reason=decision.reason))
    elif row.payment_status == "confirmed":
        settle(uow, row, key=key)


def settle(uow: UnitOfWork, row: Recharge, *, key: str | None = None) -> None:
    """Credit a recharge: principal and bonus as separate lots and postings of one entry,
    with the referral and campaign points. The caller holds the member and recharge locks
    and has checked that the recharge may settle."""
    check_cap(uow, row.member_id, row.amount + row.bonus)
    # Points first: they lock the referrer's member row, and member rows are always
    # locked before ledger balances (members.lock_active), so no two units of work wait
    # on each other in opposite orders.
    _award_points(uow, row)
    member_id = row.member_id
    postings = [Posting(rules.PAYMENTS_IN, rules.principal_account(member_id), rules.ASSET,
                        row.amount)]
    if row.bonus:
        postings.append(Posting(rules.BONUS_ISSUED, rules.bonus_account(member_id),
                                rules.ASSET, row.bonus))
    entry = ledger_service.post(
        uow, key=key or f"wallet:recharge:{row.payment_ref}", kind="wallet.recharge",
        postings=postings, reference=row.payment_ref, reason=f"recharge {row.id}",
        details={"recharge_id": row.id, "member_id": member_id,
                 "bonus_breakdown": row.bonus_breakdown})
    lots.credit(uow, member_id=member_id, kind="principal", source="recharge",
                reference=row.payment_ref, amount=row.amount, entry_id=entry.id)
    lots.credit(uow, member_id=member_id, kind="bonus", source="recharge",
                reference=row.payment_ref, amount=row.bonus, entry_id=entry.id)
    row.status, row.entry_id, row.settled_at = "settled", entry.id, uow.clock.now()
    # Cumulative recharges qualify for a tier (Diamond at ¥10,000): upgraded at once.
    tiers_service.record_recharge(uow, member_id=member_id, amount=row.amount,
                                  reference=row.payment_ref)
    uow.emit(RechargeSettled(member_id=member_id, recharge_id=row.id,
                             payment_ref=row.payment_ref, amount=row.amount, bonus=row.bonus))


def _award_points(uow: UnitOfWork, row: Recharge) -> None:
    if not (row.referrer_points or row.campaign_points):
        return
    if row.referrer_points and row.referrer_id is not None:
        # A frozen or closed referrer cannot be credited; the recharge itself still
        # settles, and the row records that no referral points were given.
        if member_queries.get(uow.session, row.referrer_id).status != "active":
            row.referrer_points = 0
        else:
            points_service.award(
                uow, member_id=row.referrer_id, points=row.referrer_points,
                source="recharge_referral", reference=row.payment_ref,
                key=f"wallet:recharge:{row.payment_ref}:referral",
                reason=f"member {row.member_id} recharged {Money(row.amount).format()}")
    if row.campaign_points:
        points_service.award(
            uow, member_id=row.member_id, points=row.campaign_points,
            source="recharge_campaign", reference=row.payment_ref,
            key=f"wallet:recharge:{row.payment_ref}:campaign",
            reason=f"recharge campaign on {Money(row.amount).format()}")
