"""Member insight: RFM segments, lifecycle stages with the value pyramid, the churn model's
evaluation, and one member's scores, CLV and churn risk (docs/insight.md).

Every call reads the live store as of a date (today in the programme's time zone unless
`as_of` says otherwise) and changes nothing. Scores are relative to the whole membership,
so each call computes over every member; a churn model is trained for the call (a
logistic regression at as-of − 90 days), which takes about a second on the demo.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from memberops.analytics import churn, insight, lifecycle, rfm
from memberops.analytics import purchases as buys
from memberops.api.deps import Context, authorize
from memberops.api.paging import as_of_day
from memberops.api.permissions import API_PREFIX
from memberops.programme import service as programme_service
from memberops.programme.schemas import TierLadder

router = APIRouter(prefix=API_PREFIX, tags=["insight"], dependencies=[Depends(authorize)])
Ctx = Annotated[Context, Depends(authorize)]
MemberId = Annotated[int, Path(gt=0, description="member id")]
AsOf = Annotated[date | None, Query(description="the day to look from, YYYY-MM-DD "
                                                "(default: today)")]
WindowDays = Annotated[int, Query(ge=1, le=3650, description="RFM window in days")]
HorizonDays = Annotated[int, Query(ge=1, le=730, description="churned: no purchase in "
                                                             "this many days")]


class SegmentRead(BaseModel):
    segment: str
    name: str
    members: int
    share: float
    monetary: int  # fen, net spend in the window


class RfmRead(BaseModel):
    as_of: date
    window_days: int
    members: int
    segments: list[SegmentRead]


class StageRead(BaseModel):
    stage: str
    members: int
    share: float


class LayerRead(BaseModel):
    layer: str
    members: int
    member_share: float
    spend: int  # fen
    spend_share: float
    min_spend: int | None
    max_spend: int | None


class ThresholdsRead(BaseModel):
    new_days: int
    silent_days: int
    churned_days: int
    mature_purchases: int


class LifecycleRead(BaseModel):
    as_of: date
    window_days: int
    members: int
    thresholds: ThresholdsRead
    stages: list[StageRead]
    pyramid: list[LayerRead]


class ChurnRead(BaseModel):
    as_of: date
    train_cutoff: date
    test_cutoff: date
    horizon_days: int
    train_members: int
    test_members: int
    train_churn_rate: float
    test_churn_rate: float
    auc: dict[str, float | None]
    recent_buyers: int
    auc_recent_buyers: dict[str, float | None]
    chosen: str
    notes: list[str]


class RfmScoresRead(BaseModel):
    window_days: int
    recency_days: int | None
    frequency: int
    monetary: int  # fen
    last_purchase: date | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: str
    segment_name: str


class StageOfMemberRead(BaseModel):
    stage: str
    days_since_joined: int
    days_inactive: int
    purchases: int


class ClvRead(BaseModel):
    expected_purchases_90d: float
    probability_alive: float
    clv_12m: int | None  # fen, discounted at 10 % a year


class FactorRead(BaseModel):
    feature: str
    meaning: str
    value: float
    contribution: float
    direction: str


class ChurnRiskRead(BaseModel):
    probability: float
    horizon_days: int
    model: str
    trained_cutoff: date
    factors: list[FactorRead]


class MemberInsightRead(BaseModel):
    member_id: int
    as_of: date
    rfm: RfmScoresRead
    lifecycle: StageOfMemberRead
    value_layer: str
    clv: ClvRead | None
    churn: ChurnRiskRead | None
    notes: list[str]


def _store(ctx: Context) -> buys.Store:
    return buys.load(ctx.db.url, ctx.services.settings.timezone)


def _tier_levels(ctx: Context) -> dict[str, int]:
    with ctx.uow(readonly=True) as uow:
        ladder = programme_service.current(uow.session, TierLadder)
    return {tier.code: level for level, tier in enumerate(ladder.tiers)}


def _records(frame: Any) -> list[dict[str, Any]]:
    return list(frame.iter_rows(named=True))


@router.get("/members/{member_id}/insight", response_model=MemberInsightRead)
def member_insight(member_id: MemberId, ctx: Ctx, as_of: AsOf = None,
                   horizon_days: HorizonDays = churn.DEFAULT_HORIZON_DAYS
                   ) -> dict[str, Any]:
    """A member's RFM scores and segment, lifecycle stage, value layer, CLV (expected
    purchases in 90 days, P(alive), 12-month value) and churn risk with its three main
    factors. 404 for an unknown member; 422 when they joined after `as_of`."""
    day = as_of_day(ctx, as_of)
    options = insight.Options(horizon_days=horizon_days, tier_levels=_tier_levels(ctx))
    return insight.member_insight(_store(ctx), member_id, day, options=options)


@router.get("/insight/rfm", response_model=RfmRead)
def rfm_segments(ctx: Ctx, as_of: AsOf = None,
                 window_days: WindowDays = buys.SUMMARY_WINDOW_DAYS) -> dict[str, Any]:
    """Members, share and window spend per RFM segment (every segment listed)."""
    day = as_of_day(ctx, as_of)
    scored = rfm.rfm(_store(ctx), day, window_days)
    return {"as_of": day, "window_days": window_days, "members": scored.height,
            "segments": _records(rfm.segment_counts(scored))}


@router.get("/insight/lifecycle", response_model=LifecycleRead)
def lifecycle_stages(ctx: Ctx, as_of: AsOf = None,
                     window_days: WindowDays = buys.SUMMARY_WINDOW_DAYS) -> dict[str, Any]:
    """Members per lifecycle stage (with the thresholds used) and the value pyramid."""
    day = as_of_day(ctx, as_of)
    thresholds = lifecycle.Thresholds()
    staged = lifecycle.pyramid(lifecycle.lifecycle(_store(ctx), day, thresholds,
                                                   window_days))
    return {"as_of": day, "window_days": window_days, "members": staged.height,
            "thresholds": asdict(thresholds),
            "stages": _records(lifecycle.stage_counts(staged)),
            "pyramid": _records(lifecycle.pyramid_layers(staged))}


@router.get("/insight/churn", response_model=ChurnRead)
def churn_evaluation(ctx: Ctx, as_of: AsOf = None,
                     horizon_days: HorizonDays = churn.DEFAULT_HORIZON_DAYS,
                     cutoff: Annotated[date | None, Query(
                         description="test cutoff (default: as_of − horizon_days)")] = None
                     ) -> dict[str, Any]:
    """The churn models' ROC AUC on a held-out period beside the baselines (recency alone,
    BG/NBD expected purchases), with the sizes and churn rates of both periods."""
    day = as_of_day(ctx, as_of)
    found, _ = churn.evaluate(_store(ctx), day, horizon_days, cutoff, _tier_levels(ctx))
    return churn.evaluation_json(found)
