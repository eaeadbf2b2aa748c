"""Coupon codes: random, unguessable, and easy to read aloud or type at a till.

12 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L) give 59 bits
from `secrets`: guessing a live code is hopeless, and a collision between two issued codes
is about 1 in 8·10^17 per pair — the unique index on `coupons.code` settles the
rest (the service draws again). Input is forgiving: case, spaces and dashes are ignored.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 letters: no 0 O 1 I L
LENGTH = 12
CODE_RE = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-_]")


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(raw: str) -> str:
    """The stored form of a typed code: upper case, spaces and dashes dropped.

    Raises ValueError when the result cannot be a code (so nothing is looked up)."""
    text = _SEPARATORS.sub("", raw or "").upper()
    if not CODE_RE.match(text):
        raise ValueError(f"not a coupon code: {raw!r} ({LENGTH} letters and digits)")
    return text


def display(code: str) -> str:
    """Grouped by four for printing: ABCD-EFGH-JKMN."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))
