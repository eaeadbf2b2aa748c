"""The walk through the demo's two years: a queue of dated events, one clock, the units of
work, the nightly jobs, and the small model of each member's state that the walk decides
from.

Every event is handled at its own instant (the `FixedClock` is set to it), in time order.
Events of one simulated hour that are done by the same actor share one unit of work — a
busy hour's orders commit together — which is what lets two years of orders play in a
minute or two; the model is kept exact where the services would refuse a guess (wallet
balances, coupon windows, first orders) and the database, read inside the same unit of
work, answers the rest (points available, the tier held), so that nothing the walk asks
for is refused and no batch is ever rolled back.

Each night at 03:00 the scheduled jobs run (`value.History.nightly`): points expiry, coupon
expiry, PLUS expiry and the tier retention review as in production (`memberops.jobs`), the
points release job's work through the same service in one transaction for the night, and on
the first of the month the birthday coupons.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from memberops.clock import FixedClock
from memberops.coupons.rules import Terms
from memberops.db import Database
from memberops.uow import Actor, UnitOfWork

from . import DemoPlan, Progress
from .activity import Habits, MemberFacts, Planned

# Who does what: the tills and the order gateway (system "demo"), the mini-program's
# backend, the payment gateway's callback, the finance team reviewing held recharges,
# operations staff, and the marketing team issuing campaign coupons.
TILL = Actor.system("demo")
APP = Actor(kind="api_key", id="demo-app", name="mini-program-demo", role="till")
GATEWAY = Actor(kind="api_key", id="demo-gateway", name="payment-gateway-demo", role="till")
FINANCE = Actor(kind="operator", id="demo-finance", name="finance-demo", role="finance")
OPS = Actor(kind="operator", id="demo-ops", name="ops-demo", role="admin")
MARKETING = Actor(kind="operator", id="demo-marketing", name="marketing-demo", role="admin")
NIGHTLY = time(3, 0)  # when the scheduled jobs run, programme time
HOUR = timedelta(hours=1)
RECENT_ORDERS = 200  # the operations team picks adjustments among these


@dataclass
class Wallet:
    """What the history knows about one member's wallet (it mirrors the ledger)."""

    balance: int = 0
    outstanding: int = 0  # recharges pending payment or review
    closed: bool = False  # cashed out
    top_up_due: bool = False  # tops up at the till on the next visit


@dataclass
class HeldCoupon:
    code: str
    template: str  # the template's code
    terms: Terms
    valid_from: datetime
    valid_until: datetime
    used: bool = False

    def usable(self, at: datetime) -> bool:
        return not self.used and self.valid_from <= at < self.valid_until


@dataclass
class MemberState:
    wallet: Wallet = field(default_factory=Wallet)
    points: int = 0  # credited minus used: a hint; the ledger is read before points are used
    reviews: Counter[str] = field(default_factory=Counter)  # review bonuses by month
    orders: int = 0
    last_order: datetime | None = None
    coupons: list[HeldCoupon] = field(default_factory=list)
    plus_until: datetime | None = None  # the end of the PLUS membership bought
    plus_bought: int = 0
    win_back_at: datetime | None = None  # the latest win-back coupon


@dataclass(frozen=True)
class OrderRecord:
    """An order as the history remembers it: enough to refund it or review it."""

    ref: str
    member_id: int
    lines: tuple[tuple[str, int, int], ...]  # sku, quantity, net (fen)
    paid: int  # the order's paid value (points value + wallet + outside)
    wallet_paid: int
    points_earned: int
    big: bool  # a large basket (refunded more often)


@dataclass
class HistoryReport:
    """What the history did, by kind of operation, and what the nightly jobs moved."""

    operations: Counter[str] = field(default_factory=Counter)
    released: int = 0
    expired: int = 0
    days: int = 0
    transactions: int = 0  # units of work the walk committed (the jobs' not counted)
    wallets: dict[int, int] = field(default_factory=dict)  # the model's balances (fen)


Handler = Callable[[Any], None]


class Walk:
    """The queue, the clock, the open unit of work, and the model of the state."""

    def __init__(self, db: Database, plan: DemoPlan, clock: FixedClock, now: datetime,
                 members: Sequence[MemberFacts], habits: Mapping[int, Habits]) -> None:
        self.db, self.plan, self.clock, self.now = db, plan, clock, now
        self.rng = plan.rng("value.history")
        self.facts = {m.id: m for m in members}
        self.habits = habits
        self.state = {m.id: MemberState() for m in members}
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = 0
        self.report = HistoryReport()
        self.recent: deque[OrderRecord] = deque(maxlen=RECENT_ORDERS)
        self.handlers: dict[str, Handler] = {}
        self.progress: Progress | None = None
        self.orders_planned = 0
        self._open: UnitOfWork | None = None
        self._actor: Actor | None = None
        self._hour_end: datetime | None = None

    # --- units of work: one per actor and hour ------------------------------------------

    def uow(self, actor: Actor) -> UnitOfWork:
        """The unit of work of this hour for `actor`: the open one if it is that actor's,
        else the open one is committed and a new one begun."""
        if self._open is not None and self._actor == actor:
            return self._open
        self.commit()
        work = UnitOfWork(self.db, actor=actor, clock=self.clock)
        work.__enter__()
        self._open, self._actor = work, actor
        return work

    def commit(self) -> None:
        if self._open is not None:
            work, self._open, self._actor = self._open, None, None
            work.__exit__(None, None, None)
            self.report.transactions += 1
            if self.progress is not None:
                self.progress("orders", self.report.operations["order"], self.orders_planned)

    def _rollback(self, exc: BaseException) -> None:
        if self._open is not None:
            work, self._open, self._actor = self._open, None, None
            work.__exit__(type(exc), exc, exc.__traceback__)

    # --- the walk -----------------------------------------------------------------------

    def schedule(self, at: datetime, kind: str, payload: Any) -> None:
        """Queue an event; never before the present (the clock only moves forward)."""
        at = max(at, self.clock.now() + timedelta(seconds=1))
        if at < self.now:
            heapq.heappush(self.queue, (at, self.seq, kind, payload))
            self.seq += 1

    def run(self, planned: Sequence[Planned], progress: Progress | None) -> HistoryReport:
        """Play the planned events and all they give rise to, a day at a time."""
        for event in planned:
            self.schedule(event.at, event.kind, event)
        self.orders_planned = sum(e.kind == "order" for e in planned)
        self.progress = progress
        tz = self.clock.tz
        first = min([self.clock.now(), *(e.at for e in planned)]).astimezone(tz).date()
        days = (self.now.astimezone(tz).date() - first).days + 1
        self.report.days = days
        if progress is not None:
            progress("orders", 0, self.orders_planned)
        try:
            self.start()
            for index in range(days):
                night = datetime.combine(first + timedelta(days=index), NIGHTLY, tzinfo=tz)
                self._until(min(night, self.now))
                if night < self.now:
                    self.commit()
                    self.clock.set(night)
                    self.nightly(night)
            self._until(self.now)
            self.commit()
        except BaseException as exc:
            self._rollback(exc)
            raise
        self.report.wallets = {member_id: state.wallet.balance
                               for member_id, state in self.state.items() if state.wallet.balance}
        return self.report

    def _until(self, end: datetime) -> None:
        """Handle every queued event before `end`, each at its own instant; an hour's
        events share their units of work."""
        while self.queue and self.queue[0][0] < end:
            at, _, kind, payload = heapq.heappop(self.queue)
            if self._hour_end is None or at >= self._hour_end:
                self.commit()
                self._hour_end = at.replace(minute=0, second=0, microsecond=0) + HOUR
            self.clock.set(at)
            self.handlers[kind](payload)
            self.report.operations[kind] += 1

    def start(self) -> None:
        """Set-up before the first event (overridden)."""

    def nightly(self, night: datetime) -> None:
        """The scheduled jobs at `night` (overridden)."""

    # --- time helpers -------------------------------------------------------------------

    def later(self, low: timedelta, high: timedelta) -> datetime:
        return self.clock.now() + low + (high - low) * self.rng.random()
