"""A small world for the segment tests over a real database: three members with profiles,
tags, orders and recharges (one settled, one still pending), dated from a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert

from memberops.members.models import Member, MemberTag
from memberops.orders.models import Order
from memberops.wallet.models import Recharge
from tests.insight_helpers import order_row


def noon(d: date) -> datetime:
    return datetime.combine(d, time(4, 0), tzinfo=UTC)  # 12:00 in Shanghai, same date


def member(i: int, joined: date, **profile: Any) -> dict[str, Any]:
    return {"id": i, "phone": f"+86139{i:08d}", "gender": "unknown", "channel": "store",
            "tier": "regular", "status": "active", "joined_at": noon(joined),
            "created_at": noon(joined), "updated_at": noon(joined), **profile}


def recharge(i: int, member_id: int, day: date, amount: int, settled: bool) -> dict[str, Any]:
    return {"id": i, "member_id": member_id, "payment_ref": f"P-{i}", "amount": amount,
            "bonus": 0, "bonus_breakdown": {}, "referrer_points": 0, "campaign_points": 0,
            "status": "settled" if settled else "pending",
            "payment_status": "confirmed" if settled else "pending", "review_status": "none",
            "scheme_version": 0, "created_at": noon(day),
            "settled_at": noon(day) if settled else None}


def insert_world(db: Any, today: date) -> None:
    """1: joined 400 days ago, female, born 1990-01-01, Beijing, gold, vip; bought 3000
    five days ago; recharged 10000 (settled) three days ago.
    2: joined 10 days ago, male, Shanghai, app, regular; a recharge of 5000 still pending.
    3: joined 300 days ago, silver, frozen, vip; bought 500 two hundred days ago."""
    def ago(n: int) -> date:
        return today - timedelta(days=n)
    members = [
        member(1, ago(400), gender="female", birthday=date(1990, 1, 1), province="Beijing",
               city="Beijing", tier="gold"),
        member(2, ago(10), gender="male", province="Shanghai", city="Shanghai", channel="app"),
        member(3, ago(300), tier="silver", status="frozen"),
    ]
    orders = [order_row({"order_id": 1, "member_id": 1, "day": ago(5), "paid": 3000}, 0),
              order_row({"order_id": 2, "member_id": 3, "day": ago(200), "paid": 500}, 0)]
    with db.session() as session:
        session.execute(insert(Member), members)
        session.execute(insert(MemberTag), [
            {"member_id": 1, "tag": "vip", "added_at": noon(ago(1))},
            {"member_id": 3, "tag": "vip", "added_at": noon(ago(1))}])
        session.execute(insert(Order), orders)
        session.execute(insert(Recharge), [recharge(1, 1, ago(3), 10000, True),
                                           recharge(2, 2, ago(2), 5000, False)])
        session.commit()


def tag(db: Any, member_id: int, name: str) -> None:
    with db.session() as session:
        session.execute(insert(MemberTag), [{"member_id": member_id, "tag": name,
                                             "added_at": datetime.now(UTC)}])
        session.commit()
