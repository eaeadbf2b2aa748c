"""SQLite writers wait their turn in the WriterQueue instead of polling SQLite's lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from memberops.db import Database, WriterQueue


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    db.dispose()
    return path


def _add_one_slowly(db: Database, hold: float) -> None:
    with db.session() as session:
        n = session.execute(text("SELECT n FROM counter")).scalar_one()
        time.sleep(hold)  # read-modify-write: lost updates would show
        session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        session.commit()


def test_threads_take_turns_and_no_update_is_lost(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    threads = [threading.Thread(target=_add_one_slowly, args=(db, 0.01)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session(readonly=True) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 12
    db.dispose()


def test_a_rolled_back_writer_frees_its_turn(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    with db.session() as session:
        session.execute(text("UPDATE counter SET n = 99"))
        session.rollback()
    started = time.perf_counter()
    _add_one_slowly(db, 0)  # would wait the full busy timeout if the turn were still held
    assert time.perf_counter() - started < 1
    with db.session(readonly=True) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 1
    db.dispose()


def test_a_writer_waits_no_longer_than_the_timeout(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "x.db"), timeout=0.2)
    first, second = object(), object()
    queue.enter(first)
    queue.enter(first)  # the holder asking again is not a deadlock
    started = time.perf_counter()
    with pytest.raises(Exception, match="database is locked"):
        queue.enter(second)
    assert 0.15 < time.perf_counter() - started < 2
    queue.leave(second)  # not the holder: nothing happens
    queue.leave(first)
    queue.enter(second)
    queue.leave(second)


def test_another_process_waits_for_the_writer_then_goes(sqlite_file: Path) -> None:
    child = textwrap.dedent(f"""
        import time
        from sqlalchemy import text
        from memberops.db import Database
        db = Database("sqlite:///{sqlite_file}")
        print("ready", flush=True)
        started = time.perf_counter()
        with db.session() as session:
            session.execute(text("UPDATE counter SET n = n + 10"))
            session.commit()
        print(round(time.perf_counter() - started, 3))
    """)
    db = Database(f"sqlite:///{sqlite_file}")
    with db.session() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # the child is now waiting for our turn to end
        assert proc.poll() is None
        session.commit()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert float(out) >= 0.4  # it waited for us, and got in once we committed
    with db.session(readonly=True) as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 11
    db.dispose()


def test_in_memory_databases_have_no_queue() -> None:
    db = Database("sqlite://")
    with db.engine.connect() as conn:
        assert getattr(conn.connection.dbapi_connection, "queue", None) is None
    with db.session() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
    db.dispose()


def test_a_disposable_file_is_written_without_syncs_and_an_ordinary_one_with(
        sqlite_file: Path) -> None:
    # The demo builds its database as a disposable file (a failed build is removed);
    # every other store keeps SQLite's syncs at each checkpoint.
    for disposable, synchronous, checkpoint in ((True, 0, 100_000), (False, 1, 10_000)):
        db = Database(f"sqlite:///{sqlite_file}", disposable=disposable)
        try:
            for engine in (db.engine, db.read_engine):
                with engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == synchronous
                    assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() \
                        == checkpoint
        finally:
            db.dispose()
