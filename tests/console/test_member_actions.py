"""The member page's actions: adjust points, issue a coupon, freeze and unfreeze, recharge,
refund an order. For each: success (the database changed, the audit log has the reason,
the card shows it), cancel (nothing changed), a role without the permission (no button;
a crafted call refused, nothing changed) and bad input (a message, nothing changed)."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import ui
from sqlalchemy import func, select

from memberops.audit.models import AuditEntry
from memberops.console import member_actions
from memberops.coupons.models import Coupon
from memberops.members.models import Member
from memberops.orders.models import Order, OrderRefund
from memberops.wallet.models import Recharge
from tests import coupons_helpers, orders_helpers, wallet_helpers
from tests.console.conftest import Console
from tests.console.test_member import open_member, rows, text_of

pytestmark = pytest.mark.anyio
YUAN = 100


def audits(app: Console, action: str) -> list[tuple[str | None, str]]:
    with app.db.session(readonly=True) as s:
        return [(a.reason, a.actor_name) for a in s.execute(
            select(AuditEntry).where(AuditEntry.action == action)).scalars()]


def count(app: Console, model: Any) -> int:
    with app.db.session(readonly=True) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def status_of(app: Console, member_id: int) -> str:
    with app.db.session(readonly=True) as s:
        member = s.get(Member, member_id)
        assert member is not None
        return member.status


def set_value(app: Console, marker: str, value: object) -> None:
    element = app.user.find(marker=marker).elements.pop()
    assert isinstance(element, ui.select | ui.radio)
    element.value = value  # what the browser's pick does


async def fill_and_confirm(app: Console, fields: dict[str, str], reason: str | None) -> None:
    """Type the form's fields, continue, give the reason and confirm (None: cancel)."""
    for marker, value in fields.items():
        app.user.find(marker=marker).clear().type(value)
    app.user.find(marker="form-next").click()
    await app.user.should_see(marker="reason")
    if reason is None:
        app.user.find(marker="cancel").click()
        return
    app.user.find(marker="reason").type(reason)
    app.user.find(marker="confirm").click()


# --- adjust points (admin only) -----------------------------------------------------------

async def test_an_admin_adjusts_points_with_a_reason(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=200)
    await open_member(console_app, "admin", member_id)
    console_app.user.find(marker="action-points").click()
    await fill_and_confirm(console_app, {"points-delta": "-50"}, "duplicate earning")
    await console_app.user.should_see("Points adjusted.")
    assert orders_helpers.points_available(console_app.db, member_id) == 150
    assert ("duplicate earning", "admin-op") in audits(console_app, "points.adjusted")
    await console_app.user.should_see(marker="points-available", content="150")


async def test_cancelling_a_points_adjustment_changes_nothing(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=200)
    await open_member(console_app, "admin", member_id)
    console_app.user.find(marker="action-points").click()
    await fill_and_confirm(console_app, {"points-delta": "100"}, None)
    console_app.user.find(marker="form-cancel").click()
    assert orders_helpers.points_available(console_app.db, member_id) == 200
    assert audits(console_app, "points.adjusted") == [("test points", "test-admin")]


@pytest.mark.parametrize(("typed", "message"), [
    ("abc", "Enter a whole number of points"), ("0", "cannot be zero"),
    ("1.5", "Enter a whole number of points"), ("", "Enter a whole number of points"),
    ("-201", "Only 200 points are available"),
])
async def test_bad_points_are_refused_with_a_message(console_app: Console, typed: str,
                                                     message: str) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=200)
    await open_member(console_app, "admin", member_id)
    console_app.user.find(marker="action-points").click()
    if typed:
        console_app.user.find(marker="points-delta").type(typed)
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see(message)
    await console_app.user.should_not_see(marker="reason")
    assert orders_helpers.points_available(console_app.db, member_id) == 200


async def test_a_reason_is_required(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=200)
    await open_member(console_app, "admin", member_id)
    console_app.user.find(marker="action-points").click()
    console_app.user.find(marker="points-delta").type("10")
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see(marker="reason")
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("A reason is required.")
    console_app.user.find(marker="reason").type("x")
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("Give a reason of at least two characters.")
    assert orders_helpers.points_available(console_app.db, member_id) == 200


async def test_only_an_admin_may_adjust_points(console_app: Console) -> None:
    member_id = orders_helpers.member(console_app.make_uow, points=200)
    await open_member(console_app, "operator", member_id)
    await console_app.user.should_see(marker="action-coupon")
    await console_app.user.should_not_see(marker="action-points")
    with console_app.user:  # a crafted call, as a tampered browser would make it
        done = await member_actions.adjust_points(member_id, 1_000, "crafted", "k-1")
    assert done is None
    await console_app.user.should_see("Your role (operator) may not do this.")
    assert orders_helpers.points_available(console_app.db, member_id) == 200


# --- issue a coupon -----------------------------------------------------------------------

async def test_an_operator_issues_a_coupon_with_a_reason(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    template_id = coupons_helpers.template(console_app.make_uow, "sorry30")
    await open_member(console_app, "operator", member_id)
    await console_app.user.should_see(marker="coupon-list-empty")
    console_app.user.find(marker="action-coupon").click()
    await console_app.user.should_see(marker="coupon-template")
    set_value(console_app, "coupon-template", template_id)
    await fill_and_confirm(console_app, {}, "late delivery")
    await console_app.user.should_see("Coupon issued.")
    with console_app.db.session(readonly=True) as s:
        owned = s.execute(select(Coupon.member_id, Coupon.template_id)).all()
    assert owned == [(member_id, template_id)]
    assert ("late delivery", "operator-op") in audits(console_app, "console.coupon_issued")
    await console_app.user.should_see(marker="coupon-list")
    assert rows(console_app, "coupon-list")[0]["template"] == "template sorry30"


async def test_cancelling_a_coupon_issues_nothing(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    template_id = coupons_helpers.template(console_app.make_uow, "sorry30")
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-coupon").click()
    await console_app.user.should_see(marker="coupon-template")
    set_value(console_app, "coupon-template", template_id)
    await fill_and_confirm(console_app, {}, None)
    assert count(console_app, Coupon) == 0


async def test_a_coupon_needs_a_template(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    coupons_helpers.template(console_app.make_uow, "sorry30")
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-coupon").click()
    await console_app.user.should_see(marker="coupon-template")
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see("Pick a coupon template.")
    assert count(console_app, Coupon) == 0


async def test_one_coupon_per_form_however_often_it_is_confirmed(console_app: Console
                                                                 ) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    template_id = coupons_helpers.template(console_app.make_uow, "sorry30", per_member_limit=5)
    await open_member(console_app, "operator", member_id)
    with console_app.user:  # what a double click sends: the form's one key, twice
        first = await member_actions.issue_coupon(member_id, template_id, "late", "key-1")
        again = await member_actions.issue_coupon(member_id, template_id, "late", "key-1")
    assert first is not None and first == again
    assert count(console_app, Coupon) == 1


async def test_an_analyst_may_not_issue_coupons(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    template_id = coupons_helpers.template(console_app.make_uow, "sorry30")
    await open_member(console_app, "analyst", member_id)
    await console_app.user.should_not_see(marker="action-coupon")
    with console_app.user:
        assert await member_actions.issue_coupon(member_id, template_id, "x y", "k") is None
    assert count(console_app, Coupon) == 0


# --- freeze and unfreeze ------------------------------------------------------------------

async def test_freeze_then_unfreeze_with_reasons(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-freeze").click()
    console_app.user.find(marker="reason").type("suspected fraud")
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("Member frozen.")
    assert status_of(console_app, member_id) == "frozen"
    await console_app.user.should_see(marker="member-status", content="Frozen")
    await console_app.user.should_see(marker="action-unfreeze")
    await console_app.user.should_not_see(marker="action-freeze")
    assert ("suspected fraud", "operator-op") in audits(console_app, "member.status_changed")

    await console_app.user.open(f"/members/{member_id}")  # a fresh page: one reason box
    console_app.user.find(marker="action-unfreeze").click()
    console_app.user.find(marker="reason").type("cleared by risk team")
    console_app.user.find(marker="confirm").click()
    await console_app.user.should_see("Member unfrozen.")
    assert status_of(console_app, member_id) == "active"
    assert ("cleared by risk team", "operator-op") in audits(console_app,
                                                             "member.status_changed")


async def test_cancelling_a_freeze_changes_nothing(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-freeze").click()
    console_app.user.find(marker="reason").type("suspected fraud")
    console_app.user.find(marker="cancel").click()
    assert status_of(console_app, member_id) == "active"
    assert audits(console_app, "member.status_changed") == []


async def test_finance_may_not_freeze(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "finance", member_id)
    await console_app.user.should_not_see(marker="action-freeze")
    with console_app.user:
        assert await member_actions.change_status(member_id, "frozen", "crafted") is None
    assert status_of(console_app, member_id) == "active"


# --- recharge -----------------------------------------------------------------------------

async def test_a_recharge_is_credited_and_shown(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-recharge").click()
    await fill_and_confirm(console_app, {"recharge-amount": "100.50",
                                         "recharge-ref": "PAY-1"}, "paid at the desk")
    await console_app.user.should_see("Recharge of ¥100.50 settled")
    assert wallet_helpers.wallet(console_app.db, member_id)["principal"] == 10_050
    assert ("paid at the desk", "operator-op") in audits(console_app, "console.recharged")
    await console_app.user.should_see(marker="wallet-principal", content="¥100.50")


async def test_a_large_recharge_is_held_for_review_and_said_so(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-recharge").click()
    await fill_and_confirm(console_app, {"recharge-amount": "6000",
                                         "recharge-ref": "PAY-BIG"}, "corporate gift card")
    await console_app.user.should_see("held for review (pending_review)")
    with console_app.db.session(readonly=True) as s:
        assert s.execute(select(Recharge.status)).scalar_one() == "pending_review"
    assert wallet_helpers.wallet(console_app.db, member_id)["total"] == 0
    await console_app.user.should_see(marker="recharges")  # the card, read again
    assert rows(console_app, "recharges")[0]["status"] == "pending review"


@pytest.mark.parametrize(("amount", "ref", "message"), [
    ("-5", "PAY-1", "more than zero"), ("0", "PAY-1", "more than zero"),
    ("1.234", "PAY-1", "At most two decimals"), ("abc", "PAY-1", "Enter an amount in yuan"),
    ("", "PAY-1", "Enter an amount in yuan"), ("100", "", "Enter the payment reference"),
    ("100", "PAY 1", "Enter the payment reference"),
])
async def test_bad_recharges_are_refused_with_a_message(console_app: Console, amount: str,
                                                        ref: str, message: str) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-recharge").click()
    for marker, value in (("recharge-amount", amount), ("recharge-ref", ref)):
        if value:
            console_app.user.find(marker=marker).type(value)
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see(message)
    await console_app.user.should_not_see(marker="reason")
    assert count(console_app, Recharge) == 0


async def test_a_recharge_refused_by_a_rule_changes_nothing(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    wallet_helpers.set_status(console_app.make_uow, member_id, "frozen")
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-recharge").click()
    await fill_and_confirm(console_app, {"recharge-amount": "100", "recharge-ref": "PAY-1"},
                           "paid at the desk")
    await console_app.user.should_see("Not done:")
    assert count(console_app, Recharge) == 0
    assert audits(console_app, "console.recharged") == []


async def test_an_analyst_may_not_recharge(console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "analyst", member_id)
    await console_app.user.should_not_see(marker="action-recharge")
    with console_app.user:
        assert await member_actions.recharge(member_id, 10_000, "PAY-X", "crafted") is None
    assert count(console_app, Recharge) == 0


# --- refund an order ----------------------------------------------------------------------

def member_with_order(app: Console) -> int:
    member_id = orders_helpers.member(app.make_uow)
    orders_helpers.place(app.make_uow, orders_helpers.order(member_id, "O-1"))
    return member_id


def refunded(app: Console) -> tuple[int, str]:
    with app.db.session(readonly=True) as s:
        order = s.execute(select(Order).where(Order.order_ref == "O-1")).scalar_one()
        return order.refunded, order.status


async def test_finance_refunds_an_order_in_full(console_app: Console) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "finance", member_id)
    console_app.user.find(marker="action-refund").click()
    await fill_and_confirm(console_app, {}, "damaged goods")
    await console_app.user.should_see("Refunded ¥300.00 of order O-1.")
    assert refunded(console_app) == (300 * YUAN, "refunded")
    assert ("damaged goods", "finance-op") in audits(console_app, "console.order_refunded")
    assert rows(console_app, "order-list")[0]["refunded"] == "¥300.00"
    await console_app.user.should_not_see(marker="action-refund")  # nothing left to refund


async def test_an_order_is_refunded_by_an_amount(console_app: Console) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "operator", member_id)
    console_app.user.find(marker="action-refund").click()
    set_value(console_app, "refund-mode", "amount")
    await fill_and_confirm(console_app, {"refund-amount": "50.5"}, "one cake was stale")
    await console_app.user.should_see("Refunded ¥50.50 of order O-1.")
    assert refunded(console_app) == (5_050, "partially_refunded")
    assert rows(console_app, "refund-list")[0]["amount"] == "¥50.50"


async def test_cancelling_a_refund_changes_nothing(console_app: Console) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "finance", member_id)
    console_app.user.find(marker="action-refund").click()
    await fill_and_confirm(console_app, {}, None)
    assert refunded(console_app) == (0, "paid")


@pytest.mark.parametrize(("amount", "message"), [
    ("300.01", "At most ¥300.00 of this order is left to refund"),
    ("0", "more than zero"), ("-1", "more than zero"), ("9.999", "At most two decimals"),
    ("ten", "Enter an amount in yuan"),
])
async def test_bad_refund_amounts_are_refused(console_app: Console, amount: str,
                                              message: str) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "finance", member_id)
    console_app.user.find(marker="action-refund").click()
    set_value(console_app, "refund-mode", "amount")
    console_app.user.find(marker="refund-amount").type(amount)
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see(message)
    assert refunded(console_app) == (0, "paid")


async def test_one_refund_per_form_however_often_it_is_confirmed(console_app: Console
                                                                 ) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "finance", member_id)
    with console_app.user:  # a double click: the form's one refund_ref, twice
        first = await member_actions.refund_order(member_id, "O-1", 100 * YUAN, "stale",
                                                  "console-abc")
        again = await member_actions.refund_order(member_id, "O-1", 100 * YUAN, "stale",
                                                  "console-abc")
    assert first is not None and again is not None and first.refund_ref == again.refund_ref
    assert count(console_app, OrderRefund) == 1
    assert refunded(console_app) == (100 * YUAN, "partially_refunded")


async def test_an_analyst_may_not_refund(console_app: Console) -> None:
    member_id = member_with_order(console_app)
    await open_member(console_app, "analyst", member_id)
    await console_app.user.should_see(marker="order-list")
    await console_app.user.should_not_see(marker="action-refund")
    with console_app.user:
        assert await member_actions.refund_order(member_id, "O-1", 100, "crafted",
                                                 "r-x") is None
    assert refunded(console_app) == (0, "paid")


async def test_validation_messages_are_in_chinese_for_a_chinese_operator(
        console_app: Console) -> None:
    member_id = wallet_helpers.new_member(console_app.make_uow)
    await open_member(console_app, "operator", member_id, language="zh-CN")
    console_app.user.find(marker="action-recharge").click()
    console_app.user.find(marker="recharge-amount").type("1.234")
    console_app.user.find(marker="form-next").click()
    await console_app.user.should_see("金额最多两位小数。")
    assert text_of(console_app, "form-error") == "金额最多两位小数。"
    assert isinstance(console_app.user.find(marker="recharge-form").elements.pop(), ui.dialog)
