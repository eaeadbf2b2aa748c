"""`memberops demo`: a database full of realistic, reproducible history.

The demo is built in steps — the coupon templates (`runner`), the member base (`members`),
then two years of orders, stored value, points, coupons and PLUS (`catalogue` and
`activity` plan them, `value` plays them on the walk of `history`, with the shop of
`orders`) — all driven by one `DemoPlan`. Every step draws from its own random streams
(`plan.rng("members")`, `plan.rng("value.activity")`, …), so adding a step or
changing one never changes the data of the others. Steps write through the
domain services, as an integrator would, so that the demo data carries the
same audit entries and timeline events as real data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_SEED = 20240618  # fixed, so that two demos made on the same day are identical

# progress(step, done, total): called as a step advances, e.g. ("members", 500, 5000).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoPlan:
    """What the demo generates; every field has the default `memberops demo` uses."""

    members: int = 5000
    seed: int = DEFAULT_SEED
    history_days: int = 730  # members join over the last two years (and buy over them)
    batch_size: int = 250  # members per unit of work

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ValueError("a demo needs at least one member")
        if self.history_days < 1:
            raise ValueError("history_days must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    def rng(self, step: str) -> random.Random:
        """The random stream of one step; a string seed is hashed, stable across runs."""
        return random.Random(f"{self.seed}:{step}")
