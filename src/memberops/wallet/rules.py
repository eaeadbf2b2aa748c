"""Pure stored-value rules (PROGRAMME.md "Stored value"): the recharge bonus, referral and
campaign points, the proportional split of a wallet payment, the pro-rata parts of a refund,
and the cashback. Integers only (fen and points); nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from memberops.programme.schemas import BonusRow, RechargeCampaign, RechargeScheme

PCT = 100
FEN_PER_YUAN = 100
ASSET = "CNY"

# The system side of every wallet movement (only system accounts may go negative).
PAYMENTS_IN = "system:wallet:payments_in"  # money received by the gateway or the till
BONUS_ISSUED = "system:wallet:bonus_issued"
CASHBACK = "system:wallet:cashback"
SPENT_PRINCIPAL = "system:wallet:spent_principal"
SPENT_BONUS = "system:wallet:spent_bonus"
CASH_OUT = "system:wallet:cash_out"
BONUS_FORFEITED = "system:wallet:bonus_forfeited"


def principal_account(member_id: int) -> str:
    """The ledger account of what the member paid in (refundable on cash-out)."""
    return f"member:{member_id}:wallet:principal"


def bonus_account(member_id: int) -> str:
    """The ledger account of bonus and cashback (spendable, never refunded)."""
    return f"member:{member_id}:wallet:bonus"


def in_window(campaign: RechargeCampaign, today: date) -> bool:
    """A campaign runs from its first to its last day, both included (programme dates)."""
    return campaign.starts_on <= today <= campaign.ends_on


def campaigns_for(scheme: RechargeScheme, *, today: date,
                  tags: Iterable[str]) -> list[RechargeCampaign]:
    """The campaigns that apply to a member today: in their dates and, where a campaign
    names a segment tag, only for members carrying that tag."""
    held = set(tags)
    return [c for c in scheme.campaigns if in_window(c, today)
            and (c.segment_tag is None or c.segment_tag in held)]


def _row_bonus(amount: int, rows: Sequence[BonusRow]) -> int:
    # The best matching row wins. "Highest matching row" is read as the largest bonus among
    # the rows whose threshold the amount reaches: with the reference rows that is the
    # highest threshold, and it keeps the bonus monotone when a campaign adds rows.
    return max((r.bonus for r in rows if amount >= r.min_amount), default=0)


def bonus_for(amount: int, scheme: RechargeScheme, *, settled_before_total: int,
              settled_before_count: int, campaigns_active: Sequence[RechargeCampaign],
              today: date) -> tuple[int, dict[str, int]]:
    """The bonus (fen) for one recharge and its parts; the parts add up to the bonus.

    - row: the best bonus row of the scheme and of the campaigns running `today`
      (shown as ``campaign:CODE`` when a campaign's row beats the scheme's);
    - first_recharge: +first_recharge_pct% when no recharge counted before this one;
    - loyal: +loyal_pct% once the recharges settled before this one reach loyal_threshold.
    Each part is rounded down to the fen on its own, so the breakdown sums exactly.
    """
    if amount <= 0:
        raise ValueError("a recharge amount is a positive number of fen")
    running = [c for c in campaigns_active if in_window(c, today)]
    breakdown: dict[str, int] = {"row": _row_bonus(amount, scheme.bonus_rows)}
    best = max(running, key=lambda c: _row_bonus(amount, c.bonus_rows), default=None)
    if best is not None and _row_bonus(amount, best.bonus_rows) > breakdown["row"]:
        breakdown = {f"campaign:{best.code}": _row_bonus(amount, best.bonus_rows)}
    breakdown["first_recharge"] = (
        amount * scheme.first_recharge_pct // PCT if settled_before_count == 0 else 0)
    breakdown["loyal"] = (amount * scheme.loyal_pct // PCT
                          if settled_before_total >= scheme.loyal_threshold else 0)
    return sum(breakdown.values()), breakdown


def referral_points(amount: int, scheme: RechargeScheme) -> int:
    """The referrer's points: referral_points_pct% of the amount in yuan, rounded down
    (¥1,000 → 100 points at 10%)."""
    return amount * scheme.referral_points_pct // (PCT * FEN_PER_YUAN)


def campaign_points(amount: int, campaigns_active: Sequence[RechargeCampaign],
                    today: date) -> int:
    """Points a running campaign grants on a recharge, rounded down.

    Campaigns do not add up: the best points-per-yuan and the best multiplier among the
    running campaigns apply, so "1 point per yuan" plus a "double points week" (a campaign
    with only a ×2 multiplier) gives 2 points per yuan.
    """
    running = [c for c in campaigns_active if in_window(c, today)]
    per_yuan = max((c.points_per_yuan for c in running), default=0)
    multiplier = max((c.points_multiplier_pct for c in running), default=PCT)
    return amount * per_yuan * multiplier // (FEN_PER_YUAN * PCT)


@dataclass(frozen=True)
class Split:
    """What a wallet payment (or its refund) takes from principal and from bonus."""

    principal: int
    bonus: int


def split_payment(amount: int, *, principal: int, bonus: int) -> Split:
    """Spend principal and bonus in proportion to what the member holds.

    bonus part = amount × bonus ÷ (principal + bonus), rounded down; the principal part is
    the rest, so the odd fen of rounding is always taken from principal. Neither part can
    exceed its balance when the amount does not exceed the total (callers check that).
    """
    total = principal + bonus
    if amount <= 0 or amount > total:
        raise ValueError(f"cannot split {amount} over a wallet holding {total}")
    bonus_part = amount * bonus // total
    return Split(principal=amount - bonus_part, bonus=bonus_part)


def refund_parts(paid: Split, *, already_refunded: int, amount: int) -> Split:
    """The principal and bonus a refund of `amount` returns, pro rata to the payment.

    Cumulative rounding: the bonus returned by all refunds so far is
    floor(bonus_part × refunded ÷ paid), so any sequence of partial refunds adds up to
    exactly the payment's parts once the whole amount is refunded.
    """
    paid_total = paid.principal + paid.bonus
    if amount <= 0 or already_refunded < 0 or already_refunded + amount > paid_total:
        raise ValueError(f"refund of {amount} after {already_refunded} exceeds {paid_total}")
    bonus_after = paid.bonus * (already_refunded + amount) // paid_total
    bonus_before = paid.bonus * already_refunded // paid_total
    bonus = bonus_after - bonus_before
    return Split(principal=amount - bonus, bonus=bonus)


def cashback_for(amount: int, cashback_pct: int) -> int:
    """Consumption cashback: cashback_pct% of the wallet-paid amount, rounded down."""
    return amount * cashback_pct // PCT


def cashback_clawback(cashback: int, paid: int, *, already_refunded: int, amount: int) -> int:
    """The cashback a refund takes back: the refunded share of it, cumulatively rounded so
    a full refund (in any number of parts) takes back exactly the whole cashback."""
    if paid <= 0:
        raise ValueError("a payment amount is positive")
    return (cashback * (already_refunded + amount) // paid
            - cashback * already_refunded // paid)


def take_in_order(remaining: Sequence[int], amount: int) -> list[int]:
    """How much to take from each lot, in the order given, to make up `amount`."""
    taken: list[int] = []
    left = amount
    for have in remaining:
        part = min(have, left)
        taken.append(part)
        left -= part
    if left:
        raise ValueError(f"lots hold {amount - left}, {amount} needed")
    return taken
