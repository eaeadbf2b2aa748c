"""Order arithmetic: discounts in sequence, spreading, and refunds that add up exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.orders.rules import (
    Line,
    Paid,
    price,
    refund_for_lines,
    reversal,
    spread,
)


def test_tier_then_plus_then_coupon_then_points() -> None:
    # Gold (5%) with PLUS (3% of what is left), ¥30 off by coupon, 1,000 points (¥10).
    lines = [Line("LATTE", "coffee", 2, 3_200), Line("BAGEL", "bakery", 1, 1_800)]
    p = price(lines, tier_bp=500, plus_bp=300, coupon_discount=3_000, points_used=1_000,
              points_value=1_000, wallet=2_000)
    assert p.subtotal == 8_200
    assert p.tier_discount == 410  # 5% of 8,200
    assert p.plus_discount == 233  # 3% of 7,790 = 233.7, rounded down
    assert p.after_discounts == 8_200 - 410 - 233 - 3_000 == 4_557
    assert p.payable == 3_557 and p.external_paid == 1_557
    assert sum(p.line_nets) == p.paid_value


def test_figures_that_do_not_fit_are_refused() -> None:
    lines = [Line("A", "x", 1, 1_000)]
    with pytest.raises(ValueError, match="coupons"):
        price(lines, tier_bp=0, plus_bp=0, coupon_discount=1_001, points_used=0,
              points_value=0, wallet=0)
    with pytest.raises(ValueError, match="wallet"):
        price(lines, tier_bp=0, plus_bp=0, coupon_discount=0, points_used=0,
              points_value=0, wallet=1_001)


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=12))
def test_spread_is_exact_and_fair(total: int, weights: list[int]) -> None:
    if sum(weights) and total > sum(weights):
        total = sum(weights)
    parts = spread(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    if whole:
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part * whole - total * weight) < whole  # within one unit of its share


amounts = st.integers(0, 500_000)


@given(points_value=amounts, wallet=amounts, external=amounts,
       earned=st.integers(0, 50_000), cuts=st.lists(st.integers(1, 10**6), max_size=8))
def test_partial_refunds_add_up_to_the_whole_order(points_value: int, wallet: int,
                                                   external: int, earned: int,
                                                   cuts: list[int]) -> None:
    paid = Paid(points=points_value, points_value=points_value, wallet=wallet,
                external=external)
    if paid.value == 0:
        return
    refunded, clawed = Paid(), 0
    for cut in [*cuts, paid.value]:  # the last refund takes whatever is left
        left = paid.value - refunded.value
        if left == 0:
            break
        amount = min(cut, left)
        r = reversal(paid=paid, refunded=refunded, amount=amount, points_earned=earned)
        back = r.refund
        assert back.value == amount
        assert min(back.points, back.points_value, back.wallet, back.external,
                   r.points_clawed) >= 0
        refunded = Paid(refunded.points + back.points, refunded.points_value + back.points_value,
                        refunded.wallet + back.wallet, refunded.external + back.external)
        clawed += r.points_clawed
    assert refunded == paid  # every fen and point back where it came from, none extra
    assert clawed == earned


def test_a_refund_beyond_what_is_left_is_refused() -> None:
    paid = Paid(wallet=1_000, external=500)
    with pytest.raises(ValueError, match="1–1500"):
        reversal(paid=paid, refunded=Paid(), amount=1_501, points_earned=15)
    with pytest.raises(ValueError, match="1–500"):
        reversal(paid=paid, refunded=Paid(wallet=1_000), amount=501, points_earned=15)


@given(st.lists(st.tuples(st.integers(1, 9), st.integers(1, 100_000)), min_size=1,
                max_size=6), st.integers(0, 3_000), st.randoms())
def test_refunding_every_unit_gives_back_each_line_exactly(
        spec: list[tuple[int, int]], discount_bp: int, rng: object) -> None:
    lines = [Line(f"S{i}", "c", q, p) for i, (q, p) in enumerate(spec)]
    p = price(lines, tier_bp=discount_bp, plus_bp=0, coupon_discount=0, points_used=0,
              points_value=0, wallet=0)
    done, total = [0] * len(lines), 0
    units = [i for i, line in enumerate(lines) for _ in range(line.quantity)]
    rng.shuffle(units)  # type: ignore[attr-defined]
    for index in units:
        total += refund_for_lines(lines, p.line_nets, done, {index: 1})
        done[index] += 1
    assert total == p.paid_value
    with pytest.raises(ValueError, match="left to refund"):
        refund_for_lines(lines, p.line_nets, done, {0: 1})
