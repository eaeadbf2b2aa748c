"""Points use cases (积分), split by use case; import them from here.

Every movement: validate → lock the member (`members.service.lock_active`) → replay check
→ ledger entry → lots → audit → event. Services never commit; the caller's unit of work
does.
"""

from memberops.points import queries as _queries  # noqa: F401  (registers timeline text)
from memberops.points.service.bonus import award_bonus, award_referral
from memberops.points.service.clawback import ClawedBack, clawback_purchase
from memberops.points.service.earn import award, earn_for_purchase
from memberops.points.service.gifts import create_gift, redeem_gift, update_gift
from memberops.points.service.settle import expire_member, release_member
from memberops.points.service.spend import Adjusted, Returned, Spent, adjust, return_spent, spend

__all__ = [
    "Adjusted",
    "ClawedBack",
    "Returned",
    "Spent",
    "adjust",
    "award",
    "award_bonus",
    "award_referral",
    "clawback_purchase",
    "create_gift",
    "earn_for_purchase",
    "expire_member",
    "redeem_gift",
    "release_member",
    "return_spent",
    "spend",
    "update_gift",
]
