"""The demo's shop: every purchase is an order through `orders.service.place`, priced the way
the member would pay it — a coupon when they hold one that applies (adding an item or two
to reach its threshold, now and then), points when they save them for that, the wallet
while it holds money, the rest paid outside; PLUS bought at the till after a few orders
and renewed by most; some orders refunded, in full or by items, through
`orders.service.refund`; campaign coupons before 618 and Double 11 and win-back coupons
for members gone quiet, issued through the coupons service.

The shop asks only for what the programme grants: the coupon windows, first orders and
wallet balances are known to the model (the balance is read back from the ledger after
every movement), and the tier held, the PLUS in force and the points available are read
in the order's own unit of work before the order is priced (`orders.rules` and
`coupons.rules`, the order flow's own arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from memberops.coupons import rules as coupon_rules
from memberops.coupons import service as coupons_service
from memberops.coupons.models import Coupon, CouponTemplate
from memberops.coupons.service import Target
from memberops.members.models import Member
from memberops.orders import rules as order_rules
from memberops.orders import service as orders_service
from memberops.orders.schemas import OrderCreate, RefundCreate
from memberops.orders.service.pricing import BP_PER_PCT
from memberops.plus import queries as plus_queries
from memberops.plus import service as plus_service
from memberops.points import rules as points_rules
from memberops.points.queries import available_points
from memberops.prepared import Prepared
from memberops.programme import service as programme_service
from memberops.programme.schemas import EarningRules, Plans, TierLadder
from memberops.tiers import rules as tier_rules
from memberops.uow import UnitOfWork
from memberops.wallet import queries as wallet_queries

from .activity import YUAN, Planned
from .catalogue import BY_SKU, Basket, amount, upsized
from .history import MARKETING, TILL, HeldCoupon, OrderRecord, Walk

MEMBERS = Member.__table__
TIER_HELD = Prepared(select(MEMBERS.c.tier).where(MEMBERS.c.id == bindparam("member_id")))
PLAN = "PLUS"
COUPON_USE = 0.9  # a member holding a coupon that applies mostly uses it
UPSIZE_REACH = 3  # a basket of a third of a coupon's threshold may be topped up to it
POINTS_USE = 0.5  # a member who pays with points does so on about every other order
MIN_POINTS = 1_000  # points worth using (¥10)
PLUS_AFTER = 3  # orders before a PLUS buyer is offered it at the till
PLUS_TAKE = 0.2  # … and takes it, per order
PLUS_RENEW = 0.5  # a lapsed member renews at an order within a month of the end
PLUS_EARLY = 0.2  # … or renews in the last two weeks, extending the term
SALE_TEMPLATE = "spend200-off30"
WIN_BACK_TEMPLATE = "10-percent-off"
SALE_AUDIENCE = timedelta(days=60)  # bought within: gets the sale coupon
WIN_BACK = (timedelta(days=45), timedelta(days=150))  # quiet for this long: win-back
WIN_BACK_AGAIN = timedelta(days=120)
BaseOf = Callable[[Basket], int]  # a basket's amount after the tier and PLUS discounts


@dataclass(frozen=True)
class Template:
    id: int
    code: str
    terms: coupon_rules.Terms


def _terms(t: CouponTemplate) -> coupon_rules.Terms:
    return coupon_rules.Terms(kind=t.kind, amount_off=t.amount_off, percent_off=t.percent_off,
                              max_discount=t.max_discount, min_spend=t.min_spend or 0,
                              gift_sku=t.gift_sku, stackable=bool(t.stackable),
                              eligible_tiers=tuple(t.eligible_tiers or ()))


class Shop:
    """Orders, refunds, coupons and PLUS, played on the walk's clock and model."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.rng = walk.plan.rng("orders.history")
        self.templates: dict[str, Template] = {}
        self.by_id: dict[int, Template] = {}
        self.ladder = TierLadder()
        self.tiers: dict[str, tuple[str, int]] = {}  # held → (tier that applies, basis points)
        self.earning = EarningRules()
        self.plus_price = 0
        self.orders = 0
        self.refunds = 0

    # --- set-up: the programme, the templates, the coupons members hold ----------------

    def start(self, uow: UnitOfWork) -> None:
        session = uow.session
        self.ladder = programme_service.current(session, TierLadder)
        self.earning = programme_service.current(session, EarningRules)
        self.plus_price = programme_service.current(session, Plans).plans[PLAN].price
        for row in coupons_service.ensure_reference_templates(uow):
            template = Template(row.id, row.code, _terms(row))
            self.templates[row.code] = template
            self.by_id[row.id] = template
        self.hold(session, since=None)

    def hold(self, session: Session, *, since: datetime | None, source: str | None = None) -> int:
        """Put the issued coupons (since `since`, from `source`) in their members' hands."""
        stmt = select(Coupon.member_id, Coupon.code, Coupon.template_id, Coupon.valid_from,
                      Coupon.valid_until).where(Coupon.status == "issued")
        if since is not None:
            stmt = stmt.where(Coupon.issued_at >= since)
        if source is not None:
            stmt = stmt.where(Coupon.source == source)
        found = 0
        for row in session.execute(stmt.order_by(Coupon.id)):
            state = self.walk.state.get(row.member_id)
            template = self.by_id.get(row.template_id)
            if state is None or template is None:
                continue
            state.coupons.append(HeldCoupon(row.code, template.code, template.terms,
                                            row.valid_from, row.valid_until))
            found += 1
        return found

    # --- pricing as the order flow does it ------------------------------------------------

    def _member_discounts(self, session: Session, member_id: int,
                          now: datetime) -> tuple[str, int, int]:
        """(tier held, tier basis points, PLUS basis points) for an order now."""
        held = str(TIER_HELD.scalar(session, {"member_id": member_id}))
        tier = self.tiers.get(held)
        if tier is None:
            benefits = tier_rules.benefits_of(self.ladder, held)
            tier = self.tiers[held] = (benefits.code, benefits.discount_pct * BP_PER_PCT)
        plus = plus_queries.benefits(session, member_id, now)
        return (*tier, plus.extra_discount_pct * BP_PER_PCT if plus else 0)

    def _coupon(self, held: list[HeldCoupon], tier: str, first: bool, lines: Basket,
                base_of: BaseOf, minded: float) -> tuple[HeldCoupon | None, Basket]:
        """The coupon that takes most off this basket, after adding items to reach a
        threshold if the member is minded to; None when none applies."""
        def eligible(c: HeldCoupon) -> bool:
            t = c.terms
            return (not t.eligible_tiers or tier in t.eligible_tiers) \
                and not (t.kind == "first_order" and not first)

        base = base_of(lines)
        fitting = [c for c in held if eligible(c) and base >= c.terms.min_spend]
        # 凑单: within reach of a threshold (a third of it in the basket already), the
        # member adds beans, drip bags or a gift box to get there.
        near = [c for c in held if eligible(c) and c.terms.min_spend > base
                and base * UPSIZE_REACH >= c.terms.min_spend]
        if near and (not fitting or self.rng.random() < 0.5) and self.rng.random() < minded:
            target = min(near, key=lambda c: c.terms.min_spend)
            while base_of(lines) < target.terms.min_spend:
                lines = upsized(self.rng, lines,
                                amount(lines) + target.terms.min_spend - base_of(lines) + 1)
            base = base_of(lines)
            fitting = [c for c in held if eligible(c) and base >= c.terms.min_spend]
        if not fitting or self.rng.random() >= COUPON_USE:
            return None, lines
        best = max(fitting, key=lambda c: coupon_rules.discount(c.terms, base, 0)[0])
        return best, lines

    # --- placing an order ---------------------------------------------------------------

    def place(self, event: Planned) -> OrderRecord:
        """The planned purchase as an order: priced, paid and committed in this hour's
        unit of work."""
        walk, member_id, rng = self.walk, event.member_id, self.rng
        state, habits = walk.state[member_id], walk.habits[member_id]
        uow = walk.uow(TILL)
        session, now = uow.session, uow.clock.now()
        self._plus(uow, member_id)
        lines, coupon, points, wallet = event.lines, None, 0, 0
        held = [c for c in state.coupons if c.usable(now)]
        pay_wallet = habits.wallet and not state.wallet.closed and state.wallet.balance > 0 \
            and rng.random() < habits.wallet_share
        use_points = habits.deducter and state.points >= MIN_POINTS \
            and rng.random() < POINTS_USE
        if held or pay_wallet or use_points:
            tier, tier_bp, plus_bp = self._member_discounts(session, member_id, now)

            def base_of(basket: Basket) -> int:
                subtotal = amount(basket)
                off = order_rules.after_member_discounts(subtotal, tier_bp, plus_bp)
                return subtotal - sum(off)

            if held:
                coupon, lines = self._coupon(held, tier, state.orders == 0, lines, base_of,
                                             habits.coupon_minded)
            after = base_of(lines) - (coupon_rules.discount(coupon.terms, base_of(lines), 0)[0]
                                      if coupon else 0)
            if use_points:
                points = self._points(session, member_id, after, now)
            payable = after - (points_rules.deduction_value(points, after, self.earning)
                               if points else 0)
            if pay_wallet:
                wallet = min(sum(wallet_queries.balances(session, member_id)), payable)
        self.orders += 1
        local = now.astimezone(walk.clock.tz)
        row = orders_service.place(uow, OrderCreate(
            order_ref=f"SO{local:%Y%m%d}{self.orders:07d}", member_id=member_id,
            items=[{"sku": sku, "category": BY_SKU[sku].category, "quantity": quantity,
                    "unit_price": BY_SKU[sku].price} for sku, quantity in lines],
            coupon_codes=[coupon.code] if coupon else [], points_to_use=points,
            wallet_amount=wallet, store=event.store, channel=event.channel))
        first = state.orders == 0
        state.orders += 1
        state.last_order = now
        state.points += row.points_earned - row.points_used
        if coupon is not None:
            coupon.used = True
        if row.wallet_paid:
            state.wallet.balance = sum(wallet_queries.balances(session, member_id))
        referrer = walk.facts[member_id].referrer_id
        if first and referrer in walk.state:
            walk.state[referrer].points += self.earning.bonus_actions["referral"].points
        return OrderRecord(row.order_ref, member_id,
                           tuple((line.sku, line.quantity, line.net) for line in row.lines),
                           row.paid_value, row.wallet_paid, row.points_earned,
                           big=row.subtotal > 100 * YUAN)

    def _points(self, session: Session, member_id: int, after: int, now: datetime) -> int:
        """Points to use on an order of `after` fen: read from the ledger, in whole yuan,
        all the programme allows or about half of it."""
        available = available_points(session, member_id, now)
        most, _ = points_rules.quote_deduction(available, after, self.earning)
        chosen = most if self.rng.random() < 0.6 else most // 2
        per_yuan = self.earning.points_per_yuan_off
        chosen = chosen // per_yuan * per_yuan
        return chosen if chosen >= per_yuan else 0

    # --- PLUS at the till -----------------------------------------------------------------

    def _plus(self, uow: UnitOfWork, member_id: int) -> None:
        """A PLUS buyer is offered it after a few orders, and most renew around the end."""
        state, habits = self.walk.state[member_id], self.walk.habits[member_id]
        if not habits.plus or state.orders < PLUS_AFTER:
            return
        now, until, draw = uow.clock.now(), state.plus_until, self.rng.random()
        if until is None:
            buy = draw < PLUS_TAKE
        elif until <= now:
            buy = now - until < timedelta(days=30) and draw < PLUS_RENEW
        else:
            buy = until - now < timedelta(days=14) and draw < PLUS_EARLY
        if not buy:
            return
        state.plus_bought += 1
        by_wallet = habits.wallet and not state.wallet.closed \
            and sum(wallet_queries.balances(uow.session, member_id)) >= self.plus_price \
            and self.rng.random() < 0.6
        purchase = plus_service.buy(uow, member_id=member_id, plan=PLAN,
                                    payment="wallet" if by_wallet else "external",
                                    payment_ref=f"PLUS-{member_id}-{state.plus_bought}")
        state.plus_until = purchase.subscription.ends_at
        if by_wallet:
            state.wallet.balance = sum(wallet_queries.balances(uow.session, member_id))
        self.walk.report.operations["plus_wallet" if by_wallet else "plus_external"] += 1

    # --- refunds ----------------------------------------------------------------------------

    def refund(self, record: OrderRecord) -> bool:
        """Refund the order in full or in part (by items, or an amount as a goodwill
        gesture); False when it cannot be (the wallet it paid from was cashed out)."""
        state, rng = self.walk.state[record.member_id], self.rng
        if record.wallet_paid and state.wallet.closed:
            return False
        uow = self.walk.uow(TILL)
        self.refunds += 1
        ref = f"RF{self.refunds:07d}"
        lines = [line for line in record.lines if line[2] > 0]
        single = len(lines) == 1 and lines[0][1] == 1
        if single or rng.random() < 0.5:
            body = RefundCreate(refund_ref=ref, amount=record.paid) if rng.random() < 0.5 \
                else RefundCreate(refund_ref=ref, items=[{"sku": sku, "quantity": quantity}
                                                         for sku, quantity, _ in lines])
            kind = "refund_full"
        elif rng.random() < 0.75 or record.paid < 4 * YUAN:
            sku, quantity, _ = rng.choice(lines)
            part = 1 if quantity > 1 and rng.random() < 0.7 else quantity
            body = RefundCreate(refund_ref=ref, items=[{"sku": sku, "quantity": part}])
            kind = "refund_items"
        else:
            part = record.paid * rng.randint(2, 5) // 10 // YUAN * YUAN
            body = RefundCreate(refund_ref=ref, amount=max(part, YUAN))
            kind = "refund_amount"
        refund, _ = orders_service.refund(uow, record.ref, body)
        state.points += refund.points_returned - refund.points_clawed
        if refund.wallet_refunded:
            state.wallet.balance = sum(wallet_queries.balances(uow.session, record.member_id))
        released = set(refund.coupons_released)
        for coupon in state.coupons:
            if coupon.code in released:
                coupon.used = False
        self.walk.report.operations[kind] += 1
        return True

    # --- campaign coupons -------------------------------------------------------------------

    def campaign(self, name: str) -> None:
        """Marketing issues coupons to a list: the sale coupon to recent customers before
        618 and Double 11, the 9折 coupon to members who have gone quiet."""
        walk = self.walk
        now = walk.clock.now()
        if name == "win-back":
            template = self.templates[WIN_BACK_TEMPLATE]
            audience = [m for m, s in walk.state.items() if s.last_order is not None
                        and WIN_BACK[0] <= now - s.last_order < WIN_BACK[1]
                        and (s.win_back_at is None or now - s.win_back_at > WIN_BACK_AGAIN)]
        else:
            template = self.templates[SALE_TEMPLATE]
            audience = [m for m, s in walk.state.items() if s.last_order is not None
                        and now - s.last_order < SALE_AUDIENCE]
        if not audience:
            return
        local = now.astimezone(walk.clock.tz)
        uow = walk.uow(MARKETING)
        report = coupons_service.issue_many(
            uow, template_id=template.id, batch_ref=f"{name}-{local:%Y%m%d}",
            targets=[Target(n, str(m), "id") for n, m in enumerate(audience, 1)])
        for made in report.issued:
            state = walk.state[made.member_id]
            state.coupons.append(HeldCoupon(made.code, template.code, template.terms,
                                            made.valid_from, made.valid_until))
            if name == "win-back":
                state.win_back_at = now
        walk.report.operations[f"coupons_{name}"] += len(report.issued)
