"""Tier use cases (会员等级); import them from here.

Other flows call, inside their own unit of work: `record_spend` and `record_refund` (the
orders flow), `record_recharge` and `record_cash_out` (the wallet, when a recharge
settles or a wallet is cashed out), and `benefits` (the discount, multiplier and flags
to apply). Every change: validate → lock the member row → change → history → audit →
event. Services never commit.
"""

from memberops.tiers.queries import benefits
from memberops.tiers.rules import TierBenefits
from memberops.tiers.service.activity import (
    Recorded,
    record_cash_out,
    record_recharge,
    record_refund,
    record_spend,
)
from memberops.tiers.service.floor import remove_floor, set_floor
from memberops.tiers.service.review import review_member
from memberops.tiers.service.whatif import WhatIfReport, parse_ladder, what_if

__all__ = [
    "Recorded",
    "TierBenefits",
    "WhatIfReport",
    "benefits",
    "parse_ladder",
    "record_cash_out",
    "record_recharge",
    "record_refund",
    "record_spend",
    "remove_floor",
    "review_member",
    "set_floor",
    "what_if",
]
