"""Pure rules for member data: normalising and checking what people type in."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberType

GENDERS = ("female", "male", "unknown")
CHANNELS = ("store", "mini_program", "app", "ecommerce", "referral")
CONSENT_CHANNELS = ("sms", "email", "push", "wechat")
STATUSES = ("active", "frozen", "closed")
MAX_TAGS = 50
TAG_RE = re.compile(r"^[^\s,;|][^,;|]{0,30}[^\s,;|]?$")
OLDEST_BIRTHDAY = date(1900, 1, 1)

# Spellings found in spreadsheets from tills and older systems, mapped to our codes.
GENDER_ALIASES = {
    "f": "female", "female": "female", "女": "female", "w": "female", "woman": "female",
    "m": "male", "male": "male", "男": "male", "man": "male",
    "": "unknown", "u": "unknown", "unknown": "unknown", "未知": "unknown", "保密": "unknown",
}
CHANNEL_ALIASES = {
    "store": "store", "门店": "store", "offline": "store", "pos": "store",
    "mini_program": "mini_program", "miniprogram": "mini_program", "小程序": "mini_program",
    "app": "app", "ecommerce": "ecommerce", "e-commerce": "ecommerce", "电商": "ecommerce",
    "online": "ecommerce", "referral": "referral", "推荐": "referral",
}
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_phone(raw: str) -> str:
    """E.164 form of a mobile number; bare 11-digit numbers are read as mainland China.

    Raises ValueError with a reason a person understands.
    """
    text = re.sub(r"[\s\-().]", "", raw or "")
    if not text:
        raise ValueError("phone is required")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else "CN")
    except NumberParseException:
        raise ValueError(f"not a phone number: {raw!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number: {raw!r}")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValueError(f"not a mobile number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str) -> str:
    """What to match a typed phone against: the E.164 form when valid, else the digits."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return re.sub(r"\D", "", raw or "")


def normalise_email(raw: str) -> str:
    """A syntactically valid address, domain lower-cased; no DNS lookup (offline)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return result.normalized


def normalise_gender(raw: str | None) -> str:
    key = (raw or "").strip().lower()
    if key not in GENDER_ALIASES:
        raise ValueError(f"unknown gender {raw!r}; use female, male or unknown")
    return GENDER_ALIASES[key]


def normalise_channel(raw: str) -> str:
    key = raw.strip().lower()
    if key not in CHANNEL_ALIASES:
        raise ValueError(f"unknown channel {raw!r}; use one of {', '.join(CHANNELS)}")
    return CHANNEL_ALIASES[key]


def normalise_tag(raw: str) -> str:
    tag = raw.strip()
    if not tag or len(tag) > 32 or not TAG_RE.match(tag):
        raise ValueError(f"invalid tag {raw!r}: 1–32 characters, no commas, semicolons or '|'")
    return tag


def normalise_tags(raw: list[str]) -> list[str]:
    tags = sorted({normalise_tag(t) for t in raw})
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per member")
    return tags


def check_birthday(birthday: date, today: date) -> None:
    if birthday > today:
        raise ValueError("birthday is in the future")
    if birthday < OLDEST_BIRTHDAY:
        raise ValueError(f"birthday before {OLDEST_BIRTHDAY.isoformat()}")


def would_create_cycle(member_id: int, referrer_id: int,
                       referrer_of: Callable[[int], int | None], max_depth: int = 10_000) -> bool:
    """True when making `referrer_id` refer `member_id` closes a loop in the referral chain."""
    current: int | None = referrer_id
    for _ in range(max_depth):
        if current is None:
            return False
        if current == member_id:
            return True
        current = referrer_of(current)
    return True  # a chain this long is itself a defect; refuse rather than loop


STATUS_TRANSITIONS = {
    "active": {"frozen", "closed"},
    "frozen": {"active", "closed"},
    "closed": set(),  # closing ends the membership; a new one is a new registration
}


def check_status_change(current: str, new: str) -> None:
    if new not in STATUSES:
        raise ValueError(f"unknown status {new!r}; use one of {', '.join(STATUSES)}")
    if new == current:
        raise ValueError(f"member is already {current}")
    if new not in STATUS_TRANSITIONS[current]:
        raise ValueError(f"a {current} member cannot become {new}")
