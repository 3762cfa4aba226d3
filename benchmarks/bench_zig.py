#!/usr/bin/env python3
"""manywheel's toolchain against `zig cc -target x86_64-linux-gnu.2.17` on example_project's C and C++ modules.

Usage: python benchmarks/bench_zig.py [--rounds N]

One virtual environment holds manywheel (this checkout) and ziglang (PyPI). For each module
(csrc/cext.c; csrc/cppext.cpp with -std=c++17) each tool compiles and links it into an
extension module with the same flags (-O2 -fPIC -Wall, Python's include directory, the
module's libraries):

- manywheel: prepare the manylinux_2_17 baseline (generated when cold, reused when warm),
  write the compiler wrappers, then compile and link through them;
- zig: `python -m ziglang cc` / `c++` with `-target x86_64-linux-gnu.2.17`.

Cold: empty caches (manywheel's baseline cache; zig's global and local caches). Warm: the
caches the cold run filled (median of N rounds). zig also caches the compiled objects
themselves, so with ccache installed a third column gives manywheel the same advantage:
CC="ccache gcc" with a warm ccache. Each output is judged by `manywheel check`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EXAMPLE, build_env, machine_note, make_venv, manywheel_wheel, median, run, say  # noqa: E402

class Module(NamedTuple):
    source: str
    lang: str
    flags: list[str]
    libs: list[str]


MODULES = {
    "C": Module("csrc/cext.c", "c", [], ["-lm", "-ldl", "-lpthread"]),
    "C++": Module("csrc/cppext.cpp", "c++", ["-std=c++17"], ["-lpthread"]),
}
COMMON_FLAGS = ["-O2", "-fPIC", "-Wall"]


def module_commands(compiler: list[str], module: Module, include: str, out: Path) -> list[list[str]]:
    """Compile, then link: the two commands a build backend runs for one single-source module."""
    source = str(EXAMPLE / module.source)
    obj = out / (Path(source).stem + ".o")
    return [compiler + COMMON_FLAGS + module.flags + [f"-I{include}", "-c", source, "-o", str(obj)],
            compiler + ["-shared", str(obj), *module.libs, "-o", str(out / "_mod.so")]]


def drive_manywheel(cache: str, out: str, kind: str) -> None:
    """Run inside the benchmark's venv: baseline, wrappers, compile and link."""
    from manywheel.toolchain.baseline import prepare_baseline
    from manywheel.policy import find_policy
    from manywheel.settings import read_settings
    from manywheel.toolchain.compiler import Compilers
    from manywheel.toolchain.wrappers import make_toolchain

    work = Path(out) / "work"
    settings = read_settings(Path("."), {"manywheel.cache-dir": cache}, {}, {})
    baseline = prepare_baseline(find_policy("manylinux_2_17", "x86_64"), Compilers.find(os.environ), settings,
                                work / "baseline", lambda m: None)
    chain = make_toolchain(work / "toolchain", Compilers.find(os.environ), baseline, project=EXAMPLE, verbose=False)
    module = MODULES[kind]
    wrapper = chain.env["CXX" if module.lang == "c++" else "CC"]
    env = dict(os.environ, **chain.env)
    for cmd in module_commands([wrapper], module, sysconfig.get_paths()["include"], Path(out)):
        run(cmd, env)


def time_manywheel(py: Path, kind: str, cache: Path, out: Path, env: dict[str, str]) -> float:
    """Wall time of the whole driver process (Python start and manywheel's imports included, as
    zig's time includes starting `python -m ziglang`)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    start = time.perf_counter()
    run([py, __file__, "--drive-manywheel", str(cache), str(out), kind], env)
    return time.perf_counter() - start


def time_zig(py: Path, kind: str, cache: Path, out: Path, env: dict[str, str]) -> float:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    module = MODULES[kind]
    zig = [str(py), "-m", "ziglang", "c++" if module.lang == "c++" else "cc", "-target", "x86_64-linux-gnu.2.17"]
    if module.lang == "c":
        # zig's glibc 2.17 headers do not declare getrandom (new in 2.25), which cext.c calls: let
        # it compile (as an implicit declaration) so the timing covers the same work; the
        # verdict below shows what that leaves in the module.
        zig.append("-Wno-error=implicit-function-declaration")
    zig_env = dict(env, ZIG_GLOBAL_CACHE_DIR=str(cache / "global"), ZIG_LOCAL_CACHE_DIR=str(cache / "local"))
    include = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"], env).stdout.strip()
    start = time.perf_counter()
    for cmd in module_commands(zig, module, include, out):
        run(cmd, zig_env)
    return time.perf_counter() - start


def verdict(py: Path, so: Path) -> str:
    proc = run([py, "-m", "manywheel", "check", "--json", "--target", "manylinux_2_17", so], check=False)
    try:
        data = json.loads(proc.stdout)[0]
    except (ValueError, IndexError, KeyError):
        return f"unreadable ({proc.stdout.strip()[-200:]})"
    target = data.get("target") or {}
    blocking = [f"{b.get('subject')}: {b.get('reason')}" if isinstance(b, dict) else str(b)
                for b in target.get("blocking", [])]
    meets = "meets manylinux_2_17" if target.get("meets") else "does NOT meet manylinux_2_17: " + "; ".join(blocking)[:300]
    return f"{data.get('verdict')} ({meets})"


def measure(py: Path, work: Path, env: dict[str, str], rounds: int, kind: str) -> dict[str, tuple[float, float]]:
    """{tool: (cold seconds, warm median seconds)} for one module."""
    results: dict[str, tuple[float, float]] = {}
    tools = {"manywheel": (time_manywheel, env), "zig": (time_zig, env)}
    if shutil.which("ccache"):
        tools["manywheel+ccache"] = (time_manywheel, dict(env, CC="ccache gcc", CXX="ccache g++",
                                                          CCACHE_DIR=str(work / f"ccache-{kind}")))
    for tool, (timer, tool_env) in tools.items():
        cache = work / f"cache-{tool}-{kind}"
        out = work / f"out-{tool}-{kind}"
        cold = timer(py, kind, cache, out, tool_env)
        warm = median([timer(py, kind, cache, out, tool_env) for _ in range(rounds)])
        results[tool] = (cold, warm)
        say(f"  {kind:3} {tool:16} cold {cold:7.2f} s   warm {warm:6.2f} s   output: {verdict(py, out / '_mod.so')}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drive-manywheel", nargs=3, metavar=("CACHE", "OUT", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive_manywheel:
        drive_manywheel(*args.drive_manywheel)
        return 0
    say(machine_note("before"))
    with tempfile.TemporaryDirectory(prefix="mw-bench-zig-") as tmp:
        work = Path(tmp)
        say("setting up: a virtual environment with manywheel (this checkout) and ziglang ...")
        wheel = manywheel_wheel(work / "links")
        py = make_venv(work / "venv", [str(wheel), "ziglang"])
        version = run([py, "-m", "ziglang", "version"]).stdout.strip()
        say(f"zig {version}; {'ccache ' + run(['ccache', '--version']).stdout.split()[2] if shutil.which('ccache') else 'no ccache'}")
        env = build_env(work / "links")
        for kind in MODULES:
            results = measure(py, work, env, args.rounds, kind)
            mw_cold, mw_warm = results["manywheel"]
            zig_cold, zig_warm = results["zig"]
            line = (f"  {kind:3} ratio manywheel / zig: cold {mw_cold / zig_cold:.3f}, warm {mw_warm / zig_warm:.3f}")
            if "manywheel+ccache" in results:
                line += f"; warm with ccache {results['manywheel+ccache'][1] / zig_warm:.3f}"
            say(line)
    say(machine_note("after", judge=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
