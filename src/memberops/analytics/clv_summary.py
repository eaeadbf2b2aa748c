"""From a transaction table to the per-customer RFM summary the CLV models are fitted on.

A transaction file has one row per purchase: a customer, a date and an amount. It is read
column by column into NumPy arrays (customers as integer codes, dates as `datetime64[D]`),
and everything after that is vectorised: sorting, merging same-day purchases, and the
per-customer reductions.

The summary of the calibration period, as in Fader, Hardie & Lee (2005):

- `frequency` (x): repeat purchases, i.e. distinct purchase days after the first one
  (purchases on the same day count as one transaction, their amounts added up);
- `recency` (t_x): time from the first purchase to the last one;
- `T`: time from the first purchase to the end of the calibration period;
- `monetary`: the mean value of the repeat transactions (0 without any), the first
  purchase left out as the Gamma-Gamma model requires.

Times are in the chosen unit (weeks of 7 days, or days). Customers whose first purchase
falls after the calibration end are not in the summary: the models know nothing of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from memberops.errors import ValidationFailed

TimeUnit = Literal["weeks", "days"]
DAYS_PER_UNIT: dict[str, int] = {"weeks": 7, "days": 1}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Transactions:
    """A transaction table as columns: `customer[i]` indexes `customer_ids`."""

    customer_ids: npt.NDArray[np.str_]
    customer: IntArray
    day: npt.NDArray[np.datetime64]
    amount: FloatArray

    def __len__(self) -> int:
        return int(self.customer.size)


@dataclass(frozen=True, eq=False)
class RfmSummary:
    """Per customer of the calibration period, sorted by customer id."""

    customer_ids: npt.NDArray[np.str_]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray
    time_unit: TimeUnit

    def __len__(self) -> int:
        return int(self.frequency.size)


def _bad(detail: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(detail, code=code)


def read_transactions(path: Path, *, customer_col: str, date_col: str,
                      amount_col: str) -> Transactions:
    """Read a CSV of purchases (UTF-8, a header row, ISO dates) into columns."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise _bad(f"{path.name} is empty: expected a header row and purchases",
                           "empty_file")
            where = _columns(header, (customer_col, date_col, amount_col), path.name)
            width = max(where) + 1
            rows = [row for row in reader if row]
    except UnicodeDecodeError as exc:
        raise _bad(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                   "bad_encoding") from None
    except OSError as exc:
        raise _bad(f"cannot read {path}: {exc.strerror}", "unreadable_file") from None
    if not rows:
        raise _bad(f"{path.name} has a header but no purchases", "empty_file")
    short = next((i for i, row in enumerate(rows) if len(row) < width), None)
    if short is not None:
        raise _bad(f"line {short + 2}: {len(rows[short])} fields, expected at least {width}",
                   "bad_row")
    customers = [row[where[0]].strip() for row in rows]
    dates = [row[where[1]].strip() for row in rows]
    amounts = [row[where[2]].strip() for row in rows]
    return transactions_from_columns(customers, dates, amounts, first_line=2)


def _columns(header: list[str], wanted: tuple[str, ...], name: str) -> list[int]:
    names = [h.strip() for h in header]
    missing = [w for w in wanted if w not in names]
    if missing:
        raise _bad(f"{name} has no column {', '.join(map(repr, missing))} "
                   f"(columns: {', '.join(names)})", "missing_column")
    return [names.index(w) for w in wanted]


def transactions_from_columns(customers: list[str], dates: list[str], amounts: list[str],
                              *, first_line: int = 1) -> Transactions:
    """Validate and convert string columns; errors name the line (`first_line` is row 0's)."""
    if not customers:
        raise _bad("no purchases", "empty_file")
    blank = next((i for i, c in enumerate(customers) if not c), None)
    if blank is not None:
        raise _bad(f"line {blank + first_line}: the customer is empty", "bad_customer")
    day = _parse_days(dates, first_line)
    amount = _parse_amounts(amounts, first_line)
    ids, codes = np.unique(np.asarray(customers), return_inverse=True)
    return Transactions(customer_ids=ids, customer=codes.astype(np.int64).ravel(), day=day,
                        amount=amount)


def _parse_days(dates: list[str], first_line: int) -> npt.NDArray[np.datetime64]:
    # A date-time keeps its date. Only YYYY-MM-DD is accepted: NumPy would read 19970101
    # as the year 19,970,101 rather than refuse it.
    text = np.asarray([d[:10] if len(d) > 10 and d[10] in " T" else d for d in dates])
    ok = np.char.str_len(text) == 10
    if ok.all():
        try:
            return text.astype("datetime64[D]")
        except ValueError:
            pass
    for i, d in enumerate(text):
        try:
            if len(d) != 10:
                raise ValueError
            np.datetime64(d, "D")
        except ValueError:
            raise _bad(f"line {i + first_line}: date {str(dates[i])!r} is not YYYY-MM-DD",
                       "bad_date") from None
    raise AssertionError("unreachable: every date parsed one by one")  # pragma: no cover


def _parse_amounts(amounts: list[str], first_line: int) -> FloatArray:
    try:
        values = np.asarray(amounts).astype(np.float64)
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        for i, a in enumerate(amounts):
            try:
                ok = np.isfinite(float(a))
            except ValueError:
                ok = False
            if not ok:
                raise _bad(f"line {i + first_line}: amount {a!r} is not a number",
                           "bad_amount") from None
    assert values is not None
    negative = np.flatnonzero(values < 0)
    if negative.size:
        i = int(negative[0])
        raise _bad(f"line {i + first_line}: amount {amounts[i]!r} is negative (refunds and "
                   "returns belong netted into their purchase)", "negative_amount")
    return values


def _day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _calibration_rows(tx: Transactions, calibration_end: date) -> npt.NDArray[np.bool_]:
    keep = tx.day.astype(np.int64) <= _day_number(calibration_end)
    if not keep.any():
        first = np.datetime_as_string(tx.day.min(), unit="D")
        raise _bad(f"calibration end {calibration_end.isoformat()} is before every first "
                   f"purchase (the first is on {first})", "calibration_before_first_purchase")
    return keep


def _merge_days(customer: IntArray, day: IntArray,
                amount: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """One row per customer and day, sorted by customer then day, amounts added up."""
    order = np.lexsort((day, customer))
    c, d, a = customer[order], day[order], amount[order]
    new = np.ones(c.size, dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(new)
    return c[starts], d[starts], np.add.reduceat(a, starts)


def summarise(tx: Transactions, *, calibration_end: date,
              time_unit: TimeUnit = "weeks") -> RfmSummary:
    """The RFM summary of the purchases up to and including `calibration_end`."""
    if time_unit not in DAYS_PER_UNIT:
        raise _bad(f"time unit {time_unit!r}: expected weeks or days", "bad_time_unit")
    keep = _calibration_rows(tx, calibration_end)
    c, d, a = _merge_days(tx.customer[keep], tx.day[keep].astype(np.int64), tx.amount[keep])
    first_row = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    last_row = np.r_[first_row[1:] - 1, c.size - 1]
    frequency = (last_row - first_row).astype(np.int64)
    repeat_amount = a.copy()
    repeat_amount[first_row] = 0.0
    repeat_total = np.add.reduceat(repeat_amount, first_row)
    monetary = np.where(frequency > 0, repeat_total / np.maximum(frequency, 1), 0.0)
    unit = float(DAYS_PER_UNIT[time_unit])
    first_day = d[first_row]
    return RfmSummary(
        customer_ids=tx.customer_ids[c[first_row]], frequency=frequency,
        recency=(d[last_row] - first_day) / unit,
        T=(_day_number(calibration_end) - first_day) / unit,
        monetary=monetary, time_unit=time_unit)


def holdout_purchases(tx: Transactions, *, calibration_end: date,
                      holdout_end: date) -> IntArray:
    """Transactions (distinct purchase days) in (calibration_end, holdout_end] per customer
    of the calibration summary, in the summary's order."""
    if holdout_end <= calibration_end:
        raise _bad(f"holdout end {holdout_end.isoformat()} is not after the calibration end "
                   f"{calibration_end.isoformat()}", "bad_holdout")
    in_calibration = np.unique(tx.customer[_calibration_rows(tx, calibration_end)])
    day = tx.day.astype(np.int64)
    inside = (day > _day_number(calibration_end)) & (day <= _day_number(holdout_end))
    c, _, _ = _merge_days(tx.customer[inside], day[inside], tx.amount[inside])
    counts = np.bincount(c, minlength=tx.customer_ids.size)
    return counts[in_calibration].astype(np.int64)
