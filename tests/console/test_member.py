"""The member page: every card with its figures (¥ amounts, points, statuses), lazy
insight, the timeline with paging, a member that does not exist, the cards a role may not
read, and the zh-CN labels. The actions are in test_member_actions.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from nicegui import ui

from memberops.access.rules import Permission, allows
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate
from memberops.points import service as points_service
from memberops.uow import UnitOfWork
from memberops.wallet import service as wallet_service
from tests import orders_helpers, plus_helpers, wallet_helpers
from tests.console.conftest import Console

pytestmark = pytest.mark.anyio
YUAN = 100
MakeUow = Callable[..., UnitOfWork]


def rich_member(make_uow: MakeUow, n: int = 1) -> int:
    """A member with a profile, consent, ¥1,000 recharged, 500 points, a coupon and an
    order of ¥300 of which ¥50 refunded."""
    with make_uow() as uow:
        member_id = members_service.register_member(uow, MemberCreate(
            phone=f"1370000{n:04d}", name="王小明", email="xm@example.com",
            birthday="1990-05-01", region={"province": "浙江", "city": "杭州"},
            channel="mini_program", tags=["vip"], consents={"sms": True, "email": False})).id
    with make_uow() as uow:
        wallet_service.recharge(uow, member_id=member_id, amount=1_000 * YUAN,
                                payment_ref=f"seed-{member_id}")
        points_service.adjust(uow, member_id=member_id, points=500, reason="welcome gift",
                              key=f"seed-points-{member_id}")
    orders_helpers.coupon(make_uow, member_id)
    orders_helpers.place(make_uow, orders_helpers.order(member_id, "O-1", store="SH-01"))
    orders_helpers.refund(make_uow, "O-1", refund_ref="R-1", amount=50 * YUAN)
    return member_id


async def open_member(app: Console, role: str, member_id: int | str, *,
                      language: str = "en", loaded: str = "timeline") -> None:
    """Sign in as `role`, then open the member's page (signing in takes its own time:
    Argon2; the page is opened once the session exists)."""
    await app.sign_in(role, language=language, then=f"/members/{member_id}",
                      wait_for=loaded)
    if allows(role, Permission.INSIGHT_READ) and loaded != "not-found":
        # The insight loads after the page, in a worker thread: let it finish within the
        # test (on PostgreSQL, a read still running would meet the next test's truncate).
        await app.user.should_not_see(marker="insight-loading", retries=300)


def rows(app: Console, marker: str) -> list[dict[str, Any]]:
    found = app.user.find(marker=marker).elements
    assert len(found) == 1, marker
    element = found.pop()
    assert isinstance(element, ui.table)
    return list(element.rows)


def text_of(app: Console, marker: str) -> str:
    return " ".join(getattr(e, "text", "") for e in app.user.find(marker=marker).elements)


async def test_every_card_shows_the_member_with_amounts_in_yuan(console_app: Console) -> None:
    member_id = rich_member(console_app.make_uow)
    await open_member(console_app, "admin", member_id)
    user = console_app.user
    await user.should_see("王小明")
    await user.should_see("xm@example.com")
    await user.should_see("浙江 杭州")
    await user.should_see("SH-01")  # the store of the latest order
    await user.should_see("vip")
    consents = {r["channel"]: r["granted"] for r in rows(console_app, "consents")}
    assert consents == {"email": "revoked", "sms": "granted"}
    # ¥1,000 recharged: principal ¥1,000, bonus ¥200 + 5% first recharge = ¥250
    assert text_of(console_app, "wallet-total") == "¥1,250.00"
    assert text_of(console_app, "wallet-principal") == "¥1,000.00"
    assert text_of(console_app, "wallet-bonus") == "¥250.00"
    recharges = rows(console_app, "recharges")
    assert recharges[0]["amount"] == "¥1,000.00" and recharges[0]["status"] == "settled"
    assert rows(console_app, "wallet-statement")[0]["principal"].startswith("+¥1,000.00")
    assert text_of(console_app, "points-available") == "500"
    coupons = rows(console_app, "coupon-list")
    assert coupons and coupons[0]["status"] == "issued"
    orders = rows(console_app, "order-list")
    assert orders[0]["order_ref"] == "O-1" and orders[0]["total"] == "¥300.00"
    assert orders[0]["refunded"] == "¥50.00" and orders[0]["store"] == "SH-01"
    assert rows(console_app, "refund-list")[0]["amount"] == "¥50.00"
    await user.should_see(marker="tier-name")
    await user.should_see(marker="plus-none")
    await user.should_see(marker="timeline-entry")


async def test_tier_progress_says_how_much_more_to_the_next_tier(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow)
    orders_helpers.place(console_app.make_uow, orders_helpers.order(member_id, "O-1"))
    await open_member(console_app, "analyst", member_id)
    progress = text_of(console_app, "tier-progress")
    assert "more spending to Silver" in progress and "¥" in progress
    await console_app.user.should_see("No tier changes yet.")


async def test_a_paid_membership_shows_its_status_and_period_end(console_app: Console) -> None:
    member_id = plus_helpers.funded(console_app.make_uow)
    plus_helpers.buy(console_app.make_uow, member_id, "plus-1")
    await open_member(console_app, "analyst", member_id)
    await console_app.user.should_see("PLUS")
    await console_app.user.should_see("2027-06-15")  # a year from the clock's today
    await console_app.user.should_see("¥99.00")


async def test_points_show_pending_and_what_expires_when(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=300)
    orders_helpers.place(console_app.make_uow, orders_helpers.order(member_id, "O-1"))
    await open_member(console_app, "analyst", member_id)
    assert text_of(console_app, "points-available") == "300"
    assert text_of(console_app, "points-pending") != "0"  # earned, held for the return window
    assert "usable through" in text_of(console_app, "points-expiring")


async def test_a_held_recharge_reads_pending_review(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    with console_app.make_uow() as uow:
        wallet_service.recharge(uow, member_id=member_id, amount=6_000 * YUAN,
                                payment_ref="big-1")
    await open_member(console_app, "finance", member_id)
    assert rows(console_app, "recharges")[0]["status"] == "pending review"
    assert text_of(console_app, "wallet-total") == "¥0.00"


async def test_insight_loads_after_the_page_and_says_when_there_is_no_history(
        console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "analyst", member_id)
    await console_app.user.should_see(marker="insight")
    await console_app.user.should_see(marker="insight-none", retries=100)
    assert "No purchase history" in text_of(console_app, "insight-none")


async def test_insight_shows_rfm_lifecycle_clv_and_churn(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow)
    for n in range(3):
        orders_helpers.place(console_app.make_uow, orders_helpers.order(member_id, f"O-{n}"))
        console_app.clock.advance(timedelta(days=10))
    await open_member(console_app, "operator", member_id)
    await console_app.user.should_see(marker="insight-facts", retries=100)
    await console_app.user.should_see("RFM (R/F/M)")
    await console_app.user.should_see("Lifecycle stage")


async def test_the_timeline_pages_with_load_more(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    with console_app.make_uow() as uow:
        for n in range(25):
            members_service.add_tags(uow, member_id, [f"t{n}"])
    await open_member(console_app, "analyst", member_id)
    assert len(console_app.user.find(marker="timeline-entry").elements) == 20
    console_app.user.find(marker="timeline-more").click()
    await console_app.user.should_see("Joined via store")
    assert len(console_app.user.find(marker="timeline-entry").elements) == 26
    await console_app.user.should_not_see(marker="timeline-more")


@pytest.mark.parametrize("member_id", ["999", "abc", "0"])
async def test_a_member_that_does_not_exist_is_said_so(console_app: Console,
                                                       member_id: str) -> None:
    await open_member(console_app, "admin", member_id, loaded="not-found")
    await console_app.user.should_not_see(marker="profile")


async def test_a_role_sees_only_the_cards_it_may_read(console_app: Console) -> None:
    member_id = rich_member(console_app.make_uow)
    # finance reads wallet, points, coupons and orders but not the insight
    await open_member(console_app, "finance", member_id)
    await console_app.user.should_see(marker="wallet")
    await console_app.user.should_not_see(marker="insight")
    await console_app.user.should_not_see(marker="action-points")
    await console_app.user.should_not_see(marker="action-coupon")


async def test_a_till_account_has_no_member_page(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    console_app.operator("till")
    await console_app.user.open(f"/members/{member_id}")
    await console_app.user.should_see(marker="username")  # sent to sign in


async def test_labels_are_in_chinese_for_a_chinese_operator(console_app: Console) -> None:
    member_id = rich_member(console_app.make_uow)
    await open_member(console_app, "admin", member_id, language="zh-CN")
    for label in ("基本资料", "会员等级", "付费会员", "储值", "本金", "赠送金", "积分",
                  "优惠券", "订单", "时间线", "调整积分", "发放优惠券", "冻结", "充值"):
        await console_app.user.should_see(label)
    assert rows(console_app, "recharges")[0]["status"] == "已到账"
    assert text_of(console_app, "wallet-total") == "¥1,250.00"
