"""Pure coupon rules (DESIGN rule 9): validity windows, whether a coupon applies to an
order, and the discount it gives. No session, no clock: `now`, the issue instant and the
programme's time zone are passed in.

Discounts (all integers of fen):

* thresholds (`min_spend`) are checked against the order amount the caller gives — the
  amount after tier and PLUS discounts, before any coupon;
* coupons apply in a fixed order: amount-off kinds (amount_off, first_order) first, then
  percent_off, then free_shipping and gift_item; among equals, the order they were given;
  each takes its discount from what the coupons before it left, so the total never exceeds
  the amount;
* a percentage is rounded **down** to the fen (10% of 1,999 fen is 199), then cut to the
  template's cap (`max_discount`);
* a discount never exceeds the amount it applies to (the goods amount left, or the
  shipping fee for free_shipping);
* one coupon per order unless every coupon on it stacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

KINDS = ("amount_off", "percent_off", "first_order", "free_shipping", "gift_item")
VALIDITIES = ("fixed", "days", "birthday_month")
TRIGGERS = ("welcome", "birthday")
MAX_FEN = 10_000_000_000  # ¥100 million: beyond any real order or coupon
MAX_DAYS = 3650
MAX_COUNT = 100_000_000  # budget and per-member limit (32-bit columns)
# Application order (see the module docstring).
_RANK = {"amount_off": 0, "first_order": 0, "percent_off": 1, "free_shipping": 2,
         "gift_item": 3}

# Why a coupon does not apply: stable codes an integrator can switch on.
NOT_FOUND = "coupon_not_found"
EXPIRED = "coupon_expired"
NOT_YET_VALID = "coupon_not_yet_valid"
USED = "coupon_used"
NOT_OWNED = "coupon_not_owned"
THRESHOLD_NOT_MET = "coupon_threshold_not_met"
TIER_INELIGIBLE = "coupon_tier_ineligible"
FIRST_ORDER_ONLY = "coupon_first_order_only"
NOT_STACKABLE = "coupon_not_stackable"
NO_SHIPPING_FEE = "coupon_no_shipping_fee"
REASONS = (NOT_FOUND, EXPIRED, NOT_YET_VALID, USED, NOT_OWNED, THRESHOLD_NOT_MET,
           TIER_INELIGIBLE, FIRST_ORDER_ONLY, NOT_STACKABLE, NO_SHIPPING_FEE)


def _fen(amount: int) -> str:
    return f"¥{amount // 100:,}" + (f".{amount % 100:02d}" if amount % 100 else "")


# --- terms ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    """What a template gives, as the rules need it."""

    kind: str
    amount_off: int | None = None
    percent_off: int | None = None
    max_discount: int | None = None
    min_spend: int = 0
    gift_sku: str | None = None
    stackable: bool = False
    eligible_tiers: tuple[str, ...] = ()

    def describe(self) -> str:
        """The rule as a member reads it: ¥30 off orders of ¥200 or more."""
        above = f" on orders of {_fen(self.min_spend)} or more" if self.min_spend else ""
        if self.kind == "percent_off":
            cap = f", at most {_fen(self.max_discount)}" if self.max_discount else ""
            return f"{self.percent_off}% off{above}{cap}"
        if self.kind == "free_shipping":
            return f"free shipping{above}"
        if self.kind == "gift_item":
            return f"gift {self.gift_sku}{above}"
        first = ", first order only" if self.kind == "first_order" else ""
        return f"{_fen(self.amount_off or 0)} off{above}{first}"


def terms_problems(terms: Terms) -> list[tuple[str, str]]:
    """Every (field, reason) that makes these terms unusable; empty when they are sound."""
    problems: list[tuple[str, str]] = []
    needs = {"amount_off": ("amount_off",), "first_order": ("amount_off",),
             "percent_off": ("percent_off",), "gift_item": ("gift_sku",)}.get(terms.kind, ())
    if terms.kind not in KINDS:
        return [("kind", f"must be one of {', '.join(KINDS)}")]
    for name in needs:
        if getattr(terms, name) is None:
            problems.append((name, f"is required for a {terms.kind} coupon"))
    allowed = {*needs, "max_discount"} if terms.kind in ("percent_off", "free_shipping") \
        else set(needs)
    for name in ("amount_off", "percent_off", "max_discount", "gift_sku"):
        if getattr(terms, name) is not None and name not in allowed:
            problems.append((name, f"does not apply to a {terms.kind} coupon"))
    if terms.amount_off is not None and terms.min_spend and terms.amount_off > terms.min_spend:
        problems.append(("amount_off", f"{_fen(terms.amount_off)} off is more than the "
                                       f"threshold of {_fen(terms.min_spend)}"))
    return problems


# --- validity -------------------------------------------------------------------------

def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def birthday_month_start(birthday: date, day: date) -> date:
    """The first day of the birthday month that holds `day`, or else the next one."""
    year = day.year if birthday.month >= day.month else day.year + 1
    return date(year, birthday.month, 1)


def window(validity: str, issued_at: datetime, tz: tzinfo, *, starts_on: date | None = None,
           ends_on: date | None = None, valid_days: int | None = None,
           birthday: date | None = None) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a coupon issued at `issued_at`; every date boundary is a
    local midnight in the programme's time zone.

    * fixed: from the start of `starts_on` (or the issue) to the end of `ends_on`;
    * days: from the issue through the N-th local day after the issue day, so a coupon
      issued late in the evening still has N whole days (like points' `days` expiry);
    * birthday_month: the whole local calendar month of the member's birthday — the one
      holding the issue day, or else the next one.
    """
    day = issued_at.astimezone(tz).date()
    if validity == "fixed":
        if ends_on is None:
            raise ValueError("a fixed window needs ends_on")
        start = local_midnight(starts_on, tz) if starts_on is not None else issued_at
        return start, local_midnight(ends_on + timedelta(days=1), tz)
    if validity == "days":
        if not valid_days or valid_days < 1:
            raise ValueError("a days window needs valid_days >= 1")
        return issued_at, local_midnight(day + timedelta(days=valid_days + 1), tz)
    if validity == "birthday_month":
        if birthday is None:
            raise ValueError("a birthday-month window needs the member's birthday")
        first = birthday_month_start(birthday, day)
        return local_midnight(first, tz), local_midnight(_next_month(first), tz)
    raise ValueError(f"unknown validity {validity!r}")


def last_day(valid_until: datetime, tz: tzinfo) -> date:
    """The last local day on which a coupon valid until `valid_until` can be used."""
    return (valid_until.astimezone(tz) - timedelta(microseconds=1)).date()


# --- applying coupons to an order -----------------------------------------------------

@dataclass(frozen=True)
class OrderContext:
    """What the coupons are checked against.

    `amount`: fen of goods, after the tier and PLUS discounts, before coupons;
    `shipping_fee`: fen; `has_prior_paid_order`: whether the member paid an order before
    this one (first_order coupons need False).
    """

    amount: int
    shipping_fee: int = 0
    has_prior_paid_order: bool = False

    def __post_init__(self) -> None:
        for name in ("amount", "shipping_fee"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer of fen, got {value!r}")
            if not 0 <= value <= MAX_FEN:
                raise ValueError(f"{name} must be 0 to {MAX_FEN} fen, got {value}")
        if not isinstance(self.has_prior_paid_order, bool):
            raise ValueError("has_prior_paid_order must be true or false")


@dataclass(frozen=True)
class Candidate:
    """A coupon as found in the store, with its template's terms."""

    code: str
    coupon_id: int
    template_id: int
    member_id: int
    status: str
    valid_from: datetime
    valid_until: datetime
    terms: Terms
    order_ref: str | None = None


@dataclass(frozen=True)
class AppliedCoupon:
    """A coupon that applies, with what it takes off. `target` says off what: the goods
    `amount`, the `shipping` fee, or nothing but a `gift` (gift_sku)."""

    code: str
    coupon_id: int
    template_id: int
    kind: str
    discount: int
    target: str
    gift_sku: str | None = None


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str  # one of REASONS
    detail: str


@dataclass(frozen=True)
class Evaluation:
    """Every coupon asked for, in the order asked: applied or refused."""

    applied: list[AppliedCoupon] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def discount(self) -> int:
        """Fen off the goods amount."""
        return sum(a.discount for a in self.applied if a.target == "amount")

    @property
    def shipping_discount(self) -> int:
        return sum(a.discount for a in self.applied if a.target == "shipping")


def refusal(c: Candidate, member_id: int, tier: str, ctx: OrderContext,
            now: datetime) -> Refusal | None:
    """Why this coupon cannot go on this member's order now, or None when it can."""
    def no(reason: str, detail: str) -> Refusal:
        return Refusal(c.code, reason, detail)

    if c.member_id != member_id:
        return no(NOT_OWNED, f"coupon {c.code} belongs to another member")
    if c.status == "used":
        return no(USED, f"coupon {c.code} was already used"
                  + (f" on order {c.order_ref}" if c.order_ref else ""))
    if c.status == "expired" or now >= c.valid_until:
        return no(EXPIRED, f"coupon {c.code} expired at {c.valid_until.isoformat()}")
    if now < c.valid_from:
        return no(NOT_YET_VALID, f"coupon {c.code} is valid from {c.valid_from.isoformat()}")
    t = c.terms
    if t.eligible_tiers and tier not in t.eligible_tiers:
        return no(TIER_INELIGIBLE, f"coupon {c.code} is for tiers "
                  f"{', '.join(t.eligible_tiers)}; the member is {tier}")
    if t.kind == "first_order" and ctx.has_prior_paid_order:
        return no(FIRST_ORDER_ONLY, f"coupon {c.code} is for a member's first order only")
    if ctx.amount < t.min_spend:
        return no(THRESHOLD_NOT_MET, f"coupon {c.code} needs an order of {_fen(t.min_spend)} "
                  f"or more; this one is {_fen(ctx.amount)}")
    if t.kind == "free_shipping" and ctx.shipping_fee == 0:
        return no(NO_SHIPPING_FEE, f"coupon {c.code} is free shipping; this order has no "
                  "shipping fee")
    return None


def target_of(kind: str) -> str:
    """What a kind takes its discount off: the goods amount, the shipping fee, or nothing
    (a gift)."""
    return {"free_shipping": "shipping", "gift_item": "gift"}.get(kind, "amount")


def discount(terms: Terms, remaining: int, shipping_fee: int) -> tuple[int, str]:
    """(fen off, target) of one coupon, given the goods amount earlier coupons left."""
    if terms.kind in ("amount_off", "first_order"):
        return min(terms.amount_off or 0, remaining), "amount"
    if terms.kind == "percent_off":
        off = remaining * (terms.percent_off or 0) // 100  # rounded down to the fen
        if terms.max_discount is not None:
            off = min(off, terms.max_discount)
        return min(off, remaining), "amount"
    if terms.kind == "free_shipping":
        off = shipping_fee if terms.max_discount is None else min(shipping_fee,
                                                                  terms.max_discount)
        return off, "shipping"
    return 0, "gift"


def evaluate(codes: Sequence[str], found: Mapping[str, Candidate], member_id: int, tier: str,
             ctx: OrderContext, now: datetime) -> Evaluation:
    """Check every coupon asked for (in the order given; `found` holds those the store
    knows), then the stacking rule, then compute the discounts of those that apply."""
    refused: list[Refusal] = []
    for code in codes:
        if code not in found:
            refused.append(Refusal(code, NOT_FOUND, f"no coupon with code {code}"))
        elif (why := refusal(found[code], member_id, tier, ctx, now)) is not None:
            refused.append(why)
    if len(codes) > 1:
        done = {r.code for r in refused}
        refused += [Refusal(code, NOT_STACKABLE, f"coupon {code} cannot be combined with "
                            "another coupon on one order") for code in codes
                    if code not in done and not found[code].terms.stackable]
    bad = {r.code for r in refused}
    ordered = sorted((found[code] for code in codes if code not in bad),
                     key=lambda c: _RANK[c.terms.kind])  # stable: equals keep their order
    remaining = ctx.amount
    applied: dict[str, AppliedCoupon] = {}
    for c in ordered:
        off, target = discount(c.terms, remaining, ctx.shipping_fee)
        if target == "amount":
            remaining -= off
        applied[c.code] = AppliedCoupon(c.code, c.coupon_id, c.template_id, c.terms.kind, off,
                                        target, c.terms.gift_sku)
    position = {code: n for n, code in enumerate(codes)}
    return Evaluation(applied=[applied[code] for code in codes if code in applied],
                      refused=sorted(refused, key=lambda r: position[r.code]))
