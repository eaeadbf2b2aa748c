"""The programme page: each configuration as it stands, its form (validated by the
configuration's own rules, saved with a reason as a new version), the version history with
a diff, the what-if previews, coupon templates, and the read-only view of an analyst."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from nicegui import ui
from sqlalchemy import select, update

from memberops.access.models import Operator
from memberops.audit.models import AuditEntry
from memberops.coupons.models import CouponTemplate
from memberops.programme.models import ConfigVersion
from memberops.wallet import service as wallet_service
from tests.console.conftest import Console
from tests.coupons_helpers import issue, template
from tests.tiers_helpers import new_member, spend
from tests.wallet_helpers import configure

pytestmark = pytest.mark.anyio


def rows(app: Console, marker: str) -> list[dict[str, Any]]:
    tables = app.user.find(marker=marker).elements
    assert len(tables) == 1, (marker, tables)
    return list(next(iter(tables)).rows)  # type: ignore[attr-defined]


def element(app: Console, marker: str) -> Any:
    found = app.user.find(marker=marker).elements
    assert len(found) == 1, (marker, found)
    return next(iter(found))


def versions(app: Console, kind: str) -> list[tuple[int, str | None, dict[str, Any]]]:
    with app.db.session(readonly=True) as s:
        return [(v.version, v.note, v.data) for v in s.execute(
            select(ConfigVersion).where(ConfigVersion.kind == kind)
            .order_by(ConfigVersion.version)).scalars()]


async def open_page(app: Console, role: str = "admin", language: str = "en",
                    tab: str = "tiers") -> None:
    """Sign in, then open the programme page at `tab`; wait for its last tab, drawn last."""
    await app.sign_in(role, language=language, then=f"/programme?tab={tab}",
                      wait_for="plans-rows")

async def confirm(app: Console, reason: str = "spring review") -> None:
    await app.user.should_see(marker="reason")
    app.user.find(marker="reason").type(reason)
    app.user.find(marker="confirm").click()


async def test_each_tab_shows_the_configuration_in_force_readably(console_app: Console) -> None:
    await open_page(console_app)
    ladder = rows(console_app, "tiers-rows")
    assert [r["name_en"] for r in ladder] == ["Regular", "Silver", "Gold", "Diamond"]
    assert ladder[1]["qualify.net_spend"] == "¥1,000.00"
    assert ladder[3]["qualify.recharge"] == "¥10,000.00"
    assert ladder[2]["benefits.discount_pct"] == "5%"
    assert ladder[3]["benefits.points_multiplier_pct"] == "×2"
    bonus = rows(console_app, "recharge_scheme-rows")
    assert [(r["min_amount"], r["bonus"]) for r in bonus] == [
        ("¥100.00", "¥10.00"), ("¥500.00", "¥80.00"), ("¥1,000.00", "¥200.00")]
    risk = {r["field"]: r["value"] for r in rows(console_app, "risk_rules-current")}
    assert risk["Held for review at or above"] == "¥5,000.00"
    assert risk["Most recharged per day"] == "¥20,000.00"
    promotions = rows(console_app, "earning_rules-promotions")
    assert [(p["code"], p["multiplier_pct"]) for p in promotions] == [
        ("weekend", "×2"), ("birthday_month", "×2")]
    plans = rows(console_app, "plans-rows")
    assert (plans[0]["code"], plans[0]["price"], plans[0]["extra_discount_pct"],
            plans[0]["points_multiplier_pct"]) == ("PLUS", "¥99.00", "3%", "×1.5")
    await console_app.user.should_see("Version 0: the reference programme, never changed")


def set_value(app: Console, marker: str, value: Any) -> None:
    element(app, marker).value = value


async def test_a_tier_change_shows_the_what_if_and_saves_a_new_version_with_the_reason(
        console_app: Console) -> None:
    app = console_app
    silver, regular = new_member(app.make_uow, 1), new_member(app.make_uow, 2)
    spend(app.make_uow, silver, 1_200, "o-1")
    spend(app.make_uow, regular, 600, "o-2")
    await open_page(app)
    set_value(app, "tiers-tiers-1-qualify.net_spend", 500)  # Silver from ¥500
    app.user.find(marker="tiers-save").click()
    await app.user.should_see(marker="whatif")
    moves = [m.text for m in app.user.find(marker="whatif-move").elements]
    assert moves == ["Regular → Silver: 1"]
    await app.user.should_see("2 members: 1 would move up, 0 down")
    per_tier = {r["tier"]: (r["baseline"], r["proposed"], r["up"], r["down"])
                for r in rows(app, "whatif-tiers")}
    assert per_tier["Regular"] == (1, 0, 1, 0)
    assert per_tier["Silver"] == (1, 2, 0, 0)
    # the member at ¥600 would get Silver's 2%: ¥12.00 more discount over the window
    cost = element(app, "whatif-cost").text
    assert "¥24.00 → ¥36.00 (+¥12.00)" in cost
    changes = rows(app, "changes")
    assert [(r["field"], r["before"], r["after"]) for r in changes] == [
        ("tiers.1.qualify.net_spend", "100000", "50000")]
    await confirm(app, "lower the Silver threshold")
    await app.user.should_see("Saved as version 1.")
    [(version, note, data)] = versions(app, "tiers")
    assert (version, note) == (1, "lower the Silver threshold")
    assert data["tiers"][1]["qualify"]["net_spend"] == 50_000
    await app.user.should_see(marker="tiers-version", content="Version 1, saved")
    assert rows(app, "tiers-rows")[1]["qualify.net_spend"] == "¥500.00"
    with app.db.session(readonly=True) as s:
        audit = s.execute(select(AuditEntry).where(
            AuditEntry.action == "programme.changed")).scalar_one()
    assert (audit.target_id, audit.reason, audit.actor_name) == (
        "tiers", "lower the Silver threshold", "admin-op")


async def test_an_invalid_ladder_shows_the_validators_words_and_saves_nothing(
        console_app: Console) -> None:
    app = console_app
    await open_page(app)
    set_value(app, "tiers-tiers-1-qualify.net_spend", 6_000)  # above Gold's ¥5,000
    app.user.find(marker="tiers-save").click()
    await app.user.should_see("Not saved — please correct:")
    await app.user.should_see("Tier ladder (lowest first): net_spend thresholds must rise "
                              "strictly up the ladder")
    await app.user.should_not_see(marker="reason")
    set_value(app, "tiers-tiers-1-qualify.net_spend", 1_000)
    set_value(app, "tiers-tiers-2-benefits.discount_pct", 150)
    app.user.find(marker="tiers-save").click()
    await app.user.should_see("Tier ladder (lowest first) #3 · Discount: Input should be less "
                              "than or equal to 100")
    set_value(app, "tiers-tiers-2-benefits.discount_pct", 5)
    set_value(app, "tiers-tiers-1-qualify.net_spend", 1_000.005)
    app.user.find(marker="tiers-save").click()
    await app.user.should_see("Net spend at least: at most two decimals")
    set_value(app, "tiers-tiers-1-qualify.net_spend", 1_000)
    set_value(app, "tiers-json", "{not json")
    app.user.find(marker="tiers-save").click()
    await app.user.should_see("Other settings: not valid JSON")
    assert versions(app, "tiers") == []


async def test_nothing_changed_and_cancel_save_nothing(console_app: Console) -> None:
    app = console_app
    await open_page(app, tab="risk_rules")
    app.user.find(marker="risk_rules-save").click()
    await app.user.should_see("Nothing has changed.")
    set_value(app, "risk_rules-review_threshold", 3_000)
    app.user.find(marker="risk_rules-save").click()
    await app.user.should_see(marker="reason")
    app.user.find(marker="cancel").click()
    await app.user.should_not_see(marker="reason")
    assert versions(app, "risk_rules") == []


async def test_risk_limits_are_entered_in_yuan_and_stored_in_fen(console_app: Console) -> None:
    app = console_app
    await open_page(app, tab="risk_rules")
    assert element(app, "risk_rules-review_threshold").props["prefix"] == "¥"
    set_value(app, "risk_rules-review_threshold", 3_000)
    set_value(app, "risk_rules-daily_limit", 15_000.5)
    app.user.find(marker="risk_rules-save").click()
    await app.user.should_see(marker="reason")
    app.user.find(marker="confirm").click()  # without a reason: asked for one
    await app.user.should_see("A reason is required.")
    assert versions(app, "risk_rules") == []
    await confirm(app, "finance asked")
    await app.user.should_see("Saved as version 1.")
    [(_, note, data)] = versions(app, "risk_rules")
    assert (note, data["review_threshold"], data["daily_limit"]) == (
        "finance asked", 300_000, 1_500_050)
    risk = {r["field"]: r["value"] for r in rows(app, "risk_rules-current")}
    assert risk["Held for review at or above"] == "¥3,000.00"
    assert risk["Most recharged per day"] == "¥15,000.50"


async def test_a_recharge_change_previews_the_bonus_cost_of_the_last_12_months(
        console_app: Console) -> None:
    app = console_app
    member = new_member(app.make_uow, 1)
    for n, yuan in enumerate((500, 500)):
        app.clock.advance(timedelta(hours=1))
        with app.make_uow() as uow:
            wallet_service.recharge(uow, member_id=member, amount=yuan * 100,
                                    payment_ref=f"r-{n}")
    await open_page(app, tab="recharge_scheme")
    set_value(app, "recharge_scheme-bonus_rows-1-bonus", 100)  # ¥500 → ¥100 instead of ¥80
    app.user.find(marker="recharge_scheme-add-row").click()
    set_value(app, "recharge_scheme-bonus_rows-3-min_amount", 2_000)
    set_value(app, "recharge_scheme-bonus_rows-3-bonus", 450)
    app.user.find(marker="recharge_scheme-save").click()
    await app.user.should_see(marker="whatif")
    # ¥500 first (80 + 25) and ¥500 (80): ¥185 now, ¥225 proposed
    assert "¥185.00 → ¥225.00 (+¥40.00)" in element(app, "whatif-cost").text
    await app.user.should_see("2 recharges by 1 member, ¥1,000.00 in all")
    table = {r["what"]: r["value"] for r in rows(app, "whatif-recharges")}
    assert table["Members affected"] == "1"
    await confirm(app, "summer scheme")
    await app.user.should_see("Saved as version 1.")
    [(_, note, data)] = versions(app, "recharge_scheme")
    assert note == "summer scheme"
    assert data["bonus_rows"][1] == {"min_amount": 50_000, "bonus": 10_000}
    assert data["bonus_rows"][3] == {"min_amount": 200_000, "bonus": 45_000}


async def test_a_bonus_row_can_be_removed_and_the_json_edits_the_rest(
        console_app: Console) -> None:
    app = console_app
    await open_page(app, tab="recharge_scheme")
    app.user.find(marker="recharge_scheme-remove-0").click()
    rest = element(app, "recharge_scheme-json")
    rest.value = rest.value.replace('"campaigns": []', '"campaigns": [{"code": "may", '
                                    '"starts_on": "2026-05-01", "ends_on": "2026-04-01"}]')
    app.user.find(marker="recharge_scheme-save").click()
    await app.user.should_see("ends_on is before starts_on")
    rest.value = rest.value.replace('"2026-04-01"', '"2026-05-07"')
    app.user.find(marker="recharge_scheme-save").click()
    await confirm(app)
    await app.user.should_see("Saved as version 1.")
    [(_, _, data)] = versions(app, "recharge_scheme")
    assert [r["min_amount"] for r in data["bonus_rows"]] == [50_000, 100_000]
    assert data["campaigns"][0]["code"] == "may"
    assert [r["code"] for r in rows(app, "recharge_scheme-campaigns")] == ["may"]


async def test_history_lists_versions_and_shows_a_diff_against_the_one_in_force(
        console_app: Console) -> None:
    app = console_app
    configure(app.make_uow, "plans", plans={"PLUS": {"name": "PLUS", "price": 12_900}})
    configure(app.make_uow, "plans", plans={"PLUS": {"name": "PLUS", "price": 9_900}})
    await open_page(app, tab="plans")
    history = rows(app, "plans-history")
    assert [(r["version"], r["by"], r["note"]) for r in history] == [
        (2, "operator:test-admin", "test"), (1, "operator:test-admin", "test")]
    assert history[0]["at"] == "2026-06-15 10:00"
    set_value(app, "plans-pick", 1)
    diff = rows(app, "plans-diff")
    assert [(r["field"], r["then"], r["now"]) for r in diff] == [
        ("plans.PLUS.price", "12900", "9900")]
    assert rows(app, "plans-v1-rows")[0]["price"] == "¥129.00"
    set_value(app, "plans-pick", 2)
    await app.user.should_see("Same as the version in force.")


async def test_the_plus_plan_is_edited_in_yuan(console_app: Console) -> None:
    app = console_app
    await open_page(app, tab="plans")
    set_value(app, "plans-plans-0-price", 129)
    set_value(app, "plans-plans-0-points_multiplier_pct", 2)
    app.user.find(marker="plans-save").click()
    await confirm(app, "new price")
    await app.user.should_see("Saved as version 1.")
    [(_, _, data)] = versions(app, "plans")
    assert (data["plans"]["PLUS"]["price"], data["plans"]["PLUS"]["points_multiplier_pct"]) \
        == (12_900, 200)
    set_value(app, "plans-plans-0-price", 0)
    app.user.find(marker="plans-save").click()
    await app.user.should_see(
        "Paid membership plans PLUS · Price: Input should be greater than or equal to 1")
    assert len(versions(app, "plans")) == 1


async def test_an_analyst_reads_everything_and_changes_nothing(console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_page(app, "analyst")
    await app.user.should_see(marker="read-only")
    assert rows(app, "tiers-rows")[1]["qualify.net_spend"] == "¥1,000.00"
    assert rows(app, "coupons-table")[0]["code"] == "spend200"
    for marker in ("tiers-save", "risk_rules-save", "plans-save", "recharge_scheme-save",
                   "earning_rules-save", "coupon-create", "coupon-pause-spend200"):
        await app.user.should_not_see(marker=marker)


async def test_a_save_by_a_role_that_lost_the_right_is_refused(console_app: Console) -> None:
    app = console_app
    await open_page(app, "operator", tab="risk_rules")
    set_value(app, "risk_rules-velocity_count", 3)
    app.user.find(marker="risk_rules-save").click()
    await app.user.should_see(marker="reason")
    with app.make_uow() as uow:  # the operator's role is changed while the page is open
        uow.session.execute(update(Operator).where(Operator.username == "operator-op")
                            .values(role="analyst"))
    await confirm(app)
    await app.user.should_see("Your role (analyst) may not do this.")
    assert versions(app, "risk_rules") == []


async def test_the_earning_rules_form_saves_the_rate_and_caps(console_app: Console) -> None:
    app = console_app
    await open_page(app, "operator", tab="earning_rules")
    set_value(app, "earning_rules-points_per_yuan", 2)
    set_value(app, "earning_rules-daily_cap", 5_000)
    app.user.find(marker="earning_rules-save").click()
    await confirm(app)
    await app.user.should_see("Saved as version 1.")
    [(_, _, data)] = versions(app, "earning_rules")
    assert (data["points_per_yuan"], data["daily_cap"], data["monthly_cap"]) == (2, 5_000, None)
    assert [p["code"] for p in data["promotions"]] == ["weekend", "birthday_month"]


def coupon_templates(app: Console) -> dict[str, tuple[str, int | None, int | None]]:
    with app.db.session(readonly=True) as s:
        return {t.code: (t.status, t.amount_off, t.quantity)
                for t in s.execute(select(CouponTemplate)).scalars()}


async def test_a_coupon_template_is_created_with_validation(console_app: Console) -> None:
    app = console_app
    await open_page(app, "operator", tab="coupons")
    set_value(app, "coupon-code", "summer-30")
    set_value(app, "coupon-name", "满300减30")
    set_value(app, "coupon-kind", "percent_off")
    set_value(app, "coupon-min_spend", 300)
    app.user.find(marker="coupon-create").click()
    await app.user.should_see("percent_off: is required for a percent_off coupon")
    assert coupon_templates(app) == {}
    set_value(app, "coupon-kind", "amount_off")
    set_value(app, "coupon-amount_off", 30)
    set_value(app, "coupon-quantity", 1_000)
    set_value(app, "coupon-per_member_limit", 1)
    set_value(app, "coupon-tiers", ["gold", "diamond"])
    set_value(app, "coupon-valid_days", 14)
    app.user.find(marker="coupon-create").click()
    await app.user.should_see("¥30 off on orders of ¥300 or more")
    app.user.find(marker="confirm").click()
    await app.user.should_see("Template summer-30 created.")
    assert coupon_templates(app) == {"summer-30": ("active", 3_000, 1_000)}
    [row] = rows(app, "coupons-table")
    assert (row["budget"], row["limit"], row["tiers"], row["validity"]) == (
        "0 / 1,000", "1", "Gold, Diamond", "14 days from issue")


async def test_a_coupon_template_is_paused_with_a_reason_and_resumed(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_page(app, "operator", tab="coupons")
    app.user.find(marker="coupon-pause-spend200").click()
    await app.user.should_see(marker="reason")
    app.user.find(marker="cancel").click()
    assert coupon_templates(app)["spend200"][0] == "active"
    app.user.find(marker="coupon-pause-spend200").click()
    await confirm(app, "budget review")
    await app.user.should_see("Paused.")
    assert coupon_templates(app)["spend200"][0] == "paused"
    assert rows(app, "coupons-table")[0]["status"] == "Paused"
    with app.db.session(readonly=True) as s:
        audit = s.execute(select(AuditEntry).where(
            AuditEntry.action == "coupons.template_paused")).scalar_one()
    assert audit.reason == "budget review"
    app.user.find(marker="coupon-resume-spend200").click()
    app.user.find(marker="confirm").click()
    await app.user.should_see("Resumed.")
    assert coupon_templates(app)["spend200"][0] == "active"


async def test_labels_are_in_chinese_for_a_chinese_operator(console_app: Console) -> None:
    app = console_app
    await open_page(app, language="zh-CN")
    for label in ("会员等级", "积分规则与促销", "充值方案", "优惠券模板", "风控规则",
                  "PLUS 付费会员", "等级阶梯（由低到高）", "充值赠送档位", "版本历史"):
        await app.user.should_see(label)
    assert rows(app, "tiers-rows")[1]["name_zh"] == "银卡"
    await app.user.should_see("版本 0：参考方案，未修改过")


async def test_a_tier_is_added_to_the_ladder(console_app: Console) -> None:
    app = console_app
    await open_page(app, "operator")
    app.user.find(marker="tiers-add-row").click()
    for column, value in (("code", "black"), ("name_zh", "黑卡"), ("name_en", "Black"),
                          ("qualify.net_spend", 50_000), ("benefits.discount_pct", 10),
                          ("benefits.points_multiplier_pct", 2.5)):
        set_value(app, f"tiers-tiers-4-{column}", value)
    app.user.find(marker="tiers-save").click()
    await app.user.should_see(marker="whatif")
    await confirm(app, "a tier above Diamond")
    await app.user.should_see("Saved as version 1.")
    [(_, _, data)] = versions(app, "tiers")
    assert data["tiers"][4]["code"] == "black"
    assert data["tiers"][4]["qualify"]["net_spend"] == 5_000_000
    assert data["tiers"][4]["benefits"]["points_multiplier_pct"] == 250
    assert rows(app, "tiers-rows")[4]["benefits.points_multiplier_pct"] == "×2.5"


async def test_a_template_code_in_use_is_refused_and_a_lost_right_too(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_page(app, "operator", tab="coupons")
    set_value(app, "coupon-code", "spend200")
    set_value(app, "coupon-name", "again")
    set_value(app, "coupon-amount_off", 10)
    set_value(app, "coupon-valid_days", 7)
    app.user.find(marker="coupon-create").click()
    app.user.find(marker="confirm").click()
    await app.user.should_see("a coupon template with code 'spend200' already exists")
    assert len(coupon_templates(app)) == 1
    with app.make_uow() as uow:  # the role is changed while the page is open
        uow.session.execute(update(Operator).where(Operator.username == "operator-op")
                            .values(role="finance"))
    app.user.find(marker="coupon-pause-spend200").click()
    await confirm(app, "no longer allowed")
    await app.user.should_see("Your role (finance) may not do this.")
    assert coupon_templates(app)["spend200"][0] == "active"


# --- editing a coupon template and its history --------------------------------------------

def template_row(app: Console, code: str = "spend200") -> CouponTemplate:
    with app.db.session(readonly=True) as s:
        found = s.execute(select(CouponTemplate).where(CouponTemplate.code == code)) \
            .scalar_one()
        s.expunge(found)
        return found


def audit_of(app: Console, action: str) -> list[AuditEntry]:
    with app.db.session(readonly=True) as s:
        found = list(s.execute(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars())
        s.expunge_all()
        return found


async def open_edit(app: Console, code: str = "spend200", role: str = "operator") -> None:
    await open_page(app, role, tab="coupons")
    app.user.find(marker=f"coupon-edit-{code}").click()
    await app.user.should_see(marker="edit-save")


async def test_a_coupon_template_is_edited_and_only_the_changes_are_saved_with_the_reason(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_edit(app)
    # prefilled with the template's values, amounts in yuan
    assert element(app, "edit-amount_off").value == 30
    assert element(app, "edit-amount_off").props["prefix"] == "¥"
    assert element(app, "edit-min_spend").value == 200
    assert (element(app, "edit-name").value, element(app, "edit-valid_days").value) == (
        "template spend200", 14)
    set_value(app, "edit-name", "Spring 满200减30")
    set_value(app, "edit-quantity", 500)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Name: template spend200 → Spring 满200减30; "
                              "Budget (coupons in all): unlimited → 500")
    await confirm(app, "spring campaign")
    await app.user.should_see("Template spend200 saved.")
    saved = template_row(app)
    assert (saved.name, saved.quantity, saved.amount_off, saved.min_spend) == (
        "Spring 满200减30", 500, 3_000, 20_000)
    [changed] = audit_of(app, "coupons.template_changed")
    assert set(changed.changes) == {"name", "quantity"}
    [noted] = audit_of(app, "console.coupon_template_changed")
    assert (noted.reason, noted.actor_name, noted.target_type, noted.target_id) == (
        "spring campaign", "operator-op", "coupon_template", str(saved.id))
    assert noted.changes == changed.changes
    [row] = rows(app, "coupons-table")
    assert (row["name"], row["budget"]) == ("Spring 满200减30", "0 / 500")
    await app.user.should_not_see(marker="edit-save")


async def test_the_terms_of_a_template_with_issued_coupons_cannot_change(
        console_app: Console) -> None:
    app = console_app
    template_id = template(app.make_uow, "spend200")
    issue(app.make_uow, template_id, new_member(app.make_uow, 1))
    await open_edit(app)
    await app.user.should_see("1 coupons issued: the discount terms")
    set_value(app, "edit-amount_off", 20)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Amount off: ¥30.00 → ¥20.00")
    await confirm(app, "cheaper")
    await app.user.should_see("its terms (amount_off) can no longer change; create a new "
                              "template instead")
    assert "can no longer change" in " ".join(
        e.text for e in element(app, "edit-errors").descendants() if isinstance(e, ui.label))
    await app.user.should_not_see(marker="reason")
    saved = template_row(app)
    assert (saved.amount_off, saved.issued) == (3_000, 1)
    assert audit_of(app, "coupons.template_changed") == []
    assert audit_of(app, "console.coupon_template_changed") == []


async def test_an_invalid_template_edit_is_explained_and_saves_nothing(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "pct", kind="percent_off", amount_off=None, percent_off=10,
             max_discount=5_000, min_spend=0)
    await open_edit(app, "pct")
    set_value(app, "edit-percent_off", 150)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Not saved — please correct:")
    await app.user.should_see("Percent off (10 = 9折): Input should be less than or equal "
                              "to 99")
    await app.user.should_not_see(marker="reason")
    set_value(app, "edit-percent_off", 10)
    set_value(app, "edit-quantity", -5)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Budget (coupons in all): Input should be greater than or "
                              "equal to 1")
    set_value(app, "edit-quantity", None)
    set_value(app, "edit-amount_off", 10)  # an amount off on a percent coupon
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Amount off: does not apply to a percent_off coupon")
    set_value(app, "edit-amount_off", None)
    set_value(app, "edit-max_discount", 12.345)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("At most off: at most two decimals")
    await app.user.should_not_see(marker="reason")
    saved = template_row(app, "pct")
    assert (saved.percent_off, saved.quantity, saved.max_discount) == (10, None, 5_000)
    assert audit_of(app, "coupons.template_changed") == []


async def test_a_template_edit_cancelled_or_unchanged_saves_nothing(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_edit(app)
    app.user.find(marker="edit-save").click()
    await app.user.should_see("Nothing has changed.")
    set_value(app, "edit-name", "renamed")
    app.user.find(marker="edit-save").click()
    await app.user.should_see(marker="reason")
    app.user.find(marker="cancel").click()
    await app.user.should_not_see(marker="reason")
    assert template_row(app).name == "template spend200"
    app.user.find(marker="edit-close").click()
    await app.user.should_not_see(marker="edit-save")
    assert template_row(app).name == "template spend200"
    assert audit_of(app, "coupons.template_changed") == []


async def test_a_templates_history_shows_each_change_with_who_when_and_why(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_edit(app)
    set_value(app, "edit-name", "Spring")
    set_value(app, "edit-min_spend", 300)
    app.user.find(marker="edit-save").click()
    await confirm(app, "spring campaign")
    await app.user.should_see("Template spend200 saved.")
    app.clock.advance(timedelta(minutes=5))
    app.user.find(marker="coupon-pause-spend200").click()
    await confirm(app, "budget spent")
    await app.user.should_see("Paused.")
    app.user.find(marker="coupon-history-spend200").click()
    await app.user.should_see(marker="coupon-history")
    history = rows(app, "coupon-history")
    assert [(r["what"], r["at"], r["by"], r["reason"]) for r in history] == [
        ("Paused", "2026-06-15 10:05", "operator-op", "budget spent"),
        ("Changed", "2026-06-15 10:00", "operator-op", "spring campaign"),
        ("Created", "2026-06-15 10:00", "test-admin", "–")]
    assert history[0]["changes"] == "Status: Active → Paused"
    assert history[1]["changes"] == ("Name: template spend200 → Spring; "
                                     "Order at least: ¥200.00 → ¥300.00")
    assert "Amount off: ¥30.00" in history[2]["changes"]
    assert "Valid days: 14" in history[2]["changes"]


async def test_an_analyst_sees_a_templates_history_but_cannot_edit_it(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_page(app, "analyst", tab="coupons")
    await app.user.should_not_see(marker="coupon-edit-spend200")
    app.user.find(marker="coupon-history-spend200").click()
    await app.user.should_see(marker="coupon-history")
    assert [r["what"] for r in rows(app, "coupon-history")] == ["Created"]


async def test_a_template_edit_from_a_session_that_became_an_analysts_is_refused(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_edit(app)
    set_value(app, "edit-name", "not allowed")
    app.user.find(marker="edit-save").click()
    await app.user.should_see(marker="reason")
    with app.make_uow() as uow:  # the operator's role is changed while the form is open
        uow.session.execute(update(Operator).where(Operator.username == "operator-op")
                            .values(role="analyst"))
    await confirm(app, "crafted")
    await app.user.should_see("Your role (analyst) may not do this.")
    assert template_row(app).name == "template spend200"
    assert audit_of(app, "console.coupon_template_changed") == []


async def test_the_template_buttons_are_in_chinese_for_a_chinese_operator(
        console_app: Console) -> None:
    app = console_app
    template(app.make_uow, "spend200")
    await open_page(app, language="zh-CN", tab="coupons")
    for text in ("编辑 spend200", "历史 spend200", "暂停 spend200"):
        await app.user.should_see(text)
    app.user.find(marker="coupon-edit-spend200").click()
    await app.user.should_see("编辑模板 spend200")
    await app.user.should_see("保存…")
