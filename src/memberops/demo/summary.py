"""What a demo database holds, in a few figures: read back from the database (not from
the generator's counters), so that a kept demo reports the same as a fresh one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberops.ledger import service as ledger_service
from memberops.members import queries as member_queries
from memberops.members.queries import MemberFilter
from memberops.points import queries as points_queries
from memberops.points.queries import PointsLiability
from memberops.points.service.common import ADJUSTED, EXPIRED, ISSUED, REDEEMED
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


def figures(session: Session, tz: tzinfo) -> DemoFigures:
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
        wallet_owed=wallet_queries.liability(session))
