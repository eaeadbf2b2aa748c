"""POST /recharges/what-if: a proposed recharge scheme replayed on the last 12 months'
settled recharges; nothing changed; an invalid scheme and a role without the programme
refused."""

from __future__ import annotations

from memberops.programme.schemas import RechargeScheme
from memberops.wallet import service
from tests.wallet_helpers import YUAN, new_member, snapshot

API = "/api/v1"


def test_the_bonus_cost_before_and_after(client, auth, make_uow, db) -> None:
    member = new_member(make_uow, 1)
    with make_uow() as uow:
        service.recharge(uow, member_id=member, amount=500 * YUAN, payment_ref="r-1")
    proposed = RechargeScheme().model_dump(mode="json")
    proposed["first_recharge_pct"] = 10
    analyst = auth("analyst")
    before = snapshot(db)
    resp = client.post(f"{API}/recharges/what-if", headers=analyst, json=proposed)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["recharges"], body["members"], body["amount"]) == (1, 1, 500 * YUAN)
    assert (body["bonus_recorded"], body["bonus_baseline"]) == (105 * YUAN, 105 * YUAN)
    assert (body["bonus_proposed"], body["bonus_change"]) == (130 * YUAN, 25 * YUAN)
    assert (body["recharges_more"], body["members_affected"]) == (1, 1)
    assert snapshot(db) == before


def test_an_invalid_scheme_and_a_till_are_refused(client, auth, db) -> None:
    operator, till = auth("operator"), auth("till")
    before = snapshot(db)
    bad = client.post(f"{API}/recharges/what-if", headers=operator,
                      json={"bonus_rows": [{"min_amount": 0, "bonus": 1}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "bonus_rows.0.min_amount"
    till = client.post(f"{API}/recharges/what-if", headers=till, json={})
    assert till.status_code == 403
    assert snapshot(db) == before
