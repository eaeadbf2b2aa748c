"""Member CSV parsing and validation, without a database: what a file becomes, row by row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberops.errors import ValidationFailed
from memberops.members import exporting, importing
from memberops.members.events import MemberRegistered
from memberops.members.importing import RowContext

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CTX = RowContext(today=date(2026, 6, 15), now=NOW, tz=SHANGHAI)


def parse(text: str, encoding: str = "utf-8") -> importing.ParsedFile:
    return importing.parse_csv(text.encode(encoding), CTX)


def errors_of(parsed: importing.ParsedFile) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in parsed.errors]


# --- encodings --------------------------------------------------------------------------------

def test_utf8_with_and_without_bom_and_gbk_decode_to_the_same_text() -> None:
    text = "phone,name\n13812345678,王小明\n"
    assert importing.decode(text.encode("utf-8")) == text
    assert importing.decode(text.encode("utf-8-sig")) == text
    assert importing.decode(text.encode("gbk")) == text


def test_undecodable_bytes_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationFailed) as caught:
        importing.decode(b"phone,name\n13812345678,\xff\xff\xff\n")
    assert caught.value.code == "import_encoding"
    assert "UTF-8" in caught.value.detail and "GBK" in caught.value.detail


def test_binary_files_are_refused_not_read_as_text() -> None:
    utf16 = "phone,name\n13812345678,王\n".encode("utf-16")
    with pytest.raises(ValidationFailed) as caught:
        importing.decode(utf16)
    assert caught.value.code == "import_encoding"


# --- the header -----------------------------------------------------------------------------

def test_chinese_header_aliases_map_to_our_columns() -> None:
    header = importing.read_header(
        ["手机号", "姓名", "邮箱", "生日", "性别", "省份", "城市", "渠道", "标签", "注册时间",
         "consent_sms", " Consent_WeChat "])
    assert header.fields == ["phone", "name", "email", "birthday", "gender", "province",
                             "city", "channel", "tags", "joined_at", "consent_sms",
                             "consent_wechat"]


@pytest.mark.parametrize(("names", "field", "words"), [
    (["phone", "nmae"], "nmae", "unknown column"),
    (["name", "email"], "phone", "phone column is required"),
    (["手机", "phone"], "phone", "appears twice"),
    (["phone", "", "name"], "column 2", "without a name"),
])
def test_a_wrong_header_is_refused_naming_the_column(names: list[str], field: str,
                                                     words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        importing.read_header(names)
    assert caught.value.code == "import_header"
    assert any(e["field"] == field and words in e["reason"] and e["line"] == 1
               for e in caught.value.errors), caught.value.errors


def test_a_semicolon_separated_file_gets_a_hint_and_the_header_line_is_its_own() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse("\n\nphone;name\n13812345678;王\n")
    assert caught.value.errors == [
        {"line": 3, "field": "phone;name",
         "reason": "unknown column; is the file separated by commas?"},
        {"line": 3, "field": "phone", "reason": "the phone column is required"}]


def test_system_and_report_columns_are_read_past_and_trailing_blanks_dropped() -> None:
    header = importing.read_header(["id", "phone", "tier", "status", "line", "field",
                                    "reason", "", ""])
    assert header.fields == [None, "phone", None, None, None, None, None]
    assert header.ignored == ["id", "tier", "status", "line", "field", "reason"]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse("\n\n")
    assert caught.value.code == "import_empty"


# --- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1990-05-01", "1990/05/01", "1990/5/1", " 1990-5-01 "])
def test_birthday_formats(text: str) -> None:
    assert importing.parse_date(text) == date(1990, 5, 1)


@pytest.mark.parametrize("text", ["01/05/1990", "1990-02-30", "19900501", "1990-05-01 10:00"])
def test_bad_birthdays(text: str) -> None:
    with pytest.raises(ValueError):
        importing.parse_date(text)


def test_joined_at_date_only_is_midnight_in_shanghai() -> None:
    value = importing.parse_joined_at("2024-01-05", SHANGHAI)
    assert value == datetime(2024, 1, 4, 16, 0, tzinfo=UTC)


def test_joined_at_time_without_offset_is_local_and_an_offset_is_kept() -> None:
    assert importing.parse_joined_at("2024/1/5 10:30", SHANGHAI) == \
        datetime(2024, 1, 5, 2, 30, tzinfo=UTC)
    assert importing.parse_joined_at("2024-01-05T10:30:00+00:00", SHANGHAI) == \
        datetime(2024, 1, 5, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("是", True),
    ("false", False), ("0", False), ("No", False), ("否", False), ("", None), ("  ", None)])
def test_consent_flags(text: str, expected: bool | None) -> None:
    assert importing.parse_flag(text) is expected


def test_tags_split_on_pipe_or_semicolon() -> None:
    assert importing.split_tags("vip| coffee ;;student") == ["vip", "coffee", "student"]


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 6, 15)),
       st.sampled_from(["-", "/"]))
def test_any_past_birthday_reads_back_in_either_spelling(day: date, sep: str) -> None:
    assert importing.parse_date(day.isoformat().replace("-", sep)) == day


# --- rows -----------------------------------------------------------------------------------

def test_a_good_row_becomes_a_normalised_member() -> None:
    parsed = parse("手机号,姓名,邮箱,生日,性别,省份,城市,渠道,标签,注册时间,consent_sms,"
                   "consent_email\n"
                   "138 1234 5678,王小明,Xiao@Example.COM,1990/5/1,男,广东,深圳,小程序,"
                   "vip|coffee,2024-01-05,是,否\n")
    row = parsed.rows[0]
    assert row.ok and row.member is not None
    member = row.member
    assert member.phone == "+8613812345678"
    assert member.email == "Xiao@example.com"
    assert (member.gender, member.channel) == ("male", "mini_program")
    assert member.region is not None and member.region.city == "深圳"
    assert member.tags == ["coffee", "vip"]
    assert member.consents == {"sms": True, "email": False}
    assert member.birthday == date(1990, 5, 1)


def test_every_bad_cell_is_reported_with_line_and_field() -> None:
    future = (date(2026, 6, 15) + timedelta(days=1)).isoformat()
    parsed = parse(
        "phone,email,birthday,gender,channel,tags,consent_sms,joined_at,province\n"
        "13812345678,ok@example.com,,,,,,,\n"
        f"12345,not-an-email,1990-13-01,robot,tv,ok|{'t' * 33},x,,\n"
        f"13912345678,,{future},,,,,2030-01-01,{'省' * 31}\n")
    assert parsed.rows[0].ok
    assert errors_of(parsed) == [
        (3, "birthday"), (3, "consent_sms"), (3, "phone"), (3, "email"), (3, "gender"),
        (3, "channel"), (3, "tags"),
        (4, "birthday"), (4, "joined_at"), (4, "province")]
    reasons = {(e.line, e.field): e.reason for e in parsed.errors}
    assert reasons[(4, "birthday")] == "birthday is in the future"
    assert reasons[(4, "joined_at")] == "is in the future"
    assert "12345" in reasons[(3, "phone")]


def test_an_empty_phone_is_an_error_and_extra_values_too() -> None:
    parsed = parse("phone,name\n,王\n13812345678,李,surplus\n")
    assert errors_of(parsed) == [(2, "phone"), (3, "row")]
    assert parsed.rows[0].errors[0].reason == "phone is required"


def test_line_numbers_skip_blank_lines_and_count_quoted_newlines() -> None:
    parsed = parse('phone,name\n\n13812345678,"two\nlines"\nbad,x\n')
    assert parsed.rows[0].line == 3
    assert parsed.rows[0].member is not None and parsed.rows[0].member.name == "two\nlines"
    assert errors_of(parsed) == [(5, "phone")]


# --- the file as a whole --------------------------------------------------------------------

def test_duplicates_in_the_file_and_in_the_database_are_reported_never_merged() -> None:
    parsed = parse("phone\n13812345678\n+86 138 1234 5678\n13912345678\n")
    importing.resolve(parsed.rows, {"+8613912345678": 7})
    assert [(e.line, e.field, e.reason) for e in parsed.errors] == [
        (3, "phone", "duplicate of line 2"), (4, "phone", "already a member (id 7)")]
    assert parsed.rows[0].member is not None and parsed.rows[1].member is None


def test_referrers_must_be_existing_members_or_earlier_rows() -> None:
    parsed = parse("phone,referrer_phone\n"
                   "13800000001,13900000009\n"   # existing member
                   "13800000002,13800000001\n"   # earlier row
                   "13800000003,13800000003\n"   # self
                   "13800000004,13800000005\n"   # a later row
                   "13800000005,13700000000\n")  # nobody
    importing.resolve(parsed.rows, {"+8613900000009": 9})
    assert parsed.rows[0].referrer_id == 9
    assert parsed.rows[1].referrer_row is parsed.rows[0]
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (4, "a member cannot refer themselves"),
        (5, "the referrer is on line 6, after this row; put referrers first"),
        (6, "no member and no earlier row has phone +8613700000000")]


def test_rejects_file_keeps_the_original_columns_and_adds_line_field_reason() -> None:
    parsed = parse("手机号,姓名,邮箱\n13812345678,王,bad\n13912345678,李,\n")
    text = importing.rejects_csv(parsed.header, parsed.rejected)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["手机号", "姓名", "邮箱", "line", "field", "reason"]
    assert rows[1][:5] == ["13812345678", "王", "bad", "2", "email"]
    assert len(rows) == 2
    # Corrected, the rejects file imports as it is: the report columns are read past.
    fixed = text.replace(",bad,", ",wang@example.com,")
    again = importing.parse_csv(fixed.encode(), CTX)
    assert again.rows[0].ok and again.header.ignored == ["line", "field", "reason"]


def test_export_cells_read_back_as_the_import_expects() -> None:
    joined = datetime(2024, 1, 5, 10, 30, tzinfo=SHANGHAI)
    cells = [exporting.csv_text(v) for v in (None, True, False, date(1990, 5, 1), joined, 7)]
    assert cells == ["", "true", "false", "1990-05-01", "2024-01-05T10:30:00+08:00", "7"]
    assert importing.parse_joined_at(cells[4], SHANGHAI) == joined
    assert exporting.HEADER[1:-2] == importing.COLUMNS


@pytest.mark.parametrize("referrer_id", [None, 7])
def test_the_fast_event_payload_is_the_events_own(referrer_id: int | None) -> None:
    event = MemberRegistered(member_id=3, channel="app", referrer_id=referrer_id,
                             source="import")
    assert importing.registered_payload(event) == event.payload()
