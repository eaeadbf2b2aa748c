"""Shared helpers for the coupon tests: members with a tier and a birthday, templates,
issuing, and a snapshot of everything coupons write (for "nothing changed" checks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from memberops.audit.models import AuditEntry
from memberops.coupons import service
from memberops.coupons.models import Coupon, CouponTemplate
from memberops.coupons.rules import OrderContext
from memberops.db import Database
from memberops.members import service as members_service
from memberops.members.models import Member
from memberops.members.schemas import MemberCreate
from memberops.outbox import OutboxEvent
from memberops.uow import UnitOfWork

MakeUow = Callable[..., UnitOfWork]
YUAN = 100  # fen


def new_member(make_uow: MakeUow, n: int = 1, *, tier: str | None = None,
               birthday: date | None = None, **fields: Any) -> int:
    """Register member number `n` (phone 1390000NNNN), optionally with a tier."""
    with make_uow() as uow:
        member_id = members_service.register_member(
            uow, MemberCreate(phone=phone(n), birthday=birthday, **fields)).id
    if tier is not None:
        set_tier(make_uow, member_id, tier)
    return member_id


def phone(n: int) -> str:
    return f"1390000{n:04d}"


def set_tier(make_uow: MakeUow, member_id: int, tier: str) -> None:
    # The tier ladder is another domain's; the test only needs the member's tier code.
    with make_uow() as uow:
        uow.session.execute(update(Member).where(Member.id == member_id).values(tier=tier))


def set_status(make_uow: MakeUow, member_id: int, status: str) -> None:
    with make_uow() as uow:
        members_service.change_status(uow, member_id, status, f"test: {status}")


def template(make_uow: MakeUow, code: str = "spend200", **fields: Any) -> int:
    """A template (¥30 off ¥200, 14 days, unless told otherwise); returns its id."""
    data = {"code": code, "name": f"template {code}", "kind": "amount_off",
            "amount_off": 30 * YUAN, "min_spend": 200 * YUAN, "validity": "days",
            "valid_days": 14, **fields}
    with make_uow() as uow:
        return service.create_template(uow, data).id


def reference(make_uow: MakeUow) -> dict[str, int]:
    """The reference programme's templates, by code."""
    with make_uow() as uow:
        return {t.code: t.id for t in service.ensure_reference_templates(uow)}


def issue(make_uow: MakeUow, template_id: int, member_id: int) -> str:
    with make_uow() as uow:
        return service.issue(uow, template_id=template_id, member_id=member_id).code


def order(amount: int, shipping_fee: int = 0, prior: bool = False) -> OrderContext:
    return OrderContext(amount, shipping_fee, prior)


def coupon_row(db: Database, code: str) -> Coupon:
    with db.session(readonly=True) as s:
        found = s.execute(select(Coupon).where(Coupon.code == code)).scalar_one()
        s.expunge(found)
        return found


def issued_count(db: Database, template_id: int) -> tuple[int, int]:
    """(the template's `issued` counter, coupons actually stored for it)."""
    with db.session(readonly=True) as s:
        counter = s.execute(select(CouponTemplate.issued).where(
            CouponTemplate.id == template_id)).scalar_one()
        stored = s.execute(select(func.count()).select_from(Coupon).where(
            Coupon.template_id == template_id)).scalar_one()
    return counter, stored


def snapshot(db: Database) -> dict[str, Any]:
    """Everything the coupon use cases write: coupons (status, order, discount),
    templates (counters and terms), audit lines and events."""
    with db.session(readonly=True) as s:
        coupons = sorted(s.execute(select(Coupon.code, Coupon.status, Coupon.order_ref,
                                          Coupon.discount, Coupon.valid_until)).all())
        templates = sorted(s.execute(select(
            CouponTemplate.id, CouponTemplate.issued, CouponTemplate.status,
            CouponTemplate.amount_off, CouponTemplate.quantity, CouponTemplate.name,
            CouponTemplate.updated_at)).all())
        audit_lines = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        events = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
    return {"coupons": coupons, "templates": templates, "audit": audit_lines,
            "events": events}


def events(db: Database, event_type: str) -> list[dict[str, Any]]:
    with db.session(readonly=True) as s:
        return list(s.execute(select(OutboxEvent.payload).where(
            OutboxEvent.event_type == event_type).order_by(OutboxEvent.id)).scalars())


def audits(db: Database, action: str) -> list[AuditEntry]:
    with db.session(readonly=True) as s:
        found = list(s.execute(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars())
        for entry in found:
            s.expunge(entry)
        return found
