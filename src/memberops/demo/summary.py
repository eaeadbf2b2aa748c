"""What a demo database holds, in a few figures: read back from the database (not from
the generator's counters), so that a kept demo reports the same as a fresh one: members,
orders and refunds, coupons, tiers and PLUS, recharges, wallet and points flows, and what
the programme owes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberops.coupons.models import Coupon
from memberops.ledger import service as ledger_service
from memberops.members import queries as member_queries
from memberops.members.models import Member
from memberops.members.queries import MemberFilter
from memberops.orders.models import Order, OrderRefund
from memberops.plus.models import PlusSubscription
from memberops.plus.rules import IN_FORCE
from memberops.points import queries as points_queries
from memberops.points.queries import PointsLiability
from memberops.points.service.common import ADJUSTED, EXPIRED, ISSUED, REDEEMED
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder
from memberops.wallet import queries as wallet_queries
from memberops.wallet.models import CashOut, Recharge, WalletPayment, WalletRefund


@dataclass(frozen=True)
class RechargeCounts:
    settled: int = 0
    held: int = 0  # held for review and decided or waiting (the next three add up to it)
    approved: int = 0
    rejected_on_review: int = 0
    waiting_review: int = 0
    rejected_by_rule: int = 0  # refused at once by a risk rule (velocity, daily limit)
    failed: int = 0  # the payment failed
    awaiting_payment: int = 0


@dataclass(frozen=True)
class OrderFigures:
    orders: int = 0
    members: int = 0  # members with at least one order
    stores: int = 0
    revenue: int = 0  # fen paid for goods (points value, wallet and outside), before refunds
    refunds: int = 0
    refunded: int = 0  # fen
    with_coupon: int = 0
    with_points: int = 0
    with_wallet: int = 0


@dataclass(frozen=True)
class CouponCounts:
    issued: int = 0  # every coupon ever issued (the next three add up to it)
    used: int = 0
    expired: int = 0
    open: int = 0  # issued and neither used nor expired yet


@dataclass(frozen=True)
class DemoFigures:
    """The demo's stored value and points at a glance (points are net of clawbacks,
    returns and corrections: outstanding = issued + adjusted - redeemed - expired)."""

    members: int
    recharges: RechargeCounts
    wallet_payments: int
    wallet_refunds: int
    cash_outs: int
    points_issued: int
    points_adjusted: int
    points_redeemed: int
    points_expired: int
    points_owed: PointsLiability
    wallet_owed: dict[str, int]  # principal, bonus, total (fen), wallets
    orders: OrderFigures = OrderFigures()
    coupons: CouponCounts = CouponCounts()
    tiers: dict[str, int] | None = None  # members by tier held
    plus: int = 0  # members whose PLUS is in force


def _count(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def recharge_counts(session: Session) -> RechargeCounts:
    """Recharges by outcome."""
    rows = session.execute(select(Recharge.status, Recharge.review_status, func.count())
                           .group_by(Recharge.status, Recharge.review_status)).all()
    by = {(status, review): int(n) for status, review, n in rows}

    def total(status: str | None = None, review: str | None = None) -> int:
        return sum(n for (s, r), n in by.items()
                   if status in (None, s) and review in (None, r))
    return RechargeCounts(
        # A held recharge whose payment failed left the queue undecided: it counts as failed.
        settled=total("settled"),
        held=total(review="approved") + total(review="rejected") + total("pending_review"),
        approved=total(review="approved"), rejected_on_review=total(review="rejected"),
        waiting_review=total("pending_review"), rejected_by_rule=total("rejected", "none"),
        failed=total("failed"), awaiting_payment=total("pending"))


def order_figures(session: Session) -> OrderFigures:
    """Orders, what they brought in, what went back, and how they were paid."""
    o = session.execute(select(
        func.count(), func.count(func.distinct(Order.member_id)),
        func.count(func.distinct(Order.store)),
        func.coalesce(func.sum(Order.points_value + Order.wallet_paid + Order.external_paid), 0),
        func.coalesce(func.sum(Order.refunded), 0),
        func.count().filter(Order.coupon_discount > 0),
        func.count().filter(Order.points_used > 0),
        func.count().filter(Order.wallet_paid > 0))).one()
    return OrderFigures(orders=o[0], members=o[1], stores=o[2], revenue=int(o[3]),
                        refunds=_count(session, OrderRefund), refunded=int(o[4]),
                        with_coupon=o[5], with_points=o[6], with_wallet=o[7])


def coupon_counts(session: Session) -> CouponCounts:
    by = {str(status): int(n) for status, n in session.execute(
        select(Coupon.status, func.count()).group_by(Coupon.status))}
    return CouponCounts(issued=sum(by.values()), used=by.get("used", 0),
                        expired=by.get("expired", 0), open=by.get("issued", 0))


def tier_counts(session: Session) -> dict[str, int]:
    """Members by the tier they hold, up the ladder (a tier nobody holds shows 0)."""
    held = {str(tier): int(n) for tier, n in session.execute(
        select(Member.tier, func.count()).group_by(Member.tier))}
    ladder = [t.code for t in programme_service.current(session, TierLadder).tiers]
    return {code: held.pop(code, 0) for code in ladder} | held


def plus_in_force(session: Session, now: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(PlusSubscription).where(
        PlusSubscription.status.in_(IN_FORCE),
        PlusSubscription.started_at <= now, PlusSubscription.ends_at > now)).scalar_one())


def figures(session: Session, tz: tzinfo, now: datetime | None = None) -> DemoFigures:
    """Members, recharges, wallet movements, points flows and what the programme owes
    (points by the month they expire in the programme's time zone `tz`)."""
    system = ledger_service.balances(session, [ISSUED, ADJUSTED, REDEEMED, EXPIRED],
                                     points_queries.ASSET)
    return DemoFigures(
        members=member_queries.count(session, MemberFilter()),
        recharges=recharge_counts(session),
        wallet_payments=_count(session, WalletPayment),
        wallet_refunds=_count(session, WalletRefund),
        cash_outs=_count(session, CashOut),
        # System accounts are the other side of every movement: issued and adjusted
        # points left them (negative), redeemed and expired points arrived (positive).
        points_issued=-system[ISSUED], points_adjusted=-system[ADJUSTED],
        points_redeemed=system[REDEEMED], points_expired=system[EXPIRED],
        points_owed=points_queries.liability(session, tz),
        wallet_owed=wallet_queries.liability(session),
        orders=order_figures(session), coupons=coupon_counts(session),
        tiers=tier_counts(session),
        plus=plus_in_force(session, now) if now is not None else 0)
