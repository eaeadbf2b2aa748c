#!/usr/bin/env python3
"""Set-up and everyday commands, needing only Python 3.11+ on a fresh machine.

    python3 dev.py demo [demo options]   install into .venv, then run `memberops demo`
    python3 dev.py test [pytest options] install into .venv, then lint, type-check, test
    python3 dev.py run  ARGS…            install into .venv, then run `memberops ARGS…`

The virtual environment is (re)installed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".memberops-installed"


def _run(*args: str | Path, **kwargs: object) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def ensure_venv() -> None:
    """Create .venv and install the project with its dev tools, once per pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py may be started by an older python3
        sys.exit(f"memberops needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing memberops and its tools into .venv (first run only) …", flush=True)
    quiet = [] if os.environ.get("MEMBEROPS_VERBOSE_INSTALL") else ["-q"]
    steps = [
        [BIN / "python", "-m", "pip", "install", *quiet, "--upgrade", "pip"],
        [BIN / "python", "-m", "pip", "install", *quiet, "-e", ".[dev]"],
    ]
    for step in steps:
        if _run(*step) != 0:
            sys.exit("installation failed; see the messages above")
    STAMP.write_text(wanted)


def checks() -> int:
    """Lint, dependency rules and types: fast, before the tests."""
    for name, cmd in (
        ("ruff", [BIN / "ruff", "check", "src", "tests", "bench", "dev.py"]),
        ("import-linter", [BIN / "lint-imports"]),
        ("mypy", [BIN / "mypy"]),
    ):
        print(f"── {name}", flush=True)
        if _run(*cmd) != 0:
            print(f"{name} failed", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    ensure_venv()
    if command == "demo":
        return _run(BIN / "memberops", "demo", *rest)
    if command == "test":
        status = checks()
        if status:
            return status
        print("── pytest", flush=True)
        return _run(BIN / "pytest", *(rest or ["-q"]))
    if command == "run":
        return _run(BIN / "memberops", *rest)
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
