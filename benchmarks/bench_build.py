#!/usr/bin/env python3
"""Baseline generation cold/warm against zig's, and the cost of a manywheel build against plain setuptools.

Usage: python benchmarks/bench_build.py [--rounds N]

Baseline: manywheel's manylinux_2_17 baseline (stubs, shims, pin header) generated into an
empty cache, then reused; its peer is what zig builds on first use for the same target
(`zig cc -target x86_64-linux-gnu.2.17` linking an empty shared library: glibc 2.17 stubs
and start files), with empty zig caches, then warm. manywheel's times are taken inside one
Python process; zig's include starting `python -m ziglang` (about 0.05 s), which only
matters for the warm figure.

One virtual environment holds manywheel (from this checkout), setuptools, build and ziglang. Each
round builds example_project twice with `python -m build --wheel --no-isolation`, once
with build-backend manywheel.backend and once with setuptools.build_meta, in fresh copies,
alternating the order; the median of the rounds is reported with the ratio.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_project"


def sh(cmd: list[str], **kw: object) -> None:
    kw.setdefault("cwd", tempfile.mkdtemp(prefix="manywheel-bench-cwd-"))  # never the checkout (a build/ there shadows pypa/build)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def make_env(where: Path) -> Path:
    venv.create(where, with_pip=True)
    py = where / "bin" / "python"
    # manywheel from a wheel built from a copy of the checkout: installing the checkout would leave build/ in it.
    wheels = where / "manywheel-dist"
    sh(["bash", str(REPO / "tools" / "manywheel-wheel.sh"), str(wheels)], env=dict(os.environ, PYTHON=sys.executable))
    sh([str(py), "-m", "pip", "install", "--quiet", "build", "setuptools>=64", "wheel", "ziglang",
        str(next(wheels.glob("manywheel-*.whl")))])
    return py


def time_baseline(py: Path, cache: Path) -> tuple[float, float]:
    code = (
        "import os, time\n"
        "from pathlib import Path\n"
        "from manywheel.toolchain.baseline import prepare_baseline\n"
        "from manywheel.toolchain.compiler import Compilers\n"
        "from manywheel.policy import find_policy\n"
        "from manywheel.settings import read_settings\n"
        f"s = read_settings(Path('.'), {{'manywheel.cache-dir': {str(cache)!r}}}, {{}}, {{}})\n"
        "t = time.perf_counter()\n"
        "prepare_baseline(find_policy('manylinux_2_17', 'x86_64'), Compilers.find(os.environ), s, Path('/tmp/mw-bench-work'), lambda m: None)\n"
        "print(time.perf_counter() - t)\n"
    )
    cold = float(subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout)
    warm = float(subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout)
    return cold, warm


def time_zig_libc(py: Path, work: Path) -> tuple[float, float]:
    """zig's counterpart of the baseline, cold (empty caches) and warm."""
    source = work / "empty.c"
    source.write_text("int mw_empty(void) { return 0; }\n")
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(work / "zig-global"), ZIG_LOCAL_CACHE_DIR=str(work / "zig-local"))
    cmd = [str(py), "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17", "-shared", "-fPIC", str(source),
           "-o", str(work / "libempty.so")]
    times = []
    for _ in range(2):
        start = time.perf_counter()
        sh(cmd, env=env)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def build_once(py: Path, work: Path, backend: str, env: dict[str, str]) -> float:
    project = work / f"p-{backend}-{time.monotonic_ns()}"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('build-backend = "manywheel.backend"',
                                                       f'build-backend = "{backend}"'))
    start = time.perf_counter()
    sh([str(py), "-m", "build", "--wheel", "--no-isolation", "--outdir", str(project / "dist"), str(project)], env=env)
    took = time.perf_counter() - start
    shutil.rmtree(project)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mw-bench-") as tmp:
        work = Path(tmp)
        print("setting up a virtual environment with manywheel, setuptools, build and ziglang ...", flush=True)
        py = make_env(work / "venv")
        cache = work / "cache"
        cold, warm = time_baseline(py, cache)
        print(f"baseline manylinux_2_17_x86_64: cold {cold:.3f} s (goal < 2 s), warm {warm * 1000:.1f} ms (goal < 50 ms)")
        zig_cold, zig_warm = time_zig_libc(py, work)
        print(f"zig's glibc 2.17 stubs (empty shared library): cold {zig_cold:.3f} s, warm {zig_warm * 1000:.1f} ms")
        print(f"ratio manywheel / zig: cold {cold / zig_cold:.3f}, warm {warm / zig_warm:.3f}")
        env = dict(os.environ, MANYWHEEL_CACHE_DIR=str(cache))
        times: dict[str, list[float]] = {"manywheel.backend": [], "setuptools.build_meta": []}
        for i in range(args.rounds):
            order = list(times) if i % 2 == 0 else list(reversed(times))
            for backend in order:
                times[backend].append(build_once(py, work, backend, env))
        mw = statistics.median(times["manywheel.backend"])
        st = statistics.median(times["setuptools.build_meta"])
        print(f"example_project wheel, median of {args.rounds}: manywheel {mw:.2f} s, plain setuptools {st:.2f} s")
        print(f"ratio manywheel / setuptools = {mw / st:.3f} (overhead {100 * (mw / st - 1):+.1f} %, goal < +10 %)")
        print("note: the setuptools wheel is tagged linux_x86_64 and needs glibc 2.34 here; manywheel's is manylinux_2_17")
    return 0


if __name__ == "__main__":
    sys.exit(main())
