"""Member profiles (会员档案), their tags and per-channel marketing consent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from memberops.db import Base, UTCDateTime

ID = BigInteger().with_variant(Integer, "sqlite")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # E.164; unique so that two tills registering one phone at once yield one member.
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10), default="unknown")
    province: Mapped[str | None] = mapped_column(String(30), index=True)
    city: Mapped[str | None] = mapped_column(String(30), index=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    tier: Mapped[str] = mapped_column(String(20), default="regular", index=True)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    tags: Mapped[list[MemberTag]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin",
        order_by="MemberTag.tag")
    consents: Mapped[list[MemberConsent]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin",
        order_by="MemberConsent.channel")

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class MemberTag(Base):
    __tablename__ = "member_tags"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship(back_populates="tags")

    __table_args__ = (Index("ix_member_tags_tag", "tag", "member_id"),)


class MemberConsent(Base):
    __tablename__ = "member_consents"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(40))

    member: Mapped[Member] = relationship(back_populates="consents")
