"""Scheduled coupon work: expire coupons whose window has closed, and issue birthday
coupons.

Both run in short transactions (a batch of coupons, a page of members) so that a crash or
Ctrl-C loses at most the step in progress, and both are idempotent: what is done is no
longer due (expired coupons are not issued; birthday coupons carry a unique key per member,
template and year), so a rerun — or two runs at once — changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from memberops.clock import Clock
from memberops.coupons import queries
from memberops.coupons import service as coupons_service
from memberops.coupons.models import CouponTemplate
from memberops.db import Database
from memberops.errors import RuleViolated
from memberops.uow import Actor, UnitOfWork

Progress = Callable[[int, int], None]  # (done, due; 0 when not known in advance)
EXPIRY_BATCH = 1000
MEMBER_PAGE = 500


@dataclass(frozen=True)
class ExpiryReport:
    expired: int


@dataclass(frozen=True)
class BirthdayReport:
    templates: int  # active birthday templates
    issued: int
    already: int  # members who had this year's coupon
    refused: int  # members the template refused (no budget left, …)


def expire_due(db: Database, clock: Clock, *, batch: int = EXPIRY_BATCH,
               progress: Progress | None = None) -> ExpiryReport:
    """Mark expired every issued coupon whose window has closed."""
    now = clock.now()
    expired = 0
    while True:
        with UnitOfWork(db, actor=Actor.system("coupons.expire"), clock=clock) as uow:
            done = coupons_service.expire_batch(uow, now=now, limit=batch)
        if done == 0:
            return ExpiryReport(expired)
        expired += done
        if progress is not None:
            progress(expired, 0)


def _birthday_templates(db: Database) -> list[tuple[int, list[str]]]:
    with db.session(readonly=True) as session:
        rows = session.execute(select(CouponTemplate.id, CouponTemplate.eligible_tiers).where(
            CouponTemplate.trigger == "birthday", CouponTemplate.status == "active")
            .order_by(CouponTemplate.id)).all()
    return [(r.id, list(r.eligible_tiers or ())) for r in rows]


def issue_birthday(db: Database, clock: Clock, *,
                   progress: Progress | None = None) -> BirthdayReport:
    """This year's birthday coupon for every active member whose birthday month is the
    current one (programme time zone), from every active birthday template. Run it daily:
    members who joined or were unfrozen later in their birthday month are caught up."""
    today = clock.today()
    issued = already = refused = 0
    templates = _birthday_templates(db)
    for template_id, tiers in templates:
        after = 0
        while True:
            try:
                with UnitOfWork(db, actor=Actor.system("coupons.birthday"),
                                clock=clock) as uow:
                    page = queries.birthday_members(uow.session, today.month, tiers=tiers,
                                                    after_id=after, limit=MEMBER_PAGE)
                    if not page:
                        break
                    report = coupons_service.issue_birthday(uow, template_id,
                                                            [m.id for m in page], today.year)
            except RuleViolated as exc:  # paused or ended since the run began: skip it
                if exc.code not in ("coupon_template_paused", "coupon_template_ended"):
                    raise
                break
            after = page[-1].id
            issued += len(report.issued)
            already += report.already
            refused += len(report.errors)
            if progress is not None:
                progress(issued + already + refused, 0)
    return BirthdayReport(len(templates), issued, already, refused)
