#!/usr/bin/env python3
"""The compiler wrapper's cost per call: the bare compiler, the Python wrapper, the compiled launcher.

Usage: python benchmarks/bench_wrapper.py [--calls 200]

Writes two toolchains of this checkout (no baseline, so the compiler's own work is the same on
every side: only a -ffile-prefix-map is added): one whose wrappers are the shell scripts that
start the Python wrapper (``ccwrap``) for every call, one whose wrappers are the compiled
launcher (``_wrapper/launcher.c``).  Then runs ``cc -E`` and ``cc -c`` of an empty file
``--calls`` times on each side, the sides interleaved call by call so that a change in the
machine's load falls on all of them, and prints each side's median time per call, its overhead
over the bare compiler and the ratio.  The goal (issue #27): the launcher's overhead under 2 ms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_note, median, say  # noqa: E402

sys.path.insert(0, str(REPO / "src"))
from manywheel.toolchain.compiler import Compilers  # noqa: E402
from manywheel.toolchain.wrappers import make_toolchain, write_wrapper_scripts  # noqa: E402

CASES = {"cc -E": ["-E", "empty.c", "-o", os.devnull], "cc -c": ["-c", "empty.c", "-o", "empty.o"]}


def toolchains(work: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each side's C compiler command, and the environment of the wrapped sides."""
    compilers = Compilers.find(dict(os.environ))
    launched = make_toolchain(work / "launcher", compilers, None, project=work, verbose=False, cache=work / "cache")
    if (work / "launcher" / "bin" / "cc").read_bytes()[:4] != b"\x7fELF":
        sys.exit("benchmark step failed: the launcher could not be compiled (see `-C manywheel.verbose=true`)")
    python = make_toolchain(work / "python", compilers, None, project=work, verbose=False, cache=work / "cache")
    write_wrapper_scripts(work / "python" / "bin", work / "python" / "toolchain.marshal")  # the scripts, as before
    sides = {"bare compiler": compilers.cc.command, "Python wrapper": [python.env["CC"]],
             "compiled launcher": [launched.env["CC"]]}
    return sides, dict(os.environ, **launched.env)


def measure(sides: dict[str, list[str]], args: list[str], calls: int, env: dict[str, str],
            cwd: Path) -> dict[str, float]:
    """Median seconds per call of each side, the sides taking turns."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(calls):
        for name, command in sides.items():
            started = time.perf_counter()
            proc = subprocess.run([*command, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times[name].append(time.perf_counter() - started)
            if proc.returncode != 0:
                sys.exit(f"benchmark step failed (exit {proc.returncode}): {' '.join([*command, *args])}\n"
                         + proc.stderr.decode(errors="replace"))
    return {name: median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each command on each side (default 200)")
    opts = parser.parse_args()
    say(machine_note("machine"))
    work = Path(tempfile.mkdtemp(prefix="manywheel-bench-wrapper-"))
    try:
        sides, env = toolchains(work)
        (work / "empty.c").write_text("")
        for case, args in CASES.items():
            results = measure(sides, args, opts.calls, env, work)
            bare = results["bare compiler"]
            say(f"\n{case} of an empty file, median of {opts.calls} calls")
            say("| side | ms per call | overhead (ms) | ratio to the bare compiler |\n|---|---|---|---|")
            for name, seconds in results.items():
                say(f"| {name} | {seconds * 1000:.2f} | {(seconds - bare) * 1000:+.2f} | {seconds / bare:.2f}x |")
            launcher, python = results["compiled launcher"], results["Python wrapper"]
            say(f"launcher overhead {(launcher - bare) * 1000:.2f} ms (goal: under 2 ms); "
                f"the Python wrapper takes {python / launcher:.2f}x the launcher's time")
        say("\n" + machine_note("machine after"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
