"""Reading the live store into typed frames, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import delete, insert

from memberops.analytics import frames
from memberops.errors import ValidationFailed
from memberops.members.models import Member

JOINED = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai


def _add_members(db, rows: list[dict]) -> None:
    with db.session() as session:
        session.execute(insert(Member), [
            {"phone": f"+86138{i:08d}", "gender": "unknown", "channel": "store",
             "tier": "regular", "status": "active", "joined_at": JOINED,
             "created_at": JOINED, "updated_at": JOINED, **row}
            for i, row in enumerate(rows)])
        session.commit()


def test_columns_come_back_with_the_model_types_and_nulls(db, database_url) -> None:
    # given 1,500 members without a birthday or city, then one with both (SQLite's
    # driver guesses a column's type from its first rows: this is the case that broke it)
    _add_members(db, [{} for _ in range(1_500)]
                 + [{"birthday": date(1990, 5, 17), "city": "杭州", "referrer_id": 1}])
    # when
    members = frames.load(database_url, {
        "members": ["id", "joined_at", "birthday", "city", "referrer_id"]})["members"]
    # then
    assert members.schema == pl.Schema({
        "id": pl.Int64(), "joined_at": pl.Datetime("us", "UTC"), "birthday": pl.Date(),
        "city": pl.String(), "referrer_id": pl.Int64()})
    assert members.height == 1_501
    last = members.sort("id").row(-1, named=True)
    assert last["birthday"] == date(1990, 5, 17) and last["city"] == "杭州"
    assert last["referrer_id"] == 1 and last["joined_at"] == JOINED
    assert members["birthday"].null_count() == 1_500
    assert members["city"].null_count() == 1_500


def test_tables_read_over_one_connection_see_one_instant(db, database_url) -> None:
    # given the store as a reader finds it, and a write committed while it reads
    _add_members(db, [{}, {}])
    with frames.connect(database_url) as conn:
        sqlite = database_url.startswith("sqlite")
        first = frames.read_table(conn, "members", ["id"], sqlite=sqlite)
        _add_members(db, [{"phone": "+8613999999999"}])
        # when it reads on (another table would be read here)
        again = frames.read_table(conn, "members", ["id"], sqlite=sqlite)
    # then it sees the store as it was when it began, not half of the write
    assert first.height == again.height == 2
    assert frames.load(database_url, {"members": ["id"]})["members"].height == 3


def test_local_dates_follow_the_programme_time_zone(db, database_url) -> None:
    _add_members(db, [{}])
    members = frames.load(database_url, {"members": ["joined_at"]})["members"]
    local = members.select(frames.local_date(pl.col("joined_at"), "Asia/Shanghai"))
    assert local.item() == date(2026, 3, 2)


def test_unknown_tables_and_databases_are_refused(database_url) -> None:
    with pytest.raises(ValidationFailed, match="unknown table"):
        frames.load(database_url, {"no_such_table": ["id"]})
    with pytest.raises(ValidationFailed, match="in-memory"):
        frames.load("sqlite://", {"members": ["id"]})


def test_the_adbc_reader_gives_the_same_frame(db, database_url, tmp_path) -> None:
    # given members with and without the nullable fields
    _add_members(db, [{} for _ in range(1_200)]
                 + [{"birthday": date(1990, 5, 17), "city": "杭州", "referrer_id": 1}])
    columns = ["id", "joined_at", "birthday", "city", "referrer_id", "tier"]
    ours = frames.load(database_url, {"members": columns})["members"]
    # when another process (one that never writes the store) reads it over ADBC
    script = _adbc_script(f"""
        frame = frames.load({database_url!r}, {{"members": {columns!r}}})["members"]
        frame.write_ipc(sys.argv[1])
    """)
    out = tmp_path / "members.arrow"
    subprocess.run([*script, str(out)], check=True, timeout=120)
    # then both readers agree, value for value and type for type
    theirs = pl.read_ipc(out)
    assert theirs.schema == ours.schema
    assert theirs.sort("id").equals(ours.sort("id"))


def _adbc_script(body: str) -> list[str]:
    """A Python process that reads the store as the analytics commands do (over ADBC,
    never in this one: two SQLite libraries in one process break each other's locks)."""
    return [sys.executable, "-c", "import sys\nfrom memberops.analytics import frames\n"
            "frames.use_adbc_for_sqlite()\n" + textwrap.dedent(body)]


def test_a_table_read_in_parts_over_several_connections_is_the_whole_table(
        db, database_url, tmp_path) -> None:
    # given 1,201 members, 401 to 600 deleted: the key has a gap, and the part 451–600 is empty
    _add_members(db, [{} for _ in range(1_200)]
                 + [{"birthday": date(1990, 5, 17), "city": "杭州", "referrer_id": 1}])
    with db.session() as session:
        session.execute(delete(Member).where(Member.id.between(401, 600)))
        session.commit()
    columns = ["id", "joined_at", "birthday", "city", "referrer_id", "tier"]
    whole = frames.load(database_url, {"members": columns})["members"]
    # when another process reads it in parts of 150 keys over 3 connections at once
    out = tmp_path / "members.arrow"
    script = _adbc_script(f"""
        frames.READERS, frames.PART_ROWS = 3, 150
        with frames.pinned_readers({database_url!r}, 3) as readers:
            ranges = frames._key_ranges(readers[0], "members")
            assert len(ranges) == 9 and ranges[3] == "id > 450 AND id <= 600", ranges
            with readers[0].cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM members WHERE {{ranges[3]}}")
                assert cursor.fetchone()[0] == 0
        frames.load({database_url!r}, {{"members": {columns!r}}})["members"].write_ipc(
            sys.argv[1])
    """)
    subprocess.run([*script, str(out)], check=True, timeout=120)
    # then it has every row once, in key order, with the model's types
    parts = pl.read_ipc(out)
    assert whole.height == parts.height == 1_001
    assert parts.schema == whole.schema
    assert parts["id"].is_sorted() and parts["id"].n_unique() == 1_001
    assert parts.equals(whole.sort("id"))


def test_parallel_readers_all_see_one_instant_even_if_a_write_comes_between_them(
        db, database_url) -> None:
    # given two members, and a process that pins three connections to the store, and
    # pauses after the first has begun (SQLite: a lock connection, then the readers)
    _add_members(db, [{}, {}])
    pause_before = 3 if database_url.startswith("sqlite") else 2
    reader = subprocess.Popen(_adbc_script(f"""
        import threading
        import adbc_driver_postgresql.dbapi as pg, adbc_driver_sqlite.dbapi as lite
        calls = []
        def paused(real):
            def connect(*args, **kwargs):
                calls.append(1)
                if len(calls) == {pause_before}:
                    print("first reader began", flush=True)
                    sys.stdin.readline()
                return real(*args, **kwargs)
            return connect
        pg.connect, lite.connect = paused(pg.connect), paused(lite.connect)
        with frames.pinned_readers({database_url!r}, 3) as readers:
            counts = []
            for conn in readers:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM members")
                    counts.append(cursor.fetchone()[0])
            print(*counts, flush=True)
    """), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "first reader began"
        # when a member is added between the first reader and the others (on SQLite the
        # write waits until all have begun; on PostgreSQL it commits at once)
        writer = threading.Thread(target=_add_members, args=(db, [{"phone": "+8613999999999"}]))
        writer.start()
        writer.join(timeout=1)
        reader.stdin.write("go\n")
        reader.stdin.flush()
        counts = reader.stdout.readline().split()
        writer.join(timeout=30)
    finally:
        reader.communicate(timeout=60)
    # then all three still see two members: no part of a table has the new row
    assert reader.returncode == 0 and not writer.is_alive()
    assert counts == ["2", "2", "2"]
    assert frames.load(database_url, {"members": ["id"]})["members"].height == 3
