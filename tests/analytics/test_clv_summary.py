"""From a transaction file to the RFM summary: worked by hand, and every refusal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from memberops.analytics.clv_summary import holdout_purchases, read_transactions, summarise
from memberops.errors import ValidationFailed

# A buys twice on 1 January (one transaction of 15.00), then on 15 and 29 January, and once
# more in the holdout; B buys once; C first buys after the calibration end.
PURCHASES = """member,day,paid,note
A,2024-01-01,10.00,x
A,2024-01-01,5.00,same day
A,2024-01-15,20.00,
A,2024-01-29 18:30:00,30.00,a date-time keeps its date
B,2024-01-08,7.00,
A,2024-03-01,99.00,holdout
C,2024-02-20,12.00,after the calibration end
"""
CALIBRATION_END = date(2024, 2, 1)


def write(tmp_path: Path, text: str, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path):
    return read_transactions(path, customer_col="member", date_col="day", amount_col="paid")


def test_a_summary_worked_by_hand(tmp_path: Path) -> None:
    tx = read(write(tmp_path, PURCHASES))
    weeks = summarise(tx, calibration_end=CALIBRATION_END, time_unit="weeks")
    # C, new after the calibration end, is not in it
    assert weeks.customer_ids.tolist() == ["A", "B"]
    # A: the same-day pair is one transaction, then two repeat purchases; 28 days from the
    # first to the last, 31 to the calibration end; repeat spend (20 + 30) / 2
    assert weeks.frequency.tolist() == [2, 0]
    assert weeks.recency.tolist() == pytest.approx([4.0, 0.0])
    assert weeks.T.tolist() == pytest.approx([31 / 7, 24 / 7])
    assert weeks.monetary.tolist() == pytest.approx([25.0, 0.0])
    days = summarise(tx, calibration_end=CALIBRATION_END, time_unit="days")
    assert days.recency.tolist() == [28.0, 0.0] and days.T.tolist() == [31.0, 24.0]
    holdout = holdout_purchases(tx, calibration_end=CALIBRATION_END,
                                holdout_end=date(2024, 3, 31))
    assert holdout.tolist() == [1, 0]


def test_a_bom_and_spaces_around_names_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff member , day ,paid\nA,2024-01-01,1\n".encode())
    assert len(read(path)) == 1


@pytest.mark.parametrize(("text", "code", "says"), [
    ("", "empty_file", "is empty"),
    ("member,day,paid\n", "empty_file", "no purchases"),
    ("member,date,paid\nA,2024-01-01,1\n", "missing_column", "no column 'day'"),
    ("member,day,paid\nA,2024-01-01,1\nB,2024-01-02\n", "bad_row", "line 3"),
    ("member,day,paid\nA,2024-01-01,1\nB,01/02/2024,1\n", "bad_date", "line 3"),
    ("member,day,paid\nA,20240101,1\n", "bad_date", "not YYYY-MM-DD"),
    ("member,day,paid\nA,2024-02-30,1\n", "bad_date", "line 2"),
    ("member,day,paid\nA,2024-01-01,ten\n", "bad_amount", "'ten' is not a number"),
    ("member,day,paid\nA,2024-01-01,nan\n", "bad_amount", "not a number"),
    ("member,day,paid\nA,2024-01-01,1\nA,2024-01-02,-3\n", "negative_amount", "line 3"),
    ("member,day,paid\n,2024-01-01,1\n", "bad_customer", "customer is empty"),
])
def test_bad_files_are_refused_with_the_line_at_fault(tmp_path: Path, text: str, code: str,
                                                      says: str) -> None:
    with pytest.raises(ValidationFailed, match=says) as refused:
        read(write(tmp_path, text))
    assert refused.value.code == code


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("member,day,paid\n会员,2024-01-01,1\n".encode("gbk"))
    with pytest.raises(ValidationFailed) as refused:
        read(path)
    assert refused.value.code == "bad_encoding"


def test_a_calibration_end_before_every_first_purchase_is_refused(tmp_path: Path) -> None:
    tx = read(write(tmp_path, PURCHASES))
    with pytest.raises(ValidationFailed, match="before every first purchase") as refused:
        summarise(tx, calibration_end=date(2023, 12, 31))
    assert refused.value.code == "calibration_before_first_purchase"
    with pytest.raises(ValidationFailed, match="not after the calibration end"):
        holdout_purchases(tx, calibration_end=CALIBRATION_END, holdout_end=CALIBRATION_END)
