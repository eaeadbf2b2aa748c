"""The dashboard's reader process ends with the server that started it, even when the
server is killed and cannot stop it (it would otherwise hold its memory for good)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

START_READER = """
from memberops.console import dashboard_data
dashboard_data.start_reader()
reader = dashboard_data._reader
reader.submit(int).result(timeout=60)  # the worker is up
print(*reader._processes, flush=True)
import time
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not read its status yet


def test_the_reader_ends_when_its_server_is_killed() -> None:
    server = subprocess.Popen([sys.executable, "-c", START_READER], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        reader_pid = int(server.stdout.readline())
        assert _running(reader_pid)
        server.send_signal(signal.SIGKILL)
        server.wait()
        deadline = time.monotonic() + 10
        while _running(reader_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(reader_pid)
    finally:
        server.kill()
