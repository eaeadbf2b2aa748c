"""The read side of coupons: templates with their counts, a member's coupons, one coupon by
code, the coupons an order names (one indexed statement), who is due a birthday coupon,
what is due to expire, and how coupon events read on a timeline."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, and_, bindparam, case, extract, func, or_, select
from sqlalchemy.orm import Session

from memberops.coupons import codes, rules
from memberops.coupons.models import Coupon, CouponTemplate
from memberops.errors import NotFound, ValidationFailed
from memberops.members import queries as member_queries
from memberops.members.models import Member
from memberops.money import Money
from memberops.prepared import Prepared, utc_time

MAX_LIMIT = 500
TEMPLATE_SORTS = ("-id", "id", "code", "-code")
MEMBER_STATUSES = ("issued", "usable", "used", "expired")
T = TypeVar("T")


def terms_of(t: CouponTemplate) -> rules.Terms:
    return rules.Terms(kind=t.kind, amount_off=t.amount_off, percent_off=t.percent_off,
                       max_discount=t.max_discount, min_spend=t.min_spend,
                       gift_sku=t.gift_sku, stackable=t.stackable,
                       eligible_tiers=tuple(t.eligible_tiers or ()))


def effective_status(c: Coupon, now: datetime) -> str:
    """What a member sees: an issued coupon past its window is expired, even before the
    expiry job has marked it."""
    if c.status == "issued" and now >= c.valid_until:
        return "expired"
    return c.status


# --- cursors (keyset pagination) ------------------------------------------------------

def encode_cursor(*parts: Any) -> str:
    raw = json.dumps(list(parts), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != size:
            raise ValueError
        return parts
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed("invalid cursor; start again without it",
                               code="invalid_cursor") from None


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be 1–{MAX_LIMIT}", code="invalid_limit")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


# --- templates ------------------------------------------------------------------------

def template(session: Session, template_id: int) -> CouponTemplate:
    found = session.get(CouponTemplate, template_id)
    if found is None:
        raise NotFound(f"coupon template {template_id} not found",
                       code="coupon_template_not_found")
    return found


def template_by_ref(session: Session, ref: str) -> CouponTemplate:
    """A template by code, or else by id (the CLI takes either; a code made of digits,
    like 618, wins over the id)."""
    text = ref.strip()
    found = session.execute(select(CouponTemplate).where(CouponTemplate.code == text)
                            ).scalar_one_or_none()
    if found is None and text.isdigit() and len(text) <= 18:
        return template(session, int(text))
    if found is None:
        raise NotFound(f"no coupon template with code {text!r}",
                       code="coupon_template_not_found")
    return found


def templates(session: Session, *, status: str | None = None, kind: str | None = None,
              trigger: str | None = None, limit: int = 100, cursor: str | None = None,
              sort: str = "-id") -> Page[CouponTemplate]:
    """Templates matching every filter given, a page at a time."""
    if sort not in TEMPLATE_SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(TEMPLATE_SORTS)}",
                               code="invalid_sort")
    _check_limit(limit)
    stmt = select(CouponTemplate)
    for filtered, wanted in ((CouponTemplate.status, status), (CouponTemplate.kind, kind),
                             (CouponTemplate.trigger, trigger)):
        if wanted is not None:
            stmt = stmt.where(filtered == wanted)
    descending = sort.startswith("-")
    by_code = sort.lstrip("-") == "code"  # codes are unique: no tie-breaker needed
    column: Any = CouponTemplate.code if by_code else CouponTemplate.id
    if cursor:
        cursor_sort, value = decode_cursor(cursor, 2)
        if cursor_sort != sort or not isinstance(value, str if by_code else int):
            raise ValidationFailed("invalid cursor for this sort order; start again without "
                                   "it", code="invalid_cursor")
        stmt = stmt.where(column < value if descending else column > value)
    stmt = stmt.order_by(column.desc() if descending else column.asc()).limit(limit + 1)
    rows = list(session.execute(stmt).scalars())
    last = rows[limit - 1] if len(rows) > limit else None
    nxt = encode_cursor(sort, last.code if by_code else last.id) if last else None
    return Page(rows[:limit], nxt)


def template_counts(session: Session, template_id: int, now: datetime) -> dict[str, int]:
    """How the template's coupons stand: issued, outstanding, used, expired, and the
    discount given by those in use."""
    expired = or_(Coupon.status == "expired",
                  and_(Coupon.status == "issued", Coupon.valid_until <= now))
    row = session.execute(select(
        func.count(),
        func.coalesce(func.sum(case((and_(Coupon.status == "issued",
                                          Coupon.valid_until > now), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Coupon.status == "used", 1), else_=0)), 0),
        func.coalesce(func.sum(case((expired, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Coupon.status == "used", Coupon.discount), else_=0)), 0),
    ).where(Coupon.template_id == template_id)).one()
    return {"issued": int(row[0]), "outstanding": int(row[1]), "used": int(row[2]),
            "expired": int(row[3]), "discount": int(row[4])}


# --- coupons --------------------------------------------------------------------------

def coupon(session: Session, code: str) -> tuple[Coupon, CouponTemplate]:
    """One coupon and its template; a malformed code is simply not found."""
    try:
        code = codes.normalise(code)
    except ValueError:
        raise NotFound(f"no coupon with code {code!r}", code="coupon_not_found") from None
    row = session.execute(select(Coupon, CouponTemplate).join(
        CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.code == code)).first()
    if row is None:
        raise NotFound(f"no coupon with code {code}", code="coupon_not_found")
    return row[0], row[1]


def _status_filter(status: str, now: datetime) -> Any:
    if status == "issued":
        return and_(Coupon.status == "issued", Coupon.valid_until > now)
    if status == "usable":
        return and_(Coupon.status == "issued", Coupon.valid_from <= now,
                    Coupon.valid_until > now)
    if status == "expired":
        return or_(Coupon.status == "expired",
                   and_(Coupon.status == "issued", Coupon.valid_until <= now))
    return Coupon.status == status


def member_coupons(session: Session, member_id: int, *, now: datetime,
                   status: str | None = None, template_id: int | None = None,
                   limit: int = 100, cursor: str | None = None
                   ) -> Page[tuple[Coupon, CouponTemplate]]:
    """A member's coupons, newest first; `status` is as the member sees it (issued,
    usable now, used, expired)."""
    if status is not None and status not in MEMBER_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(MEMBER_STATUSES)}",
                               code="invalid_status")
    _check_limit(limit)
    member_queries.check_exists(session, member_id)
    stmt = select(Coupon, CouponTemplate).join(
        CouponTemplate, CouponTemplate.id == Coupon.template_id).where(
        Coupon.member_id == member_id)
    if status is not None:
        stmt = stmt.where(_status_filter(status, now))
    if template_id is not None:
        stmt = stmt.where(Coupon.template_id == template_id)
    if cursor:
        before = decode_cursor(cursor, 1)[0]
        if not isinstance(before, int):
            raise ValidationFailed("invalid cursor; start again without it",
                                   code="invalid_cursor")
        stmt = stmt.where(Coupon.id < before)
    rows = [(r[0], r[1]) for r in session.execute(
        stmt.order_by(Coupon.id.desc()).limit(limit + 1)).all()]
    nxt = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return Page(rows[:limit], nxt)


COUPONS: Table = Coupon.__table__  # type: ignore[assignment]
TEMPLATES: Table = CouponTemplate.__table__  # type: ignore[assignment]
# Built once: it runs inside every order that names a coupon (DESIGN "the hot path").
_CANDIDATE_COLUMNS = (
    select(COUPONS.c.code, COUPONS.c.id, COUPONS.c.template_id, COUPONS.c.member_id,
           COUPONS.c.status, COUPONS.c.valid_from, COUPONS.c.valid_until, COUPONS.c.order_ref,
           TEMPLATES.c.kind, TEMPLATES.c.amount_off, TEMPLATES.c.percent_off,
           TEMPLATES.c.max_discount, TEMPLATES.c.min_spend, TEMPLATES.c.gift_sku,
           TEMPLATES.c.stackable, TEMPLATES.c.eligible_tiers, COUPONS.c.discount)
    .join(TEMPLATES, TEMPLATES.c.id == COUPONS.c.template_id))
CANDIDATES = _CANDIDATE_COLUMNS.where(COUPONS.c.code.in_(bindparam("codes", expanding=True)))
# Most orders name one coupon: a prepared statement on the driver, no SQLAlchemy result.
CANDIDATE_ONE = Prepared(_CANDIDATE_COLUMNS.where(COUPONS.c.code == bindparam("code")))
_CACHE = "memberops.coupons.candidates"


@dataclass(frozen=True)
class Found:
    """A coupon an order names, as the rules see it, plus what it gave if already used."""

    candidate: rules.Candidate
    discount: int | None


def candidates(session: Session, wanted: Sequence[str], *,
               fresh: bool = False) -> dict[str, Found]:
    """The coupons with these (normalised) codes and their templates' terms.

    Read once per transaction: an order prices its coupons, then redeems them with a
    conditional UPDATE that is the real check, so the second look may reuse the first
    (`fresh` reads again; `forget_candidates` drops what was read once coupons change)."""
    if not wanted:
        return {}
    key = tuple(wanted)
    cache: dict[tuple[str, ...], dict[str, Found]] = session.info.setdefault(_CACHE, {})
    if not fresh and key in cache:
        return cache[key]
    if len(wanted) == 1:
        rows: list[Any] = [_row(r) for r in CANDIDATE_ONE.all(session, {"code": wanted[0]})]
    else:
        rows = list(session.execute(CANDIDATES, {"codes": list(wanted)}))
    found: dict[str, Found] = {}
    for row in rows:
        terms = rules.Terms(kind=row.kind, amount_off=row.amount_off,
                            percent_off=row.percent_off, max_discount=row.max_discount,
                            min_spend=row.min_spend, gift_sku=row.gift_sku,
                            stackable=row.stackable,
                            eligible_tiers=tuple(row.eligible_tiers or ()))
        found[row.code] = Found(rules.Candidate(
            code=row.code, coupon_id=row.id, template_id=row.template_id,
            member_id=row.member_id, status=row.status, valid_from=row.valid_from,
            valid_until=row.valid_until, terms=terms, order_ref=row.order_ref), row.discount)
    cache[key] = found
    return found


def forget_candidates(session: Session) -> None:
    """Coupons changed in this transaction: the next `candidates` reads them again."""
    session.info.pop(_CACHE, None)


@dataclass(frozen=True)
class _Row:
    code: str
    id: int
    template_id: int
    member_id: int
    status: str
    valid_from: datetime
    valid_until: datetime
    order_ref: str | None
    kind: str
    amount_off: int | None
    percent_off: int | None
    max_discount: int | None
    min_spend: int | None
    gift_sku: str | None
    stackable: bool
    eligible_tiers: list[str] | None
    discount: int | None


def _row(raw: Any) -> _Row:
    """A driver row of CANDIDATE_ONE as the ORM would type it (SQLite gives times as
    text, JSON as text and booleans as 0/1)."""
    values = list(raw)
    values[5], values[6] = utc_time(values[5]), utc_time(values[6])
    values[14] = bool(values[14])
    if isinstance(values[15], str):
        values[15] = json.loads(values[15])
    return _Row(*values)


def used_by_order(session: Session, order_ref: str) -> list[Coupon]:
    """The coupons an order holds now."""
    return list(session.execute(select(Coupon).where(
        Coupon.order_ref == order_ref, Coupon.status == "used").order_by(Coupon.id)).scalars())


# --- jobs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BirthdayMember:
    id: int
    tier: str
    birthday: Any


def birthday_members(session: Session, month: int, *, tiers: Sequence[str] = (),
                     after_id: int = 0, limit: int = 500) -> list[BirthdayMember]:
    """Active members born in `month`, in id order (a page after `after_id`); only the
    given tiers when any are given."""
    stmt = select(Member.id, Member.tier, Member.birthday).where(
        Member.birthday.is_not(None), extract("month", Member.birthday) == month,
        Member.status == "active", Member.id > after_id)
    if tiers:
        stmt = stmt.where(Member.tier.in_(list(tiers)))
    return [BirthdayMember(r.id, r.tier, r.birthday)
            for r in session.execute(stmt.order_by(Member.id).limit(limit))]


def issued_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return {key for key in session.execute(select(Coupon.issue_key).where(
        Coupon.issue_key.in_(list(keys)))).scalars() if key is not None}


def due_for_expiry(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of issued coupons whose window has closed, oldest first."""
    return list(session.execute(select(Coupon.id).where(
        Coupon.status == "issued", Coupon.valid_until <= now)
        .order_by(Coupon.valid_until, Coupon.id).limit(limit)).scalars())


# --- timeline -------------------------------------------------------------------------

def _yuan(p: dict[str, Any], name: str = "discount") -> str:
    return Money(int(p.get(name) or 0)).format()


for _type, _text in {
    "coupons.issued": lambda p: f"Coupon {p.get('template')} issued ({p.get('code')}), "
    f"usable through {p.get('usable_through')}",
    "coupons.redeemed": lambda p: f"Coupon {p.get('code')} used on order "
    f"{p.get('order_ref')}: {_yuan(p)} off",
    "coupons.released": lambda p: f"Coupon {p.get('code')} returned after the refund of "
    f"{p.get('order_ref')}",
    "coupons.expired": lambda p: f"Coupon {p.get('code')} expired unused",
}.items():
    member_queries.describe_event(_type, _text)

