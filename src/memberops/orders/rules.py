"""Pricing an order and reversing it: pure arithmetic in integer fen.

An order's money moves in a fixed sequence (PROGRAMME.md): items → tier discount → PLUS
discount (on what the tier discount left) → coupons (on what both left) → points
deduction (at most a share of what is left) → wallet → the rest paid outside. Every
discount is rounded down to the fen (the member never gets a fraction of a fen; the
merchant never charges one). Each discount is then spread over the lines by largest
remainder, so every line carries a net amount and the lines always sum to the order:
a refund by items gives back exactly what those items cost after discounts.

A refund is reversed pro rata over how the order was paid (points, wallet, outside)
and over the points it earned, always computed on the cumulative amount refunded and
taking the difference from what earlier refunds took, so partial refunds that add up to
the whole order reverse exactly the whole order — no fen or point is left over or
created by rounding.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    quantity: int
    unit_price: int

    @property
    def gross(self) -> int:
        return self.quantity * self.unit_price


def percent_of(amount: int, basis_points: int) -> int:
    """`amount` × basis_points / 10,000, rounded down (100 bp = 1%)."""
    return amount * basis_points // 10_000


def spread(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` in proportion, by largest remainder: the parts sum to
    `total` exactly and no part exceeds its share by a whole unit. Ties go to the earlier
    weight. All weights zero → everything on the first."""
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("spread takes non-negative amounts")
    whole = sum(weights)
    if not weights:
        if total:
            raise ValueError("nothing to spread over")
        return []
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    parts = [total * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in remainders[:total - sum(parts)]:
        parts[i] += 1
    return parts


def share_to_date(total: int, done: int, whole: int) -> int:
    """The part of `total` that `done` of `whole` accounts for, rounded down — and all of it
    once `done` reaches `whole`. A refund takes share_to_date(now) − share_to_date(before),
    so the refunds of an order add up to exactly `total`."""
    if not 0 <= done <= whole:
        raise ValueError(f"{done} is not within 0–{whole}")
    if whole == 0:
        return total
    return total * done // whole


@dataclass(frozen=True)
class Paid:
    """How an order was paid, or how much of each part has been refunded so far."""

    points: int = 0  # points used as a deduction
    points_value: int = 0  # the fen those points took off
    wallet: int = 0
    external: int = 0

    @property
    def value(self) -> int:
        return self.points_value + self.wallet + self.external


@dataclass(frozen=True)
class Reversal:
    """What one refund gives back: `refund` (points, their value, wallet, outside) and the
    earned points taken back."""

    refund: Paid
    points_clawed: int


def reversal(*, paid: Paid, refunded: Paid, amount: int, points_earned: int) -> Reversal:
    """Reverse `amount` fen of an order paid as `paid`, of which `refunded` has already
    gone back. The fen are split over what is left of each payment part in proportion
    (largest remainder: exact, never more than a part has left); the points that paid and
    the points earned follow their share of the value (cumulative, so all of them are
    back once everything is)."""
    left = [paid.points_value - refunded.points_value, paid.wallet - refunded.wallet,
            paid.external - refunded.external]
    if min(left) < 0:
        raise ValueError("more was refunded than paid")
    if not 0 < amount <= sum(left):
        raise ValueError(f"a refund must be 1–{sum(left)} fen")
    value, wallet, external = spread(amount, left)
    points = share_to_date(paid.points, refunded.points_value + value, paid.points_value) \
        - share_to_date(paid.points, refunded.points_value, paid.points_value)
    clawed = share_to_date(points_earned, refunded.value + amount, paid.value) \
        - share_to_date(points_earned, refunded.value, paid.value)
    return Reversal(Paid(points, value, wallet, external), clawed)


@dataclass(frozen=True)
class Pricing:
    """An order's amounts in fen, step by step. `paid_value` = points value + wallet +
    external: what the goods cost after every discount."""

    subtotal: int
    tier_discount: int
    plus_discount: int
    coupon_discount: int
    points_used: int
    points_value: int
    wallet_paid: int
    external_paid: int
    line_nets: tuple[int, ...]

    @property
    def discounts(self) -> int:
        return self.tier_discount + self.plus_discount + self.coupon_discount

    @property
    def after_discounts(self) -> int:
        return self.subtotal - self.discounts

    @property
    def payable(self) -> int:
        """What is paid in money (wallet + outside), after the points deduction."""
        return self.after_discounts - self.points_value

    @property
    def paid_value(self) -> int:
        return self.after_discounts


def after_member_discounts(subtotal: int, tier_bp: int, plus_bp: int) -> tuple[int, int]:
    """(tier discount, PLUS discount): the PLUS one applies to what the tier one left."""
    tier = percent_of(subtotal, tier_bp)
    return tier, percent_of(subtotal - tier, plus_bp)


def line_nets(lines: list[Line], discounts: int) -> tuple[int, ...]:
    """What each line costs after the order's discounts, spread by gross amount."""
    shares = spread(discounts, [line.gross for line in lines])
    return tuple(line.gross - share for line, share in zip(lines, shares, strict=True))


def price(lines: list[Line], *, tier_bp: int, plus_bp: int, coupon_discount: int,
          points_used: int, points_value: int, wallet: int) -> Pricing:
    """Assemble an order's amounts once each step's figure is known (the service asks the
    coupons, points and wallet for theirs); refuses figures that do not fit together."""
    if not lines:
        raise ValueError("an order has at least one line")
    subtotal = sum(line.gross for line in lines)
    tier, plus = after_member_discounts(subtotal, tier_bp, plus_bp)
    after = subtotal - tier - plus
    if not 0 <= coupon_discount <= after:
        raise ValueError("the coupons take off more than the order costs")
    after -= coupon_discount
    if not 0 <= points_value <= after:
        raise ValueError("the points take off more than the order costs")
    payable = after - points_value
    if not 0 <= wallet <= payable:
        raise ValueError(f"the wallet can pay 0–{payable} fen of this order")
    return Pricing(subtotal=subtotal, tier_discount=tier, plus_discount=plus,
                   coupon_discount=coupon_discount, points_used=points_used,
                   points_value=points_value, wallet_paid=wallet,
                   external_paid=payable - wallet,
                   line_nets=line_nets(lines, tier + plus + coupon_discount))


def refund_for_lines(lines: list[Line], nets: tuple[int, ...], refunded_qty: list[int],
                     wanted: dict[int, int]) -> int:
    """Fen to refund for `wanted` {line index: quantity}, given what each line's earlier
    refunds took: a line's net amount spread over its units, the last unit taking the
    rounding (cumulative, so refunding every unit gives back the line's net exactly)."""
    total = 0
    for index, quantity in wanted.items():
        line, already = lines[index], refunded_qty[index]
        if quantity <= 0 or already + quantity > line.quantity:
            raise ValueError(f"line {index + 1} ({line.sku}): {line.quantity - already} "
                             "left to refund")
        total += share_to_date(nets[index], already + quantity, line.quantity) \
            - share_to_date(nets[index], already, line.quantity)
    return total
