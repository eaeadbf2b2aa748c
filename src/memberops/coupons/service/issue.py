"""Issuing coupons: to one member, to a list (with a report line for every refused row), on
joining (welcome) and in the birthday month.

Every issue from a template first locks the template row, so the budget and each member's
limit are checked and taken in turn; `issued` is then raised by a conditional UPDATE
(`issued + n <= quantity`), and a CHECK constraint backs it up — a budget is never
over-issued, whatever runs at the same time. Automatic issues carry a unique `issue_key`
(welcome:<template>:<member>, birthday:<template>:<member>:<year>), so rerunning them issues
nothing twice.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.coupons import codes, queries, rules
from memberops.coupons.events import CouponIssued
from memberops.coupons.models import Coupon, CouponTemplate
from memberops.coupons.service.templates import lock
from memberops.errors import Conflict, DomainError, NotFound, RuleViolated, ValidationFailed
from memberops.members import rules as member_rules
from memberops.members.models import Member
from memberops.uow import UnitOfWork

COUPONS: Table = Coupon.__table__  # type: ignore[assignment]
TEMPLATES: Table = CouponTemplate.__table__  # type: ignore[assignment]
CHUNK = 900  # ids per IN (…): under every driver's parameter limit
MAX_FILE_ROWS = 200_000
CODE_ATTEMPTS = 5
# The budget guard: raise `issued` only while the budget holds.
RESERVE = (update(TEMPLATES).where(
    TEMPLATES.c.id == bindparam("template_id"),
    (TEMPLATES.c.quantity.is_(None))
    | (TEMPLATES.c.issued + bindparam("n") <= TEMPLATES.c.quantity))
    .values(issued=TEMPLATES.c.issued + bindparam("n")))
INSERT = insert(COUPONS).returning(COUPONS.c.id, COUPONS.c.code, sort_by_parameter_order=True)
HEADERS = {"member_id": "id", "id": "id", "member": "id", "会员id": "id", "会员编号": "id",
           "phone": "phone", "mobile": "phone", "手机号": "phone", "手机": "phone",
           "手机号码": "phone"}
# How a refused single issue is raised (a list reports these per row instead).
ERRORS: dict[str, type[DomainError]] = {"member_not_found": NotFound,
                                        "coupon_budget_exhausted": Conflict}


@dataclass(frozen=True)
class Target:
    """One member to issue to, as given: an id or a phone, with its line in the list."""

    line: int
    ref: str
    kind: str  # id | phone
    issue_key: str | None = None


@dataclass(frozen=True)
class RowProblem:
    line: int
    member: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Issued:
    line: int
    coupon_id: int
    member_id: int
    code: str
    valid_from: datetime
    valid_until: datetime


@dataclass
class IssueReport:
    template_id: int
    batch_ref: str | None
    requested: int
    issued: list[Issued] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    already: int = 0  # automatic issues that had been made before (nothing done)


@dataclass(frozen=True)
class _Member:
    id: int
    status: str
    tier: str
    birthday: date | None


# --- reading a list -------------------------------------------------------------------

def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("the file is neither UTF-8 nor GBK text", code="list_encoding")


def _kind_of(value: str) -> str:
    # Without a header: member ids are short numbers, phones have 11+ digits or a '+'.
    return "id" if value.isdigit() and len(value) <= 10 else "phone"


def read_member_list(data: bytes) -> list[Target]:
    """Members from a file: one per line, or a CSV whose header names a `member_id` or
    `phone` (手机号) column; blank lines are skipped."""
    records = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(_decode(data))), 1)
               if any(cell.strip() for cell in row)]
    if not records:
        raise ValidationFailed("the file lists no members", code="list_empty")
    column, kind = 0, None
    header = [cell.strip().lower() for cell in records[0][1]]
    named = [(i, HEADERS[h]) for i, h in enumerate(header) if h in HEADERS]
    if named:
        (column, kind), records = named[0], records[1:]
    elif not any(ch.isdigit() for ch in header[0]):
        raise ValidationFailed(f"line 1: no member_id or phone column in {records[0][1]}",
                               code="list_header")
    if len(records) > MAX_FILE_ROWS:
        raise ValidationFailed(f"at most {MAX_FILE_ROWS} members per file", code="list_too_long")
    targets = []
    for line, row in records:
        value = row[column].strip() if column < len(row) else ""
        targets.append(Target(line, value, kind or _kind_of(value)))
    if not targets:
        raise ValidationFailed("the file lists no members", code="list_empty")
    return targets


# --- resolving members ----------------------------------------------------------------

def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start:start + CHUNK])


def _resolve(uow: UnitOfWork, targets: Sequence[Target]) -> dict[int, int | None]:
    """The member id each target names (by its line), None when it names nobody."""
    found: dict[int, int | None] = {}
    phones: dict[int, str] = {}
    for t in targets:
        if t.kind == "phone":
            phones[t.line] = member_rules.phone_search_key(t.ref)
        else:
            found[t.line] = int(t.ref) if t.ref.isdigit() and len(t.ref) <= 18 else None
    by_phone: dict[str, int] = {}
    for chunk in _chunks(sorted(set(phones.values()))):
        by_phone.update((row.phone, row.id) for row in uow.session.execute(
            select(Member.phone, Member.id).where(Member.phone.in_(chunk))))
    found.update({line: by_phone.get(key) for line, key in phones.items()})
    return found


def _members(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, _Member]:
    result: dict[int, _Member] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in uow.session.execute(select(Member.id, Member.status, Member.tier,
                                              Member.birthday).where(Member.id.in_(chunk))):
            result[row.id] = _Member(row.id, row.status, row.tier, row.birthday)
    return result


def _held(uow: UnitOfWork, template_id: int, ids: Iterable[int]) -> dict[int, int]:
    """How many coupons of this template each member was ever issued."""
    held: dict[int, int] = {}
    for chunk in _chunks(sorted(set(ids))):
        held.update((row[0], row[1]) for row in uow.session.execute(
            select(Coupon.member_id, func.count()).where(
                Coupon.template_id == template_id, Coupon.member_id.in_(chunk))
            .group_by(Coupon.member_id)))
    return held


# --- issuing --------------------------------------------------------------------------

def _refuse_template(template: CouponTemplate, today: date) -> None:
    if template.status != "active":
        raise RuleViolated(f"coupon template {template.code!r} is paused",
                           code="coupon_template_paused")
    if template.validity == "fixed" and template.ends_on is not None \
            and template.ends_on < today:
        raise RuleViolated(f"coupon template {template.code!r} ended on "
                           f"{template.ends_on.isoformat()}", code="coupon_template_ended")


def _window(uow: UnitOfWork, t: CouponTemplate, member: _Member,
            now: datetime) -> tuple[datetime, datetime]:
    return rules.window(t.validity, now, uow.clock.tz, starts_on=t.starts_on,
                        ends_on=t.ends_on, valid_days=t.valid_days, birthday=member.birthday)


@dataclass
class _Plan:
    rows: list[tuple[Target, _Member, datetime, datetime]] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    already: int = 0


def _row_problem(t: CouponTemplate, member: _Member | None, seen: set[int],
                 held: dict[int, int]) -> tuple[str, str] | None:
    if member is None:
        return "member_not_found", "no such member"
    if member.id in seen:
        return "duplicate_member", f"member {member.id} is listed more than once"
    if member.status != "active":
        return f"member_{member.status}", f"member {member.id} is {member.status}"
    if t.eligible_tiers and member.tier not in t.eligible_tiers:
        return "coupon_tier_ineligible", (f"member {member.id} is {member.tier}; the coupon "
                                          f"is for {', '.join(t.eligible_tiers)}")
    if t.validity == "birthday_month" and member.birthday is None:
        return "coupon_no_birthday", f"member {member.id} has no birthday on file"
    if t.per_member_limit is not None and held.get(member.id, 0) >= t.per_member_limit:
        return "coupon_limit_reached", (f"member {member.id} already has "
                                        f"{held.get(member.id, 0)} of at most "
                                        f"{t.per_member_limit}")
    return None


def _plan(uow: UnitOfWork, t: CouponTemplate, targets: Sequence[Target], now: datetime) -> _Plan:
    ids = _resolve(uow, targets)
    members = _members(uow, [i for i in ids.values() if i is not None])
    held = _held(uow, t.id, members) if t.per_member_limit is not None else {}
    done = queries.issued_keys(uow.session, [x.issue_key for x in targets if x.issue_key])
    room = None if t.quantity is None else t.quantity - t.issued
    plan, seen = _Plan(), set[int]()
    for target in targets:
        if target.issue_key in done:
            plan.already += 1
            continue
        member_id = ids[target.line]
        member = members.get(member_id) if member_id is not None else None
        problem = _row_problem(t, member, seen, held)
        if problem is None and room is not None and len(plan.rows) >= room:
            problem = ("coupon_budget_exhausted", f"the budget of {t.quantity} is used up")
        if problem is not None:
            plan.errors.append(RowProblem(target.line, target.ref, *problem))
            continue
        assert member is not None
        start, end = _window(uow, t, member, now)
        if end <= now:  # a fixed window that has closed
            plan.errors.append(RowProblem(target.line, target.ref, "coupon_template_ended",
                                          "the coupon's window has closed"))
            continue
        seen.add(member.id)
        plan.rows.append((target, member, start, end))
    return plan


def _reserve(uow: UnitOfWork, t: CouponTemplate, n: int) -> None:
    result = uow.session.execute(RESERVE, {"template_id": t.id, "n": n})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"the budget of coupon template {t.code!r} is used up",
                       code="coupon_budget_exhausted")
    uow.session.expire(t, ["issued"])


def _insert(uow: UnitOfWork, t: CouponTemplate, plan: _Plan, source: str,
            batch_ref: str | None, now: datetime) -> list[Issued]:
    for attempt in range(CODE_ATTEMPTS):
        values: list[dict[str, Any]] = [
            {"code": codes.new_code(), "template_id": t.id, "member_id": m.id,
             "status": "issued", "source": source, "issue_key": target.issue_key,
             "batch_ref": batch_ref, "issued_at": now, "valid_from": start,
             "valid_until": end, "details": {}}
            for target, m, start, end in plan.rows]
        try:
            # A savepoint: should a random code collide, only this insert is undone.
            with uow.session.begin_nested():
                made = uow.session.execute(INSERT, values).all()
                queries.forget_candidates(uow.session)
            break
        except IntegrityError as exc:
            if "issue_key" in str(exc.orig) or attempt == CODE_ATTEMPTS - 1:
                raise Conflict("these coupons were issued at the same time by another "
                               "request", code="coupon_already_issued") from None
    return [Issued(target.line, row.id, m.id, row.code, start, end)
            for (target, m, start, end), row in zip(plan.rows, made, strict=True)]


def issue_targets(uow: UnitOfWork, template_id: int, targets: Sequence[Target], *,
                  source: str, batch_ref: str | None = None) -> IssueReport:
    """Issue one coupon to each target that may have one; report every other row."""
    now = uow.clock.now()
    t = lock(uow, template_id)
    _refuse_template(t, uow.clock.today())
    plan = _plan(uow, t, targets, now)
    report = IssueReport(t.id, batch_ref, len(targets), errors=plan.errors,
                         already=plan.already)
    if not plan.rows:
        return report
    _reserve(uow, t, len(plan.rows))
    report.issued = _insert(uow, t, plan, source, batch_ref, now)
    for made in report.issued:
        uow.emit(CouponIssued(member_id=made.member_id, coupon_id=made.coupon_id,
                              code=made.code, template_id=t.id, template=t.name,
                              source=source, valid_from=made.valid_from,
                              valid_until=made.valid_until,
                              usable_through=rules.last_day(made.valid_until, uow.clock.tz)))
    _audit(uow, t, report, source)
    return report


def _audit(uow: UnitOfWork, t: CouponTemplate, report: IssueReport, source: str) -> None:
    if len(report.issued) == 1 and report.requested == 1:
        made = report.issued[0]
        audit.record(uow, action="coupons.issued", target_type="member",
                     target_id=made.member_id, changes={
                         "coupon": {"before": None, "after": made.code},
                         "template": {"before": None, "after": t.code},
                         "source": {"before": None, "after": source}})
        return
    # One line for the whole batch: the count, not ten thousand lines.
    audit.record(uow, action="coupons.issued", target_type="coupon_template", target_id=t.id,
                 changes={name: {"before": None, "after": value} for name, value in {
                     "issued": len(report.issued), "refused": len(report.errors),
                     "already_issued": report.already, "requested": report.requested,
                     "batch_ref": report.batch_ref, "source": source}.items()})


def issue(uow: UnitOfWork, *, template_id: int, member_id: int, source: str = "manual",
          issue_key: str | None = None) -> Coupon:
    """Issue one coupon to one member; a refusal is raised with its reason code. With an
    `issue_key` already used, the coupon issued then is returned."""
    report = issue_targets(uow, template_id, [Target(1, str(member_id), "id", issue_key)],
                           source=source)
    if report.errors:
        problem = report.errors[0]
        error = ERRORS.get(problem.reason, RuleViolated)
        raise error(f"cannot issue to member {member_id}: {problem.detail}",
                    code=problem.reason)
    if report.already:
        return uow.session.execute(select(Coupon).where(Coupon.issue_key == issue_key)
                                   ).scalar_one()
    found = uow.session.get(Coupon, report.issued[0].coupon_id)
    assert found is not None
    return found


def issue_many(uow: UnitOfWork, *, template_id: int, targets: Sequence[Target],
               source: str = "batch", batch_ref: str | None = None) -> IssueReport:
    """Issue to a list: the rows that may have a coupon get one, the others are reported
    (line, member, reason); one audit line for the batch."""
    if not targets:
        raise ValidationFailed("the list names no members", code="list_empty")
    return issue_targets(uow, template_id, targets, source=source,
                         batch_ref=batch_ref or uuid.uuid4().hex[:16])


def issue_welcome(uow: UnitOfWork, member_id: int) -> list[Coupon]:
    """The welcome coupons of a member who has just joined: one from each active template
    triggered on joining. Never refuses the registration it is part of — a member who may
    not have one (tier, budget used up) is simply given none. Safe to call again."""
    welcome = uow.session.execute(select(CouponTemplate.id).where(
        CouponTemplate.trigger == "welcome", CouponTemplate.status == "active")
        .order_by(CouponTemplate.id)).scalars().all()
    given = []
    for template_id in welcome:
        target = Target(1, str(member_id), "id", f"welcome:{template_id}:{member_id}")
        try:
            report = issue_targets(uow, template_id, [target], source="welcome")
        except DomainError:
            # Refused before anything was written (a closed window, a race on the key,
            # whose insert ran in a savepoint): the member joins without this coupon.
            continue
        if report.issued:
            found = uow.session.get(Coupon, report.issued[0].coupon_id)
            assert found is not None
            given.append(found)
    return given


def issue_birthday(uow: UnitOfWork, template_id: int, member_ids: Sequence[int],
                   year: int) -> IssueReport:
    """This year's birthday coupon for each of these members (those who had it already
    are counted, not given another)."""
    targets = [Target(n, str(m), "id", f"birthday:{template_id}:{m}:{year}")
               for n, m in enumerate(member_ids, 1)]
    return issue_targets(uow, template_id, targets, source="birthday",
                         batch_ref=f"birthday-{year}")
