"""Pure member rules: phone and email normalisation, tags, birthdays, cycles, statuses."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.members import rules


@pytest.mark.parametrize(("raw", "e164"), [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    ("008613812345678", "+8613812345678"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("+44 7911 123456", "+447911123456"),
])
def test_phones_normalise_to_e164(raw: str, e164: str) -> None:
    assert rules.normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "1381234567", "138123456789", "abc",
                                 "+86 10 6552 9988", "23812345678"])
def test_invalid_or_landline_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        rules.normalise_phone(raw)


@given(st.integers(min_value=0, max_value=99_999_999))
def test_every_13x_mobile_normalises_and_is_stable(suffix: int) -> None:
    raw = f"139{suffix:08d}"
    once = rules.normalise_phone(raw)
    assert once == "+86" + raw
    assert rules.normalise_phone(once) == once


def test_email_domain_is_lowercased_and_bad_addresses_refused() -> None:
    assert rules.normalise_email(" Ann@Example.COM ") == "Ann@example.com"
    for bad in ("ann", "ann@", "@x.com", "a b@x.com"):
        with pytest.raises(ValueError):
            rules.normalise_email(bad)


def test_gender_and_channel_aliases() -> None:
    assert rules.normalise_gender("女") == "female" and rules.normalise_gender("M") == "male"
    assert rules.normalise_gender(None) == "unknown"
    assert rules.normalise_channel("小程序") == "mini_program"
    with pytest.raises(ValueError):
        rules.normalise_channel("fax")


def test_tags() -> None:
    assert rules.normalise_tags([" vip ", "vip", "咖啡爱好者"]) == ["vip", "咖啡爱好者"]
    for bad in ("", "a,b", "a|b", "x" * 33):
        with pytest.raises(ValueError):
            rules.normalise_tag(bad)
    with pytest.raises(ValueError):
        rules.normalise_tags([f"t{i}" for i in range(51)])


def test_birthdays() -> None:
    rules.check_birthday(date(2000, 2, 29), date(2026, 1, 1))
    with pytest.raises(ValueError, match="future"):
        rules.check_birthday(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError):
        rules.check_birthday(date(1899, 12, 31), date(2026, 1, 1))


def test_referral_cycles() -> None:
    chain = {2: 1, 3: 2, 1: None}
    assert rules.would_create_cycle(1, 3, chain.get)       # 1 ← 3 ← 2 ← 1
    assert not rules.would_create_cycle(4, 3, chain.get)
    assert rules.would_create_cycle(5, 5, chain.get)


def test_status_transitions() -> None:
    rules.check_status_change("active", "frozen")
    rules.check_status_change("frozen", "active")
    for current, new in (("active", "active"), ("closed", "active"), ("active", "gone")):
        with pytest.raises(ValueError):
            rules.check_status_change(current, new)
