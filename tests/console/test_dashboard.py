"""The dashboard on a small world made through the services, with the console's clock at
15 June 2026 10:00 (Asia/Shanghai); the default period is the last 30 days, 17 May –
15 June, compared with 17 April – 16 May.

- A joined 20 April (store); orders ¥300 at S1 on 1 May and ¥300 at S1 on 10 June.
- B joined 1 June (app); an order ¥150 at S2 on 10 June; recharged ¥100 on 10 June.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from nicegui import ui

from memberops.console import dashboard_data
from tests import orders_helpers as oh
from tests.conftest import SHANGHAI
from tests.console.conftest import Console

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _no_cached_boards() -> Iterator[None]:
    # Boards are kept per database URL; on PostgreSQL every test has the same one.
    # The reader process is started before the test (as a server starts it when it
    # mounts the console), so that its imports do not slow the sign-in down.
    dashboard_data.start_reader()
    dashboard_data.clear_cache()  # waits for the reader
    yield
    dashboard_data.clear_cache()


def _world(app: Console) -> None:
    clock, make_uow = app.clock, app.make_uow
    a = oh.member(make_uow, 1, joined_at=datetime(2026, 4, 20, 12, tzinfo=SHANGHAI))
    b = oh.member(make_uow, 2, channel="app",
                  joined_at=datetime(2026, 6, 1, 12, tzinfo=SHANGHAI))
    clock.set(datetime(2026, 5, 1, 12, tzinfo=SHANGHAI))
    oh.place(make_uow, oh.order(a, "O-1", store="S1"))
    clock.set(datetime(2026, 6, 10, 12, tzinfo=SHANGHAI))
    oh.place(make_uow, oh.order(a, "O-2", store="S1"))
    oh.place(make_uow, oh.order(b, "O-3", items=[("TEA", 1, 15_000)], store="S2"))
    with make_uow() as uow:
        from memberops.wallet import service as wallet_service

        wallet_service.recharge(uow, member_id=b, amount=10_000, payment_ref="pay-b")
    clock.set(NOW)


def _texts(app: Console, marker: str) -> list[str]:
    """The texts of the elements of `marker` now on the page (none while computing)."""
    try:
        found = app.user.find(marker=marker).elements
    except AssertionError:
        return []
    return [str(e.text) for e in found]  # type: ignore[attr-defined]


def _text(app: Console, marker: str) -> str:
    element = app.user.find(marker=marker).elements.pop()
    return str(element.text)  # type: ignore[attr-defined]


def _chart(app: Console, name: str) -> dict[str, Any]:
    element = app.user.find(marker=f"chart-{name}").elements.pop()
    assert isinstance(element, ui.echart)
    return element.options


async def _open(app: Console, role: str = "admin", language: str = "en") -> None:
    await app.sign_in(role, language=language, then="/")
    await app.user.should_see(marker="kpi-orders", retries=300)  # the first board
    # also waits for the reader process to start


async def test_the_cards_show_the_period_against_the_previous_one(console_app: Console) -> None:
    _world(console_app)
    await _open(console_app)
    await console_app.user.should_see("2026-05-17 – 2026-06-15, compared with "
                                      "2026-04-17 – 2026-05-16")
    assert _text(console_app, "value-orders") == "2"
    assert _text(console_app, "change-orders") == "▲ 100.0%"      # 2 against 1
    assert _text(console_app, "value-gmv") == "¥450.00"
    assert _text(console_app, "change-gmv") == "▲ 50.0%"          # ¥450 against ¥300
    assert _text(console_app, "value-members_total") == "2"
    assert _text(console_app, "value-members_new") == "1"
    assert _text(console_app, "change-members_new") == "● 0.0%"   # B against A
    assert _text(console_app, "value-average_order_value") == "¥225.00"
    assert _text(console_app, "value-recharge_amount") == "¥100.00"
    assert _text(console_app, "change-recharge_amount") == "–"    # nothing before


async def test_the_charts_carry_the_weekly_series_and_the_breakdowns(
        console_app: Console) -> None:
    _world(console_app)
    await _open(console_app)
    sales = _chart(console_app, "sales")
    weeks = sales["xAxis"]["data"]
    assert len(weeks) == 12 and weeks[-1] == "2026-06-15"  # a Monday: the week so far
    gmv = dict(zip(weeks, sales["series"][0]["data"], strict=True))
    orders = dict(zip(weeks, sales["series"][1]["data"], strict=True))
    assert gmv["2026-06-08"] == 450.0 and orders["2026-06-08"] == 2
    assert gmv["2026-04-27"] == 300.0 and sum(orders.values()) == 3
    growth = _chart(console_app, "growth")
    members = dict(zip(weeks, growth["series"][1]["data"], strict=True))
    assert members["2026-04-13"] == 0 and members["2026-04-20"] == 1
    assert members["2026-06-15"] == 2
    recharged = dict(zip(weeks, _chart(console_app, "recharges")["series"][0]["data"],
                         strict=True))
    assert recharged["2026-06-08"] == 100.0
    tiers = _chart(console_app, "tiers")["series"][0]["data"]
    assert sum(d["value"] for d in tiers) == 2
    assert _chart(console_app, "cohorts")["series"][0]["type"] == "heatmap"
    stored = _chart(console_app, "stored-value")["series"][0]["data"]
    assert stored[0]["value"] == 100.0  # the principal B recharged
    for name in ("active", "regions", "points"):
        assert _chart(console_app, name)["series"]


async def test_the_store_filter_changes_the_numbers(console_app: Console) -> None:
    _world(console_app)
    await _open(console_app)
    console_app.user.find(marker="filter-store").click()
    console_app.user.find("S1").click()
    await console_app.user.should_see("¥300.00", marker="value-gmv", retries=100)
    assert _text(console_app, "value-orders") == "1"
    assert _text(console_app, "value-members_total") == "1"  # A's first order was at S1


async def test_a_preset_and_a_custom_period(console_app: Console) -> None:
    _world(console_app)
    await _open(console_app)
    console_app.user.find(marker="preset").click()
    console_app.user.find("Last 7 days").click()
    await console_app.user.should_see("2026-06-09 – 2026-06-15", retries=100)
    assert _text(console_app, "value-orders") == "2"
    console_app.user.find(marker="from").clear().type("2026-05-01")
    console_app.user.find(marker="to").clear().type("2026-05-01")
    console_app.user.find(marker="apply").click()
    await console_app.user.should_see("2026-05-01 – 2026-05-01", retries=100)
    assert _text(console_app, "value-orders") == "1"


async def test_a_reversed_custom_period_is_refused(console_app: Console) -> None:
    await _open(console_app)
    console_app.user.find(marker="from").clear().type("2026-06-10")
    console_app.user.find(marker="to").clear().type("2026-06-01")
    console_app.user.find(marker="apply").click()
    await console_app.user.should_see("The end date is before the start date.")
    await console_app.user.should_see("2026-05-17 – 2026-06-15")


async def test_figures_are_kept_until_refreshed(console_app: Console) -> None:
    _world(console_app)
    await _open(console_app)
    assert _text(console_app, "value-orders") == "2"
    member = oh.member(console_app.make_uow, 3)
    oh.place(console_app.make_uow, oh.order(member, "O-4", store="S1"))
    await console_app.user.open("/")
    await console_app.user.should_see(marker="kpi-orders", retries=100)
    assert _text(console_app, "value-orders") == "2"  # the kept board
    console_app.user.find(marker="refresh").click()
    # Not should_see("3", marker=…): a bare text also matches any notification.
    for _ in range(300):
        await asyncio.sleep(0.1)
        if _texts(console_app, "value-orders") == ["3"]:
            break
    assert _texts(console_app, "value-orders") == ["3"]


async def test_an_empty_database_shows_zeros_and_dashes(console_app: Console) -> None:
    await _open(console_app)
    assert _text(console_app, "value-orders") == "0"
    assert _text(console_app, "value-gmv") == "¥0.00"
    assert _text(console_app, "value-average_order_value") == "–"
    assert _text(console_app, "value-active_ratio_30d") == "–"
    assert _text(console_app, "change-orders") == "–"
    assert _chart(console_app, "sales")["series"][0]["data"] == [0.0] * 12


async def test_an_analyst_reads_the_dashboard(console_app: Console) -> None:
    # Every console role holds reports.read; the till, which lacks it, has no console.
    _world(console_app)
    await _open(console_app, "analyst")
    assert _text(console_app, "value-orders") == "2"
    await console_app.user.should_see(marker="chart-sales")


async def test_a_till_account_never_sees_the_dashboard(console_app: Console) -> None:
    from tests.console.conftest import PASSWORD

    username = console_app.operator("till")
    await console_app.user.open("/signin?lang=en&next=/")
    console_app.user.find(marker="username").type(username)
    console_app.user.find(marker="password").type(PASSWORD)
    console_app.user.find(marker="submit").click()
    await console_app.user.should_see("A till account has no console; use the till.")
    await console_app.user.should_not_see(marker="kpi-orders")


async def test_chinese_labels_for_a_chinese_operator(console_app: Console) -> None:
    _world(console_app)
    await _open(console_app, language="zh-CN")
    await console_app.user.should_see("会员总数")
    await console_app.user.should_see("近30天")
    assert _chart(console_app, "sales")["title"]["text"] == "每周GMV与订单"
    assert _text(console_app, "value-gmv") == "¥450.00"


@pytest.fixture
def _quick_keeper(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server takes the opening board again after 150 s, and spends at most a tenth
    # of the reader's time on it; here after 0.3 s, waiting one computing time between.
    monkeypatch.setattr(dashboard_data, "REFRESH_AFTER", 0.3)
    monkeypatch.setattr(dashboard_data, "KEEPER_SHARE", 1.0)


async def _kept_orders(expected: int, timeout: float = 60) -> int | None:
    """The orders of the kept opening board, once it holds `expected` (or the last seen)."""
    from memberops.console import dashboard, state

    seen = None
    for _ in range(int(timeout / 0.1)):
        board = dashboard_data.cached(dashboard.opening_key(state.services()))
        if board is not None:
            seen = board.figures.report.current.values["orders"]
            if seen == expected:
                break
        await asyncio.sleep(0.1)
    return seen


@pytest.mark.keeps_dashboard_ready
async def test_the_server_keeps_the_opening_board_ready(
        _quick_keeper: None, console_app: Console) -> None:
    # Nobody has opened the dashboard: the server computed its board when it started
    # (an empty store), and takes it again as it ages.
    assert await _kept_orders(0) == 0
    _world(console_app)
    assert await _kept_orders(2) == 2
    await console_app.sign_in("analyst", then="/")
    # The page came with its figures: no waiting for them.
    assert _texts(console_app, "loading") == []
    assert _texts(console_app, "value-orders") == ["2"]


async def test_two_pages_asking_for_one_board_read_the_store_once(
        console_app: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    from memberops.console import dashboard, state

    _world(console_app)
    services = state.services()
    key = dashboard.opening_key(services)
    computing = []
    release = threading.Event()
    compute = dashboard_data.compute

    def held_compute(*args: Any, **kwargs: Any) -> dashboard_data.Board:
        computing.append(args)
        release.wait(30)  # the first page is still reading the store …
        return compute(*args, **kwargs)

    monkeypatch.setattr(dashboard_data, "compute", held_compute)
    first = asyncio.create_task(asyncio.to_thread(dashboard_data.board, services, key))
    while not computing:
        await asyncio.sleep(0.01)
    second = asyncio.create_task(asyncio.to_thread(dashboard_data.board, services, key))
    await asyncio.sleep(0.2)  # … when the second asks
    release.set()
    boards = await asyncio.gather(first, second)
    assert len(computing) == 1
    assert boards[0] is boards[1]
    assert boards[0].figures.report.current.values["orders"] == 2
    # A refresh does not wait for a computation under way: it reads the store again.
    fresh = await asyncio.to_thread(dashboard_data.board, services, key, fresh=True)
    assert len(computing) == 2 and fresh is not boards[0]
