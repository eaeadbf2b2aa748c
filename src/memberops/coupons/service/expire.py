"""Expiry: issued coupons whose window has closed become expired (the job runs it in
batches; a rerun finds nothing left to do)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, update

from memberops.audit import service as audit
from memberops.coupons import queries
from memberops.coupons.events import CouponExpired
from memberops.coupons.models import Coupon
from memberops.uow import UnitOfWork

COUPONS: Table = Coupon.__table__  # type: ignore[assignment]


def expire_batch(uow: UnitOfWork, *, now: datetime, limit: int = 1000) -> int:
    """Expire up to `limit` coupons due at `now`; returns how many it expired (0: none
    left). The UPDATE repeats the condition, so a coupon redeemed meanwhile is left
    alone."""
    due = queries.due_for_expiry(uow.session, now, limit)
    if not due:
        return 0
    rows = uow.session.execute(
        update(COUPONS).where(COUPONS.c.id.in_(due), COUPONS.c.status == "issued",
                              COUPONS.c.valid_until <= now)
        .values(status="expired", expired_at=now)
        .returning(COUPONS.c.id, COUPONS.c.member_id, COUPONS.c.code)).all()
    queries.forget_candidates(uow.session)
    for row in sorted(rows, key=lambda r: r.id):
        uow.emit(CouponExpired(member_id=row.member_id, coupon_id=row.id, code=row.code))
    if rows:
        audit.record(uow, action="coupons.expired", target_type="coupons",
                     target_id="expiry", changes={"expired": {"before": None,
                                                              "after": len(rows)}})
    return len(rows)
