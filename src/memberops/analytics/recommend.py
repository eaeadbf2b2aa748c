"""Per-member product recommendations (skus) and their evaluation on a held-out period.

Three methods, each ranking every sku for every member, vectorised over members with
NumPy and SciPy sparse matrices (members × skus):

- `buy_again` (baseline): the member's own skus, most orders first, then the most recently
  bought; the rest of the list is filled with the most popular skus.
- `popular` (baseline): the skus with the most distinct buyers in the training window, the
  same list for everyone.
- `itemknn`: the member's recency-weighted profile (each order's skus weighted by
  0.5 ** (age / half-life), normalised to sum 1), plus what goes with it — the profile
  times the item-item cosine similarity of the members × skus purchase matrix — plus a
  small popularity prior, so that the skus a member never bought are ranked by how well
  they go with what they do buy rather than by global popularity alone.

Nothing is excluded: coffee is bought again, and a member's own favourites are the best
guess of what they buy next. A member with no history gets the popular list from every
method. Ties are broken by popularity, then by sku, so lists are deterministic.

Evaluation (`evaluate`): a time split. Models are fitted on the orders before the cutoff
only; each member with at least one order in the test window [cutoff, cutoff + days) is
scored on the distinct skus they bought there: precision@k = hits / k, recall@k = hits /
skus bought, hit rate = share of members with at least one hit; averaged over members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import sparse

from memberops.errors import field_error

K = 10
METHODS = ("buy_again", "popular", "itemknn")


@dataclass(frozen=True)
class Params:
    """The itemknn blend's knobs (see docs/crosssell.md for how they were chosen)."""

    half_life_days: float = 90.0  # a profile's memory: an order a season old counts half
    neighbour_weight: float = 0.5  # what goes with the profile, against the profile itself
    popularity_weight: float = 0.05  # a prior for skus the profile says nothing about


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Model:
    """What the methods are ranked from, fitted on the orders before `as_of`."""

    as_of: datetime
    skus: list[str]  # sku index → sku, sorted
    categories: list[str]  # of each sku (its latest category)
    member_ids: IntArray  # member row → member id, sorted
    orders: sparse.csr_matrix  # orders holding the sku, per member
    last: sparse.csr_matrix  # the last order's time (days before as_of, negated + offset)
    profile: sparse.csr_matrix  # recency-weighted orders, rows summing to 1
    buyers: FloatArray  # distinct buyers per sku
    popular_rank: IntArray  # sku index → its place in the popular list
    similarity: FloatArray  # sku × sku cosine, zero diagonal
    params: Params

    def rows(self, member_ids: npt.ArrayLike) -> IntArray:
        """Row of each member, -1 for members without history before `as_of`."""
        ids = np.asarray(member_ids, dtype=np.int64)
        at = np.searchsorted(self.member_ids, ids)
        inside = at < self.member_ids.size
        found = np.zeros(ids.size, dtype=bool)
        found[inside] = self.member_ids[at[inside]] == ids[inside]
        return np.where(found, at, -1).astype(np.int64)


def _codes(values: pl.Series) -> tuple[list[Any], IntArray]:
    uniques = values.unique().sort()
    return uniques.to_list(), np.searchsorted(uniques.to_numpy(), values.to_numpy()).astype(
        np.int64)


def utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise field_error("as_of", "must carry a time zone")
    return instant.astimezone(UTC)


def fit(lines: pl.DataFrame, as_of: datetime, params: Params | None = None) -> Model:
    """Fit every method on `lines` (purchases, see crosssell.PURCHASE_SCHEMA) before
    `as_of`; later lines are dropped here as well, so nothing after it can leak in."""
    as_of, params = utc(as_of), params or Params()
    lines = lines.filter(pl.col("created_at") < as_of)
    per_order = lines.group_by("member_id", "order_id", "sku").agg(pl.col("created_at").first())
    age = (pl.lit(as_of) - pl.col("created_at")).dt.total_seconds() / 86_400.0
    cells = (per_order.with_columns(age.alias("age"))
             .group_by("member_id", "sku")
             .agg(pl.len().cast(pl.Float64).alias("orders"),
                  pl.col("age").min().alias("age"),
                  (0.5 ** (pl.col("age") / params.half_life_days)).sum().alias("weight")))
    skus, col = _codes(cells["sku"])
    ids, row = _codes(cells["member_id"])
    shape = (len(ids), len(skus))

    def matrix(values: FloatArray) -> sparse.csr_matrix:
        return sparse.csr_matrix((values, (row, col)), shape=shape)

    orders = matrix(cells["orders"].to_numpy().astype(np.float64))
    # Recency as a positive number that grows with recency (sparse zeros mean never).
    last = matrix(1.0 + 1.0 / (1.0 + cells["age"].to_numpy().astype(np.float64)))
    weight = matrix(cells["weight"].to_numpy().astype(np.float64))
    totals = np.asarray(weight.sum(axis=1)).ravel()
    profile = sparse.diags(1.0 / np.where(totals > 0, totals, 1.0)) @ weight
    bought = (orders > 0).astype(np.float64)
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    # Popular: most buyers, then most orders, then by sku.
    order_counts = np.asarray(orders.sum(axis=0)).ravel()
    ranking = np.lexsort((np.arange(len(skus)), -order_counts, -buyers))
    popular_rank = np.empty(len(skus), dtype=np.int64)
    popular_rank[ranking] = np.arange(len(skus))
    co = (bought.T @ bought).toarray()
    norm = np.sqrt(np.maximum(np.diag(co), 1.0))
    similarity = co / np.outer(norm, norm)
    np.fill_diagonal(similarity, 0.0)
    latest = (lines.sort("created_at").group_by("sku").agg(pl.col("category").last())
              .sort("sku"))
    return Model(as_of, skus, latest["category"].to_list(), np.asarray(ids, dtype=np.int64),
                 orders, last, sparse.csr_matrix(profile), buyers.astype(np.float64),
                 popular_rank, similarity, params)


def _dense(matrix: sparse.csr_matrix, rows: IntArray) -> FloatArray:
    """The members' rows as a dense block; a row of zeros for members without history."""
    out = np.zeros((rows.size, matrix.shape[1]))
    known = rows >= 0
    if known.any():
        out[known] = matrix[rows[known]].toarray()
    return out


def scores(model: Model, rows: IntArray, method: str) -> FloatArray:
    """Each member's score of each sku under `method` (higher first)."""
    if method == "popular":
        return np.broadcast_to(-model.popular_rank.astype(np.float64),
                               (rows.size, len(model.skus))).copy()
    if method == "buy_again":
        # Orders first, recency (in (1, 2]) second: orders are whole numbers.
        return _dense(model.orders, rows) * 4.0 + _dense(model.last, rows)
    if method == "itemknn":
        profile = _dense(model.profile, rows)
        prior = model.buyers / max(1.0, float(model.member_ids.size))
        p = model.params
        return profile + p.neighbour_weight * profile @ model.similarity \
            + p.popularity_weight * prior
    raise field_error("method", f"must be one of {', '.join(METHODS)}")


def rank(model: Model, rows: IntArray, method: str, k: int = K) -> IntArray:
    """The top `k` sku indices per member (fewer columns when there are fewer skus); ties
    by popularity, so a member without history gets exactly the popular list."""
    if not model.skus:
        return np.zeros((rows.size, 0), dtype=np.int64)
    by_score = scores(model, rows, method)
    tie = np.broadcast_to(model.popular_rank, by_score.shape)
    order = np.lexsort((tie, -by_score), axis=-1)
    return order[:, :k].astype(np.int64)


@dataclass(frozen=True)
class Recommendation:
    rank: int
    sku: str
    category: str
    score: float
    orders: int  # the member's own orders of it before as_of


def for_member(model: Model, member_id: int, *, method: str,
               k: int = K) -> list[Recommendation]:
    """The top `k` skus for one member, with why: the score and the member's own orders."""
    rows = model.rows([member_id])
    top = rank(model, rows, method, k)[0]
    score = scores(model, rows, method)[0]
    own = _dense(model.orders, rows)[0]
    return [Recommendation(i + 1, model.skus[j], model.categories[j], float(score[j]),
                           int(own[j])) for i, j in enumerate(top)]


@dataclass(frozen=True)
class MethodScore:
    method: str
    precision: float
    recall: float
    hit_rate: float


@dataclass(frozen=True, eq=False)
class Evaluation:
    cutoff: datetime
    end: datetime
    k: int
    train_orders: int
    test_orders: int
    members: IntArray  # evaluated: at least one order in the test window
    cold_members: int  # of them, without any order before the cutoff
    scores: list[MethodScore]
    best: str
    lists: dict[str, IntArray] = field(repr=False)  # method → top-k sku indices per member
    hits: dict[str, IntArray] = field(repr=False)  # method → hits per member
    skus: list[str] = field(repr=False)

    def score(self, method: str) -> MethodScore:
        return next(s for s in self.scores if s.method == method)


@dataclass(frozen=True)
class Paired:
    """Method `a` against method `b` on the same members: the mean difference of
    precision@k with its standard error, and how many members each served better."""

    a: str
    b: str
    difference: float
    standard_error: float
    a_better: int
    b_better: int


def paired(evaluation: Evaluation, a: str, b: str) -> Paired:
    """Precision@k of `a` less that of `b`, member by member."""
    diff = (evaluation.hits[a] - evaluation.hits[b]).astype(np.float64) / evaluation.k
    n = diff.size
    error = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return Paired(a, b, float(diff.mean()) if n else 0.0, error, int((diff > 0).sum()),
                  int((diff < 0).sum()))


def _truth(model: Model, test: pl.DataFrame, members: IntArray) -> tuple[FloatArray, FloatArray]:
    """Bought in the test window, as a members × known-skus 0/1 matrix, and the number of
    distinct skus each member bought there (skus unknown to the model count too)."""
    pairs = test.select("member_id", "sku").unique()
    member_row = np.searchsorted(members, pairs["member_id"].to_numpy())
    sizes = np.bincount(member_row, minlength=members.size).astype(np.float64)
    known = np.asarray(model.skus, dtype=object)
    sku_at = np.searchsorted(known, pairs["sku"].to_numpy()) if model.skus else None
    truth = np.zeros((members.size, len(model.skus)))
    if sku_at is not None:
        sku_at = np.minimum(sku_at, len(model.skus) - 1)
        hit = known[sku_at] == pairs["sku"].to_numpy()
        truth[member_row[hit], sku_at[hit]] = 1.0
    return truth, sizes


def evaluate(train: pl.DataFrame, test: pl.DataFrame, cutoff: datetime, end: datetime, *,
             k: int = K, methods: tuple[str, ...] = METHODS,
             params: Params | None = None) -> Evaluation:
    """Fit on `train` (its lines before `cutoff`), score on `test` (its lines in
    [cutoff, end))."""
    if k < 1:
        raise field_error("k", "must be at least 1")
    cutoff, end = utc(cutoff), utc(end)
    model = fit(train, cutoff, params)
    test = test.filter((pl.col("created_at") >= cutoff) & (pl.col("created_at") < end))
    members = np.sort(test["member_id"].unique().to_numpy()).astype(np.int64)
    if members.size == 0:
        raise field_error("cutoff", f"no orders from {cutoff:%Y-%m-%d %H:%M} UTC to "
                                    f"{end:%Y-%m-%d %H:%M} UTC to test on")
    rows = model.rows(members)
    truth, sizes = _truth(model, test, members)
    results, lists, per_member = [], {}, {}
    for method in methods:
        top = rank(model, rows, method, k)
        lists[method] = top
        hits = np.take_along_axis(truth, top, axis=1).sum(axis=1)
        per_member[method] = hits.astype(np.int64)
        n = max(1, members.size)
        results.append(MethodScore(
            method, float(hits.sum() / k / n),
            float((hits / np.maximum(sizes, 1.0)).sum() / n), float((hits > 0).sum() / n)))
    best = max(results, key=lambda s: (s.precision, s.recall, s.hit_rate)).method
    train_orders = train.filter(pl.col("created_at") < cutoff)["order_id"].n_unique()
    return Evaluation(cutoff, end, k, train_orders, test["order_id"].n_unique(), members,
                      int((rows < 0).sum()), results, best, lists, per_member, model.skus)
