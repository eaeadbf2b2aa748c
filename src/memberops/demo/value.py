"""Two years of stored value and points, played through the services in time order.

A `FixedClock` walks the history: every planned event (`activity.plan_activity`) and every
event it gives rise to (a payment callback, the finance review of a held recharge, a
refund a few days after a purchase, a top-up when the balance runs low) is handled at its
own instant, and the points jobs run every night at 03:00, so that pending points are
released after the return window and the first year's unused points expire at the end of
the next year. Each business operation is one unit of work, as a till, the mini-program,
the payment gateway or the finance team would do it; nothing writes a table directly.

The history keeps a small model of what it needs to decide (each wallet's balance,
outstanding recharges, gift stock, a points estimate) from what the services return, so
that it only asks for what the programme would grant: the ledger stays the authority, and
the points balance is read from it before points are used.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from memberops.clock import Clock, FixedClock
from memberops.db import Database
from memberops.jobs import points as points_jobs
from memberops.members import queries as member_queries
from memberops.members.queries import MemberFilter
from memberops.points import queries as points_queries
from memberops.points import service as points_service
from memberops.points.models import PointsLot
from memberops.programme import service as programme_service
from memberops.programme.schemas import EarningRules
from memberops.uow import Actor, UnitOfWork
from memberops.wallet import service as wallet_service
from memberops.wallet.models import Recharge, WalletPayment

from . import DemoPlan, Progress
from .activity import (
    YUAN,
    Habits,
    MemberFacts,
    Planned,
    cash_out_target,
    office_time,
    plan_activity,
    plan_habits,
    recharge_amount,
)

# Who does what: the till (system "demo"), the mini-program's backend, the payment
# gateway's callback, the finance team reviewing held recharges, operations staff.
TILL = Actor.system("demo")
APP = Actor(kind="api_key", id="demo-app", name="mini-program-demo", role="till")
GATEWAY = Actor(kind="api_key", id="demo-gateway", name="payment-gateway-demo", role="till")
FINANCE = Actor(kind="operator", id="demo-finance", name="finance-demo", role="finance")
OPS = Actor(kind="operator", id="demo-ops", name="ops-demo", role="admin")

# The gift catalogue: sku, name, points, stock per member of the base (a few sell out).
GIFTS = (
    ("sticker-pack", "限定贴纸套装", 150, 0.05),
    ("pastry-voucher", "点心券", 300, 0.1),
    ("coffee-voucher", "咖啡券（中杯任选）", 800, 0.12),
    ("drip-bags", "挂耳咖啡礼盒", 1500, 0.03),
    ("canvas-bag", "帆布袋", 2000, 0.02),
    ("mug", "马克杯", 3000, 0.004),
    ("tumbler", "随行杯", 4500, 0.006),
    ("monthly-pass", "会员月卡", 6000, 0.004),
)
GIFT_TASTE = {"sticker-pack": 1, "pastry-voucher": 3, "coffee-voucher": 5, "drip-bags": 2,
              "canvas-bag": 2, "mug": 2, "tumbler": 1.5, "monthly-pass": 1}
NIGHTLY = time(3, 0)  # when the points jobs run, programme time
STORE_HOURS = range(8, 22)  # when refunds are made at the counter
LOW_BALANCE = 40 * YUAN  # below this a wallet member thinks of topping up
REFUND_SHARE = 0.03  # of purchases, more for big baskets
CALLBACK_FAILS = 0.05  # online payments the gateway reports failed
REVIEW_REJECTS_EVERY = 5  # the finance team rejects about one held recharge in five
APPROVE_REASONS = ("大额充值：已电话核实会员本人", "企业团购充值，已核对付款凭证",
                   "老会员大额充值，资金来源已确认")
REJECT_REASONS = ("无法联系会员本人核实，拒绝", "付款账户与会员信息不符，疑似代充")
CASH_OUT_REASONS = ("会员搬离本市，申请退卡", "会员申请退卡退款", "会员不再使用储值卡")
ADJUST_REASONS = ("门店网络故障期间消费未积分，人工补录", "客诉处理：饮品制作错误，补偿积分",
                  "活动奖励漏发，人工补发")
DEDUCT_REASON = "重复积分冲正"


@dataclass
class Wallet:
    """What the history knows about one member's wallet (it mirrors the ledger)."""

    balance: int = 0
    outstanding: int = 0  # recharges pending payment or review
    closed: bool = False  # cashed out
    top_up_due: bool = False  # tops up at the till on the next visit


@dataclass
class MemberState:
    wallet: Wallet = field(default_factory=Wallet)
    points: int = 0  # credited minus used: an upper bound of the usable points
    reviews: Counter[str] = field(default_factory=Counter)  # review bonuses by month
    purchases: int = 0


@dataclass
class Purchase:
    ref: str
    member_id: int
    paid: int  # fen, after the points deduction
    deducted: int  # points used
    wallet_ref: str | None
    earned: bool


@dataclass
class RechargeState:
    ref: str
    member_id: int
    amount: int
    online: bool
    recharge_id: int
    status: str
    burst: bool = False


@dataclass
class HistoryReport:
    """What the history did, by kind of operation, and what the nightly jobs moved."""

    operations: Counter[str] = field(default_factory=Counter)
    released: int = 0
    expired: int = 0
    days: int = 0
    wallets: dict[int, int] = field(default_factory=dict)  # the model's balances (fen)


Handler = Callable[[Any], None]


class History:
    """The walk through time: a queue of events, the clock, and the model of the state."""

    def __init__(self, db: Database, plan: DemoPlan, clock: FixedClock, now: datetime,
                 members: Sequence[MemberFacts], habits: Mapping[int, Habits]) -> None:
        self.db, self.plan, self.clock, self.now = db, plan, clock, now
        self.rng = plan.rng("value.history")
        self.facts = {m.id: m for m in members}
        self.habits = habits
        self.state = {m.id: MemberState() for m in members}
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = 0
        self.purchases: list[Purchase] = []
        self.recharges = 0
        self.held = 0
        self.stock: dict[str, int] = {}
        self.report = HistoryReport()
        self.rules = EarningRules()
        self.handlers: dict[str, Handler] = {
            "visit": self._visit, "recharge": self._first_recharge, "top_up": self._top_up,
            "large_recharge": self._large_recharge, "burst": self._burst,
            "burst_recharge": self._burst_recharge, "callback": self._callback,
            "review": self._review_recharge, "refund": self._refund,
            "product_review": self._product_review, "redeem": self._redeem,
            "restock": self._restock, "check_in": self._check_in, "profile": self._profile,
            "cash_out": self._cash_out, "adjust": self._adjust,
        }

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
        tz = self.clock.tz
        first = min([self.clock.now(), *(e.at for e in planned)]).astimezone(tz).date()
        days = (self.now.astimezone(tz).date() - first).days + 1
        self.report.days = days
        self._catalogue()
        if progress is not None:
            progress("value", 0, days)
        for index in range(days):
            night = datetime.combine(first + timedelta(days=index), NIGHTLY, tzinfo=tz)
            self._until(min(night, self.now))
            if night < self.now:
                self._nightly(night)
            if progress is not None:
                progress("value", index + 1, days)
        self._until(self.now)
        self.report.wallets = {member_id: state.wallet.balance
                               for member_id, state in self.state.items() if state.wallet.balance}
        return self.report

    def _until(self, end: datetime) -> None:
        """Handle every queued event before `end`, each at its own instant."""
        while self.queue and self.queue[0][0] < end:
            at, _, kind, payload = heapq.heappop(self.queue)
            self.clock.set(at)
            self.handlers[kind](payload)
            self.report.operations[kind] += 1

    def _nightly(self, night: datetime) -> None:
        # The jobs as they run in production: release first, then expire (see jobs.points).
        self.clock.set(night)
        self.report.released += points_jobs.release_due(self.db, self.clock).points
        self.report.expired += points_jobs.expire_due(self.db, self.clock).points

    def _uow(self, actor: Actor) -> UnitOfWork:
        return UnitOfWork(self.db, actor=actor, clock=self.clock)

    def _later(self, low: timedelta, high: timedelta) -> datetime:
        return self.clock.now() + low + (high - low) * self.rng.random()

    def _store_time(self, at: datetime) -> datetime:
        """`at` if the stores are open then (08:00–21:59), else the next morning."""
        local = at.astimezone(self.clock.tz)
        if STORE_HOURS.start <= local.hour < STORE_HOURS.stop:
            return at
        day = local.date() + timedelta(days=1 if local.hour >= STORE_HOURS.stop else 0)
        return datetime.combine(day, time(self.rng.randrange(9, 12), self.rng.randrange(60)),
                                tzinfo=self.clock.tz)

    def _office_time(self, at: datetime) -> datetime:
        return office_time(self.rng, at, self.clock.tz)

    # --- the gift catalogue -------------------------------------------------------------

    def _catalogue(self) -> None:
        members = len(self.facts)
        with self._uow(OPS) as uow:
            self.rules = programme_service.current(uow.session, EarningRules)
            for sku, name, price, per_member in GIFTS:
                stock = max(2, round(members * per_member))
                points_service.create_gift(uow, sku=sku, name=name, points_price=price,
                                           stock=stock)
                self.stock[sku] = stock

    def _restock(self, sku: str) -> None:
        stock = max(2, round(len(self.facts) * dict((g[0], g[3]) for g in GIFTS)[sku]))
        with self._uow(OPS) as uow:
            points_service.update_gift(uow, sku, stock=stock)
        self.stock[sku] = stock

    # --- visits: points deduction, wallet payment, earning ------------------------------

    def _visit(self, event: Planned) -> None:
        member_id, habits = event.member_id, self.habits[event.member_id]
        state = self.state[member_id]
        wallet = state.wallet
        if habits.wallet and not habits.online and not wallet.closed \
                and (wallet.top_up_due or (wallet.balance < event.amount
                                           and self.rng.random() < 0.5)):
            self._recharge(member_id, self._amount(habits), online=False)
            wallet.top_up_due = False
        ref = f"demo-purchase-{len(self.purchases) + 1}"
        with self._uow(TILL) as uow:
            deducted, off = self._deduction(uow, member_id, event.amount, ref)
            paid = event.amount - off
            payment = self._pay(uow, member_id, paid, ref)
            lot = points_service.earn_for_purchase(uow, member_id=member_id, amount_paid=paid,
                                                   reference=ref, key=f"demo:earn:{ref}")
            referral = self._referral(uow, member_id, state)
        purchase = Purchase(ref, member_id, paid, deducted,
                            payment.payment_ref if payment else None, lot is not None)
        self.purchases.append(purchase)
        state.purchases += 1
        state.points += (lot.original if lot else 0) - deducted
        if referral is not None:
            self.state[referral.member_id].points += referral.original
        if payment is not None:
            wallet.balance += payment.cashback - payment.amount
            self.report.operations["wallet_payment"] += 1
        self._after_visit(purchase, event.amount)

    def _deduction(self, uow: UnitOfWork, member_id: int, basket: int,
                   ref: str) -> tuple[int, int]:
        """Points used on the purchase (whole yuan, at most the programme's share): (points,
        fen off). Read from the ledger first: the history's estimate is only a hint."""
        rate = self.rules.points_per_yuan_off
        if not (self.habits[member_id].deducter and self.state[member_id].points >= 2 * rate
                and self.rng.random() < 0.5):
            return 0, 0
        available = points_queries.summary(uow.session, member_id, uow.clock.now(),
                                           uow.clock.tz)["available"]
        yuan = min(available // rate, basket * self.rules.max_redeem_share_pct // 100 // YUAN)
        if yuan < 1:
            return 0, 0
        points_service.spend(uow, member_id=member_id, points=yuan * rate, kind="deduction",
                             reference=ref, key=f"demo:deduct:{ref}")
        self.report.operations["deduction"] += 1
        return yuan * rate, yuan * YUAN

    def _pay(self, uow: UnitOfWork, member_id: int, paid: int,
             ref: str) -> WalletPayment | None:
        habits, wallet = self.habits[member_id], self.state[member_id].wallet
        if not (habits.wallet and not wallet.closed and 0 < paid <= wallet.balance
                and self.rng.random() < habits.wallet_share):
            return None  # paid by WeChat Pay, Alipay or card: outside the programme
        return wallet_service.pay(uow, member_id=member_id, amount=paid,
                                  payment_ref=ref.replace("purchase", "pay"), reference=ref)

    def _referral(self, uow: UnitOfWork, member_id: int,
                  state: MemberState) -> PointsLot | None:
        # The referrer's bonus when the referred member's first purchase is paid.
        if state.purchases or self.facts[member_id].referrer_id is None:
            return None
        return points_service.award_referral(uow, referred_member_id=member_id,
                                             key=f"demo:referral:{member_id}")

    def _after_visit(self, purchase: Purchase, basket: int) -> None:
        habits = self.habits[purchase.member_id]
        state = self.state[purchase.member_id]
        hour = timedelta(hours=1)
        if self.rng.random() < REFUND_SHARE + (0.03 if basket > 100 * YUAN else 0.0):
            self.schedule(self._store_time(self._later(hour / 6, 96 * hour)), "refund",
                          purchase)
        if habits.reviewer and purchase.earned and self.rng.random() < 0.35:
            self.schedule(self._later(hour, 48 * hour), "product_review", purchase)
        self._maybe_redeem(purchase.member_id, chance=0.5)
        wallet = state.wallet
        if purchase.wallet_ref and wallet.balance < LOW_BALANCE and self.rng.random() < 0.7:
            if not habits.online:
                wallet.top_up_due = True
            elif not wallet.outstanding:
                self.schedule(self._later(2 * hour, 120 * hour), "top_up", purchase.member_id)

    # --- recharges, callbacks and the review queue --------------------------------------

    def _amount(self, habits: Habits) -> int:
        """A top-up: the member's usual amount, or now and then another."""
        return habits.top_up if self.rng.random() < 0.65 \
            else recharge_amount(self.rng, habits.segment)

    def _first_recharge(self, event: Planned) -> None:
        self._recharge(event.member_id, event.amount, online=self.habits[event.member_id].online)

    def _top_up(self, member_id: int) -> None:
        habits, wallet = self.habits[member_id], self.state[member_id].wallet
        if self.clock.now() < habits.until and not wallet.closed and not wallet.outstanding:
            self._recharge(member_id, self._amount(habits), online=True)

    def _large_recharge(self, event: Planned) -> None:
        if not self.state[event.member_id].wallet.closed:
            self._recharge(event.member_id, event.amount, online=self.rng.random() < 0.3)

    def _recharge(self, member_id: int, amount: int, *, online: bool,
                  burst: bool = False) -> RechargeState:
        self.recharges += 1
        ref = f"demo-recharge-{self.recharges}"
        with self._uow(APP if online else TILL) as uow:
            row = wallet_service.recharge(uow, member_id=member_id, amount=amount,
                                          payment_ref=ref,
                                          payment="pending" if online else "confirmed")
        recharge = RechargeState(ref, member_id, amount, online, row.id, "submitted", burst)
        self._credit(recharge, row)
        if row.status in ("pending", "pending_review"):
            self.state[member_id].wallet.outstanding += 1
        if row.payment_status == "pending" and row.status != "rejected":
            self._expect_callback(recharge)
        if row.status == "pending_review":
            self.schedule(self._office_time(self._later(timedelta(minutes=30),
                                                        timedelta(hours=4))), "review", recharge)
        self.report.operations[f"recharge_{row.status}"] += 1
        return recharge

    def _credit(self, recharge: RechargeState, row: Recharge) -> None:
        """Follow a recharge's state; credit the wallet model when it settles."""
        wallet = self.state[recharge.member_id].wallet
        was, recharge.status = recharge.status, row.status
        if row.status == "settled" and was != "settled":
            wallet.balance += row.amount + row.bonus
            self.state[recharge.member_id].points += row.campaign_points
            if row.referrer_id in self.state:  # the referrer's share, in points
                self.state[row.referrer_id].points += row.referrer_points
        if was in ("pending", "pending_review") and row.status in ("settled", "failed",
                                                                    "rejected"):
            wallet.outstanding -= 1

    def _expect_callback(self, recharge: RechargeState) -> None:
        # Most gateways answer in seconds; a few take minutes (the recharge stays pending).
        slow = self.rng.random() < 0.05
        delay = self._later(timedelta(minutes=5), timedelta(minutes=40)) if slow \
            else self._later(timedelta(seconds=3), timedelta(seconds=90))
        self.schedule(delay, "callback", recharge)

    def _callback(self, recharge: RechargeState) -> None:
        failed = recharge.burst or self.rng.random() < CALLBACK_FAILS
        with self._uow(GATEWAY) as uow:
            row = wallet_service.confirm_payment(uow, payment_ref=recharge.ref,
                                                 outcome="failed" if failed else "confirmed")
        self._credit(recharge, row)
        self.report.operations["callback_failed" if failed else "callback_confirmed"] += 1
        if failed and not recharge.burst and self.rng.random() < 0.6:
            self.schedule(self._later(timedelta(minutes=1), timedelta(minutes=8)), "top_up",
                          recharge.member_id)  # tries again, with another card

    def _review_recharge(self, recharge: RechargeState) -> None:
        if recharge.status != "pending_review":
            return  # its payment failed meanwhile: it left the queue
        self.held += 1
        reject = self.held % REVIEW_REJECTS_EVERY == 2
        with self._uow(FINANCE) as uow:
            if reject:
                row = wallet_service.reject(uow, recharge.recharge_id,
                                            self.rng.choice(REJECT_REASONS))
            else:
                row = wallet_service.approve(uow, recharge.recharge_id,
                                             self.rng.choice(APPROVE_REASONS))
        self._credit(recharge, row)
        self.report.operations["review_rejected" if reject else "review_approved"] += 1

    def _burst(self, event: Planned) -> None:
        for n in range(1, 7):  # one more than the velocity rule allows in 10 minutes
            self.schedule(self._later(timedelta(seconds=40 * n), timedelta(seconds=70 * n)),
                          "burst_recharge", event)

    def _burst_recharge(self, event: Planned) -> None:
        self._recharge(event.member_id, event.amount, online=True, burst=True)

    # --- refunds, cash-outs ---------------------------------------------------------------

    def _refund(self, purchase: Purchase) -> None:
        full = self.rng.random() < 0.6 or purchase.paid < 4 * YUAN
        amount = purchase.paid if full else \
            purchase.paid * self.rng.randint(3, 7) // 10 // YUAN * YUAN
        points_back = purchase.deducted if full else purchase.deducted * amount // purchase.paid
        refund_ref = purchase.ref.replace("purchase", "refund")
        key = f"demo:refund:{purchase.ref}"
        with self._uow(TILL) as uow:
            refund = wallet_service.refund_payment(
                uow, payment_ref=purchase.wallet_ref, refund_ref=refund_ref,
                amount=amount) if purchase.wallet_ref else None
            clawed = points_service.clawback_purchase(
                uow, reference=purchase.ref, key=f"{key}:clawback",
                fraction=(amount, purchase.paid)) if purchase.earned else None
            if points_back:
                points_service.return_spent(uow, reference=purchase.ref, key=f"{key}:return",
                                            points=None if full else points_back)
        state = self.state[purchase.member_id]
        state.points += points_back - (clawed.points if clawed else 0)
        if refund is not None:
            state.wallet.balance += refund.amount - refund.cashback_clawback
            self.report.operations["wallet_refund"] += 1

    def _cash_out(self, event: Planned) -> None:
        """A member who left asks for the money on the card back (退卡): principal back,
        bonus forfeited; not while a recharge may still be credited."""
        wallet = self.state[event.member_id].wallet
        if wallet.outstanding or wallet.closed or not wallet.balance \
                or self.report.operations["cashed_out"] >= cash_out_target(len(self.facts)):
            return
        with self._uow(FINANCE) as uow:
            wallet_service.cash_out(uow, member_id=event.member_id,
                                    cash_out_ref=f"demo-cash-out-{event.member_id}",
                                    reason=self.rng.choice(CASH_OUT_REASONS))
        wallet.balance, wallet.closed = 0, True
        self.report.operations["cashed_out"] += 1

    # --- points: bonus actions, gifts, adjustments --------------------------------------

    def _bonus(self, member_id: int, action: str, key: str,
               reference: str | None = None) -> None:
        with self._uow(APP) as uow:
            lot = points_service.award_bonus(uow, member_id=member_id, action=action, key=key,
                                             reference=reference)
        self.state[member_id].points += lot.original

    def _check_in(self, event: Planned) -> None:
        day = event.at.astimezone(self.clock.tz).date()
        self._bonus(event.member_id, "check_in", f"demo:check_in:{event.member_id}:{day}")
        self._maybe_redeem(event.member_id, chance=0.1)  # the gift page is one tap away

    def _profile(self, event: Planned) -> None:
        self._bonus(event.member_id, "profile_completed", f"demo:profile:{event.member_id}")

    def _product_review(self, purchase: Purchase) -> None:
        month = f"{self.clock.today():%Y-%m}"
        reviews = self.state[purchase.member_id].reviews
        cap = self.rules.bonus_actions["review"].per_month
        if cap is None or reviews[month] < cap:  # the service would refuse the sixth
            reviews[month] += 1
            self._bonus(purchase.member_id, "review", f"demo:review:{purchase.ref}",
                        reference=purchase.ref)

    def _maybe_redeem(self, member_id: int, *, chance: float) -> None:
        # Browsing the gift page some time later, when the latest points may be released.
        if self.habits[member_id].redeemer and self.rng.random() < chance \
                and self.state[member_id].points >= min(g[2] for g in GIFTS):
            at = self._store_time(self._later(timedelta(hours=1), timedelta(days=10)))
            self.schedule(at, "redeem", member_id)

    def _wish(self) -> tuple[str, int] | None:
        """(sku, price) of the gift a member wishes for, among those in stock."""
        in_stock = [(sku, price) for sku, _, price, _ in GIFTS if self.stock[sku] > 0]
        if not in_stock:
            return None
        return self.rng.choices(in_stock, weights=[GIFT_TASTE[s] for s, _ in in_stock])[0]

    def _redeem(self, member_id: int) -> None:
        """The gift the member wishes for if they can afford it; now and then, tired of
        saving, the dearest one they can afford; else they keep saving."""
        wish, settle = self._wish(), self.rng.random() < 0.3
        if wish is None or (wish[1] > self.state[member_id].points and not settle):
            return  # still saving up (the estimate is an upper bound: no need to ask)
        with self._uow(APP) as uow:
            available = points_queries.summary(uow.session, member_id, uow.clock.now(),
                                               uow.clock.tz)["available"]
            affordable = [(sku, price) for sku, _, price, _ in GIFTS
                          if price <= available and self.stock[sku] > 0]
            gift = wish if wish[1] <= available else affordable[-1] \
                if settle and affordable else None
            if gift is None:
                return
            sku, price = gift
            quantity = 2 if 2 * price <= available and self.stock[sku] > 1 \
                and self.rng.random() < 0.25 else 1
            ref = f"demo-gift-{self.report.operations['gift_redeemed'] + 1}"
            points_service.redeem_gift(uow, member_id=member_id, sku=sku, quantity=quantity,
                                       redemption_ref=ref, key=f"demo:{ref}")
        self.report.operations["gift_redeemed"] += 1
        self.state[member_id].points -= price * quantity
        self.stock[sku] -= quantity
        if self.stock[sku] == 0:  # sold out for a while, then the warehouse restocks
            self.schedule(self._office_time(self._later(timedelta(days=7), timedelta(days=21))),
                          "restock", sku)

    def _adjust(self, event: Planned) -> None:
        """Operations staff adjust a recent customer's points by hand, with a reason."""
        recent, number = self.purchases[-200:], self.report.operations["adjust"]
        if not recent:
            return
        purchase = self.rng.choice(recent)
        member_id = purchase.member_id
        with self._uow(OPS) as uow:
            available = points_queries.summary(uow.session, member_id, uow.clock.now(),
                                               uow.clock.tz)["available"]
            if number % 4 == 3 and available >= 100:  # now and then a correction
                points, reason = -min(available, 100 * self.rng.randint(1, 3)), DEDUCT_REASON
            else:
                points = max(50, purchase.paid // YUAN) if self.rng.random() < 0.6 \
                    else 50 * self.rng.randint(2, 10)
                reason = self.rng.choice(ADJUST_REASONS)
            points_service.adjust(uow, member_id=member_id, points=points, reason=reason,
                                  key=f"demo:adjust:{number}")
        self.state[member_id].points += points


def member_facts(db: Database) -> list[MemberFacts]:
    """The member base as the history needs it, in id order."""
    with db.session(readonly=True) as session:
        return [MemberFacts(
            id=m.id, joined_at=m.joined_at, channel=m.channel, birthday=m.birthday,
            referrer_id=m.referrer_id,
            complete_profile=bool(m.email and m.birthday and m.province),
            tags=frozenset(m.tag_names)) for m in member_queries.iterate(session, MemberFilter())]


def generate_value(db: Database, plan: DemoPlan, clock: Clock,
                   progress: Progress | None = None) -> HistoryReport:
    """Plan the members' habits and activity as of the clock's now, then play the history
    through the services; returns what it did."""
    now = clock.now()
    members = member_facts(db)
    habits = plan_habits(plan, members, now)
    planned = plan_activity(plan, members, habits, now, clock.tz)
    start = min([now, *(e.at for e in planned)])
    history = History(db, plan, FixedClock(start, tz=clock.tz), now, members, habits)
    return history.run(planned, progress)
