"""Two years of orders, stored value, points, coupons and PLUS, played through the services
in time order.

The walk (`history.Walk`) sets the clock to every planned event (`activity.plan_activity`)
and every event it gives rise to (a payment callback, the finance review of a held
recharge, a refund a few days after an order, a top-up when the balance runs low, a
campaign's coupons) and handles it at its own instant; every night the scheduled jobs run
as in production. Every purchase is an order (`orders.Shop`); each business operation goes
through its service, as a till, the mini-program, the payment gateway, the finance or the
marketing team would do it; nothing writes a table directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from memberops.clock import Clock, FixedClock
from memberops.db import Database
from memberops.jobs import coupons as coupon_jobs
from memberops.jobs import plus as plus_jobs
from memberops.jobs import points as points_jobs
from memberops.jobs import tiers as tier_jobs
from memberops.members import queries as member_queries
from memberops.members.queries import MemberFilter
from memberops.points import queries as points_queries
from memberops.points import service as points_service
from memberops.points.models import PointsLot
from memberops.programme import service as programme_service
from memberops.programme.schemas import EarningRules
from memberops.uow import Actor
from memberops.wallet import service as wallet_service
from memberops.wallet.models import Recharge

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
from .history import (
    APP,
    FINANCE,
    GATEWAY,
    OPS,
    TILL,
    HistoryReport,
    OrderRecord,
    Walk,
)
from .orders import Shop

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
REDEEM_FROM = 800  # points a member saves before looking at the gift page (a coffee)
STORE_HOURS = range(8, 22)  # when refunds are made at the counter
LOW_BALANCE = 40 * YUAN  # below this a wallet member thinks of topping up
REFUND_SHARE = 0.025  # of orders, more for big baskets
CALLBACK_FAILS = 0.05  # online payments the gateway reports failed
REVIEW_REJECTS_EVERY = 5  # the finance team rejects about one held recharge in five
APPROVE_REASONS = ("大额充值：已电话核实会员本人", "企业团购充值，已核对付款凭证",
                   "老会员大额充值，资金来源已确认")
REJECT_REASONS = ("无法联系会员本人核实，拒绝", "付款账户与会员信息不符，疑似代充")
CASH_OUT_REASONS = ("会员搬离本市，申请退卡", "会员申请退卡退款", "会员不再使用储值卡")
ADJUST_REASONS = ("门店网络故障期间消费未积分，人工补录", "客诉处理：饮品制作错误，补偿积分",
                  "活动奖励漏发，人工补发")
DEDUCT_REASON = "重复积分冲正"
# Campaigns: the sale coupon a week before 618 and Double 11, win-back on the 20th.
SALES = ((6, 8), (11, 1))
WIN_BACK_DAY = 20
CAMPAIGN_HOUR = time(10, 0)
RELEASE = Actor.system("points.release")  # as the job


@dataclass
class RechargeState:
    """A recharge the history follows until it settles, fails or is rejected."""

    ref: str
    member_id: int
    amount: int
    online: bool
    recharge_id: int
    status: str
    burst: bool = False


class History(Walk):
    """The demo's history: the walk with its handlers."""

    def __init__(self, db: Database, plan: DemoPlan, clock: FixedClock, now: datetime,
                 members: Sequence[MemberFacts], habits: Mapping[int, Habits]) -> None:
        super().__init__(db, plan, clock, now, members, habits)
        self.shop = Shop(self)
        self.recharges = 0
        self.held = 0
        self.stock: dict[str, int] = {}
        self.rules = EarningRules()
        self.handlers.update({
            "order": self._order, "recharge": self._first_recharge, "top_up": self._top_up,
            "large_recharge": self._large_recharge, "burst": self._burst,
            "burst_recharge": self._burst_recharge, "callback": self._callback,
            "review": self._review_recharge, "refund": self._refund,
            "product_review": self._product_review, "redeem": self._redeem,
            "restock": self._restock, "check_in": self._check_in, "profile": self._profile,
            "cash_out": self._cash_out, "adjust": self._adjust, "campaign": self.shop.campaign,
        })

    # --- set-up and the nightly jobs ------------------------------------------------------

    def start(self) -> None:
        members = len(self.facts)
        uow = self.uow(OPS)
        self.rules = programme_service.current(uow.session, EarningRules)
        self.shop.start(uow)
        for sku, name, price, per_member in GIFTS:
            stock = max(2, round(members * per_member))
            points_service.create_gift(uow, sku=sku, name=name, points_price=price,
                                       stock=stock)
            self.stock[sku] = stock
        self.commit()
        self._campaigns()

    def _campaigns(self) -> None:
        tz = self.clock.tz
        first = self.clock.now().astimezone(tz).date().replace(day=1)
        month = first
        while month <= self.now.astimezone(tz).date():
            days = [(date(month.year, month.month, WIN_BACK_DAY), "win-back")]
            days += [(date(month.year, m, d), "sale") for m, d in SALES if m == month.month]
            for day, name in days:
                at = datetime.combine(day, CAMPAIGN_HOUR, tzinfo=tz)
                if self.clock.now() < at:
                    self.schedule(at, "campaign", name)
            month = (month + timedelta(days=32)).replace(day=1)

    def nightly(self, night: datetime) -> None:
        """The jobs as they run in production: points release first, then expiry (see
        jobs.points); coupons, PLUS and the tier review; birthday coupons on the 1st of the
        month (the job issues to the month's birthdays; a member who reaches Silver later in
        the month waits for next year's)."""
        db, clock = self.db, self.clock
        self.report.released += self._release(night)
        self.report.expired += points_jobs.expire_due(db, clock).points
        self.report.operations["coupons_expired"] += coupon_jobs.expire_due(db, clock).expired
        self.report.operations["plus_expired"] += plus_jobs.expire_due(db, clock).expired
        review = tier_jobs.review_due(db, clock)
        self.report.operations["tier_kept"] += review.kept
        self.report.operations["tier_downgraded"] += review.downgraded
        if night.astimezone(clock.tz).day == 1:
            issued = coupon_jobs.issue_birthday(db, clock).issued
            if issued:
                with db.session(readonly=True) as session:
                    self.shop.hold(session, since=night, source="birthday")
            self.report.operations["coupons_birthday"] += issued

    def _release(self, night: datetime) -> int:
        """The points release job's work — every pending lot past its return window made
        available, member by member through the points service — in one unit of work for
        the night (the job commits each member: a hundred thousand commits here)."""
        uow = self.uow(RELEASE)
        due = uow.session.execute(select(PointsLot.member_id).where(
            PointsLot.status == "pending", PointsLot.available_at <= night)
            .distinct().order_by(PointsLot.member_id)).scalars().all()
        released = sum(points_service.release_member(uow, member_id=member_id, now=night)
                       for member_id in due)
        self.commit()
        return released

    # --- time helpers -------------------------------------------------------------------

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

    def _restock(self, sku: str) -> None:
        stock = max(2, round(len(self.facts) * dict((g[0], g[3]) for g in GIFTS)[sku]))
        points_service.update_gift(self.uow(OPS), sku, stock=stock)
        self.stock[sku] = stock

    # --- orders -------------------------------------------------------------------------

    def _order(self, event: Planned) -> None:
        member_id, habits = event.member_id, self.habits[event.member_id]
        wallet = self.state[member_id].wallet
        if habits.wallet and not habits.online and not wallet.closed \
                and event.channel == "store" \
                and (wallet.top_up_due or (wallet.balance < event.amount
                                           and self.rng.random() < 0.5)):
            self._recharge(member_id, self._amount(habits), online=False)
            wallet.top_up_due = False
        record = self.shop.place(event)
        self.recent.append(record)
        self._after_order(record, event)

    def _after_order(self, record: OrderRecord, event: Planned) -> None:
        habits = self.habits[record.member_id]
        wallet = self.state[record.member_id].wallet
        hour = timedelta(hours=1)
        if self.rng.random() < REFUND_SHARE + (0.03 if record.big else 0.0):
            soon = event.channel == "delivery"  # a missing or spilt item, reported at once
            at = self.later(hour / 6, 3 * hour) if soon \
                else self._store_time(self.later(hour / 6, 72 * hour))
            self.schedule(at, "refund", record)
        if habits.reviewer and record.points_earned and self.rng.random() < 0.35:
            self.schedule(self.later(hour, 48 * hour), "product_review", record)
        self._maybe_redeem(record.member_id, chance=0.1, at_counter=event.channel == "store")
        if record.wallet_paid and wallet.balance < LOW_BALANCE and self.rng.random() < 0.7:
            if not habits.online:
                wallet.top_up_due = True
            elif not wallet.outstanding:
                self.schedule(self.later(2 * hour, 120 * hour), "top_up", record.member_id)

    def _refund(self, record: OrderRecord) -> None:
        self.shop.refund(record)

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
        row = wallet_service.recharge(self.uow(APP if online else TILL), member_id=member_id,
                                      amount=amount, payment_ref=ref,
                                      payment="pending" if online else "confirmed")
        recharge = RechargeState(ref, member_id, amount, online, row.id, "submitted", burst)
        self._credit(recharge, row)
        if row.status in ("pending", "pending_review"):
            self.state[member_id].wallet.outstanding += 1
        if row.payment_status == "pending" and row.status != "rejected":
            self._expect_callback(recharge)
        if row.status == "pending_review":
            self.schedule(self._office_time(self.later(timedelta(minutes=30),
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
        delay = self.later(timedelta(minutes=5), timedelta(minutes=40)) if slow \
            else self.later(timedelta(seconds=3), timedelta(seconds=90))
        self.schedule(delay, "callback", recharge)

    def _callback(self, recharge: RechargeState) -> None:
        failed = recharge.burst or self.rng.random() < CALLBACK_FAILS
        row = wallet_service.confirm_payment(self.uow(GATEWAY), payment_ref=recharge.ref,
                                             outcome="failed" if failed else "confirmed")
        self._credit(recharge, row)
        self.report.operations["callback_failed" if failed else "callback_confirmed"] += 1
        if failed and not recharge.burst and self.rng.random() < 0.6:
            self.schedule(self.later(timedelta(minutes=1), timedelta(minutes=8)), "top_up",
                          recharge.member_id)  # tries again, with another card

    def _review_recharge(self, recharge: RechargeState) -> None:
        if recharge.status != "pending_review":
            return  # its payment failed meanwhile: it left the queue
        self.held += 1
        reject = self.held % REVIEW_REJECTS_EVERY == 2
        uow = self.uow(FINANCE)
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
            self.schedule(self.later(timedelta(seconds=40 * n), timedelta(seconds=70 * n)),
                          "burst_recharge", event)

    def _burst_recharge(self, event: Planned) -> None:
        self._recharge(event.member_id, event.amount, online=True, burst=True)

    def _cash_out(self, event: Planned) -> None:
        """A member who left asks for the money on the card back (退卡): principal back,
        bonus forfeited; not while a recharge may still be credited."""
        wallet = self.state[event.member_id].wallet
        if wallet.outstanding or wallet.closed or not wallet.balance \
                or self.report.operations["cashed_out"] >= cash_out_target(len(self.facts)):
            return
        wallet_service.cash_out(self.uow(FINANCE), member_id=event.member_id,
                                cash_out_ref=f"demo-cash-out-{event.member_id}",
                                reason=self.rng.choice(CASH_OUT_REASONS))
        wallet.balance, wallet.closed = 0, True
        self.report.operations["cashed_out"] += 1

    # --- points: bonus actions, gifts, adjustments --------------------------------------

    def _bonus(self, member_id: int, action: str, key: str,
               reference: str | None = None) -> None:
        lot = points_service.award_bonus(self.uow(APP), member_id=member_id, action=action,
                                         key=key, reference=reference)
        self.state[member_id].points += lot.original

    def _check_in(self, event: Planned) -> None:
        day = event.at.astimezone(self.clock.tz).date()
        self._bonus(event.member_id, "check_in", f"demo:check_in:{event.member_id}:{day}")
        self._maybe_redeem(event.member_id, chance=0.05)  # the gift page is one tap away

    def _profile(self, event: Planned) -> None:
        self._bonus(event.member_id, "profile_completed", f"demo:profile:{event.member_id}")

    def _product_review(self, record: OrderRecord) -> None:
        month = f"{self.clock.today():%Y-%m}"
        reviews = self.state[record.member_id].reviews
        cap = self.rules.bonus_actions["review"].per_month
        if cap is None or reviews[month] < cap:  # the service would refuse the sixth
            reviews[month] += 1
            self._bonus(record.member_id, "review", f"demo:review:{record.ref}",
                        reference=record.ref)

    def _maybe_redeem(self, member_id: int, *, chance: float,
                      at_counter: bool = False) -> None:
        """A member with points to spare asks for a gift at the counter, right after paying,
        or browses the gift page in the app some time later."""
        if self.habits[member_id].redeemer and self.rng.random() < chance \
                and self.state[member_id].points >= REDEEM_FROM:
            if at_counter:
                self._redeem(member_id, actor=TILL)
                return
            at = self._store_time(self.later(timedelta(hours=1), timedelta(days=10)))
            self.schedule(at, "redeem", member_id)

    def _wish(self) -> tuple[str, int] | None:
        """(sku, price) of the gift a member wishes for, among those in stock."""
        in_stock = [(sku, price) for sku, _, price, _ in GIFTS if self.stock[sku] > 0]
        if not in_stock:
            return None
        return self.rng.choices(in_stock, weights=[GIFT_TASTE[s] for s, _ in in_stock])[0]

    def _redeem(self, member_id: int, actor: Actor = APP) -> None:
        """The gift the member wishes for if they can afford it; now and then, tired of
        saving, the dearest one they can afford; else they keep saving."""
        wish, settle = self._wish(), self.rng.random() < 0.3
        if wish is None or (wish[1] > self.state[member_id].points and not settle):
            return  # still saving up (the estimate is an upper bound: no need to ask)
        uow = self.uow(actor)
        available = points_queries.available_points(uow.session, member_id, uow.clock.now())
        affordable = [(sku, price) for sku, _, price, _ in GIFTS
                      if price <= available and self.stock[sku] > 0]
        gift = wish if wish[1] <= available else affordable[-1] \
            if settle and affordable else None
        if gift is None:
            self.state[member_id].points = available
            return
        sku, price = gift
        quantity = 2 if 2 * price <= available and self.stock[sku] > 1 \
            and self.rng.random() < 0.25 else 1
        ref = f"demo-gift-{self.report.operations['gift_redeemed'] + 1}"
        points_service.redeem_gift(uow, member_id=member_id, sku=sku, quantity=quantity,
                                   redemption_ref=ref, key=f"demo:{ref}")
        self.report.operations["gift_redeemed"] += 1
        self.state[member_id].points = available - price * quantity
        self.stock[sku] -= quantity
        if self.stock[sku] == 0:  # sold out for a while, then the warehouse restocks
            self.schedule(self._office_time(self.later(timedelta(days=7), timedelta(days=21))),
                          "restock", sku)

    def _adjust(self, event: Planned) -> None:
        """Operations staff adjust a recent customer's points by hand, with a reason."""
        number = self.report.operations["adjust"]
        if not self.recent:
            return
        record = self.rng.choice(self.recent)
        member_id = record.member_id
        uow = self.uow(OPS)
        available = points_queries.available_points(uow.session, member_id, uow.clock.now())
        if number % 4 == 3 and available >= 100:  # now and then a correction
            points, reason = -min(available, 100 * self.rng.randint(1, 3)), DEDUCT_REASON
        else:
            points = max(50, record.paid // YUAN) if self.rng.random() < 0.6 \
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
            tags=frozenset(m.tag_names), city=m.city)
            for m in member_queries.iterate(session, MemberFilter())]


def generate_value(db: Database, plan: DemoPlan, clock: Clock,
                   progress: Progress | None = None) -> HistoryReport:
    """Plan the members' habits and activity as of the clock's now, then play the history
    through the services; returns what it did."""
    now = clock.now()
    members = member_facts(db)
    habits = plan_habits(plan, members, now, clock.tz)
    planned = plan_activity(plan, members, habits, now, clock.tz)
    start = min([now, *(e.at for e in planned)])
    history = History(db, plan, FixedClock(start, tz=clock.tz), now, members, habits)
    return history.run(planned, progress)
