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
from tests.coupons_helpers import template
from tests.tiers_helpers import new_member, spend

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
    """Sign in, then open the page (it loads every configuration: more than the sign-in
    helper waits for)."""
    await app.sign_in(role, language=language, then="/members")
    await app.user.open(f"/programme?tab={tab}")


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
