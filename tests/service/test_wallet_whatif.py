"""The recharge what-if against a real database: settled recharges of the last 12 months
replayed under a proposed scheme; nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberops.errors import ValidationFailed
from memberops.programme.schemas import RechargeScheme
from memberops.wallet import service
from memberops.wallet.whatif import what_if
from tests.wallet_helpers import YUAN, new_member, snapshot


def recharge(make_uow, member_id: int, yuan: int, ref: str) -> None:
    with make_uow() as uow:
        service.recharge(uow, member_id=member_id, amount=yuan * YUAN, payment_ref=ref)


def run(make_uow, clock, proposed):
    with make_uow(readonly=True) as uow:
        return what_if(uow.session, proposed, now=clock.now(), tz=clock.tz)


def test_the_window_replays_settled_recharges_with_history_from_before_it(
        make_uow, db, clock) -> None:
    old, new = new_member(make_uow, 1), new_member(make_uow, 2)
    recharge(make_uow, old, 1_000, "r-old")  # first recharge, 13 months ago
    clock.advance(timedelta(days=400))
    recharge(make_uow, old, 500, "r-1")  # not first any more: 80
    clock.advance(timedelta(hours=1))
    recharge(make_uow, new, 500, "r-2")  # first: 80 + 25
    before = snapshot(db)
    proposed = RechargeScheme().model_dump(mode="json")
    proposed["bonus_rows"][1]["bonus"] = 10_000  # ¥500 → ¥100 bonus
    report = run(make_uow, clock, proposed)
    found = report.result
    assert (found.recharges, found.members, found.amount) == (2, 2, 1_000 * YUAN)
    assert found.bonus_baseline == found.bonus_recorded == (80 + 80 + 25) * YUAN
    assert found.bonus_change == 2 * 20 * YUAN
    assert found.members_affected == 2
    assert snapshot(db) == before


def test_an_invalid_scheme_is_refused_with_its_fields(make_uow, clock) -> None:
    with pytest.raises(ValidationFailed) as refused:
        run(make_uow, clock, {"bonus_rows": [{"min_amount": 0, "bonus": 1}]})
    assert refused.value.errors[0]["field"] == "bonus_rows.0.min_amount"
