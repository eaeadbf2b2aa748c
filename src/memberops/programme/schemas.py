"""The programme's rules as validated data (DESIGN rule 9); defaults are PROGRAMME.md's
reference programme. Money in fen, rates in basis points or per-mille, never floats."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- points ---------------------------------------------------------------------------

class Promotion(Rules):
    """A points multiplier (×100, so 200 = double) on some days."""

    code: str = Field(min_length=1, max_length=40)
    multiplier_pct: int = Field(ge=100, le=1000)
    weekdays: list[int] = Field(default_factory=list, description="ISO 1=Mon … 7=Sun")
    birthday_month: bool = False
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _window(self) -> Promotion:
        if any(not 1 <= d <= 7 for d in self.weekdays):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class BonusAction(Rules):
    points: int = Field(ge=1, le=100_000)
    per_day: int | None = Field(default=None, ge=1)
    per_month: int | None = Field(default=None, ge=1)
    once: bool = False


class EarningRules(Rules):
    """How points are earned and when they expire."""

    points_per_yuan: int = Field(default=1, ge=0, le=100)
    # No tier multipliers here: the tier ladder (`tiers`) is their one source.
    promotions: list[Promotion] = Field(default_factory=lambda: [
        Promotion(code="weekend", multiplier_pct=200, weekdays=[6, 7]),
        Promotion(code="birthday_month", multiplier_pct=200, birthday_month=True),
    ])
    bonus_actions: dict[str, BonusAction] = Field(default_factory=lambda: {
        "check_in": BonusAction(points=5, per_day=1),
        "review": BonusAction(points=20, per_month=5),
        "profile_completed": BonusAction(points=50, once=True),
        "referral": BonusAction(points=100),
    })
    daily_cap: int | None = Field(default=None, ge=1)
    monthly_cap: int | None = Field(default=None, ge=1)
    return_window_days: int = Field(default=7, ge=0, le=90)
    expiry: Literal["end_of_next_year", "days", "end_of_month"] = "end_of_next_year"
    expiry_days: int = Field(default=365, ge=1, le=3650)
    # Redemption as a cash deduction: 100 points = ¥1, at most 50% of the payable amount.
    points_per_yuan_off: int = Field(default=100, ge=1)
    max_redeem_share_pct: int = Field(default=50, ge=0, le=100)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tier_multiplier_pct" in data:
            raise ValueError("tier_multiplier_pct has moved to the tier ladder: set each "
                             "tier's benefits.points_multiplier_pct in `tiers`")
        return data


# --- tiers ----------------------------------------------------------------------------

BASE_TIER = "regular"  # every member starts here (members.tier's default)
CRITERIA = ("net_spend", "orders", "recharge")


class Qualification(Rules):
    """What qualifies for a tier: any one criterion given here is enough (alternatives)."""

    net_spend: int | None = Field(default=None, ge=0, le=10**15,
                                  description="fen spent over the window, refunds deducted")
    orders: int | None = Field(default=None, ge=0, le=10**9,
                               description="orders over the window, fully refunded ones not")
    recharge: int | None = Field(default=None, ge=0, le=10**15,
                                 description="fen recharged in total over the recharge window")

    def thresholds(self) -> dict[str, int]:
        """The criteria this tier uses, by name."""
        return {name: value for name in CRITERIA
                if (value := getattr(self, name)) is not None}


class Benefits(Rules):
    discount_pct: int = Field(default=0, ge=0, le=100, description="off an order's amount")
    points_multiplier_pct: int = Field(default=100, ge=100, le=1000,
                                       description="×100: 150 earns 1.5 times the points")
    free_shipping: bool = False
    birthday_coupon: bool = False
    priority_service: bool = False


class Tier(Rules):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$", description="stored on the member")
    name_zh: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=40)
    qualify: Qualification = Field(default_factory=Qualification)
    benefits: Benefits = Field(default_factory=Benefits)


def _reference_tiers() -> list[Tier]:
    return [
        Tier(code="regular", name_zh="普通", name_en="Regular",
             qualify=Qualification(net_spend=0)),
        Tier(code="silver", name_zh="银卡", name_en="Silver",
             qualify=Qualification(net_spend=100_000),
             benefits=Benefits(discount_pct=2, points_multiplier_pct=120,
                               birthday_coupon=True)),
        Tier(code="gold", name_zh="金卡", name_en="Gold",
             qualify=Qualification(net_spend=500_000),
             benefits=Benefits(discount_pct=5, points_multiplier_pct=150,
                               birthday_coupon=True, free_shipping=True)),
        Tier(code="diamond", name_zh="钻石", name_en="Diamond",
             qualify=Qualification(net_spend=2_000_000, recharge=1_000_000),
             benefits=Benefits(discount_pct=8, points_multiplier_pct=200,
                               birthday_coupon=True, free_shipping=True,
                               priority_service=True)),
    ]


def _check_ladder(tiers: list[Tier]) -> None:
    codes = [t.code for t in tiers]
    if twice := sorted({c for c in codes if codes.count(c) > 1}):
        raise ValueError(f"tier codes must be unique; repeated: {', '.join(twice)}")
    if codes[0] != BASE_TIER:
        raise ValueError(f"the first (lowest) tier must be {BASE_TIER!r}, not {codes[0]!r}")
    if any(tiers[0].qualify.thresholds().values()):
        raise ValueError(f"{BASE_TIER!r} qualifies at 0: its thresholds must be 0 or left out")
    for tier in tiers[1:]:
        found = tier.qualify.thresholds()
        if not found or 0 in found.values():
            raise ValueError(f"tier {tier.code!r} needs thresholds above 0 (net_spend, orders "
                             "or recharge); leave a criterion out rather than set it to 0")
    for criterion in CRITERIA:
        below: tuple[str, int] | None = None
        for tier in tiers[1:]:
            value = getattr(tier.qualify, criterion)
            if value is None:
                continue
            if below is not None and value <= below[1]:
                raise ValueError(f"{criterion} thresholds must rise strictly up the ladder: "
                                 f"{tier.code!r} ({value}) is not above {below[0]!r} "
                                 f"({below[1]})")
            below = (tier.code, value)


class TierLadder(Rules):
    """The tier ladder (会员等级), lowest first; qualification over rolling windows."""

    tiers: list[Tier] = Field(default_factory=_reference_tiers, min_length=1, max_length=12)
    window_months: int = Field(default=12, ge=1, le=60,
                               description="rolling window for net spend and orders")
    recharge_window_months: int = Field(default=12, ge=1, le=1200,
                                        description="rolling window for recharges")
    hold_months: int = Field(default=12, ge=1, le=60,
                             description="a tier is held this long, then reviewed")
    retention_pct: int = Field(default=80, ge=0, le=100,
                               description="of a threshold, to keep the tier at its review")

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, tiers: list[Tier]) -> list[Tier]:
        _check_ladder(tiers)
        return tiers

    def rank(self, code: str) -> int | None:
        """The tier's position (0 = the base tier), None when the ladder does not name it."""
        return next((n for n, tier in enumerate(self.tiers) if tier.code == code), None)

    def tier_or_base(self, code: str) -> Tier:
        """The tier of this code; a code the ladder no longer names counts as the base tier."""
        found = self.rank(code)
        return self.tiers[found if found is not None else 0]


# --- stored value ---------------------------------------------------------------------

class BonusRow(Rules):
    min_amount: int = Field(gt=0, description="recharge at least, fen")
    bonus: int = Field(ge=0, description="fen")


class RechargeCampaign(Rules):
    """A limited-time recharge campaign: extra bonus rows and/or points per yuan."""

    code: str = Field(min_length=1, max_length=40)
    starts_on: date
    ends_on: date
    bonus_rows: list[BonusRow] = Field(default_factory=list)
    points_per_yuan: int = Field(default=0, ge=0, le=100)
    points_multiplier_pct: int = Field(default=100, ge=100, le=1000)
    segment_tag: str | None = Field(default=None, description="only members with this tag")

    @model_validator(mode="after")
    def _window(self) -> RechargeCampaign:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class RechargeScheme(Rules):
    bonus_rows: list[BonusRow] = Field(default_factory=lambda: [
        BonusRow(min_amount=10_000, bonus=1_000), BonusRow(min_amount=50_000, bonus=8_000),
        BonusRow(min_amount=100_000, bonus=20_000)])
    first_recharge_pct: int = Field(default=5, ge=0, le=100)
    loyal_threshold: int = Field(default=300_000, ge=0, description="settled total before, fen")
    loyal_pct: int = Field(default=5, ge=0, le=100)
    referral_points_pct: int = Field(default=10, ge=0, le=100,
                                     description="referrer's points = pct of amount in yuan")
    campaigns: list[RechargeCampaign] = Field(default_factory=list)
    min_amount: int = Field(default=100, ge=1, description="smallest recharge, fen")
    max_amount: int = Field(default=5_000_000, ge=1, description="largest recharge, fen")

    @model_validator(mode="after")
    def _rows(self) -> RechargeScheme:
        mins = [r.min_amount for r in self.bonus_rows]
        if len(set(mins)) != len(mins):
            raise ValueError("two bonus rows with the same min_amount")
        if self.max_amount < self.min_amount:
            raise ValueError("max_amount is below min_amount")
        return self


class WalletSettings(Rules):
    cashback_pct: int = Field(default=1, ge=0, le=100, description="of each wallet payment")
    balance_cap: int | None = Field(default=None, ge=1, description="per member, fen")


class RiskRules(Rules):
    review_threshold: int = Field(default=500_000, ge=1, description="fen; at or above held")
    velocity_count: int = Field(default=5, ge=1)
    velocity_minutes: int = Field(default=10, ge=1)
    daily_limit: int = Field(default=2_000_000, ge=1, description="fen per calendar day")


# --- paid membership (PLUS) -------------------------------------------------------------

class Plan(Rules):
    """A paid membership plan. Its benefit terms are copied onto a subscription when it is
    bought, so a change here applies to later purchases and renewals, not to paid time."""

    name: str = Field(min_length=1, max_length=60)
    price: int = Field(ge=1, le=100_000_000, description="fen per period")
    duration_months: int = Field(default=12, ge=1, le=60)
    extra_discount_pct: int = Field(default=3, ge=0, le=100,
                                    description="off the amount after the tier discount")
    points_multiplier_pct: int = Field(default=150, ge=100, le=1000,
                                       description="×100, multiplies the tier multiplier")
    cancel_within_days: int = Field(default=7, ge=0, le=365,
                                    description="full refund if cancelled unused this soon")
    on_sale: bool = Field(default=True, description="false: no new purchases or renewals")


class Plans(Rules):
    """Paid membership plans by code (the code is what a purchase names)."""

    plans: dict[str, Plan] = Field(default_factory=lambda: {
        "PLUS": Plan(name="PLUS", price=9_900)})

    @model_validator(mode="after")
    def _codes(self) -> Plans:
        for code in self.plans:
            if not 1 <= len(code) <= 20 or not all(c.isalnum() or c in "_-" for c in code) \
                    or not code.isascii():
                raise ValueError(f"plan code {code!r}: 1–20 letters, digits, '_' or '-'")
        return self


# --- marketing spend (for CAC) ---------------------------------------------------------

class ChannelSpend(Rules):
    """What was spent in one calendar month on acquiring members through one channel."""

    channel: str = Field(min_length=1, max_length=20, description="a join channel "
                         "(members.channel: store, mini_program, app, …)")
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    amount: int = Field(ge=0, le=10**13, description="fen")


class MarketingSpend(Rules):
    """Acquisition spend by join channel and month, entered by operators; CAC divides it
    by the new members of that channel (docs/metrics.md "CAC"). Empty until entered."""

    spend: list[ChannelSpend] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _once_each(self) -> MarketingSpend:
        seen: set[tuple[str, str]] = set()
        for row in self.spend:
            if (row.channel, row.month) in seen:
                raise ValueError(f"spend for {row.channel} in {row.month} is given twice")
            seen.add((row.channel, row.month))
        return self


KINDS: dict[str, type[Rules]] = {
    "earning_rules": EarningRules,
    "recharge_scheme": RechargeScheme,
    "wallet": WalletSettings,
    "risk_rules": RiskRules,
    "tiers": TierLadder,
    "plans": Plans,
    "marketing_spend": MarketingSpend,
}
