"""CSV cells a spreadsheet shows but never runs (CSV injection), and back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops import cells


@pytest.mark.parametrize("text", ["=1+2", '=HYPERLINK("http://x")', "@SUM(A1)", "+A1",
                                  "-2+3*cmd|' /C calc'!A0", "\t=1", "\r=1", "+ 1 =A1"])
def test_what_a_spreadsheet_would_run_is_escaped(text: str) -> None:
    assert cells.safe(text) == "'" + text


@pytest.mark.parametrize("text", ["王小明", "Alice", "+8613812345678", "-5", "-1,234.50",
                                  "+86 138 1234 5678", "", "a=b", "'quoted", "2026-01-01"])
def test_plain_values_are_left_alone(text: str) -> None:
    assert cells.safe(text) == text


@given(st.text())
def test_plain_undoes_safe(text: str) -> None:
    assert cells.plain(cells.safe(text)) == text
