"""Risk decisions on recharges: evaluate the programme's risk rules and audit every decision.

The wallet gathers the member's recent recharges (its own table) and asks here; this module
reads only the configuration, so risk stays independent of the wallet's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from memberops.audit import service as audit
from memberops.errors import Forbidden, ValidationFailed
from memberops.programme import service as programme_service
from memberops.programme.schemas import RiskRules
from memberops.risk import rules
from memberops.risk.rules import Decision, RecentRecharge
from memberops.uow import UnitOfWork

REVIEWER_ROLES = frozenset({"finance", "admin"})


def lookback_start(uow: UnitOfWork) -> datetime:
    """Since when the wallet must gather a member's recharges for `assess_recharge`."""
    config = programme_service.current(uow.session, RiskRules)
    return rules.lookback_start(config, now=uow.clock.now(), tz=uow.clock.tz)


def assess_recharge(uow: UnitOfWork, *, recharge_id: int, member_id: int, amount: int,
                    recent: Sequence[RecentRecharge]) -> Decision:
    """Decide on a submitted recharge (passed, held or rejected) and audit the decision."""
    config = programme_service.current(uow.session, RiskRules)
    decision = rules.evaluate_recharge(amount, recent, config, now=uow.clock.now(),
                                       tz=uow.clock.tz)
    audit.record(uow, action=f"risk.recharge_{decision.outcome}", target_type="recharge",
                 target_id=recharge_id, reason=decision.reason,
                 changes={"decision": {"before": None, "after": decision.outcome},
                          "rule": {"before": None, "after": decision.rule},
                          "member_id": {"before": None, "after": member_id},
                          "amount": {"before": None, "after": amount}})
    return decision


def require_reviewer(uow: UnitOfWork) -> None:
    """Held recharges are decided by finance or an administrator, whoever asks."""
    if uow.actor.role not in REVIEWER_ROLES:
        raise Forbidden(f"role {uow.actor.role!r} may not decide held recharges; "
                        "finance or admin only")


def check_reason(reason: str) -> str:
    """A review decision always carries a reason a later reader can understand."""
    text = (reason or "").strip()
    if len(text) < 2:
        raise ValidationFailed("reason: a reason is required",
                               errors=[{"field": "reason", "reason": "a reason is required"}])
    return text


def record_review(uow: UnitOfWork, *, recharge_id: int, member_id: int,
                  outcome: Literal["approved", "rejected"], rule: str | None,
                  reason: str) -> None:
    """Audit a reviewer's decision on a held recharge (an approval overrides the hold)."""
    audit.record(uow, action=f"risk.review_{outcome}", target_type="recharge",
                 target_id=recharge_id, reason=reason,
                 changes={"review": {"before": "held", "after": outcome},
                          "rule": {"before": None, "after": rule},
                          "member_id": {"before": None, "after": member_id}})
