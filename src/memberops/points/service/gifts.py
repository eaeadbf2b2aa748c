"""The gift catalogue (config.write) and redeeming gifts for points (never oversold)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.errors import Conflict, NotFound, RuleViolated, field_error
from memberops.members import service as members_service
from memberops.points import queries, rules
from memberops.points.events import GiftRedeemed
from memberops.points.models import GiftItem, GiftRedemption
from memberops.points.service.common import (
    REDEEMED,
    balances,
    check_points,
    check_text,
    record,
    replayed,
)
from memberops.points.service.settle import settle_locked
from memberops.points.service.spend import take
from memberops.uow import UnitOfWork

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$")


def check_sku(sku: object) -> str:
    """A catalogue code: letters, digits and . _ -, starting with a letter or digit."""
    if not isinstance(sku, str) or not SKU_RE.match(sku.strip()):
        raise field_error("sku", "1–60 letters, digits, '.', '_' or '-'")
    return sku.strip()


def _check_count(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise field_error(field, f"must be a whole number from {low} to {high}")
    return value


def create_gift(uow: UnitOfWork, *, sku: str, name: str, points_price: int, stock: int,
                active: bool = True) -> GiftItem:
    """Add a gift to the catalogue; the sku must be new."""
    sku = check_sku(sku)
    values = {"name": check_text(name, "name"),
              "points_price": check_points(points_price, "points_price"),
              "stock": _check_count(stock, "stock", 0, rules.MAX_STOCK), "active": bool(active)}
    if uow.session.execute(select(GiftItem.id).where(GiftItem.sku == sku)).first():
        raise Conflict(f"a gift with sku {sku!r} already exists", code="gift_exists")
    now = uow.clock.now()
    item = GiftItem(sku=sku, created_at=now, updated_at=now, **values)
    uow.session.add(item)
    try:
        uow.session.flush()
    except IntegrityError:  # the same sku created concurrently: the unique index decides
        raise Conflict(f"a gift with sku {sku!r} already exists", code="gift_exists") from None
    audit.record(uow, action="gift.created", target_type="gift", target_id=sku,
                 changes=audit.diff({}, values))
    return item


def update_gift(uow: UnitOfWork, sku: str, *, name: str | None = None,
                points_price: int | None = None, stock: int | None = None,
                active: bool | None = None) -> GiftItem:
    """Change a gift; only the values given change. `stock` sets the count on hand."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = check_text(name, "name")
    if points_price is not None:
        values["points_price"] = check_points(points_price, "points_price")
    if stock is not None:
        values["stock"] = _check_count(stock, "stock", 0, rules.MAX_STOCK)
    if active is not None:
        values["active"] = bool(active)
    # Locked, so a stock count set by hand does not interleave with a redemption.
    item = uow.session.execute(select(GiftItem).where(GiftItem.sku == check_sku(sku))
                               .with_for_update()).scalar_one_or_none()
    if item is None:
        raise NotFound(f"no gift with sku {sku!r}", code="gift_not_found")
    changes = audit.diff({k: getattr(item, k) for k in values}, values)
    if changes:
        for field, value in values.items():
            setattr(item, field, value)
        item.updated_at = uow.clock.now()
        audit.record(uow, action="gift.updated", target_type="gift", target_id=item.sku,
                     changes=changes)
    return item


def _take_stock(uow: UnitOfWork, sku: str, quantity: int) -> tuple[int, int]:
    """Decrement stock in one conditional UPDATE: only when enough is on hand, so
    concurrent redemptions can never oversell (the CHECK stock >= 0 is the last line).
    Returns (gift id, points price) as of the decrement."""
    gift = queries.gift(uow.session, sku)
    if not gift.active:
        raise RuleViolated(f"gift {sku!r} is not offered at the moment", code="gift_inactive")
    table: Table = GiftItem.__table__  # type: ignore[assignment]
    row = uow.session.execute(
        update(table).where(table.c.id == gift.id, table.c.stock >= quantity,
                            table.c.active.is_(True))
        .values(stock=table.c.stock - quantity, updated_at=uow.clock.now())
        .returning(table.c.points_price)).first()
    if row is None:
        raise Conflict(f"gift {sku!r} has fewer than {quantity} in stock", code="out_of_stock")
    uow.session.expire(gift)
    return gift.id, int(row[0])


def _redemption(uow: UnitOfWork, redemption_ref: str) -> GiftRedemption | None:
    return uow.session.execute(select(GiftRedemption).where(
        GiftRedemption.redemption_ref == redemption_ref)).scalar_one_or_none()


def redeem_gift(uow: UnitOfWork, *, member_id: int, sku: str, quantity: int,
                redemption_ref: str, key: str) -> GiftRedemption:
    """Redeem `quantity` of a gift for points: stock first, then the points."""
    sku = check_sku(sku)
    quantity = _check_count(quantity, "quantity", 1, rules.MAX_QUANTITY)
    redemption_ref = check_text(redemption_ref, "redemption_ref")
    members_service.lock_active(uow, member_id)
    request = {"op": "redeem", "member_id": member_id, "sku": sku, "quantity": quantity,
               "redemption_ref": redemption_ref}
    # The business reference decides first: a resubmission of the same redemption gets
    # it back (whatever key it came with); the reference reused for another one is refused.
    if (done := _redemption(uow, redemption_ref)) is not None:
        if (done.member_id, done.details.get("sku"), done.quantity) != (member_id, sku, quantity):
            raise Conflict(f"redemption_ref {redemption_ref!r} was already used for another "
                           "redemption", code="redemption_ref_used")
        return done
    if replayed(uow, key, request) is not None:  # its redemption would have been found
        raise Conflict(f"key {key!r} was already used", code="idempotency_key_reused")
    gift_id, price = _take_stock(uow, sku, quantity)
    settle_locked(uow, member_id, uow.clock.now())
    before = balances(uow, member_id)
    spent = take(uow, member_id=member_id, points=price * quantity, kind="redeem",
                 reference=redemption_ref, key=key, request=request, destination=REDEEMED,
                 reason=f"gift {sku} × {quantity}")
    redemption = GiftRedemption(member_id=member_id, gift_id=gift_id, quantity=quantity,
                                points=spent.points, redemption_ref=redemption_ref,
                                entry_id=spent.entry_id, created_at=uow.clock.now(),
                                details={"sku": sku, "unit_price": price,
                                         "lots": [list(use) for use in spent.uses]})
    uow.session.add(redemption)
    uow.session.flush()
    record(uow, action="points.gift_redeemed", member_id=member_id, before=before, sku=sku,
           quantity=quantity, redemption_ref=redemption_ref)
    uow.emit(GiftRedeemed(member_id=member_id, sku=sku, quantity=quantity,
                          points=spent.points, redemption_ref=redemption_ref))
    return redemption
