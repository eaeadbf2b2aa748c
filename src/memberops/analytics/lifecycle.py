"""Lifecycle stages and the value pyramid (docs/insight.md).

**Stage** of a member as of D, the first rule that holds (thresholds in `Thresholds`):

1. `new`: joined in the last `new_days` days (days since joining < 30), whatever they did;
2. `churned`: no purchase in the last `churned_days` days (≥ 180 days since the last
   purchase, or since joining for a member who never bought);
3. `silent`: no purchase in the last `silent_days` days (90 ≤ days < 180);
4. `mature`: bought in the last 90 days and at least `mature_purchases` times (12) in
   the summary window (365 days): a member who buys about monthly;
5. `active`: everyone else (bought in the last 90 days).

**Value pyramid** over the net spend in the summary window: the members who spent
(monetary > 0) are ranked by spend, highest first, equal spend in member-id order; a
member at rank r of n is in the top p % when (r − 1) < p % × n, i.e. when fewer than
p % of the spenders rank above them. Layers: top 1 %, next 4 % (to 5 %), next 15 % (to
20 %), next 30 % (to 50 %), the rest; members without spend in the window form
`no_spend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from memberops.analytics import purchases as buys
from memberops.errors import ValidationFailed

STAGES = ("new", "active", "mature", "silent", "churned")


@dataclass(frozen=True)
class Thresholds:
    """Days and counts that separate the stages (defaults suit a café's weekly rhythm)."""

    new_days: int = 30
    silent_days: int = 90
    churned_days: int = 180
    mature_purchases: int = 12

    def __post_init__(self) -> None:
        if not 0 < self.silent_days < self.churned_days:
            raise ValidationFailed("lifecycle thresholds: need 0 < silent_days < "
                                   f"churned_days (got {self.silent_days}, "
                                   f"{self.churned_days})", code="bad_thresholds")
        if self.new_days < 0 or self.mature_purchases < 1:
            raise ValidationFailed("lifecycle thresholds: new_days ≥ 0 and "
                                   "mature_purchases ≥ 1", code="bad_thresholds")


# (name, cumulative share of spenders in per cent), top first.
PYRAMID_LAYERS: tuple[tuple[str, int], ...] = (
    ("top_1", 1), ("next_4", 5), ("next_15", 20), ("next_30", 50), ("rest_50", 100))
NO_SPEND = "no_spend"


def stages(summary: pl.DataFrame, thresholds: Thresholds = Thresholds()) -> pl.DataFrame:
    """`summary` (from `purchases.summary`) with `days_inactive` (since the last purchase,
    or since joining) and `stage`."""
    t = thresholds
    inactive = pl.coalesce(pl.col("recency_days"), pl.col("days_since_joined"))
    stage = (pl.when(pl.col("days_since_joined") < t.new_days).then(pl.lit("new"))
             .when(pl.col("days_inactive") >= t.churned_days).then(pl.lit("churned"))
             .when(pl.col("days_inactive") >= t.silent_days).then(pl.lit("silent"))
             .when(pl.col("frequency") >= t.mature_purchases).then(pl.lit("mature"))
             .otherwise(pl.lit("active")))
    return (summary.with_columns(inactive.alias("days_inactive"))
            .with_columns(stage.alias("stage")))


def lifecycle(store: buys.Store, as_of: date, thresholds: Thresholds = Thresholds(),
              window_days: int = buys.SUMMARY_WINDOW_DAYS) -> pl.DataFrame:
    """The stage of every member as of `as_of`."""
    as_of = buys.check_as_of(as_of)
    return stages(buys.summary(buys.members_as_of(store, as_of),
                               buys.purchases_as_of(store, as_of), as_of, window_days),
                  thresholds)


def stage_counts(staged: pl.DataFrame) -> pl.DataFrame:
    """Members and share per stage, every stage listed, in `STAGES` order."""
    total = max(staged.height, 1)
    counts = staged.group_by("stage").agg(pl.len().cast(pl.Int64).alias("members"))
    return (pl.DataFrame({"stage": list(STAGES)})
            .join(counts, on="stage", how="left", maintain_order="left")
            .with_columns(pl.col("members").fill_null(0))
            .with_columns((pl.col("members") / total).alias("share")))


def pyramid(summary: pl.DataFrame) -> pl.DataFrame:
    """`summary` with `layer`: the member's layer of the value pyramid."""
    table = summary.sort("member_id")
    spenders = table.filter(pl.col("monetary") > 0)
    n = spenders.height
    ranked = spenders.sort(["monetary", "member_id"], descending=[True, False]).select(
        "member_id", pl.int_range(0, pl.len(), dtype=pl.Int64).alias("above"))
    layer: pl.Expr = pl.lit(PYRAMID_LAYERS[-1][0])
    for name, cumulative in reversed(PYRAMID_LAYERS[:-1]):
        layer = pl.when(pl.col("above") * 100 < cumulative * n).then(pl.lit(name)) \
            .otherwise(layer)
    ranked = ranked.select("member_id", layer.alias("layer"))
    return (table.join(ranked, on="member_id", how="left", maintain_order="left")
            .with_columns(pl.col("layer").fill_null(NO_SPEND)))


def pyramid_layers(layered: pl.DataFrame) -> pl.DataFrame:
    """Per layer, top first: members, spend (fen), share of members and of spend, and
    the lowest and highest spend in it."""
    members = max(layered.height, 1)
    spend = int(layered["monetary"].sum()) if layered.height else 0
    per = layered.group_by("layer").agg(
        pl.len().cast(pl.Int64).alias("members"),
        pl.col("monetary").sum().cast(pl.Int64).alias("spend"),
        pl.col("monetary").min().alias("min_spend"),
        pl.col("monetary").max().alias("max_spend"))
    names = [name for name, _ in PYRAMID_LAYERS] + [NO_SPEND]
    return (pl.DataFrame({"layer": names})
            .join(per, on="layer", how="left", maintain_order="left")
            .with_columns(pl.col("members", "spend").fill_null(0))
            .with_columns((pl.col("members") / members).alias("member_share"),
                          (pl.col("spend") / spend if spend else pl.lit(0.0))
                          .alias("spend_share")))
