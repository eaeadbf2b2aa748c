"""Tier shapes at the edge: what may come in (a floor; a proposed ladder is the `tiers`
configuration itself) and what goes out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memberops.programme.schemas import TierLadder
from memberops.tiers import rules
from memberops.tiers.models import TierChange
from memberops.tiers.queries import Floor, Target, TierStatus
from memberops.tiers.service import WhatIfReport


class FloorSet(BaseModel):
    """A floor: the lowest tier the member can hold through `until` (inclusive)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tier: str = Field(min_length=1, max_length=20, examples=["gold"])
    reason: str = Field(min_length=1, max_length=500, examples=["service failure, VIP"])
    until: date = Field(description="the last day the floor holds; after today")


class BenefitsRead(BaseModel):
    code: str
    name_zh: str
    name_en: str
    discount_pct: int
    points_multiplier_pct: int
    free_shipping: bool
    birthday_coupon: bool
    priority_service: bool

    @classmethod
    def of(cls, found: rules.TierBenefits) -> BenefitsRead:
        return cls.model_validate(found, from_attributes=True)


class ActivityRead(BaseModel):
    net_spend: int = Field(description="fen, refunds deducted")
    orders: int
    recharge: int = Field(description="fen")

    @classmethod
    def of(cls, found: rules.Activity) -> ActivityRead:
        return cls(net_spend=found.net_spend, orders=found.orders, recharge=found.recharge)


class NeedRead(BaseModel):
    criterion: str
    target: int
    current: int
    missing: int


class TargetRead(BaseModel):
    """A tier and what it takes: reaching any one criterion is enough."""

    tier: str
    by: date | None = Field(description="keep: before this review day")
    needs: list[NeedRead]

    @classmethod
    def of(cls, found: Target | None) -> TargetRead | None:
        if found is None:
            return None
        return cls(tier=found.tier, by=found.by, needs=[
            NeedRead(criterion=n.criterion, target=n.target, current=n.current,
                     missing=n.missing) for n in found.needs])


class FloorRead(BaseModel):
    tier: str
    until: date
    reason: str
    set_by: str | None
    set_at: datetime | None

    @classmethod
    def of(cls, found: Floor | None) -> FloorRead | None:
        return cls.model_validate(found, from_attributes=True) if found else None


class ProgressRead(BaseModel):
    window_from: datetime
    window_to: datetime
    activity: ActivityRead
    next: TargetRead | None = Field(description="the tier above and what it needs")
    keep: TargetRead | None = Field(description="what keeping this tier at its review needs")


class MemberTierRead(BaseModel):
    member_id: int
    tier: str
    benefits: BenefitsRead
    reached_at: datetime | None
    anniversary: date | None = Field(description="the next retention review")
    held_by_floor: bool
    floor: FloorRead | None
    progress: ProgressRead

    @classmethod
    def of(cls, found: TierStatus) -> MemberTierRead:
        return cls(
            member_id=found.member_id, tier=found.tier.code,
            benefits=BenefitsRead.of(found.tier), reached_at=found.reached_at,
            anniversary=found.review_due, held_by_floor=found.held_by_floor,
            floor=FloorRead.of(found.floor),
            progress=ProgressRead(window_from=found.window_from, window_to=found.window_to,
                                  activity=ActivityRead.of(found.activity),
                                  next=TargetRead.of(found.next),
                                  keep=TargetRead.of(found.keep)))


class TierChangeRead(BaseModel):
    id: int
    from_tier: str
    to_tier: str
    reason: str
    note: str | None
    details: dict[str, Any]
    actor: str
    at: datetime

    @classmethod
    def of(cls, row: TierChange) -> TierChangeRead:
        return cls.model_validate(row, from_attributes=True)


class HistoryPage(BaseModel):
    items: list[TierChangeRead]
    next_cursor: str | None


class LadderTierRead(BaseModel):
    code: str
    name_zh: str
    name_en: str
    qualify: dict[str, int | None]
    benefits: dict[str, Any]
    members: int


class LadderRead(BaseModel):
    """The ladder in force with how many members hold each tier now."""

    version: int
    window_months: int
    recharge_window_months: int
    hold_months: int
    retention_pct: int
    tiers: list[LadderTierRead]
    other_tiers: dict[str, int] = Field(description="members on codes the ladder dropped")

    @classmethod
    def of(cls, ladder: TierLadder, version: int, counts: dict[str, int]) -> LadderRead:
        codes = {t.code for t in ladder.tiers}
        return cls(
            version=version, window_months=ladder.window_months,
            recharge_window_months=ladder.recharge_window_months,
            hold_months=ladder.hold_months, retention_pct=ladder.retention_pct,
            tiers=[LadderTierRead(code=t.code, name_zh=t.name_zh, name_en=t.name_en,
                                  qualify=t.qualify.model_dump(),
                                  benefits=t.benefits.model_dump(),
                                  members=counts.get(t.code, 0)) for t in ladder.tiers],
            other_tiers={c: n for c, n in sorted(counts.items()) if c not in codes})


class WhatIfTierRead(BaseModel):
    code: str
    current: int = Field(description="members holding it now")
    baseline: int = Field(description="replay under the ladder in force")
    proposed: int = Field(description="replay under the proposed ladder")
    up: int = Field(description="of its baseline members, how many would move up")
    down: int


class MoveRead(BaseModel):
    from_tier: str
    to_tier: str
    members: int


class DiscountCostRead(BaseModel):
    baseline: int = Field(description="fen over the window, ladder in force")
    proposed: int = Field(description="fen over the window, proposed ladder")
    change: int


class WhatIfRead(BaseModel):
    """A replay of the window under the proposed ladder; nothing was changed."""

    as_of: datetime
    window_from: datetime
    window_to: datetime
    members: int
    up: int
    down: int
    tiers: list[WhatIfTierRead]
    moves: list[MoveRead]
    net_spend: int = Field(description="fen over the window, the base of the discount cost")
    discount_cost: DiscountCostRead

    @classmethod
    def of(cls, report: WhatIfReport) -> WhatIfRead:
        result = report.result
        order = [t.code for t in report.proposed.tiers] + [
            t.code for t in report.current.tiers if report.proposed.rank(t.code) is None]
        order += sorted(set(result.tiers) - set(order))
        return cls(
            as_of=report.as_of, window_from=report.window_from, window_to=report.window_to,
            members=result.members, up=result.up, down=result.down,
            tiers=[WhatIfTierRead(code=c, current=result.tiers[c].current,
                                  baseline=result.tiers[c].baseline,
                                  proposed=result.tiers[c].proposed, up=result.tiers[c].up,
                                  down=result.tiers[c].down) for c in order],
            moves=[MoveRead(from_tier=a, to_tier=b, members=n)
                   for (a, b), n in sorted(result.moves.items())],
            net_spend=result.spend,
            discount_cost=DiscountCostRead(baseline=result.discount_baseline,
                                           proposed=result.discount_proposed,
                                           change=result.discount_change))
