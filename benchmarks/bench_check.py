#!/usr/bin/env python3
"""`manywheel check` against `auditwheel show` on the same wheel, in the same run.

Usage: python benchmarks/bench_check.py [--wheel PATH] [--rounds N] [--auditwheel-rounds M]

Both run as the commands a user types (``python -m manywheel check``, ``python -m auditwheel
show``) with this interpreter, which must have both installed (``pip install -e .`` and
tests/requirements.txt). Each round's wall time and peak memory (the child's maximum
resident set, from wait4) are measured; the medians and the ratio auditwheel/manywheel are
printed, with manywheel's goal: under 1.5 s and 200 MB on the torch CPU wheel.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
GOAL_SECONDS, GOAL_MB = 1.5, 200


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak resident MB, exit status) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def rounds(name: str, cmd: list[str], n: int) -> tuple[float, float]:
    walls, peaks = [], []
    for i in range(n):
        wall, peak, code = measure(cmd)
        if code not in (0, 1):
            sys.exit(f"{name} failed (exit {code}): {' '.join(cmd)}")
        walls.append(wall)
        peaks.append(peak)
        print(f"  {name} round {i + 1}: {wall:.2f} s, {peak:.0f} MB peak", flush=True)
    return statistics.median(walls), max(peaks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, default=TORCH)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of manywheel check (default 5)")
    parser.add_argument("--auditwheel-rounds", type=int, default=1, help="rounds of auditwheel show (default 1)")
    args = parser.parse_args()
    if not args.wheel.is_file():
        sys.exit(f"no wheel at {args.wheel}")
    size = args.wheel.stat().st_size / 1e6
    inflater = subprocess.run([sys.executable, "-c", "from manywheel.check.scan import INFLATER; print(INFLATER)"],
                              capture_output=True, text=True).stdout.strip()
    print(f"wheel: {args.wheel.name} ({size:.0f} MB), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, manywheel inflates with {inflater}")
    mine = [sys.executable, "-m", "manywheel", "check", str(args.wheel)]
    theirs = [sys.executable, "-m", "auditwheel", "show", str(args.wheel)]
    measure(mine)  # warm the page cache for both, so neither pays for reading the disk
    mw_wall, mw_peak = rounds("manywheel check", mine, args.rounds)
    aw_wall, aw_peak = rounds("auditwheel show", theirs, args.auditwheel_rounds)
    print(f"manywheel check: {mw_wall:.2f} s median wall, {mw_peak:.0f} MB peak "
          f"(goal < {GOAL_SECONDS} s, < {GOAL_MB} MB: {'met' if mw_wall < GOAL_SECONDS and mw_peak < GOAL_MB else 'NOT met'})")
    print(f"auditwheel show: {aw_wall:.2f} s median wall, {aw_peak:.0f} MB peak")
    print(f"ratio (auditwheel / manywheel, wall): {aw_wall / mw_wall:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
