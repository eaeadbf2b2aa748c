"""Value is integers (DESIGN rule 3): money in minor units (fen), Decimal only at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

MINOR_UNITS = 100  # fen per yuan; CNY is the programme currency


@dataclass(frozen=True, order=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount) / MINOR_UNITS

    def format(self) -> str:
        """Render as the console shows it: ¥1,234.56."""
        symbol = "¥" if self.currency == "CNY" else f"{self.currency} "
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{symbol}{abs(self.to_decimal()):,.2f}"


def yuan_to_fen(value: str | int | Decimal) -> int:
    """Parse a yuan amount (at most two decimals) into fen; anything else is refused."""
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not dec.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    fen = dec * MINOR_UNITS
    if fen != fen.to_integral_value():
        raise ValueError(f"more than two decimals: {value!r}")
    return int(fen)


def share(amount: int, numerator: int, denominator: int) -> int:
    """amount × numerator / denominator rounded down, in integers (no float on value)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return int((Decimal(amount) * numerator / denominator).to_integral_value(ROUND_DOWN))
