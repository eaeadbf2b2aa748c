"""The gift catalogue and redemptions: stock is never oversold, refusals change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.errors import (
    Conflict,
    IdempotencyMismatch,
    InsufficientBalance,
    NotFound,
    RuleViolated,
    ValidationFailed,
)
from memberops.points import service
from memberops.points.models import GiftItem
from tests.points_helpers import (
    assert_consistent,
    balances,
    gift,
    give,
    new_member,
    snapshot,
    stock,
)


def redeem(make_uow, member_id: int, sku: str = "mug", quantity: int = 1, ref: str = "rd-1",
           key: str | None = None):
    with make_uow() as uow:
        done = service.redeem_gift(uow, member_id=member_id, sku=sku, quantity=quantity,
                                   redemption_ref=ref, key=key or f"points:redeem:{ref}")
        return done.id, done.points


def test_redeeming_takes_stock_and_points(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 2_000)
    gift(make_uow, "mug", price=500, stock=3)
    assert redeem(make_uow, member, quantity=2)[1] == 1_000
    assert stock(db, "mug") == 1 and balances(db, member) == (1_000, 0)
    assert_consistent(db)


def test_the_same_redemption_ref_returns_the_first_redemption(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 2_000)
    gift(make_uow)
    first = redeem(make_uow, member, ref="rd-1")
    assert redeem(make_uow, member, ref="rd-1", key="another key") == first
    before = snapshot(db)
    with pytest.raises(Conflict) as err:
        redeem(make_uow, member, quantity=2, ref="rd-1")
    assert err.value.code == "redemption_ref_used"
    with pytest.raises(IdempotencyMismatch):  # the key of rd-1 sent for another ref
        redeem(make_uow, member, ref="rd-2", key="points:redeem:rd-1")
    assert snapshot(db) == before and stock(db, "mug") == 9


def test_out_of_stock_unknown_inactive_and_insufficient_change_nothing(make_uow, db) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 1_000)
    gift(make_uow, "mug", price=500, stock=1)
    gift(make_uow, "pen", price=100, stock=5)
    with make_uow() as uow:
        service.update_gift(uow, "pen", active=False)
    before = snapshot(db)
    cases = [({"quantity": 2}, Conflict, "out_of_stock"),
             ({"sku": "nope"}, NotFound, "gift_not_found"),
             ({"sku": "pen"}, RuleViolated, "gift_inactive")]
    for kwargs, error, code in cases:
        with pytest.raises(error) as err:
            redeem(make_uow, member, **kwargs)
        assert err.value.code == code
    with make_uow() as uow:
        service.update_gift(uow, "mug", points_price=1_001)
    with pytest.raises(InsufficientBalance):
        redeem(make_uow, member)
    assert stock(db, "mug") == 1  # the decrement was rolled back with the refusal
    assert snapshot(db)[:5] == before[:5] and balances(db, member) == (1_000, 0)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", 1_001, True])
def test_bad_quantities_are_refused(make_uow, db, quantity) -> None:
    member = new_member(make_uow)
    give(make_uow, member, 1_000)
    gift(make_uow)
    with pytest.raises(ValidationFailed):
        redeem(make_uow, member, quantity=quantity)
    assert stock(db, "mug") == 10


def test_the_database_refuses_a_negative_stock(make_uow, db) -> None:
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError
    gift(make_uow, stock=1)
    with pytest.raises(IntegrityError), make_uow() as uow:
        uow.session.execute(update(GiftItem).values(stock=GiftItem.stock - 2))
    assert stock(db, "mug") == 1


def test_catalogue_changes_are_validated_and_audited(make_uow, db) -> None:
    gift(make_uow, "mug", price=500, stock=10)
    with pytest.raises(Conflict) as err:
        gift(make_uow, "mug")
    assert err.value.code == "gift_exists"
    for bad in ({"sku": "bad sku!"}, {"price": 0}, {"price": 1.5}, {"stock": -1}):
        kwargs = {"sku": "x", "price": 1, "stock": 1, **bad}
        with pytest.raises(ValidationFailed):
            gift(make_uow, **kwargs)
    with make_uow() as uow:
        item = service.update_gift(uow, "mug", stock=3, name="Coffee mug")
        assert (item.stock, item.name, item.points_price) == (3, "Coffee mug", 500)
    with pytest.raises(NotFound), make_uow() as uow:
        service.update_gift(uow, "nope", stock=1)
    with db.session(readonly=True) as s:
        actions = s.execute(select(AuditEntry.action, AuditEntry.changes).where(
            AuditEntry.target_type == "gift").order_by(AuditEntry.id)).all()
    assert [a for a, _ in actions] == ["gift.created", "gift.updated"]
    assert actions[1][1]["stock"] == {"before": 10, "after": 3}
