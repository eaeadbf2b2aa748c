"""Member shapes at the edge: what may come in (unknown fields refused) and what goes out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from memberops.members import rules
from memberops.members.models import Member

ConsentChannel = Literal["sms", "email", "push", "wechat"]
Status = Literal["active", "frozen", "closed"]



Phone = Annotated[str, AfterValidator(rules.normalise_phone)]
Email = Annotated[str, AfterValidator(rules.normalise_email)]
Gender = Annotated[str, AfterValidator(rules.normalise_gender)]
Channel = Annotated[str, AfterValidator(rules.normalise_channel)]
Tag = Annotated[str, AfterValidator(rules.normalise_tag)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(str.strip)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("joined_at needs a time zone offset")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Region(Strict):
    province: str | None = Field(default=None, min_length=1, max_length=30)
    city: str | None = Field(default=None, min_length=1, max_length=30)


class MemberCreate(Strict):
    phone: Phone
    name: Name | None = None
    email: Email | None = None
    birthday: date | None = None
    gender: Gender = "unknown"
    region: Region | None = None
    channel: Channel = "store"
    referrer_id: int | None = Field(default=None, gt=0)
    tags: list[Tag] = Field(default_factory=list, max_length=rules.MAX_TAGS)
    consents: dict[ConsentChannel, bool] = Field(default_factory=dict)
    joined_at: Annotated[datetime | None, AfterValidator(_aware)] = Field(
        default=None, description="when the member joined; defaults to now (for migrations)")

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return sorted(set(tags))


class MemberUpdate(Strict):
    """Only the fields sent are changed; null clears an optional field."""

    phone: Phone | None = None
    name: Name | None = None
    email: Email | None = None
    birthday: date | None = None
    gender: Gender | None = None
    region: Region | None = None
    referrer_id: int | None = Field(default=None, gt=0)

    @field_validator("phone", "gender")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be cleared")
        return value


class TagsChange(Strict):
    tags: list[Tag] = Field(min_length=1, max_length=rules.MAX_TAGS)


class ConsentChange(Strict):
    granted: bool
    source: str | None = Field(default=None, max_length=40)


class StatusChange(Strict):
    status: Status
    reason: str = Field(min_length=2, max_length=500)


class ConsentRead(BaseModel):
    granted: bool
    granted_at: datetime | None
    revoked_at: datetime | None


class MemberRead(BaseModel):
    id: int
    phone: str
    name: str | None
    email: str | None
    birthday: date | None
    gender: str
    region: Region
    channel: str
    referrer_id: int | None
    tier: str
    status: str
    status_reason: str | None
    tags: list[str]
    consents: dict[str, ConsentRead]
    joined_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberRead:
        return cls(
            id=member.id, phone=member.phone, name=member.name, email=member.email,
            birthday=member.birthday, gender=member.gender,
            region=Region(province=member.province, city=member.city),
            channel=member.channel, referrer_id=member.referrer_id, tier=member.tier,
            status=member.status, status_reason=member.status_reason, tags=member.tag_names,
            consents={c.channel: ConsentRead(granted=c.granted, granted_at=c.granted_at,
                                             revoked_at=c.revoked_at) for c in member.consents},
            joined_at=member.joined_at, created_at=member.created_at,
            updated_at=member.updated_at,
        )


class TimelineEntry(BaseModel):
    id: int
    at: datetime
    kind: str
    summary: str
    actor: str
    data: dict[str, object]
