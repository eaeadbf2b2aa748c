"""`memberops demo --no-serve`: the printed key and password open the database it made."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from memberops.access import service as access_service
from memberops.api.app import create_app
from memberops.cli.main import app
from memberops.config import Settings, get_settings
from memberops.db import Database
from memberops.errors import Unauthenticated
from memberops.uow import Actor, UnitOfWork

KEY = re.compile(r"Bearer (mo_[A-Za-z0-9_-]+)")
PASSWORD = re.compile(r"Password\s+(\S+)")
OWED = re.compile(r"Owed\s+(¥[\d,.]+) stored value")


@pytest.fixture(autouse=True)
def restore_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The command points MEMBEROPS_DATABASE_URL at the demo; give it back afterwards.
    monkeypatch.setenv("MEMBEROPS_DATABASE_URL", "sqlite:///not-used.db")
    yield
    get_settings.cache_clear()


def run_demo(*args: str) -> str:
    # Three months of history: enough for every figure, and quick.
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--days", "90", *args])
    assert result.exit_code == 0, result.output
    return result.output


def members_page(url: str, key: str) -> tuple[int, dict]:
    with TestClient(create_app(Settings(database_url=url))) as client:
        resp = client.get("/api/v1/members", params={"limit": 5},
                          headers={"Authorization": f"Bearer {key}"})
        return resp.status_code, resp.json()


def sign_in(url: str, password: str) -> str:
    db = Database(url)
    try:
        with UnitOfWork(db, actor=Actor.system("test")) as uow:
            return access_service.verify_operator_login(
                uow, username="admin", password=password).role
    finally:
        db.dispose()


def test_demo_prints_a_key_and_password_that_work(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    output = run_demo("--members", "60", "--database", str(path))

    url = f"sqlite:///{path}"
    assert re.search(r"Members\s+60,", output) and "(new)" in output
    # the history's figures: orders, coupons, tiers, recharges, wallet, points, what is owed
    assert re.search(r"Orders\s+[\d,]+ orders by [\d,]+ members", output)
    assert re.search(r"[\d,]+\s+refunds", output)
    assert re.search(r"Coupons\s+[\d,]+ issued, [\d,]+ used", output)
    assert re.search(r"Tiers\s+[\d,]+ regular, [\d,]+ silver", output)
    assert re.search(r"Recharges\s+[\d,]+ settled; [\d,]+ held for review", output)
    assert re.search(r"Wallet\s+[\d,]+ payments", output)
    assert re.search(r"Points\s+[\d,]+ issued", output) and "expired" in output
    assert OWED.search(output) and "points (" in output
    assert "http://127.0.0.1:8000/docs" in output
    assert 'curl -H "Authorization: Bearer mo_' in output
    assert "/api/v1/members?limit=5" in output
    key = KEY.search(output).group(1)
    status, page = members_page(url, key)
    assert status == 200 and len(page["items"]) == 5
    assert sign_in(url, PASSWORD.search(output).group(1)) == "admin"
    assert get_settings().database_url == url  # what `serve` would open


def test_a_wrong_key_or_password_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    run_demo("--members", "20", "--database", str(path))
    url = f"sqlite:///{path}"
    assert members_page(url, "mo_not-a-real-key")[0] == 401
    with pytest.raises(Unauthenticated):
        sign_in(url, "wrong-password-123")


def test_a_second_run_replaces_the_demo_and_keep_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    first = run_demo("--members", "20", "--database", str(path))
    second = run_demo("--members", "30", "--database", str(path))
    assert "replaced the previous demo database" in second
    url = f"sqlite:///{path}"
    assert members_page(url, KEY.search(first).group(1))[0] == 401, "old key went with old db"
    kept = run_demo("--members", "500", "--keep", "--database", str(path))
    assert "kept" in kept and "unchanged" in kept
    assert re.search(r"Members\s+30\b", kept), "the 30 members of the second run, not 500"
    assert OWED.search(kept).group(1) == OWED.search(second).group(1), "read from the database"
    status, page = members_page(url, KEY.search(kept).group(1))
    assert status == 200 and len(page["items"]) == 5
    assert sign_in(url, PASSWORD.search(second).group(1)) == "admin"
    assert not list(tmp_path.glob("*.building*")), "no half-built database left behind"


def test_a_file_that_is_not_a_demo_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "precious.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(84))  # some other SQLite database
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--database", str(path)])
    assert result.exit_code == 1
    assert "not a memberops demo database" in result.output
    assert path.read_bytes() == b"SQLite format 3\x00" + bytes(84)


def test_a_taken_port_is_refused_before_generating(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["demo", "--database", str(tmp_path / "d.db"),
                                          "--port", str(port)])
    assert result.exit_code == 1 and "already in use" in result.output
    assert not (tmp_path / "d.db").exists()
