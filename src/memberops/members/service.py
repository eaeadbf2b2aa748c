"""Member use cases: validate → lock → change → record (audit) → emit (timeline)."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from memberops.audit import service as audit
from memberops.errors import Conflict, NotFound, RuleViolated, field_error
from memberops.members import rules
from memberops.members.events import (
    ConsentChanged,
    MemberRegistered,
    MemberStatusChanged,
    MemberTagsChanged,
    MemberUpdated,
)
from memberops.members.models import Member, MemberConsent, MemberTag
from memberops.members.schemas import MemberCreate, MemberUpdate
from memberops.prepared import Prepared
from memberops.uow import UnitOfWork

PROFILE_FIELDS = ("phone", "name", "email", "birthday", "gender", "province", "city",
                  "referrer_id")


def get_member(uow: UnitOfWork, member_id: int) -> Member:
    member = uow.session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    return member


MEMBERS: Table = Member.__table__  # type: ignore[assignment]
LOCK_STATUS = Prepared(select(MEMBERS.c.status, MEMBERS.c.status_reason, MEMBERS.c.referrer_id,
                              MEMBERS.c.tier, MEMBERS.c.birthday)
                       .where(MEMBERS.c.id == bindparam("member_id")).with_for_update())


class LockedMember(NamedTuple):
    """What the hot paths need of a member they have locked."""

    id: int
    referrer_id: int | None
    tier: str
    birthday: date | None


def lock_active_id(uow: UnitOfWork, member_id: int) -> LockedMember:
    """`lock_active` for the hot paths (payments, recharges, orders) that need the lock,
    the check and a few fields but not the profile: one prepared statement, no ORM object.
    Once per member and transaction: later calls get the same answer from the unit of
    work (the row stays locked until commit; writers of the row call `forget_lock`)."""
    cached = uow.locked_members.get(member_id)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    row = LOCK_STATUS.first(uow.session, {"member_id": member_id})
    status, reason, referrer_id, tier, birthday = row or (None, None, None, "", None)
    _require_active(member_id, status, reason)
    # The driver gives SQLite's date as ISO text, PostgreSQL's as a date.
    if isinstance(birthday, str):
        birthday = date.fromisoformat(birthday)
    locked = LockedMember(member_id, referrer_id, tier, birthday)
    uow.locked_members[member_id] = locked
    return locked


def forget_lock(uow: UnitOfWork, member_id: int) -> None:
    """The member row changed in this transaction: the next lock_active_id reads it again."""
    uow.locked_members.pop(member_id, None)


def lock_active(uow: UnitOfWork, member_id: int) -> Member:
    """Lock the member row and require an active member: every movement of value starts
    here, so a freeze and a payment for one member never interleave. Lock order: the
    member row first, then ledger balances (in address order)."""
    member = uow.session.execute(
        select(Member).where(Member.id == member_id).with_for_update()
        # Tags and consents load only if asked for: this runs on every payment.
        .options(lazyload(Member.tags), lazyload(Member.consents))
        .execution_options(populate_existing=True)).scalar_one_or_none()
    _require_active(member_id, member.status if member else None,
                    member.status_reason if member else None)
    assert member is not None
    return member


def _require_active(member_id: int, status: str | None, reason: str | None) -> None:
    """Refuse a missing (no status), frozen or closed member."""
    if status is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    if status == "frozen":
        raise RuleViolated(f"member {member_id} is frozen: {reason}", code="member_frozen")
    if status == "closed":
        raise RuleViolated(f"member {member_id} is closed", code="member_closed")


def _check_phone_free(uow: UnitOfWork, phone: str, member_id: int | None = None) -> None:
    owner = uow.session.execute(select(Member.id).where(Member.phone == phone)).scalar()
    if owner is not None and owner != member_id:
        raise Conflict(f"a member with phone {phone} already exists (id {owner})",
                       code="member_exists", member_id=owner)


def _check_birthday(uow: UnitOfWork, birthday: Any) -> None:
    if birthday is not None:
        try:
            rules.check_birthday(birthday, uow.clock.today())
        except ValueError as exc:
            raise field_error("birthday", str(exc)) from None


def _check_referrer(uow: UnitOfWork, referrer_id: int | None, member_id: int | None) -> None:
    if referrer_id is None:
        return
    if member_id is not None and referrer_id == member_id:
        raise RuleViolated("a member cannot refer themselves", code="self_referral")
    if uow.session.get(Member, referrer_id) is None:
        raise field_error("referrer_id", f"member {referrer_id} does not exist",
                           code="referrer_not_found")
    if member_id is not None and rules.would_create_cycle(
            member_id, referrer_id,
            lambda mid: uow.session.execute(
                select(Member.referrer_id).where(Member.id == mid)).scalar()):
        raise RuleViolated(f"member {referrer_id} is already referred (directly or not) "
                           f"by member {member_id}: that would be a referral cycle",
                           code="referral_cycle")


def _flush_unique(uow: UnitOfWork, phone: str) -> None:
    # Two concurrent registrations of one phone: the unique index decides, we explain.
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"a member with phone {phone} already exists",
                       code="member_exists") from None


def register_member(uow: UnitOfWork, data: MemberCreate, *, source: str = "api") -> Member:
    """Create a member with tags and consents; the phone must be new."""
    now = uow.clock.now()
    _check_birthday(uow, data.birthday)
    if data.joined_at is not None and data.joined_at > now:
        raise field_error("joined_at", "is in the future")
    _check_phone_free(uow, data.phone)
    _check_referrer(uow, data.referrer_id, None)
    member = Member(
        phone=data.phone, name=data.name, email=data.email, birthday=data.birthday,
        gender=data.gender, province=data.region.province if data.region else None,
        city=data.region.city if data.region else None, channel=data.channel,
        referrer_id=data.referrer_id, tier="regular", status="active",
        joined_at=data.joined_at or now, created_at=now, updated_at=now,
        tags=[MemberTag(tag=t, added_at=now) for t in data.tags],
        consents=[MemberConsent(channel=ch, granted=ok, granted_at=now if ok else None,
                                revoked_at=None if ok else now, source=source)
                  for ch, ok in sorted(data.consents.items())],
    )
    uow.session.add(member)
    _flush_unique(uow, data.phone)
    audit.record(uow, action="member.registered", target_type="member", target_id=member.id,
                 changes=audit.diff({}, _snapshot(member)))
    uow.emit(MemberRegistered(member_id=member.id, channel=member.channel,
                              referrer_id=member.referrer_id, source=source))
    return member


def _snapshot(member: Member) -> dict[str, Any]:
    snap = {name: getattr(member, name) for name in PROFILE_FIELDS}
    snap.update(channel=member.channel, status=member.status, tier=member.tier,
                tags=member.tag_names,
                consents={c.channel: c.granted for c in member.consents})
    return {k: v for k, v in snap.items() if v not in (None, [], {})}


def update_member(uow: UnitOfWork, member_id: int, data: MemberUpdate) -> Member:
    """Change profile fields; only the fields sent are touched."""
    member = get_member(uow, member_id)
    sent = data.model_fields_set
    values: dict[str, Any] = {name: getattr(data, name) for name in sent if name != "region"}
    if "region" in sent:
        values["province"] = data.region.province if data.region else None
        values["city"] = data.region.city if data.region else None
    if "phone" in values:
        _check_phone_free(uow, values["phone"], member.id)
    if "birthday" in values:
        _check_birthday(uow, values["birthday"])
    if "referrer_id" in values:
        _check_referrer(uow, values["referrer_id"], member.id)
    before = {name: getattr(member, name) for name in values}
    changes = audit.diff(before, values)
    if not changes:
        return member
    for name, value in values.items():
        setattr(member, name, value)
    member.updated_at = uow.clock.now()
    forget_lock(uow, member.id)
    _flush_unique(uow, member.phone)
    audit.record(uow, action="member.updated", target_type="member", target_id=member.id,
                 changes=changes)
    uow.emit(MemberUpdated(member_id=member.id, changes=changes))
    return member


def add_tags(uow: UnitOfWork, member_id: int, tags: list[str]) -> Member:
    """Add tags; tags the member already has are left as they are."""
    member = get_member(uow, member_id)
    current = set(member.tag_names)
    new = sorted(set(tags) - current)
    if len(current) + len(new) > rules.MAX_TAGS:
        raise RuleViolated(f"a member can have at most {rules.MAX_TAGS} tags",
                           code="too_many_tags")
    if new:
        now = uow.clock.now()
        member.tags.extend(MemberTag(tag=t, added_at=now) for t in new)
        member.updated_at = now
        audit.record(uow, action="member.tags_added", target_type="member",
                     target_id=member.id,
                     changes={"tags": {"before": sorted(current),
                                       "after": sorted(current | set(new))}})
        uow.emit(MemberTagsChanged(member_id=member.id, added=tuple(new)))
    return member


def remove_tag(uow: UnitOfWork, member_id: int, tag: str) -> Member:
    """Remove one tag; removing a tag the member does not have is a 404."""
    member = get_member(uow, member_id)
    current = member.tag_names
    if tag not in current:
        raise NotFound(f"member {member_id} has no tag {tag!r}", code="tag_not_found")
    member.tags = [t for t in member.tags if t.tag != tag]
    member.updated_at = uow.clock.now()
    audit.record(uow, action="member.tag_removed", target_type="member", target_id=member.id,
                 changes={"tags": {"before": current, "after": [t for t in current if t != tag]}})
    uow.emit(MemberTagsChanged(member_id=member.id, removed=(tag,)))
    return member


def set_consent(uow: UnitOfWork, member_id: int, channel: str, granted: bool,
                source: str | None = None) -> Member:
    """Grant or revoke marketing consent on one channel, keeping when it happened."""
    if channel not in rules.CONSENT_CHANNELS:
        raise field_error("channel", f"unknown consent channel {channel!r}; use one of "
                           + ", ".join(rules.CONSENT_CHANNELS))
    member = get_member(uow, member_id)
    now = uow.clock.now()
    consent = next((c for c in member.consents if c.channel == channel), None)
    before = consent.granted if consent else None
    if before == granted:
        return member
    if consent is None:
        consent = MemberConsent(channel=channel, granted=granted)
        member.consents.append(consent)
    consent.granted = granted
    consent.source = source
    if granted:
        consent.granted_at = now
    else:
        consent.revoked_at = now
    member.updated_at = now
    audit.record(uow, action="member.consent_changed", target_type="member",
                 target_id=member.id,
                 changes={f"consent.{channel}": {"before": before, "after": granted}})
    uow.emit(ConsentChanged(member_id=member.id, channel=channel, granted=granted,
                            source=source))
    return member


def change_status(uow: UnitOfWork, member_id: int, status: str, reason: str) -> Member:
    """Freeze, unfreeze or close a member, always with a reason."""
    # Locked like a payment locks it: a freeze waits for a payment in flight, and two
    # status changes never both read the old status.
    member = uow.session.get(Member, member_id, with_for_update=True, populate_existing=True)
    if member is None:
        raise NotFound(f"member {member_id} not found", code="member_not_found")
    reason = reason.strip()
    if len(reason) < 2:
        raise field_error("reason", "a reason is required")
    try:
        rules.check_status_change(member.status, status)
    except ValueError as exc:
        raise RuleViolated(str(exc), code="invalid_status_change") from None
    before = member.status
    now = uow.clock.now()
    member.status, member.status_reason, member.status_changed_at = status, reason, now
    member.updated_at = now
    forget_lock(uow, member.id)
    audit.record(uow, action="member.status_changed", target_type="member",
                 target_id=member.id, reason=reason,
                 changes={"status": {"before": before, "after": status}})
    uow.emit(MemberStatusChanged(member_id=member.id, before=before, after=status,
                                 reason=reason))
    return member


