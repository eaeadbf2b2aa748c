"""The demo's build time, phase by phase, and how long a `memberops` command takes to start.

    .venv/bin/python bench/demo.py [--members 5000] [--days 730] [--seed 20240618]

1. **The demo.** `memberops.demo.runner.run_demo` — what `memberops demo` runs before it
   serves — on a fresh SQLite file in bench/work/: the member base, the two years of
   history (orders, refunds, recharges, points, coupons, PLUS, the nightly jobs) and the
   ledger check, each phase timed from its progress callback. Reported: seconds per phase
   and in all (issue 4's target: the default size in under 2 minutes), orders per second
   of the history, and the peak memory of the process.
2. **Start-up.** `memberops --help` in a new process, five times (the median): what every
   command costs before it does anything.

Writes bench/results/demo.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from baselines import RESULTS, WORK, machine, machine_line

from memberops.demo import DEFAULT_SEED, DemoPlan
from memberops.demo.runner import run_demo

PHASES = {"members": "Registering members", "orders": "Playing the history",
          "verify": "Verifying the ledger"}


def build(plan: DemoPlan) -> dict[str, Any]:
    """Run the demo's build, timing each phase from the first to the last progress call."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}

    def progress(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        first.setdefault(step, now)
        last[step] = now

    path = WORK / "demo.db"
    started = time.perf_counter()
    result = run_demo(plan, path, progress=progress)
    total = time.perf_counter() - started
    # A phase runs from the end of the one before it (its first call comes after its own
    # set-up) to its last progress call.
    phases, previous = {}, started
    for step in PHASES:
        phases[step] = round(last[step] - previous, 1)
        previous = last[step]
    figures = result.figures
    return {"members": plan.members, "days": plan.history_days, "seed": plan.seed,
            "orders": figures.orders.orders, "seconds": round(total, 1), "phases": phases,
            "orders_per_second": round(figures.orders.orders / phases["orders"], 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def start_up(runs: int = 5) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("memberops")), "--help"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return {"command": "memberops --help", "runs": runs,
            "median_s": round(statistics.median(times), 2), "max_s": round(max(times), 2)}


def write(results: dict[str, Any]) -> None:
    (RESULTS / "demo.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    d, s = results["demo"], results["start_up"]
    lines = [
        "# Demo build and CLI start-up", "",
        machine_line(results), "",
        f"`memberops demo` at {d['members']:,} members over {d['days']} days (seed "
        f"{d['seed']}): **{d['seconds']} s** in all (target: under 120 s), "
        f"{d['orders']:,} orders, peak memory {d['peak_rss_mib']} MiB.", "",
        "| phase | seconds |", "|---|---|",
        *[f"| {PHASES[step]} | {seconds} |" for step, seconds in d["phases"].items()],
        "", f"The history plays {d['orders_per_second']} orders a second, with everything "
        "else it does (refunds, recharges, points, coupons, PLUS, the nightly jobs).", "",
        f"`{s['command']}` starts in **{s['median_s']} s** (median of {s['runs']}, "
        f"slowest {s['max_s']} s).", ""]
    (RESULTS / "demo.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=DemoPlan().members)
    parser.add_argument("--days", type=int, default=DemoPlan().history_days)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = machine()
    print("CLI start-up …", flush=True)
    results["start_up"] = start_up()
    print(f"The demo at {args.members} members …", flush=True)
    results["demo"] = build(DemoPlan(members=args.members, seed=args.seed,
                                     history_days=args.days))
    write(results)
    print((RESULTS / "demo.md").read_text())


if __name__ == "__main__":
    main()
