"""RFM: recency, frequency and monetary value per member, quintile scores and the named
segments (docs/insight.md).

As of a date D, over the per-member `purchases.summary` (window 365 days by default):

- **recency**: days from the last purchase to D (any time before D);
- **frequency**: purchases in the window; **monetary**: net spend in the window (fen).

**Scores 1–5** are quintiles among the members who ever bought (as of D). A metric's
values are ranked ascending, equal values in member-id order (an ordinal rank: the rank r
is distinct for every member, 1 … n), and cut as `pd.qcut(rank, 5)` cuts ranks:
bin = ⌈5 (r − 1) / (n − 1)⌉, at least 1. F and M scores are the bin; R is 6 − the bin of
recency, so that the most recent buyers score 5. A lone buyer scores 3 everywhere (the
middle of a population of one). Ranks use the members' ids, never the frame's row order,
so the same data always scores the same.

**Segments** come from the R and F scores through `SEGMENT_MAP` (the common 10-segment
R×F map, with R1 F1 split off as Lost). Members who never bought have no scores and the
segment `no_purchases`.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from memberops.analytics import purchases as buys

# code: display name, in report order (best first).
SEGMENTS: dict[str, str] = {
    "champions": "Champions",
    "loyal": "Loyal",
    "potential_loyalists": "Potential loyalists",
    "new": "New",
    "promising": "Promising",
    "need_attention": "Need attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cant_lose_them": "Can't lose them",
    "hibernating": "Hibernating",
    "lost": "Lost",
    "no_purchases": "No purchases",
}

# Rows R5 … R1, columns F1 … F5.
_GRID = {
    5: ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
}
# (R, F) -> segment code, all 25 cells.
SEGMENT_MAP: dict[tuple[int, int], str] = {
    (r, f): row[f - 1] for r, row in _GRID.items() for f in range(1, 6)}


def quintile(value: pl.Expr, n: pl.Expr) -> pl.Expr:
    """The 1–5 bin of each value's ordinal rank among n (rows in member-id order)."""
    r = value.rank("ordinal").cast(pl.Int64)
    cut = (5 * (r - 1) + n - 2) // (n - 1)  # ⌈5 (r − 1) / (n − 1)⌉ in integers
    return (pl.when(n == 1).then(3).otherwise(pl.max_horizontal(cut, 1))).cast(pl.Int8)


def scores(summary: pl.DataFrame) -> pl.DataFrame:
    """`summary` (from `purchases.summary`) with `r_score`, `f_score`, `m_score` (null for
    members who never bought) and `segment`."""
    table = summary.sort("member_id")
    buyers = table.filter(pl.col("last_purchase").is_not_null())
    n = pl.len().cast(pl.Int64)
    scored = buyers.select(
        "member_id",
        (6 - quintile(pl.col("recency_days"), n)).cast(pl.Int8).alias("r_score"),
        quintile(pl.col("frequency"), n).alias("f_score"),
        quintile(pl.col("monetary"), n).alias("m_score"))
    codes = {r * 10 + f: seg for (r, f), seg in SEGMENT_MAP.items()}
    scored = scored.with_columns(
        (pl.col("r_score").cast(pl.Int64) * 10 + pl.col("f_score").cast(pl.Int64))
        .replace_strict(codes, return_dtype=pl.String).alias("segment"))
    return (table.join(scored, on="member_id", how="left", maintain_order="left")
            .with_columns(pl.col("segment").fill_null("no_purchases")))


def rfm(store: buys.Store, as_of: date,
        window_days: int = buys.SUMMARY_WINDOW_DAYS) -> pl.DataFrame:
    """Scores and segments of every member as of `as_of` (reads nothing but `store`)."""
    as_of = buys.check_as_of(as_of)
    summary = buys.summary(buys.members_as_of(store, as_of), buys.purchases_as_of(store, as_of),
                           as_of, window_days)
    return scores(summary)


def segment_counts(scored: pl.DataFrame) -> pl.DataFrame:
    """Members, their share and their window spend per segment, every segment listed (0
    where empty), in `SEGMENTS` order."""
    total = max(scored.height, 1)
    counts = scored.group_by("segment").agg(pl.len().cast(pl.Int64).alias("members"),
                                            pl.col("monetary").sum().cast(pl.Int64)
                                            .alias("monetary"))
    order = pl.DataFrame({"segment": list(SEGMENTS), "name": list(SEGMENTS.values())})
    return (order.join(counts, on="segment", how="left", maintain_order="left")
            .with_columns(pl.col("members", "monetary").fill_null(0))
            .with_columns((pl.col("members") / total).alias("share")))
