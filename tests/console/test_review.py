"""The review queue: held recharges shown oldest first with formatted amounts; approve and
reject with a reason and their effect on the wallet; a decision someone else made first;
cancel and validation; the roles that may not review; the Chinese labels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from nicegui import ui
from sqlalchemy import select

from memberops.audit.models import AuditEntry
from memberops.uow import Actor
from memberops.wallet import service as wallet_service
from memberops.wallet.models import Recharge
from tests.console.conftest import Console
from tests.wallet_helpers import YUAN, assert_consistent, new_member, wallet

pytestmark = pytest.mark.anyio

OTHER_REVIEWER = Actor(kind="operator", id="99", name="other-finance", role="finance")


def held(app: Console, member_id: int, yuan: int, ref: str, *,
         payment: str = "confirmed") -> int:
    """A recharge the review threshold (¥5,000) holds; its id."""
    with app.make_uow() as uow:
        row = wallet_service.recharge(uow, member_id=member_id, amount=yuan * YUAN,
                                      payment_ref=ref, payment=payment)
        assert row.status == "pending_review"
        return row.id


def recharge_state(app: Console, recharge_id: int) -> tuple[str, str]:
    with app.db.session(readonly=True) as session:
        row = session.get(Recharge, recharge_id)
        assert row is not None
        return row.status, row.review_status


def rows(app: Console) -> list[dict[str, Any]]:
    return list(app.user.find(marker="review-table").elements.pop().rows)


def badge(app: Console) -> str:
    return str(app.user.find(marker="review-count").elements.pop().text)


async def decide(app: Console, action: str, recharge_id: int, reason: str) -> None:
    app.user.find(marker="review-table").trigger(action, {"id": recharge_id})
    await app.user.should_see(marker="reason")
    if reason:
        app.user.find(marker="reason").type(reason)
    app.user.find(marker="confirm").click()


@pytest.fixture
def scene(console_app: Console) -> dict[str, int]:
    """Two held recharges: 张三's ¥5,000 first, an hour later 李四's ¥6,000."""
    zhang = new_member(console_app.make_uow, 1, name="张三")
    li = new_member(console_app.make_uow, 2, name="李四")
    first = held(console_app, zhang, 5_000, "big-1")
    console_app.clock.advance(timedelta(hours=1))
    second = held(console_app, li, 6_000, "big-2")
    console_app.clock.advance(timedelta(minutes=30))
    return {"zhang": zhang, "li": li, "first": first, "second": second}


async def test_the_queue_shows_held_recharges_oldest_first(console_app: Console,
                                                           scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", then="/review")
    await console_app.user.should_see("Held recharges")
    table = rows(console_app)
    assert [r["id"] for r in table] == [scene["first"], scene["second"]]
    first = table[0]
    assert (first["member"], first["phone"], first["amount"], first["bonus"]) == (
        "张三", "+8613800000001", "¥5,000.00", "¥450.00")
    assert (first["rule"], first["payment"], first["when"], first["age"]) == (
        "Review threshold", "Paid", "2026-06-15 10:00", "1 h 30 min")
    assert "review threshold of ¥5,000.00" in first["rule_reason"]
    assert table[1]["age"] == "30 min" and table[1]["amount"] == "¥6,000.00"
    assert badge(console_app) == "2"


async def test_an_empty_queue_says_so(console_app: Console) -> None:
    await console_app.sign_in("admin", then="/review")
    await console_app.user.should_see("No recharges are waiting for review.")
    assert badge(console_app) == "0" and rows(console_app) == []


async def test_approving_credits_the_wallet_and_the_row_leaves_the_queue(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", then="/review")
    assert wallet(console_app.db, scene["zhang"])["total"] == 0  # nothing before approval
    await decide(console_app, "approve", scene["first"], "customer known to the store")
    await console_app.user.should_see(
        f"Recharge {scene['first']} approved: ¥5,000.00 + bonus ¥450.00 credited to 张三.")
    assert wallet(console_app.db, scene["zhang"]) == {
        "principal": 500_000, "bonus": 45_000, "total": 545_000}
    assert recharge_state(console_app, scene["first"]) == ("settled", "approved")
    assert [r["id"] for r in rows(console_app)] == [scene["second"]]
    assert badge(console_app) == "1"
    with console_app.db.session(readonly=True) as session:
        entry = session.execute(select(AuditEntry).where(
            AuditEntry.action == "risk.review_approved")).scalar_one()
    assert (entry.actor_name, entry.target_id, entry.reason) == (
        "finance-op", str(scene["first"]), "customer known to the store")
    assert_consistent(console_app.db)


async def test_rejecting_credits_nothing(console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("admin", then="/review")
    await decide(console_app, "reject", scene["second"], "card reported stolen")
    await console_app.user.should_see(
        f"Recharge {scene['second']} rejected; nothing was credited.")
    assert wallet(console_app.db, scene["li"])["total"] == 0
    assert recharge_state(console_app, scene["second"]) == ("rejected", "rejected")
    assert [r["id"] for r in rows(console_app)] == [scene["first"]]
    assert_consistent(console_app.db)


async def test_an_approved_recharge_awaiting_payment_is_not_credited_yet(
        console_app: Console) -> None:
    member = new_member(console_app.make_uow, 3, name="王五")
    recharge_id = held(console_app, member, 8_000, "big-unpaid", payment="pending")
    await console_app.sign_in("finance", then="/review")
    assert rows(console_app)[0]["payment"] == "Awaiting payment"
    await decide(console_app, "approve", recharge_id, "regular customer")
    await console_app.user.should_see(
        f"Recharge {recharge_id} approved; it is credited when the payment is confirmed.")
    assert recharge_state(console_app, recharge_id) == ("pending", "approved")
    assert wallet(console_app.db, member)["total"] == 0


async def test_cancel_changes_nothing(console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", then="/review")
    console_app.user.find(marker="review-table").trigger("approve", {"id": scene["first"]})
    await console_app.user.should_see("Approve recharge")
    console_app.user.find(marker="cancel").click()
    await console_app.user.should_not_see(ui.dialog)  # closed, and gone from the page
    assert recharge_state(console_app, scene["first"]) == ("pending_review", "held")
    assert wallet(console_app.db, scene["zhang"])["total"] == 0
    assert len(rows(console_app)) == 2


async def test_a_reason_is_required_and_a_short_one_is_refused(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", then="/review")
    await decide(console_app, "reject", scene["first"], "")
    await console_app.user.should_see("A reason is required.")
    console_app.user.find(marker="reason").type("x")
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("Not done: reason: a reason of 2–500 characters is required")
    await console_app.user.should_see(marker="reason")  # the dialog stays open to fix it
    assert recharge_state(console_app, scene["first"]) == ("pending_review", "held")
    assert len(rows(console_app)) == 2


async def test_a_recharge_decided_in_another_tab_is_refused_and_leaves_the_queue(
        console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", then="/review")
    assert len(rows(console_app)) == 2  # this page still shows the first recharge
    with console_app.make_uow(OTHER_REVIEWER) as uow:
        wallet_service.approve(uow, scene["first"], "approved elsewhere")
    credited = wallet(console_app.db, scene["zhang"])
    await decide(console_app, "approve", scene["first"], "my decision")
    await console_app.user.should_see(
        f"recharge {scene['first']} was already approved by operator:other-finance")
    assert wallet(console_app.db, scene["zhang"]) == credited
    assert recharge_state(console_app, scene["first"]) == ("settled", "approved")
    assert [r["id"] for r in rows(console_app)] == [scene["second"]]
    # The other reviewer rejects the second while this page still shows it.
    with console_app.make_uow(OTHER_REVIEWER) as uow:
        wallet_service.reject(uow, scene["second"], "rejected elsewhere")
    await decide(console_app, "reject", scene["second"], "my decision")
    await console_app.user.should_see(
        f"recharge {scene['second']} was already rejected by operator:other-finance")
    assert recharge_state(console_app, scene["second"])[1] == "rejected"
    assert wallet(console_app.db, scene["li"])["total"] == 0
    assert rows(console_app) == []
    with console_app.db.session(readonly=True) as session:
        decisions = session.execute(select(AuditEntry.actor_name).where(
            AuditEntry.action.like("risk.review_%"))).scalars().all()
    assert decisions == ["other-finance", "other-finance"]


async def test_a_member_name_opens_the_member_page(console_app: Console,
                                                   scene: dict[str, int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    await console_app.sign_in("finance", then="/review")
    opened: list[str] = []
    monkeypatch.setattr(console_app.user.navigate, "to", opened.append)
    console_app.user.find(marker="review-table").trigger("member",
                                                        {"member_id": scene["li"]})
    assert opened == [f"/members/{scene['li']}"]


@pytest.mark.parametrize("role", ["operator", "analyst"])
async def test_roles_that_do_not_review_get_the_denied_page(
        console_app: Console, scene: dict[str, int], role: str) -> None:
    await console_app.sign_in(role, then="/review")
    await console_app.user.should_see(marker="denied")
    await console_app.user.should_not_see("Held recharges")
    assert recharge_state(console_app, scene["first"]) == ("pending_review", "held")


async def test_the_queue_in_chinese(console_app: Console, scene: dict[str, int]) -> None:
    await console_app.sign_in("finance", language="zh-CN", then="/review")
    await console_app.user.should_see("待审核充值")
    table = rows(console_app)
    assert (table[0]["rule"], table[0]["payment"], table[0]["age"]) == (
        "审核阈值", "已支付", "1小时30分钟")
    await decide(console_app, "approve", scene["first"], "老顾客")
    await console_app.user.should_see(
        f"充值 {scene['first']} 已通过：¥5,000.00（赠送 ¥450.00）已入账至 张三。")
