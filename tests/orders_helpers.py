"""Shared helpers for the order tests: a member with a wallet, points, a tier, PLUS and
coupons; placing and refunding; and what must hold afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from memberops.coupons import service as coupons_service
from memberops.coupons.models import Coupon
from memberops.db import Database
from memberops.ledger import service as ledger_service
from memberops.members.models import Member
from memberops.orders import service
from memberops.orders.models import Order, OrderRefund
from memberops.orders.schemas import OrderCreate, RefundCreate
from memberops.plus import service as plus_service
from memberops.points import service as points_service
from memberops.points.models import PointsLot
from memberops.points.queries import ASSET as POINTS
from memberops.points.queries import available_account
from memberops.tiers.models import TierActivity
from memberops.uow import UnitOfWork
from memberops.wallet import service as wallet_service
from tests import wallet_helpers

MakeUow = Callable[..., UnitOfWork]
YUAN = 100


def member(make_uow: MakeUow, n: int = 1, *, wallet: int = 0, points: int = 0,
           tier: str | None = None, plus: bool = False, **fields: Any) -> int:
    """A member with `wallet` fen recharged (bonus comes on top, per the scheme), `points`
    available, a tier code set directly, and PLUS bought outside if asked."""
    member_id = wallet_helpers.new_member(make_uow, n, **fields)
    with make_uow() as uow:
        if wallet:
            wallet_service.recharge(uow, member_id=member_id, amount=wallet,
                                    payment_ref=f"seed-{member_id}")
        if points:
            points_service.adjust(uow, member_id=member_id, points=points,
                                  reason="test points", key=f"seed-points-{member_id}")
        if plus:
            plus_service.buy(uow, member_id=member_id, plan="PLUS", payment="external",
                             payment_ref=f"plus-{member_id}")
    if tier is not None:
        with make_uow() as uow:
            uow.session.execute(update(Member).where(Member.id == member_id).values(tier=tier))
    return member_id


def coupon(make_uow: MakeUow, member_id: int, template: str = "spend200-off30") -> str:
    with make_uow() as uow:
        templates = {t.code: t.id for t in coupons_service.ensure_reference_templates(uow)}
        return coupons_service.issue(uow, template_id=templates[template],
                                     member_id=member_id).code


def order(member_id: int, ref: str = "O-1", items: list[tuple[str, int, int]] | None = None,
          **fields: Any) -> OrderCreate:
    """An order of `items` (sku, quantity, unit price in fen); ¥300 of goods by default."""
    lines = items or [("LATTE", 2, 100 * YUAN), ("CAKE", 1, 100 * YUAN)]
    return OrderCreate(order_ref=ref, member_id=member_id,
                       items=[{"sku": s, "category": s.lower(), "quantity": q, "unit_price": p}
                              for s, q, p in lines], **fields)


def place(make_uow: MakeUow, body: OrderCreate) -> Order:
    with make_uow() as uow:
        return service.place(uow, body)


def refund(make_uow: MakeUow, order_ref: str, **fields: Any) -> OrderRefund:
    with make_uow() as uow:
        return service.refund(uow, order_ref, RefundCreate(**fields))[0]


def points_available(db: Database, member_id: int) -> int:
    with db.session(readonly=True) as s:
        return ledger_service.balance(s, available_account(member_id), POINTS)


def pending_points(db: Database, member_id: int) -> int:
    with db.session(readonly=True) as s:
        return int(s.execute(select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            PointsLot.member_id == member_id, PointsLot.status == "pending")).scalar_one())


def net_spend(db: Database, member_id: int) -> int:
    with db.session(readonly=True) as s:
        return int(s.execute(select(func.coalesce(func.sum(TierActivity.amount), 0)).where(
            TierActivity.member_id == member_id,
            TierActivity.kind.in_(("spend", "refund")))).scalar_one())


def coupon_status(db: Database, code: str) -> str:
    with db.session(readonly=True) as s:
        return str(s.execute(select(Coupon.status).where(Coupon.code == code)).scalar_one())


def tier_of(db: Database, member_id: int) -> str:
    with db.session(readonly=True) as s:
        return str(s.execute(select(Member.tier).where(Member.id == member_id)).scalar_one())
