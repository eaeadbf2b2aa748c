"""Association rules over baskets: FP-growth for the frequent itemsets, then the rules
antecedent → consequent with their support, confidence and lift.

Why our own FP-growth rather than a library: the one well-kept implementation in Python,
`mlxtend.frequent_patterns.fpgrowth`, takes a one-hot pandas DataFrame and brings pandas,
scikit-learn and matplotlib with it — three heavy packages for some sixty lines of
algorithm. The baskets here are small sets over a few dozen items (nine categories in the
demo, 35 skus), and identical baskets are counted once with a weight before the tree is
built, so a compact pure-Python FP-growth mines tens of thousands of orders in
milliseconds. It is checked against brute-force counting of every itemset on random
baskets (tests/analytics/test_crosssell.py).

FP-growth (Han, Pei & Yin 2000): the baskets are inserted into a prefix tree with their
items in descending order of frequency, so common prefixes share nodes; the itemsets
ending in an item are mined from that item's *conditional pattern base* — the paths from
its nodes to the root, each weighted by the node's count — recursively, without ever
generating a candidate that is not frequent.

Metrics, for a rule A → C over N baskets:

- support(A → C) = baskets holding A ∪ C / N
- confidence = support(A ∪ C) / support(A): of the baskets with A, the share with C
- lift = confidence / support(C): how much likelier C is with A than without knowing
  anything; above 1 the items go together, 1 is independence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from memberops.errors import field_error

Itemset = frozenset[str]


@dataclass(eq=False)
class _Node:
    item: int  # -1 at the root
    count: int
    parent: _Node | None
    children: dict[int, _Node] = field(default_factory=dict)


def _mine(paths: list[tuple[list[int], int]], min_count: int, suffix: tuple[int, ...],
          max_len: int, out: dict[tuple[int, ...], int]) -> None:
    counts: dict[int, int] = {}
    for items, n in paths:
        for item in items:
            counts[item] = counts.get(item, 0) + n
    frequent = {i: c for i, c in counts.items() if c >= min_count}
    # Tree order: most frequent first (shared prefixes), ties by item for determinism.
    rank = {item: r for r, item in enumerate(sorted(frequent, key=lambda i: (-frequent[i], i)))}
    root = _Node(-1, 0, None)
    header: dict[int, list[_Node]] = {item: [] for item in frequent}
    for items, n in paths:
        node = root
        for item in sorted((i for i in items if i in rank), key=rank.__getitem__):
            child = node.children.get(item)
            if child is None:
                child = node.children[item] = _Node(item, 0, node)
                header[item].append(child)
            child.count += n
            node = child
    for item, count in frequent.items():
        found = (*suffix, item)
        out[found] = count
        if len(found) >= max_len:
            continue
        base: list[tuple[list[int], int]] = []
        for node in header[item]:
            path, up = [], node.parent
            while up is not None and up.item >= 0:
                path.append(up.item)
                up = up.parent
            if path:
                base.append((path, node.count))
        if base:
            _mine(base, min_count, found, max_len, out)


def frequent_itemsets(baskets: Iterable[tuple[Iterable[str], int]], min_count: int,
                      max_len: int | None = None) -> dict[Itemset, int]:
    """Every itemset held by at least `min_count` baskets, with its count. `baskets` are
    (items, weight) pairs: identical baskets may come once with their number."""
    if min_count < 1:
        raise field_error("min_support", "must leave at least one basket")
    names: dict[str, int] = {}
    paths: list[tuple[list[int], int]] = []
    for items, weight in baskets:
        if weight > 0:
            paths.append(([names.setdefault(i, len(names)) for i in set(items)], weight))
    found: dict[tuple[int, ...], int] = {}
    _mine(paths, min_count, (), max_len or max(len(names), 1), found)
    labels = list(names)
    return {frozenset(labels[i] for i in key): count for key, count in found.items()}


@dataclass(frozen=True)
class Rule:
    """A → C: `count` baskets hold both, out of `baskets`."""

    antecedent: tuple[str, ...]
    consequent: tuple[str, ...]
    count: int
    support: float
    confidence: float
    lift: float
    antecedent_support: float
    consequent_support: float

    def as_dict(self) -> dict[str, Any]:
        return {"antecedent": list(self.antecedent), "consequent": list(self.consequent),
                "count": self.count, "support": self.support, "confidence": self.confidence,
                "lift": self.lift, "antecedent_support": self.antecedent_support,
                "consequent_support": self.consequent_support}


def rule_order(rule: Rule) -> tuple[Any, ...]:
    """Strongest first: lift, then confidence, then support; then by name, so that equal
    rules always come in the same order."""
    return (-rule.lift, -rule.confidence, -rule.support, rule.antecedent, rule.consequent)


def rules(itemsets: dict[Itemset, int], baskets: int, *, min_confidence: float = 0.0,
          min_lift: float = 0.0) -> list[Rule]:
    """Every rule A → C with A ∪ C frequent, A and C non-empty and disjoint, at or above
    the thresholds, strongest first (`rule_order`)."""
    if baskets <= 0:
        return []
    found: list[Rule] = []
    for itemset, count in itemsets.items():
        if len(itemset) < 2:
            continue
        items = sorted(itemset)
        for size in range(1, len(items)):
            for left in combinations(items, size):
                a = frozenset(left)
                c = itemset - a
                # Every subset of a frequent itemset is frequent: both counts are known.
                a_support, c_support = itemsets[a] / baskets, itemsets[c] / baskets
                confidence = count / itemsets[a]
                lift = confidence / c_support
                if confidence >= min_confidence and lift >= min_lift:
                    found.append(Rule(tuple(left), tuple(sorted(c)), count, count / baskets,
                                      confidence, lift, a_support, c_support))
    return sorted(found, key=rule_order)
