"""`memberops analytics segments preview | create | list | snapshot | export` over the small
world of tests/segments_helpers.py, and refusals as one line with an exit code."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from typer.testing import CliRunner

from memberops.cli.main import app
from tests.segments_helpers import insert_world, tag

runner = CliRunner()
DAY = date(2026, 6, 15)
AS_OF = ["--as-of", DAY.isoformat()]
VIP = {"all": [{"field": "tag", "op": "has", "value": "vip"}]}


@pytest.fixture
def world(db, cli_env) -> None:
    insert_world(db, DAY)


def run(*args: str):
    return runner.invoke(app, ["analytics", "segments", *args])


def test_preview_create_snapshot_export(world, db, tmp_path) -> None:
    file = tmp_path / "vip.json"
    file.write_text(json.dumps(VIP))
    done = run("preview", str(file), *AS_OF)
    assert done.exit_code == 0, done.output
    assert "2 members as of 2026-06-15" in done.stdout
    out = json.loads(run("preview", str(file), *AS_OF, "--json").stdout)
    assert out == {"as_of": "2026-06-15", "count": 2,
                   "sample": [{"member_id": 1, "tier": "gold"},
                              {"member_id": 3, "tier": "silver"}]}
    done = run("create", "--name", "VIPs", "--file", str(file))
    assert done.exit_code == 0, done.output
    segment_id = re.search(r"segment (\d+)", done.stdout).group(1)
    done = run("snapshot", segment_id, *AS_OF)
    assert done.exit_code == 0, done.output
    assert "2 members as of 2026-06-15" in done.stdout
    snapshot_id = re.search(r"snapshot (\d+)", done.stdout).group(1)
    tag(db, 2, "vip")  # later changes do not reach the snapshot
    target = tmp_path / "members.csv"
    done = run("export", snapshot_id, "--output", str(target))
    assert done.exit_code == 0, done.output
    assert target.read_text() == "member_id\n1\n3\n"
    done = run("list")
    assert done.exit_code == 0, done.output
    assert "VIPs" in done.stdout and "2026-06-15" in done.stdout


def test_refusals_are_one_line(world, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"all": [{"field": "age", "op": "has", "value": 1}]}))
    done = run("preview", str(bad), *AS_OF)
    assert done.exit_code == 1
    assert "definition.all.0.op" in done.output and "[validation_error]" in done.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run("preview", str(broken)).exit_code == 1
    good = tmp_path / "good.json"
    good.write_text(json.dumps(VIP))
    assert run("create", "--name", "x", "--file", str(good)).exit_code == 0
    done = run("create", "--name", "x", "--file", str(good))
    assert done.exit_code == 1 and "[segment_exists]" in done.output
    done = run("snapshot", "99")
    assert done.exit_code == 1 and "[segment_not_found]" in done.output
    done = run("export", "99", "--output", str(tmp_path / "x.csv"))
    assert done.exit_code == 1 and "[snapshot_not_found]" in done.output
    assert run("preview", str(good), "--as-of", "2999-01-01").exit_code == 1
