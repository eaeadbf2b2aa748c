"""Pure ledger rules: what a valid posting is, who may go negative, and input hashing."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

ADDRESS_RE = re.compile(r"^[a-z][a-z0-9_]*(:[a-z0-9_\-]+){1,6}$")
ASSET_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
MAX_AMOUNT = 10**15  # a quadrillion minor units: beyond any real balance, inside BIGINT


@dataclass(frozen=True, order=True)
class Posting:
    """Move `amount` (> 0, an integer of minor units or points) of `asset` from source to
    destination."""

    source: str
    destination: str
    asset: str
    amount: int


def is_system(address: str) -> bool:
    """Only system accounts (the world outside the programme) may go below zero."""
    return address.startswith("system:")


def check_postings(postings: list[Posting]) -> None:
    """Raise ValueError with the first defect; an entry needs at least one posting."""
    if not postings:
        raise ValueError("an entry needs at least one posting")
    for p in postings:
        if isinstance(p.amount, bool) or not isinstance(p.amount, int):
            raise ValueError(f"amount must be an integer, got {p.amount!r}")
        if not 0 < p.amount <= MAX_AMOUNT:
            raise ValueError(f"amount must be between 1 and {MAX_AMOUNT}, got {p.amount}")
        for address in (p.source, p.destination):
            if not ADDRESS_RE.match(address):
                raise ValueError(f"invalid account address {address!r}")
        if p.source == p.destination:
            raise ValueError(f"posting from {p.source} to itself")
        if not ASSET_RE.match(p.asset):
            raise ValueError(f"invalid asset {p.asset!r}")


def deltas(postings: list[Posting]) -> dict[tuple[str, str], int]:
    """The net change per (account, asset); accounts that net to zero are kept."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for p in postings:
        net[(p.source, p.asset)] -= p.amount
        net[(p.destination, p.asset)] += p.amount
    return dict(net)


def input_hash(kind: str, postings: list[Posting], details: dict[str, Any]) -> str:
    """What the entry asks for, so a retry can be told from a different request."""
    material = json.dumps({"kind": kind, "postings": [
        [p.source, p.destination, p.asset, p.amount] for p in postings],
        "details": details}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(material.encode()).hexdigest()


def reversal_of(postings: list[Posting]) -> list[Posting]:
    return [Posting(p.destination, p.source, p.asset, p.amount) for p in postings]
