"""Pure coupon rules: validity windows (time zone edges), whether a coupon applies, the
discount it gives (rounding, caps, stacking), the terms an operator may configure, and the
codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.coupons import codes, rules
from memberops.coupons.rules import Candidate, OrderContext, Terms

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SH)
MEMBER = 7
YUAN = 100

WELCOME = Terms("first_order", amount_off=20 * YUAN, min_spend=100 * YUAN)
SPEND200 = Terms("amount_off", amount_off=30 * YUAN, min_spend=200 * YUAN)
NINE_TENTHS = Terms("percent_off", percent_off=10, max_discount=50 * YUAN)
BIRTHDAY = Terms("amount_off", amount_off=50 * YUAN, min_spend=150 * YUAN,
                 eligible_tiers=("silver", "gold", "diamond"))


def coupon(terms: Terms, code: str = "AAAA", *, member_id: int = MEMBER, status: str = "issued",
           valid_from: datetime = NOW - timedelta(days=1),
           valid_until: datetime = NOW + timedelta(days=1), n: int = 1) -> Candidate:
    return Candidate(code=code, coupon_id=n, template_id=n, member_id=member_id, status=status,
                     valid_from=valid_from, valid_until=valid_until, terms=terms,
                     order_ref="o-1" if status == "used" else None)


def evaluate(*candidates: Candidate, amount: int = 300 * YUAN, tier: str = "regular",
             shipping: int = 0, prior: bool = False, now: datetime = NOW,
             codes_: tuple[str, ...] | None = None) -> rules.Evaluation:
    found = {c.code: c for c in candidates}
    return rules.evaluate(list(codes_ or found), found, MEMBER, tier,
                          OrderContext(amount, shipping, prior), now)


def reasons(result: rules.Evaluation) -> list[str]:
    return [r.reason for r in result.refused]


# --- the reference templates ----------------------------------------------------------

def test_welcome_is_20_off_a_first_order_of_100_or_more() -> None:
    assert evaluate(coupon(WELCOME), amount=100 * YUAN).discount == 20 * YUAN
    assert reasons(evaluate(coupon(WELCOME), amount=99_99)) == [rules.THRESHOLD_NOT_MET]
    assert reasons(evaluate(coupon(WELCOME), prior=True)) == [rules.FIRST_ORDER_ONLY]


def test_spend_200_get_30_off() -> None:
    assert evaluate(coupon(SPEND200), amount=200 * YUAN).discount == 30 * YUAN
    assert evaluate(coupon(SPEND200), amount=1_000 * YUAN).discount == 30 * YUAN
    assert reasons(evaluate(coupon(SPEND200), amount=199_99)) == [rules.THRESHOLD_NOT_MET]


def test_ten_percent_off_rounds_down_and_is_capped_at_50() -> None:
    assert evaluate(coupon(NINE_TENTHS), amount=19_99).discount == 1_99  # 199.9 fen → 199
    assert evaluate(coupon(NINE_TENTHS), amount=300 * YUAN).discount == 30 * YUAN
    assert evaluate(coupon(NINE_TENTHS), amount=500 * YUAN).discount == 50 * YUAN
    assert evaluate(coupon(NINE_TENTHS), amount=2_000 * YUAN).discount == 50 * YUAN
    assert evaluate(coupon(NINE_TENTHS), amount=0).discount == 0


def test_birthday_needs_silver_or_above_and_150() -> None:
    assert evaluate(coupon(BIRTHDAY), tier="silver", amount=150 * YUAN).discount == 50 * YUAN
    assert reasons(evaluate(coupon(BIRTHDAY), tier="regular")) == [rules.TIER_INELIGIBLE]
    assert reasons(evaluate(coupon(BIRTHDAY), tier="gold", amount=149_99)) == [
        rules.THRESHOLD_NOT_MET]


def test_free_shipping_takes_the_fee_up_to_its_cap_and_needs_a_fee() -> None:
    free = Terms("free_shipping", max_discount=10 * YUAN)
    result = evaluate(coupon(free), shipping=8 * YUAN)
    assert (result.discount, result.shipping_discount) == (0, 8 * YUAN)
    assert evaluate(coupon(free), shipping=15 * YUAN).shipping_discount == 10 * YUAN
    assert evaluate(coupon(Terms("free_shipping")), shipping=15 * YUAN).shipping_discount \
        == 15 * YUAN
    assert reasons(evaluate(coupon(free), shipping=0)) == [rules.NO_SHIPPING_FEE]


def test_a_gift_coupon_gives_its_sku_and_no_discount() -> None:
    result = evaluate(coupon(Terms("gift_item", gift_sku="mug", min_spend=50 * YUAN)))
    assert [(a.target, a.gift_sku, a.discount) for a in result.applied] == [("gift", "mug", 0)]


def test_a_discount_never_exceeds_the_amount() -> None:
    no_threshold = Terms("amount_off", amount_off=30 * YUAN)
    assert evaluate(coupon(no_threshold), amount=12 * YUAN).discount == 12 * YUAN


# --- why a coupon does not apply ------------------------------------------------------

def test_each_reason_in_the_order_a_person_would_check() -> None:
    assert reasons(evaluate(coupon(SPEND200, member_id=8))) == [rules.NOT_OWNED]
    assert reasons(evaluate(coupon(SPEND200, status="used"))) == [rules.USED]
    assert reasons(evaluate(coupon(SPEND200, status="expired"))) == [rules.EXPIRED]
    assert reasons(evaluate(coupon(SPEND200, valid_until=NOW))) == [rules.EXPIRED]
    assert reasons(evaluate(coupon(SPEND200, valid_from=NOW + timedelta(seconds=1)))) == [
        rules.NOT_YET_VALID]
    assert reasons(evaluate(coupon(SPEND200, valid_from=NOW))) == []  # from is inclusive
    assert reasons(evaluate(codes_=("NOPE",))) == [rules.NOT_FOUND]
    refused = evaluate(coupon(SPEND200, status="used")).refused[0]
    assert "o-1" in refused.detail and refused.code == "AAAA"


# --- stacking -------------------------------------------------------------------------

def test_one_coupon_per_order_unless_every_one_stacks() -> None:
    a, b = coupon(SPEND200, "AAAA", n=1), coupon(NINE_TENTHS, "BBBB", n=2)
    result = evaluate(a, b)
    assert reasons(result) == [rules.NOT_STACKABLE, rules.NOT_STACKABLE]
    assert result.applied == []
    stacking = Terms("percent_off", percent_off=10, max_discount=50 * YUAN, stackable=True)
    half = evaluate(a, coupon(stacking, "BBBB", n=2))
    assert [(r.code, r.reason) for r in half.refused] == [("AAAA", rules.NOT_STACKABLE)]
    assert reasons(evaluate(coupon(SPEND200, "AAAA"), codes_=("AAAA", "NOPE"))) == [
        rules.NOT_STACKABLE, rules.NOT_FOUND]


def test_stacked_coupons_apply_amount_off_first_then_percentages_on_what_is_left() -> None:
    off = Terms("amount_off", amount_off=30 * YUAN, min_spend=200 * YUAN, stackable=True)
    pct = Terms("percent_off", percent_off=10, stackable=True)
    ship = Terms("free_shipping", stackable=True)
    result = evaluate(coupon(pct, "PPPP", n=1), coupon(ship, "SSSS", n=2),
                      coupon(off, "OOOO", n=3), amount=300 * YUAN, shipping=6 * YUAN)
    # given order kept in the answer; 300 - 30 = 270, 10% of 270 = 27
    assert [(a.code, a.discount) for a in result.applied] == [
        ("PPPP", 27 * YUAN), ("SSSS", 6 * YUAN), ("OOOO", 30 * YUAN)]
    assert (result.discount, result.shipping_discount) == (57 * YUAN, 6 * YUAN)
    # thresholds are checked on the order amount, before any coupon
    big = Terms("amount_off", amount_off=250 * YUAN, stackable=True)
    two = evaluate(coupon(big, "BIGG", n=1), coupon(off, "OOOO", n=2), amount=260 * YUAN)
    assert two.discount == 260 * YUAN and [a.discount for a in two.applied] == [
        250 * YUAN, 10 * YUAN]


@given(amount=st.integers(0, 10**9), shipping=st.integers(0, 10**6),
       kinds=st.lists(st.sampled_from([
           Terms("amount_off", amount_off=3000, stackable=True),
           Terms("amount_off", amount_off=10**8, stackable=True),
           Terms("percent_off", percent_off=99, stackable=True),
           Terms("percent_off", percent_off=7, max_discount=500, stackable=True),
           Terms("free_shipping", max_discount=1000, stackable=True),
           Terms("gift_item", gift_sku="x", stackable=True)]), min_size=1, max_size=5))
def test_stacked_discounts_never_exceed_what_they_apply_to(amount: int, shipping: int,
                                                          kinds: list[Terms]) -> None:
    cands = [coupon(t, f"C{n:03d}", n=n) for n, t in enumerate(kinds)]
    result = evaluate(*cands, amount=amount, shipping=max(shipping, 1))
    assert result.ok
    assert 0 <= result.discount <= amount
    assert 0 <= result.shipping_discount <= max(shipping, 1) * len(kinds)
    assert all(a.discount >= 0 for a in result.applied)


# --- validity windows -----------------------------------------------------------------

def test_days_run_through_the_nth_day_after_the_issue_day() -> None:
    late = datetime(2026, 6, 15, 23, 59, tzinfo=SH)
    start, end = rules.window("days", late, SH, valid_days=14)
    assert start == late
    assert end == datetime(2026, 6, 30, 0, 0, tzinfo=SH)  # usable through 29 June


def test_days_count_in_the_programme_time_zone_not_utc() -> None:
    # 16:30 UTC on 14 June is already 00:30 on 15 June in Shanghai.
    issued = datetime(2026, 6, 14, 16, 30, tzinfo=UTC)
    _, end = rules.window("days", issued, SH, valid_days=1)
    assert end == datetime(2026, 6, 17, 0, 0, tzinfo=SH)


def test_fixed_window_is_whole_local_days() -> None:
    start, end = rules.window("fixed", NOW, SH, starts_on=date(2026, 7, 1),
                              ends_on=date(2026, 7, 31))
    assert (start, end) == (datetime(2026, 7, 1, tzinfo=SH), datetime(2026, 8, 1, tzinfo=SH))
    start, _ = rules.window("fixed", NOW, SH, ends_on=date(2026, 7, 31))
    assert start == NOW  # no first day: from the issue


@pytest.mark.parametrize(("birthday", "issued", "month"), [
    (date(1990, 6, 3), date(2026, 6, 15), (2026, 6)),   # in the month: this one
    (date(1990, 8, 3), date(2026, 6, 15), (2026, 8)),   # later this year
    (date(1990, 2, 28), date(2026, 6, 15), (2027, 2)),  # passed: next year
    (date(1992, 2, 29), date(2026, 2, 1), (2026, 2)),   # leap day in a common year
    (date(1990, 12, 25), date(2026, 12, 31), (2026, 12)),
])
def test_birthday_month_window(birthday: date, issued: date, month: tuple[int, int]) -> None:
    start, end = rules.window("birthday_month", datetime.combine(issued, datetime.min.time(),
                                                                 tzinfo=SH), SH,
                              birthday=birthday)
    assert start == datetime(*month, 1, tzinfo=SH)
    assert end == datetime(month[0] + month[1] // 12, month[1] % 12 + 1, 1, tzinfo=SH)


def test_birthday_month_edges_are_shanghai_midnights() -> None:
    # 31 May 16:00 UTC is 1 June 00:00 in Shanghai: the June window has begun.
    start, end = rules.window("birthday_month", datetime(2026, 5, 31, 16, 0, tzinfo=UTC), SH,
                              birthday=date(1990, 6, 9))
    assert start == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    june = coupon(SPEND200, valid_from=start, valid_until=end)
    last_moment = datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC)
    assert reasons(evaluate(june, now=last_moment)) == []
    assert reasons(evaluate(june, now=end)) == [rules.EXPIRED]
    assert reasons(evaluate(june, now=start - timedelta(seconds=1))) == [rules.NOT_YET_VALID]


def test_window_refuses_what_it_cannot_compute() -> None:
    for kwargs in ({"validity": "fixed"}, {"validity": "days"},
                   {"validity": "birthday_month"}, {"validity": "weekly"}):
        with pytest.raises(ValueError):
            rules.window(kwargs["validity"], NOW, SH)


# --- terms and order context ----------------------------------------------------------

@pytest.mark.parametrize(("terms", "field"), [
    (Terms("amount_off"), "amount_off"),
    (Terms("percent_off"), "percent_off"),
    (Terms("gift_item"), "gift_sku"),
    (Terms("amount_off", amount_off=300, min_spend=200), "amount_off"),  # above threshold
    (Terms("amount_off", amount_off=100, percent_off=5), "percent_off"),
    (Terms("free_shipping", amount_off=100), "amount_off"),
    (Terms("voucher"), "kind"),
])
def test_unusable_terms_are_named(terms: Terms, field: str) -> None:
    assert field in [f for f, _ in rules.terms_problems(terms)]


def test_sound_terms_have_no_problems() -> None:
    for terms in (WELCOME, SPEND200, NINE_TENTHS, BIRTHDAY, Terms("free_shipping"),
                  Terms("amount_off", amount_off=1_000)):
        assert rules.terms_problems(terms) == []
    assert SPEND200.describe() == "¥30 off on orders of ¥200 or more"
    assert NINE_TENTHS.describe() == "10% off, at most ¥50"
    assert WELCOME.describe() == "¥20 off on orders of ¥100 or more, first order only"


@pytest.mark.parametrize("bad", [{"amount": -1}, {"amount": 1.5}, {"amount": "100"},
                                 {"amount": True}, {"amount": 1, "shipping_fee": -5},
                                 {"amount": rules.MAX_FEN + 1},
                                 {"amount": 1, "has_prior_paid_order": "no"}])
def test_order_context_refuses_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        OrderContext(**bad)


# --- codes ----------------------------------------------------------------------------

def test_codes_are_random_unambiguous_and_forgiving_to_type() -> None:
    made = {codes.new_code() for _ in range(20_000)}
    assert len(made) == 20_000
    assert all(codes.CODE_RE.match(c) for c in made)
    assert not set("".join(made)) & set("01OIL")
    # every letter of the alphabet turns up, roughly evenly (no modulo bias of note)
    counts = {ch: "".join(made).count(ch) for ch in codes.ALPHABET}
    expected = 20_000 * codes.LENGTH / len(codes.ALPHABET)
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())
    code = next(iter(made))
    assert codes.normalise(codes.display(code).lower()) == code
    assert codes.normalise(f" {code[:6]} {code[6:]} ") == code
    for bad in ("", "ABC", code + "A", code[:11] + "0", "AAAA-BBBB-CCCI"):
        with pytest.raises(ValueError):
            codes.normalise(bad)
