"""What-if for a recharge scheme (充值方案): replay the recharges settled over the last
months under a proposed scheme and compare the bonus with the scheme in force — the bonus
cost before and after, and how many recharges and members it changes. Nothing is written.

The bonus of each recharge is computed by `rules.bonus_for`, exactly as a recharge is
priced at the till, from the member's settled recharges before it (those settled before
the window count too, so the first-recharge and loyal extras are replayed faithfully).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberops.errors import ValidationFailed
from memberops.members.models import MemberTag
from memberops.programme import service as programme_service
from memberops.programme.schemas import RechargeScheme
from memberops.tiers.rules import months_before
from memberops.wallet import rules
from memberops.wallet.models import Recharge

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class RechargeFact:
    """One settled recharge as the replay needs it: the local day its bonus was fixed on,
    the bonus actually credited, and the member's tags (for tag-limited campaigns)."""

    member_id: int
    amount: int
    day: date
    recorded_bonus: int = 0
    tags: frozenset[str] = frozenset()


@dataclass
class RechargeWhatIf:
    recharges: int = 0
    members: int = 0
    amount: int = 0  # fen recharged over the window
    bonus_recorded: int = 0  # fen actually credited (under whichever scheme was in force)
    bonus_baseline: int = 0  # fen under the scheme in force, replayed
    bonus_proposed: int = 0  # fen under the proposed scheme
    recharges_more: int = 0  # recharges whose bonus would rise
    recharges_less: int = 0
    members_affected: int = 0  # members with at least one recharge whose bonus changes
    affected: set[int] = field(default_factory=set, repr=False)

    @property
    def bonus_change(self) -> int:
        return self.bonus_proposed - self.bonus_baseline


def bonus_under(scheme: RechargeScheme, fact: RechargeFact, *, settled_total: int,
                settled_count: int) -> int:
    """The bonus (fen) `scheme` gives this recharge after the member's settled history."""
    campaigns = rules.campaigns_for(scheme, today=fact.day, tags=fact.tags)
    bonus, _ = rules.bonus_for(fact.amount, scheme, settled_before_total=settled_total,
                               settled_before_count=settled_count,
                               campaigns_active=campaigns, today=fact.day)
    return bonus


def replay(current: RechargeScheme, proposed: RechargeScheme, recharges: Iterable[RechargeFact],
           prior: Mapping[int, tuple[int, int]] | None = None) -> RechargeWhatIf:
    """Price every recharge (in settlement order) under both schemes and add up.

    `prior` gives each member's (total fen, count) settled before the first recharge
    replayed. A member's history grows by the amount actually recharged, which neither
    scheme changes, so both replays see the same history.
    """
    history = dict(prior or {})
    result = RechargeWhatIf()
    members: set[int] = set()
    for fact in recharges:
        total, count = history.get(fact.member_id, (0, 0))
        before = bonus_under(current, fact, settled_total=total, settled_count=count)
        after = bonus_under(proposed, fact, settled_total=total, settled_count=count)
        history[fact.member_id] = (total + fact.amount, count + 1)
        members.add(fact.member_id)
        result.recharges += 1
        result.amount += fact.amount
        result.bonus_recorded += fact.recorded_bonus
        result.bonus_baseline += before
        result.bonus_proposed += after
        result.recharges_more += after > before
        result.recharges_less += after < before
        if after != before:
            result.affected.add(fact.member_id)
    result.members = len(members)
    result.members_affected = len(result.affected)
    return result


def parse_scheme(data: object) -> RechargeScheme:
    """A proposed scheme, validated exactly as saving it would be."""
    if isinstance(data, RechargeScheme):
        return data
    try:
        return RechargeScheme.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
                  for e in exc.errors()]
        raise ValidationFailed("invalid recharge scheme: " + "; ".join(
            f"{e['field']}: {e['reason']}" for e in errors), errors=errors) from None


@dataclass(frozen=True)
class RechargeWhatIfReport:
    window_from: datetime
    window_to: datetime
    current: RechargeScheme
    proposed: RechargeScheme
    result: RechargeWhatIf


def _tags(session: Session, member_ids: Sequence[int]) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = {}
    for member_id, tag in session.execute(select(MemberTag.member_id, MemberTag.tag)
                                          .where(MemberTag.member_id.in_(member_ids))):
        found.setdefault(member_id, set()).add(tag)
    return {m: frozenset(t) for m, t in found.items()}


def what_if(session: Session, proposed: object, *, now: datetime, tz: tzinfo,
            months: int = WINDOW_MONTHS) -> RechargeWhatIfReport:
    """Compare the proposed scheme with the one in force over the recharges settled in the
    last `months` (read only)."""
    new = parse_scheme(proposed)
    old = programme_service.current(session, RechargeScheme)
    start, end = months_before(now, months, tz), now + timedelta(seconds=1)
    settled = Recharge.status == "settled"
    prior = {int(m): (int(total), int(count)) for m, total, count in session.execute(
        select(Recharge.member_id, func.sum(Recharge.amount), func.count())
        .where(settled, Recharge.settled_at < start).group_by(Recharge.member_id))}
    rows = session.execute(
        select(Recharge.member_id, Recharge.amount, Recharge.bonus, Recharge.created_at)
        .where(settled, Recharge.settled_at >= start, Recharge.settled_at < end)
        .order_by(Recharge.settled_at, Recharge.id)).all()
    # Tags cost a query; only a campaign limited to a tag needs them.
    tagged = any(c.segment_tag for c in (*old.campaigns, *new.campaigns))
    tags = _tags(session, sorted({r.member_id for r in rows})) if tagged else {}
    facts = [RechargeFact(member_id=r.member_id, amount=r.amount, recorded_bonus=r.bonus,
                          day=r.created_at.astimezone(tz).date(),
                          tags=tags.get(r.member_id, frozenset())) for r in rows]
    return RechargeWhatIfReport(window_from=start, window_to=now, current=old, proposed=new,
                                result=replay(old, new, facts, prior))
