"""Pricing an order for a member: what `POST /orders/quote` answers and what `POST /orders`
commits, computed by the same code from the same reads.

Order of the steps (PROGRAMME.md): tier discount → PLUS discount → coupons → points
deduction (at most the programme's share of what is left) → wallet → the rest outside.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from memberops.coupons import service as coupons_service
from memberops.coupons.rules import AppliedCoupon, OrderContext
from memberops.errors import InsufficientBalance, RuleViolated, field_error
from memberops.orders import rules
from memberops.orders.models import Order
from memberops.orders.schemas import OrderCreate
from memberops.plus import queries as plus_queries
from memberops.plus import rules as plus_rules
from memberops.plus.rules import PlusBenefits
from memberops.points import rules as points_rules
from memberops.points.queries import available_points
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import EarningRules, TierLadder
from memberops.tiers import rules as tier_rules
from memberops.tiers.rules import TierBenefits
from memberops.uow import UnitOfWork
from memberops.wallet import queries as wallet_queries

BP_PER_PCT = 100
ORDERS = Order.__table__
HAS_ORDER = Prepared(select(ORDERS.c.id).where(ORDERS.c.member_id == bindparam("member_id"))
                     .limit(1))


@dataclass(frozen=True)
class MemberView:
    """What pricing needs of the (locked) member; satisfies coupons' MemberLike."""

    id: int
    tier: str
    birthday: object


@dataclass(frozen=True)
class Priced:
    """An order priced for its member, with everything the commit needs."""

    lines: list[rules.Line]
    pricing: rules.Pricing
    tier: TierBenefits
    plus: PlusBenefits | None
    coupons: list[AppliedCoupon]
    coupon_context: OrderContext
    first_order: bool
    multiplier_pct: int  # tier × PLUS, ×100
    points_estimate: int  # before the earning caps


def request_hash(order: OrderCreate) -> str:
    """What the order asks for, canonical: the same order_ref with other content is
    another order (409), with the same content a retry."""
    body = json.dumps(order.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def lines_of(order: OrderCreate) -> list[rules.Line]:
    seen: set[str] = set()
    lines = []
    for item in order.items:
        if item.sku in seen:
            raise field_error("items", f"sku {item.sku!r} appears twice; give one line with "
                              "its total quantity", code="duplicate_sku")
        seen.add(item.sku)
        lines.append(rules.Line(item.sku, item.category, item.quantity, item.unit_price))
    return lines


def price(uow: UnitOfWork, member: MemberView, order: OrderCreate) -> Priced:
    """Price `order` for `member` as of now; raises the first rule it breaks (coupon
    refused, points beyond the balance or the share, wallet beyond the balance)."""
    session = uow.session
    now = uow.clock.now()
    lines = lines_of(order)
    ladder = programme_service.current(session, TierLadder)
    tier = tier_rules.benefits_of(ladder, member.tier)
    plus = plus_queries.benefits(session, member.id, now)
    subtotal = sum(line.gross for line in lines)
    tier_off, plus_off = rules.after_member_discounts(
        subtotal, tier.discount_pct * BP_PER_PCT,
        plus.extra_discount_pct * BP_PER_PCT if plus else 0)
    first_order = HAS_ORDER.first(session, {"member_id": member.id}) is None
    context = coupons_service.context(subtotal - tier_off - plus_off, 0, not first_order)
    applied = coupons_service.quote(session, member, order.coupon_codes, context, now=now)
    coupon_off = sum(c.discount for c in applied if c.target == "amount")
    after_coupons = subtotal - tier_off - plus_off - coupon_off
    earning = programme_service.current(session, EarningRules)
    points_value = _points_value(session, member.id, order.points_to_use, after_coupons,
                                 earning, now)
    payable = after_coupons - points_value
    _check_wallet(session, member.id, order.wallet_amount, payable)
    pricing = rules.price(lines, tier_bp=tier.discount_pct * BP_PER_PCT,
                          plus_bp=plus.extra_discount_pct * BP_PER_PCT if plus else 0,
                          coupon_discount=coupon_off, points_used=order.points_to_use,
                          points_value=points_value, wallet=order.wallet_amount)
    multiplier = plus_rules.points_multiplier_pct(tier.points_multiplier_pct, plus)
    day = now.astimezone(uow.clock.tz).date()
    estimate = points_rules.points_for_purchase(
        pricing.payable, member.tier, member.birthday, day, earning, ladder,  # type: ignore[arg-type]
        multiplier)
    return Priced(lines, pricing, tier, plus, applied, context, first_order, multiplier,
                  estimate)


def _points_value(session: Session, member_id: int, points: int, payable: int,
                  earning: EarningRules, now: datetime) -> int:
    if points == 0:
        return 0
    try:
        value = points_rules.deduction_value(points, payable, earning)
    except ValueError as exc:
        raise RuleViolated(f"points_to_use: {exc}", code="points_over_share",
                           max_share_pct=earning.max_redeem_share_pct) from None
    available = available_points(session, member_id, now)
    if points > available:
        raise InsufficientBalance(f"the member has {available} points available, {points} "
                                  "asked for", code="insufficient_points",
                                  available=available, requested=points)
    return value


def _check_wallet(session: Session, member_id: int, amount: int, payable: int) -> None:
    if amount == 0:
        return
    if amount > payable:
        raise RuleViolated(f"wallet_amount {amount} fen is more than the {payable} fen left "
                           "to pay", code="wallet_over_payable", payable=payable)
    principal, bonus = wallet_queries.balances(session, member_id)
    if amount > principal + bonus:
        raise InsufficientBalance(f"the wallet holds {principal + bonus} fen, {amount} asked "
                                  "for", available=principal + bonus, requested=amount)
