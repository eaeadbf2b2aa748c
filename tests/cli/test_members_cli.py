"""`memberops members import|export` as an operator runs them: files in, files out, exit codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.members import queries
from memberops.members.models import Member
from memberops.members.queries import MemberFilter
from memberops.uow import UnitOfWork

MakeUow = Callable[..., UnitOfWork]
runner = CliRunner()

GOOD = ("phone,name,email,birthday,province,city,channel,tags,joined_at,consent_sms\n"
        "13812345678,王小明,wang@example.com,1990-05-01,广东,深圳,门店,vip|coffee,2024-01-05,是\n"
        "13912345678,李雷,,,北京,北京,app,student,2025-03-01 09:30,\n"
        "13700000001,韩梅梅,,,北京,北京,小程序,vip,,否\n")


def write(tmp_path: Path, content: str, name: str = "members.csv",
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def member_count(make_uow: MakeUow) -> int:
    with make_uow(readonly=True) as uow:
        return uow.session.execute(select(func.count()).select_from(Member)).scalar_one()


def test_import_a_good_gbk_file(cli_env: str, tmp_path: Path, make_uow: MakeUow) -> None:
    path = write(tmp_path, GOOD, encoding="gbk")

    result = runner.invoke(app, ["members", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "imported 3 of 3 members from members.csv" in result.stdout
    assert "validating" in result.stdout  # the progress bar
    with make_uow(readonly=True) as uow:
        assert [m.name for m in queries.search(uow.session, MemberFilter(tag="vip")).items] \
            == ["韩梅梅", "王小明"]


def test_a_bad_row_fails_the_whole_import_and_lists_every_bad_row(
        cli_env: str, tmp_path: Path, make_uow: MakeUow) -> None:
    path = write(tmp_path, GOOD + "13600000000,,nope@,,,,,,,\n13812345678,again,,,,,,,,\n")

    result = runner.invoke(app, ["members", "import", str(path)])

    assert result.exit_code == 1
    assert "line 5: email: not a valid email address" in result.stderr
    assert "line 6: phone: duplicate of line 2" in result.stderr
    assert "2 of 5 rows are invalid; nothing was imported" in result.stderr
    assert "[import_invalid]" in result.stderr
    assert member_count(make_uow) == 0
    assert not (tmp_path / "members.csv.rejects.csv").exists()


def test_skip_invalid_writes_the_rejects_next_to_the_file(cli_env: str, tmp_path: Path,
                                                          make_uow: MakeUow) -> None:
    path = write(tmp_path, GOOD + "13600000000,,nope@,,,,,,,\n")

    result = runner.invoke(app, ["members", "import", str(path), "--skip-invalid"])

    assert result.exit_code == 0, result.output
    assert "imported 3 of 4 members" in result.stdout
    rejects = tmp_path / "members.csv.rejects.csv"
    assert "1 rows rejected, written to" in result.stdout
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
    assert rows[0] == [*GOOD.splitlines()[0].split(","), "line", "field", "reason"]
    assert rows[1][0] == "13600000000" and rows[1][-3:-1] == ["5", "email"]
    assert member_count(make_uow) == 3


def test_rejects_go_where_asked_and_a_corrected_rejects_file_imports(
        cli_env: str, tmp_path: Path, make_uow: MakeUow) -> None:
    path = write(tmp_path, "phone,name\n13812345678,ok\n1234,typo\n")
    target = tmp_path / "out" / "bad.csv"
    target.parent.mkdir()

    result = runner.invoke(app, ["members", "import", str(path), "--skip-invalid",
                                 "--rejects", str(target)])
    assert result.exit_code == 0, result.output
    fixed = target.read_text(encoding="utf-8-sig").replace("1234,typo", "13912345678,typo")
    target.write_text(fixed, encoding="utf-8-sig")

    again = runner.invoke(app, ["members", "import", str(target)])
    assert again.exit_code == 0, again.output
    assert "ignored columns (set by the system): line, field, reason" in again.stdout
    assert member_count(make_uow) == 2


def test_a_wrong_header_or_an_undecodable_file_is_refused(cli_env: str, tmp_path: Path,
                                                          make_uow: MakeUow) -> None:
    header = runner.invoke(app, ["members", "import",
                                 str(write(tmp_path, "mobile_no,name\n13812345678,x\n"))])
    assert header.exit_code == 1
    assert "mobile_no: unknown column" in header.stderr
    assert "phone column is required" in header.stderr

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"phone\n\x81\xff\xfe\n")
    refused = runner.invoke(app, ["members", "import", str(garbage)])
    assert refused.exit_code == 1
    assert "neither UTF-8 nor GBK" in refused.stderr
    assert member_count(make_uow) == 0


def test_import_of_a_missing_file_is_a_usage_error(cli_env: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["members", "import", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def empty_members(make_uow: MakeUow) -> None:
    with make_uow() as uow:
        for sql in ("DELETE FROM outbox", "DELETE FROM member_tags",
                    "DELETE FROM member_consents", "DELETE FROM members"):
            uow.session.execute(text(sql))


def test_csv_export_round_trips_through_import(cli_env: str, tmp_path: Path,
                                               make_uow: MakeUow) -> None:
    runner.invoke(app, ["members", "import", str(write(tmp_path, GOOD))])
    first = tmp_path / "first.csv"

    result = runner.invoke(app, ["members", "export", "--output", str(first)])
    assert result.exit_code == 0, result.output
    assert "exported 3 members" in result.stdout
    assert first.read_bytes().startswith(b"\xef\xbb\xbfid,phone,name")

    empty_members(make_uow)
    assert runner.invoke(app, ["members", "import", str(first)]).exit_code == 0
    second = tmp_path / "second.csv"
    runner.invoke(app, ["members", "export", "--format", "csv", "-o", str(second)])

    def body(path: Path) -> list[list[str]]:
        return [r[1:] for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))]
    assert body(second) == body(first)
    assert len(body(first)) == 4


def test_xlsx_export_with_filters(cli_env: str, tmp_path: Path) -> None:
    runner.invoke(app, ["members", "import", str(write(tmp_path, GOOD))])
    out = tmp_path / "vip-beijing.xlsx"

    result = runner.invoke(app, ["members", "export", "-o", str(out), "--tag", "vip",
                                 "--region", "北京"])

    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out, read_only=True)["members"].iter_rows(values_only=True))
    assert [r[1:3] for r in rows[1:]] == [("+8613700000001", "韩梅梅")]
    assert "exporting" in result.stdout and "exported 1 members" in result.stdout


def test_export_joined_days_are_inclusive(cli_env: str, tmp_path: Path) -> None:
    runner.invoke(app, ["members", "import", str(write(tmp_path, GOOD))])
    out = tmp_path / "march.csv"

    result = runner.invoke(app, ["members", "export", "-o", str(out), "--joined-from",
                                 "2025-03-01", "--joined-to", "2025-03-01"])

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r[2] for r in rows[1:]] == ["李雷"]


def test_export_refuses_an_unknown_format_and_leaves_no_file(cli_env: str,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "members.pdf"
    result = runner.invoke(app, ["members", "export", "-o", str(out), "--format", "pdf"])
    assert result.exit_code == 1
    assert "unknown format 'pdf'" in result.stderr
    assert not out.exists()
