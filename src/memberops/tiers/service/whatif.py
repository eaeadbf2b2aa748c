"""What-if: replay the window's activity under a proposed ladder and compare it with the
ladder in force — per tier, who would move up or down, and the change in discount cost.
Nothing is written; a read-only unit of work is enough.

One aggregate statement over the activity (GROUP BY member, both ladders' windows as
conditional sums), joined to members and their floors: the cost does not grow with the
number of queries per member, only with the rows the database scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, case, func, select

from memberops.errors import ValidationFailed
from memberops.members.models import Member
from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.models import MemberTier
from memberops.tiers.queries import ACTIVITY, RECHARGED, ladder
from memberops.uow import UnitOfWork


@dataclass(frozen=True)
class WhatIfReport:
    as_of: datetime
    window_from: datetime  # the proposed ladder's net-spend window
    window_to: datetime
    current: TierLadder
    proposed: TierLadder
    result: rules.WhatIf


def parse_ladder(data: object) -> TierLadder:
    """A proposed ladder, validated exactly as saving it would be."""
    if isinstance(data, TierLadder):
        return data
    try:
        return TierLadder.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
                  for e in exc.errors()]
        raise ValidationFailed("invalid tier ladder: " + "; ".join(
            f"{e['field']}: {e['reason']}" for e in errors), errors=errors) from None


def _sum(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _columns(prefix: str, spend_from: datetime, recharge_from: datetime) -> list[Any]:
    recharge = RECHARGED
    spend_in = ACTIVITY.c.occurred_at >= spend_from
    return [
        _sum(and_(~recharge, spend_in), ACTIVITY.c.amount).label(f"{prefix}_net"),
        _sum(spend_in, ACTIVITY.c.orders).label(f"{prefix}_orders"),
        _sum(and_(recharge, ACTIVITY.c.occurred_at >= recharge_from),
             ACTIVITY.c.amount).label(f"{prefix}_recharge"),
    ]


def what_if(uow: UnitOfWork, proposed: object) -> WhatIfReport:
    """Compare the proposed ladder with the one in force over the last window (see
    `rules.what_if` for what is compared and the discount-cost approximation)."""
    new = parse_ladder(proposed)
    old = ladder(uow.session)
    now, tz = uow.clock.now(), uow.clock.tz
    end = now + timedelta(seconds=1)
    starts = {name: rules.months_before(end, months, tz) for name, months in (
        ("old_spend", old.window_months), ("old_recharge", old.recharge_window_months),
        ("new_spend", new.window_months), ("new_recharge", new.recharge_window_months))}
    per_member = (
        select(ACTIVITY.c.member_id,
               *_columns("old", starts["old_spend"], starts["old_recharge"]),
               *_columns("new", starts["new_spend"], starts["new_recharge"]))
        .where(ACTIVITY.c.occurred_at >= min(starts.values()), ACTIVITY.c.occurred_at < end)
        .group_by(ACTIVITY.c.member_id).subquery())
    found = per_member.c
    stmt = (select(Member.id, Member.tier, MemberTier.floor_tier, MemberTier.floor_until,
                   found.old_net, found.old_orders, found.old_recharge,
                   found.new_net, found.new_orders, found.new_recharge)
            .select_from(Member)
            .outerjoin(per_member, found.member_id == Member.id)
            .outerjoin(MemberTier, MemberTier.member_id == Member.id)
            .where(Member.status != "closed"))
    today = uow.clock.today()
    replays = (rules.MemberReplay(
        member_id=member_id, tier=tier,
        floor=floor if until is not None and until >= today else None,
        baseline=rules.Activity(int(o_net or 0), int(o_orders or 0), int(o_recharge or 0)),
        proposed=rules.Activity(int(n_net or 0), int(n_orders or 0), int(n_recharge or 0)))
        for member_id, tier, floor, until, o_net, o_orders, o_recharge, n_net, n_orders,
        n_recharge in uow.session.execute(stmt))
    return WhatIfReport(as_of=now, window_from=starts["new_spend"], window_to=now,
                        current=old, proposed=new, result=rules.what_if(old, new, replays))
