"""Orders through the service: the reference programme's pricing sequence, atomic commit,
retries, refunds that reverse exactly, and refusals that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from memberops.db import Database
from memberops.errors import Conflict, InsufficientBalance, NotFound, RuleViolated
from memberops.outbox import OutboxEvent
from memberops.wallet.models import WalletPayment
from tests import wallet_helpers
from tests.orders_helpers import (
    YUAN,
    MakeUow,
    coupon,
    coupon_status,
    member,
    net_spend,
    order,
    pending_points,
    place,
    points_available,
    refund,
    tier_of,
)


def test_gold_plus_coupon_points_and_wallet_in_sequence(make_uow: MakeUow,
                                                        db: Database) -> None:
    # ¥1,000 recharged → principal ¥1,000 + bonus ¥250 (¥200 row + 5% first recharge).
    m = member(make_uow, wallet=1_000 * YUAN, points=2_000, tier="gold", plus=True)
    code = coupon(make_uow, m)
    o = place(make_uow, order(m, coupon_codes=[code], points_to_use=1_000,
                              wallet_amount=100 * YUAN, store="SH-001"))
    assert o.subtotal == 30_000
    assert o.tier_discount == 1_500  # gold 5%
    assert o.plus_discount == 855  # PLUS 3% of the 28,500 the tier discount left
    assert o.coupon_discount == 3_000  # 满200减30 on 27,645
    assert (o.points_used, o.points_value) == (1_000, 1_000)  # 100 points = ¥1
    assert (o.wallet_paid, o.external_paid) == (10_000, 13_645)
    assert o.payable == 23_645
    # ¥236 paid × gold 1.5 × PLUS 1.5 (a Monday, no birthday): 531, pending 7 days.
    assert o.points_earned == 531 and pending_points(db, m) == 531
    assert points_available(db, m) == 1_000
    assert coupon_status(db, code) == "used"
    # The wallet paid principal and bonus in proportion (100,000 : 25,000), 1% cashback.
    with db.session(readonly=True) as s:
        pay = s.execute(select(WalletPayment)).scalar_one()
    assert (pay.principal_part, pay.bonus_part, pay.cashback) == (8_000, 2_000, 100)
    assert wallet_helpers.wallet(db, m)["total"] == 125_000 - 10_000 + 100
    assert sum(line.net for line in o.lines) == o.paid_value
    assert net_spend(db, m) == 23_645
    wallet_helpers.assert_consistent(db)


def test_the_same_order_twice_is_one_order(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow, wallet=1_000 * YUAN)
    first = place(make_uow, order(m, wallet_amount=5_000))
    again = place(make_uow, order(m, wallet_amount=5_000))
    assert again.id == first.id
    with db.session(readonly=True) as s:
        assert len(s.execute(select(WalletPayment)).all()) == 1
    with pytest.raises(Conflict) as refused:
        place(make_uow, order(m, wallet_amount=6_000))
    assert refused.value.code == "order_ref_reused"
    wallet_helpers.assert_consistent(db)


def test_the_qualifying_order_upgrades_at_once(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow)
    o = place(make_uow, order(m, items=[("BAG", 1, 1_200 * YUAN)]))
    assert o.tier == "regular" and o.tier_discount == 0  # priced at the tier held
    assert tier_of(db, m) == "silver"  # ¥1,200 ≥ ¥1,000: upgraded by this order
    nxt = place(make_uow, order(m, "O-2", items=[("BAG", 1, 100 * YUAN)]))
    assert nxt.tier == "silver" and nxt.tier_discount == 200  # 2%


def test_first_order_pays_the_referrer(make_uow: MakeUow, db: Database) -> None:
    referrer = member(make_uow, 1)
    m = member(make_uow, 2, referrer_id=referrer)
    place(make_uow, order(m))
    place(make_uow, order(m, "O-2"))
    assert points_available(db, referrer) == 100  # once, on the first paid order


@pytest.mark.parametrize(("fields", "error", "code"), [
    ({"points_to_use": 20_000}, RuleViolated, "points_over_share"),  # > 50% of ¥300
    ({"points_to_use": 5_000}, InsufficientBalance, "insufficient_points"),
    ({"wallet_amount": 40_000}, RuleViolated, "wallet_over_payable"),
    ({"wallet_amount": 20_000}, InsufficientBalance, "insufficient_balance"),
    ({"coupon_codes": ["NOSUCHCODE12"]}, NotFound, "coupon_not_found"),
])
def test_refusals_change_nothing(make_uow: MakeUow, db: Database, fields: dict[str, object],
                                 error: type[Exception], code: str) -> None:
    m = member(make_uow, wallet=100 * YUAN, points=1_000)
    before = wallet_helpers.snapshot(db)
    with pytest.raises(error) as refused:
        place(make_uow, order(m, **fields))
    assert refused.value.code == code  # type: ignore[attr-defined]
    assert wallet_helpers.snapshot(db) == before
    assert net_spend(db, m) == 0


def test_a_frozen_member_cannot_order(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow)
    wallet_helpers.set_status(make_uow, m, "frozen")
    with pytest.raises(RuleViolated) as refused:
        place(make_uow, order(m))
    assert refused.value.code == "member_frozen"


def test_a_full_refund_reverses_everything(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=2_000)
    code = coupon(make_uow, m)
    wallet_before = wallet_helpers.wallet(db, m)
    o = place(make_uow, order(m, coupon_codes=[code], points_to_use=1_000,
                              wallet_amount=10_000))
    r = refund(make_uow, o.order_ref, refund_ref="R-1", amount=o.paid_value)
    assert (r.wallet_refunded, r.points_returned, r.points_clawed) == (10_000, 1_000,
                                                                       o.points_earned)
    assert r.external_refunded == o.external_paid
    assert r.coupons_released == [code] and coupon_status(db, code) == "issued"
    assert wallet_helpers.wallet(db, m) == wallet_before  # cashback taken back too
    assert points_available(db, m) == 2_000 and pending_points(db, m) == 0
    assert net_spend(db, m) == 0
    with pytest.raises(RuleViolated) as refused:
        refund(make_uow, o.order_ref, refund_ref="R-2", amount=1)
    assert refused.value.code == "order_fully_refunded"
    wallet_helpers.assert_consistent(db)


def test_an_order_that_cost_nothing_has_nothing_to_refund(make_uow: MakeUow,
                                                          db: Database) -> None:
    m = member(make_uow)
    o = place(make_uow, order(m, items=[("SAMPLE", 1, 0)]))
    assert (o.paid_value, o.status) == (0, "paid")
    for by in ({"amount": 1}, {"items": [{"sku": "SAMPLE", "quantity": 1}]}):
        with pytest.raises(RuleViolated) as refused:
            refund(make_uow, o.order_ref, refund_ref="R-1", **by)
        assert refused.value.code == "order_not_paid"
    wallet_helpers.assert_consistent(db)


def test_partial_refunds_by_items_and_amount_add_up(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=5_000, tier="silver")
    wallet_before = wallet_helpers.wallet(db, m)
    o = place(make_uow, order(m, items=[("LATTE", 3, 3_300), ("CAKE", 2, 2_850)],
                              points_to_use=3_000, wallet_amount=5_000))
    first = refund(make_uow, o.order_ref, refund_ref="R-1", items=[{"sku": "LATTE",
                                                                    "quantity": 1}])
    latte = next(line for line in o.lines if line.sku == "LATTE")
    assert first.amount == latte.net // 3  # one of three lattes, after discounts
    second = refund(make_uow, o.order_ref, refund_ref="R-2", amount=777)
    third = refund(make_uow, o.order_ref, refund_ref="R-3",
                   amount=o.paid_value - first.amount - second.amount)
    refunds = (first, second, third)
    assert sum(r.wallet_refunded for r in refunds) == o.wallet_paid
    assert sum(r.external_refunded for r in refunds) == o.external_paid
    assert sum(r.points_returned for r in refunds) == o.points_used
    assert sum(r.points_clawed for r in refunds) == o.points_earned
    assert wallet_helpers.wallet(db, m) == wallet_before
    assert points_available(db, m) == 5_000
    wallet_helpers.assert_consistent(db)


def test_refund_refusals_and_retries(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow)
    o = place(make_uow, order(m))
    with pytest.raises(RuleViolated) as refused:
        refund(make_uow, o.order_ref, refund_ref="R-1", amount=o.paid_value + 1)
    assert refused.value.code == "refund_exceeds_order"
    with pytest.raises(RuleViolated) as refused:
        refund(make_uow, o.order_ref, refund_ref="R-1", items=[{"sku": "CAKE", "quantity": 2}])
    assert refused.value.code == "refund_exceeds_items"
    with pytest.raises(NotFound):
        refund(make_uow, "NO-SUCH-ORDER", refund_ref="R-1", amount=1)
    r = refund(make_uow, o.order_ref, refund_ref="R-1", amount=1_000)
    assert refund(make_uow, o.order_ref, refund_ref="R-1", amount=1_000).id == r.id
    with pytest.raises(Conflict) as refused:
        refund(make_uow, o.order_ref, refund_ref="R-1", amount=2_000)
    assert refused.value.code == "refund_ref_reused"


def test_orders_reach_the_timeline(make_uow: MakeUow, db: Database) -> None:
    m = member(make_uow)
    o = place(make_uow, order(m, store="BJ-002"))
    refund(make_uow, o.order_ref, refund_ref="R-1", amount=500)
    with db.session(readonly=True) as s:
        kinds = list(s.execute(select(OutboxEvent.event_type).where(
            OutboxEvent.member_id == m, OutboxEvent.event_type.like("order.%"))).scalars())
    assert kinds == ["order.placed", "order.refunded"]
