"""Cross-sell: association rules between categories (or skus) for cross-category offers,
and a member's recommended products. Both read the store's orders and change nothing
(docs/crosssell.md)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from memberops.analytics import crosssell
from memberops.analytics.recommend import METHODS
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.members import service as members_service

router = APIRouter(prefix=API_PREFIX, tags=["cross-sell"], dependencies=[Depends(authorize)])
Ctx = Annotated[Context, Depends(authorize)]
MemberId = Annotated[int, Path(gt=0, description="member id")]
Method = Literal["itemknn", "buy_again", "popular"]
assert set(METHODS) == set(get_args(Method))  # one list of methods


class RuleRead(BaseModel):
    antecedent: list[str]
    consequent: list[str]
    count: int
    support: float
    confidence: float
    lift: float
    antecedent_support: float
    consequent_support: float


class RulesRead(BaseModel):
    level: Literal["category", "sku"]
    baskets: int
    min_support: float
    min_confidence: float
    itemsets: int
    total_rules: int
    rules: list[RuleRead]


class RecommendationRead(BaseModel):
    rank: int
    sku: str
    category: str
    score: float
    orders: int


class RecommendationsRead(BaseModel):
    member_id: int
    method: Method
    as_of: str
    items: list[RecommendationRead]


@router.get("/insight/association-rules", response_model=RulesRead)
def association_rules(
    ctx: Ctx,
    level: Annotated[Literal["category", "sku"], Query()] = "category",
    min_support: Annotated[float, Query(gt=0, le=1, description="share of orders")] = 0.01,
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RulesRead:
    """Rules A → C mined with FP-growth from every order that was not refunded in full
    (lines refunded in full left out), strongest first: lift, then confidence."""
    # Through the app's own session, never ADBC, in the server (docs/crosssell.md).
    with ctx.uow(readonly=True) as uow:
        lines = crosssell.purchases(crosssell.session_sales(uow.session))
    report = crosssell.mine_rules(lines, level=level, min_support=min_support,
                                  min_confidence=min_confidence)
    return RulesRead(level=report.level, baskets=report.baskets,
                     min_support=report.min_support, min_confidence=report.min_confidence,
                     itemsets=report.itemsets, total_rules=len(report.rules),
                     rules=[RuleRead(**r.as_dict()) for r in report.rules[:limit]])


@router.get("/members/{member_id}/recommendations", response_model=RecommendationsRead,
            responses={404: {"description": "no such member"}})
def recommendations(
    member_id: MemberId, ctx: Ctx,
    method: Annotated[Method | None, Query(
        description="default: the setting MEMBEROPS_RECOMMEND_METHOD (itemknn, the "
                    "winner of the evaluation)")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationsRead:
    """The member's top skus from the orders up to now; a member without orders gets the
    most popular skus."""
    chosen = method or ctx.services.settings.recommend_method
    now = ctx.services.clock.now()
    with ctx.uow(readonly=True) as uow:
        members_service.get_member(uow, member_id)
        model = crosssell.cached_model(uow.session, ctx.db.url, now)
    found = crosssell.recommendations(model, member_id, method=chosen, k=limit)
    return RecommendationsRead(
        member_id=member_id, method=chosen, as_of=now.isoformat(),
        items=[RecommendationRead(rank=r.rank, sku=r.sku, category=r.category,
                                  score=r.score, orders=r.orders) for r in found])
