"""The console in a real browser: Debian's headless Chromium, driven by Selenium, against a
real `memberops serve` on a database with a small demo history. It signs in, opens the
dashboard and a member page, adjusts points and saves screenshots (the README's come from
here: set MEMBEROPS_SCREENSHOTS_DIR=docs/screenshots).

Chromium is a system package: without it the test is skipped, unless
MEMBEROPS_REQUIRE_BROWSER is set (as .ci/run does, after installing it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from memberops.access import service as access_service
from memberops.access.models import Operator
from memberops.audit.models import AuditEntry
from memberops.clock import SystemClock
from memberops.db import Database
from memberops.demo import DemoPlan
from memberops.demo.runner import generate
from memberops.members.models import Member
from memberops.points import queries as points_queries
from memberops.uow import Actor, UnitOfWork

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "browser-test-password"
WAIT = 30  # seconds for anything to appear; generous for a loaded CI machine

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    if os.environ.get("MEMBEROPS_REQUIRE_BROWSER"):
        raise RuntimeError("MEMBEROPS_REQUIRE_BROWSER is set but /usr/bin/chromium or "
                           "/usr/bin/chromedriver is missing (apt-get install chromium "
                           "chromium-driver)")
    pytest.skip("Debian's chromium and chromium-driver are not installed",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


@dataclass
class Served:
    base: str
    db: Database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A small demo history (now, so the dashboard's last 30 days have data), an admin,
    and `memberops serve` on it."""
    db = Database(database_url)
    generate(db, DemoPlan(members=150), SystemClock(tz=ZoneInfo("Asia/Shanghai")))
    with UnitOfWork(db, actor=Actor.system("browser-test"), clock=SystemClock()) as uow:
        access_service.create_operator(uow, username="browser", password=PASSWORD,
                                       role="admin", display_name="Browser Test",
                                       language="en")
    port = _free_port()
    env = {**os.environ, "MEMBEROPS_DATABASE_URL": database_url,
           "MEMBEROPS_CONSOLE_STATE_DIR": str(tmp_path / "console-state"),
           "MEMBEROPS_LOG_LEVEL": "WARNING"}
    memberops = Path(sys.executable).with_name("memberops")
    server = subprocess.Popen([str(memberops), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                raise RuntimeError(f"memberops serve did not start:\n{output}")
            time.sleep(0.2)
        yield Served(base, db)
    finally:
        server.terminate()
        server.wait(timeout=10)
        db.dispose()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1440,1400", "--lang=en-US",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _screenshots(tmp_path: Path) -> list[Path]:
    places = [tmp_path / "screenshots"]
    if os.environ.get("MEMBEROPS_SCREENSHOTS_DIR"):
        places.append(Path(os.environ["MEMBEROPS_SCREENSHOTS_DIR"]))
    for place in places:
        place.mkdir(parents=True, exist_ok=True)
    return places


def _save(driver: WebDriver, places: list[Path], name: str) -> None:
    driver.save_screenshot(str(places[0] / name))
    for place in places[1:]:
        shutil.copyfile(places[0] / name, place / name)


def _wait_text(driver: WebDriver, text: str) -> WebElement:
    return WebDriverWait(driver, WAIT).until(ec.visibility_of_element_located(
        (By.XPATH, f"//*[normalize-space(text())={_xpath_literal(text)}]")))


def _xpath_literal(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"


def _sign_in(driver: WebDriver, base: str) -> None:
    driver.get(f"{base}/console/")
    username = WebDriverWait(driver, WAIT).until(
        ec.visibility_of_element_located((By.XPATH, "//input[@type='text']")))
    username.send_keys("browser")
    driver.find_element(By.XPATH, "//input[@type='password']").send_keys(PASSWORD)
    driver.find_element(By.XPATH, "//button[.//span[normalize-space()='Sign in']]").click()
    _wait_text(driver, "Sign out")


def _member_with_points(db: Database) -> tuple[int, int]:
    """The member with the most points to spend (a busy one: a full page), and how many."""
    now = SystemClock().now()
    with db.session(readonly=True) as session:
        ids = session.execute(select(Member.id).order_by(Member.id)).scalars().all()
        balances = {member_id: points_queries.available_points(session, member_id, now)
                    for member_id in ids}
    member_id = max(balances, key=lambda m: (balances[m], -m))
    assert balances[member_id] > 0, "the demo history gave no member any points"
    return member_id, balances[member_id]


def test_sign_in_dashboard_member_page_and_a_points_adjustment(
        served: Served, browser: WebDriver, tmp_path: Path) -> None:
    places = _screenshots(tmp_path)
    _sign_in(browser, served.base)

    # The dashboard: KPI cards, then the charts (ECharts draws on a canvas).
    _wait_text(browser, "Dashboard")
    WebDriverWait(browser, WAIT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".nicegui-echart canvas")) >= 6)
    time.sleep(1.0)  # the charts' entry animation
    _save(browser, places, "dashboard.png")

    member_id, available = _member_with_points(served.db)
    browser.get(f"{served.base}/console/members/{member_id}")
    _wait_text(browser, "Points")
    time.sleep(1.0)
    _save(browser, places, "member.png")

    # Adjust points: the form, Continue, then the confirmation with its reason.
    browser.find_element(By.XPATH,
                         "//button[.//span[normalize-space()='Adjust points']]").click()
    form = WebDriverWait(browser, WAIT).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".q-dialog")))
    form.find_element(By.XPATH, ".//input").send_keys("25")
    form.find_element(By.XPATH, ".//button[.//span[normalize-space()='Continue']]").click()
    reason = WebDriverWait(browser, WAIT).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".q-dialog textarea")))
    reason.send_keys("browser test: goodwill")
    browser.find_element(By.XPATH, "//div[contains(@class,'q-dialog')]"
                         "//button[.//span[normalize-space()='Confirm']]").click()
    WebDriverWait(browser, WAIT).until(ec.invisibility_of_element_located(
        (By.CSS_SELECTOR, ".q-dialog")))

    deadline = time.monotonic() + WAIT
    while True:
        with served.db.session(readonly=True) as session:
            now_available = points_queries.available_points(session, member_id,
                                                            SystemClock().now())
        if now_available == available + 25 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert now_available == available + 25
    with served.db.session(readonly=True) as session:
        reasons = session.execute(select(AuditEntry.reason).where(
            AuditEntry.actor_name == "browser")).scalars().all()
    assert "browser test: goodwill" in reasons
    _save(browser, places, "member-after-adjustment.png")

    # The language switch, in the browser: the same dashboard in Chinese, remembered.
    browser.get(f"{served.base}/console/")
    browser.find_element(By.XPATH, "//button[.//span[normalize-space()='中文']]").click()
    _wait_text(browser, "仪表盘")
    WebDriverWait(browser, WAIT).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".nicegui-echart canvas")) >= 6)
    time.sleep(1.0)
    _save(browser, places, "dashboard-zh.png")
    with served.db.session(readonly=True) as session:
        language = session.execute(select(Operator.language).where(
            Operator.username == "browser")).scalar_one()
    assert language == "zh-CN"
    assert (places[0] / "dashboard.png").stat().st_size > 10_000
    assert (places[0] / "member.png").stat().st_size > 10_000
