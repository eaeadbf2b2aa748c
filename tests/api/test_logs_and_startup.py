"""Structured logs carry the request id; the app refuses a database at another schema."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from memberops import logs
from memberops.api.app import create_app
from memberops.config import Settings
from memberops.errors import SchemaOutOfDate


@pytest.fixture
def json_logs(capsys):
    logs.configure("INFO", "json")
    yield capsys
    logging.getLogger().handlers = []
    structlog.reset_defaults()


def test_every_request_logs_one_json_line_with_its_request_id(client, auth, json_logs) -> None:
    resp = client.get("/api/v1/members", headers={**auth("analyst"), "X-Request-ID": "abc-123"})
    assert resp.status_code == 200
    lines = [json.loads(line) for line in json_logs.readouterr().err.splitlines()
             if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines[-1]["request_id"] == "abc-123"
    assert request_lines[-1]["status"] == 200 and request_lines[-1]["path"] == "/api/v1/members"
    assert request_lines[-1]["actor"] == "api_key:analyst test"


def test_app_refuses_to_start_on_an_unmigrated_database(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'blank.db'}")
    with pytest.raises(SchemaOutOfDate, match="memberops db upgrade"), \
            TestClient(create_app(settings)):
        pass


def test_app_refuses_a_newer_schema(database_url) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zzzz'"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="newer than this memberops"), \
            TestClient(create_app(Settings(database_url=database_url))):
        pass
