#!/usr/bin/env python3
"""manywheel with scikit-build-core inside, against scikit-build-core alone followed by auditwheel repair.

Usage: python benchmarks/bench_skbuild.py [--rounds N]

The project is tests/projects/skbuild_pybind11 (CMake, pybind11, C++17, two sources, one
module). Each round times, on fresh copies of the same sources and in alternating order:

- standard: `python -m build --wheel` with build-backend scikit_build_core.build (a
  linux_x86_64 wheel), then `auditwheel repair` of that wheel (its default --plat auto: the
  best tag it can give);
- manywheel: `python -m build --wheel` with build-backend manywheel.backend and
  inner-backend scikit_build_core.build (the project as it is in the repository).

Both sides build in isolated environments from the same warm pip cache (one untimed build of
each side warms it, and generates manywheel's baseline, as happens once per machine), with
the same CMake and ninja (the host's when it has them; else scikit-build-core installs them
into both build environments). CC/CXX/CFLAGS and MANYWHEEL_* variables are cleared for both.
The medians, the ratio manywheel / standard, and the tags of both wheels are printed, as is
auditwheel show's verdict on manywheel's wheel. It takes about 2 minutes with the default
3 rounds on 2 cores.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, fresh_copy, machine_note, median, peer_setup, run, say, timed  # noqa: E402

PROJECT = REPO / "tests" / "projects" / "skbuild_pybind11"
_TAG = re.compile(r'following\s+platform\s+tag:\s+"([^"]+)"')


def standard_pyproject() -> str:
    """The project's pyproject.toml with scikit-build-core as the build backend, without manywheel."""
    text = (PROJECT / "pyproject.toml").read_text()
    for old, new in (('requires = ["manywheel", ', "requires = ["),
                     ('build-backend = "manywheel.backend"', 'build-backend = "scikit_build_core.build"'),
                     ('[tool.manywheel]\ninner-backend = "scikit_build_core.build"\n\n', "")):
        if old not in text:
            sys.exit(f"cannot adapt {PROJECT / 'pyproject.toml'}: {old!r} not found")
        text = text.replace(old, new)
    return text


def standard_round(py: Path, work: Path, env: dict[str, str], times: dict[str, list[float]]) -> Path:
    src = fresh_copy(PROJECT, work, "standard")
    (src / "pyproject.toml").write_text(standard_pyproject())
    built, repaired = work / "standard-dist", work / "standard-repaired"
    for d in (built, repaired):
        for old in d.glob("*.whl") if d.exists() else ():
            old.unlink()
    took, _ = timed([py, "-m", "build", "--wheel", "--outdir", built, src], env)
    took_repair, _ = timed([py, "-m", "auditwheel", "repair", "-w", repaired, next(built.glob("*.whl"))], env)
    times["build"].append(took)
    times["repair"].append(took_repair)
    return next(repaired.glob("*.whl"))


def manywheel_round(py: Path, work: Path, env: dict[str, str], times: dict[str, list[float]]) -> tuple[Path, str]:
    src = fresh_copy(PROJECT, work, "manywheel")
    out = work / "manywheel-dist"
    for old in out.glob("*.whl") if out.exists() else ():
        old.unlink()
    took, proc = timed([py, "-m", "build", "--wheel", "--outdir", out, src], env)
    times["manywheel"].append(took)
    return next(out.glob("*.whl")), proc.stdout + proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    say(machine_note("before"))
    times: dict[str, list[float]] = {"build": [], "repair": [], "manywheel": []}
    with tempfile.TemporaryDirectory(prefix="mw-bench-skbuild-") as tmp:
        work = Path(tmp)
        py, env = peer_setup(work)
        say("warming up (untimed): pip's cache and manywheel's baseline ...")
        _, log = manywheel_round(py, work, env, {"manywheel": []})
        standard_round(py, work, env, {"build": [], "repair": []})
        generated = re.search(r"baseline (\S+) generated in ([0-9.]+) s", log)
        if generated:
            say(f"manywheel's baseline {generated.group(1)} generated once, in {generated.group(2)} s (not in the rounds)")
        say(f"timing {PROJECT.name} ({args.rounds} round{'s' if args.rounds != 1 else ''}) ...")
        for i in range(args.rounds):
            if i % 2 == 0:
                repaired = standard_round(py, work, env, times)
                ours, _ = manywheel_round(py, work, env, times)
            else:
                ours, _ = manywheel_round(py, work, env, times)
                repaired = standard_round(py, work, env, times)
        build, repair = median(times["build"]), median(times["repair"])
        standard = median([b + r for b, r in zip(times["build"], times["repair"])])
        mine = median(times["manywheel"])
        shown = run([py, "-m", "auditwheel", "show", ours], check=False)
        match = _TAG.search(" ".join(shown.stdout.split()))
        say(f"{PROJECT.name}, median of {args.rounds} round{'s' if args.rounds != 1 else ''}:")
        say(f"  standard: scikit-build-core {build:.2f} s + auditwheel repair {repair:.2f} s = {standard:.2f} s"
            f" -> {repaired.name}")
        say(f"  manywheel (scikit-build-core inside): {mine:.2f} s -> {ours.name}"
            f" (auditwheel show: {match.group(1) if match else 'no tag: ' + shown.stdout.strip()[-200:]})")
        say(f"  every round: standard {', '.join(f'{b + r:.2f}' for b, r in zip(times['build'], times['repair']))} s;"
            f" manywheel {', '.join(f'{t:.2f}' for t in times['manywheel'])} s")
        say(f"  ratio manywheel / standard = {mine / standard:.3f}")
    say(machine_note("after", judge=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
