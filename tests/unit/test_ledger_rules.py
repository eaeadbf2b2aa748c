"""Pure ledger rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.ledger import rules
from memberops.ledger.rules import Posting

ACCOUNTS = ["system:cash", "member:1:wallet:principal", "member:2:wallet:principal",
            "member:1:points"]


@pytest.mark.parametrize(("posting", "why"), [
    (Posting("member:1:points", "member:2:points", "POINTS", 0), "between 1"),
    (Posting("member:1:points", "member:2:points", "POINTS", -5), "between 1"),
    (Posting("member:1:points", "member:2:points", "POINTS", 10**16), "between 1"),
    (Posting("member:1:points", "member:2:points", "POINTS", 1.5), "integer"),  # type: ignore[arg-type]
    (Posting("member:1:points", "member:2:points", "POINTS", True), "integer"),
    (Posting("member:1:points", "member:1:points", "POINTS", 5), "itself"),
    (Posting("Member 1", "member:2:points", "POINTS", 5), "address"),
    (Posting("member:1:points", "member:2:points", "points", 5), "asset"),
])
def test_invalid_postings_are_refused(posting: Posting, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        rules.check_postings([posting])


def test_empty_entry_refused() -> None:
    with pytest.raises(ValueError):
        rules.check_postings([])


postings = st.lists(st.builds(
    lambda s, d, amount: Posting(s, d, "CNY", amount),
    st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 10**9),
).filter(lambda p: p.source != p.destination), min_size=1, max_size=8)


@given(postings)
def test_deltas_always_sum_to_zero(ps: list[Posting]) -> None:
    assert sum(rules.deltas(ps).values()) == 0


@given(postings)
def test_reversal_cancels_every_delta(ps: list[Posting]) -> None:
    combined = rules.deltas(ps + rules.reversal_of(ps))
    assert all(v == 0 for v in combined.values())


def test_only_system_accounts_may_go_negative() -> None:
    assert rules.is_system("system:points:issued")
    assert not rules.is_system("member:1:points") and not rules.is_system("hold:3")


def test_input_hash_distinguishes_inputs() -> None:
    a = [Posting("system:cash", "member:1:wallet:principal", "CNY", 100)]
    b = [Posting("system:cash", "member:1:wallet:principal", "CNY", 101)]
    assert rules.input_hash("x", a, {}) == rules.input_hash("x", list(a), {})
    assert rules.input_hash("x", a, {}) != rules.input_hash("x", b, {})
    assert rules.input_hash("x", a, {}) != rules.input_hash("y", a, {})
