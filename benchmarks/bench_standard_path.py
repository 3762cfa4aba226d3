#!/usr/bin/env python3
"""manywheel against the standard path to a compliant wheel on this host: plain setuptools, then auditwheel repair.

Usage: python benchmarks/bench_standard_path.py [--rounds N] [--project NAME ...] [--write-bytecode] [--ccache]

For example_project, tests/projects/skbuild_pybind11 (scikit-build-core), tests/projects/meson_mixed
(meson-python) and zstandard 0.25.0 (sdist from PyPI, cached in ~/.cache/manywheel/realworld/sdists,
shared with tests/realworld), each round times, on fresh copies of the same sources and in alternating order:

- standard: `python -m build --wheel` with the project's own backend (setuptools.build_meta,
  scikit_build_core.build, mesonpy), then `auditwheel repair` of that wheel (its default
  --plat auto: the best tag it can give);
- manywheel: `python -m build --wheel` with build-backend manywheel.backend (the project's
  other build requirements kept), default jobs (one per core).

Both sides build in isolated environments from the same warm pip cache: an untimed build of
each project on each side warms it, and fills what manywheel caches once per machine: the
baseline and the build tools' bytecode (the time of each is printed). Takes about 10 minutes
with the default 3 rounds on 2 cores. The medians, every round, the ratio manywheel / standard
and the tags each side wrote are printed; `auditwheel show` judges manywheel's wheel. So are
both sides' phases, timed from when each line of their output came: the isolated environment and
its install, get_requires_for_build_wheel, build_wheel (for scikit-build-core projects: its start,
CMake's configure, the compiles, the link, the link's end to the wheel), and the repair.
CC/CXX/CFLAGS and MANYWHEEL_* variables are cleared for both.
With --ccache, each project is then built twice more by manywheel with CC="ccache gcc" and an
empty ccache, and the times and ccache's hit/miss counters of both builds are printed.
"""
from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (EXAMPLE, fresh_copy, machine_note, peer_setup,  # noqa: E402
                     median, run, say, timed, timed_lines, zstandard_source)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.launchers import ccache_hits, ccache_misses, ccache_stats  # noqa: E402

_TAG = re.compile(r'following\s+platform\s+tag:\s+"([^"]+)"')

# The phases of a `python -m build --wheel`, each from the first output line that begins it (a
# pattern of the form "last:..." from the last such line) to the next phase's line or the end.
# pypa/build prints the first three; the rest are what scikit-build-core and Ninja print (Ninja
# prints "[n/m] Building ..." when that compile ends, so the link begins at the last of them).
FRONTEND_PHASES = [
    ("isolated environment and its install", r"^\* Creating isolated environment"),
    ("get_requires_for_build_wheel, and what it asks to install", r"^\* Getting build dependencies for wheel"),
    ("build_wheel", r"^\* Building wheel\.\.\."),
]
CMAKE_PHASES = [
    ("isolated environment and its install", r"^\* Creating isolated environment"),
    ("get_requires_for_build_wheel, and what it asks to install", r"^\* Getting build dependencies for wheel"),
    ("build_wheel's start, to CMake's", r"^\* Building wheel\.\.\."),
    ("CMake's configure", r"^\*\*\* Configuring CMake"),
    ("compiling", r"^\*\*\* Building project with"),
    ("the link", r"last:^\[\d+/\d+\] Building "),
    ("the link's end to the wheel", r"^\[\d+/\d+\] Linking "),
]


def phases_of(lines: list[tuple[float, str]], took: float, marks: list[tuple[str, str]]) -> dict[str, float]:
    """How long each phase of ``marks`` took in one build's timed output lines (none if a mark is missing)."""
    starts: list[float] = []
    for _, pattern in marks:
        last = pattern.startswith("last:")
        regex = re.compile(pattern[5:] if last else pattern)
        found = [t for t, line in lines if regex.search(line)]
        if not found:
            return {}
        starts.append(found[-1] if last else found[0])
    ends = starts[1:] + [took]
    return {name: end - start for (name, _), start, end in zip(marks, starts, ends)}


@dataclass
class Project:
    name: str
    source: Path
    standard_pyproject: str
    manywheel_pyproject: str
    times: dict[str, list[float]] = field(default_factory=lambda: {"build": [], "repair": [], "manywheel": []})
    wheels: dict[str, Path] = field(default_factory=dict)
    # manywheel's own log line "time per step: ..." (build.StepClock); "frontend" is the rest of the
    # timed python -m build: its isolated environment (what manywheel's install adds) and hooks.
    steps: dict[str, list[float]] = field(default_factory=dict)
    # Each side's phases of `python -m build` (phases_of), with the standard path's repair.
    phases: dict[str, dict[str, list[float]]] = field(default_factory=lambda: {"standard": {}, "manywheel": {}})
    marks: list[tuple[str, str]] = field(default_factory=lambda: FRONTEND_PHASES)
    calls: int = 0  # compiler calls through the wrappers in one build (counted in an untimed verbose build)

    def figures(self) -> Any:
        """The figures so far, for restore() after an untimed build (a warm-up, a verbose one)."""
        return copy.deepcopy((self.times, self.steps, self.phases))

    def restore(self, figures: Any) -> None:
        self.times, self.steps, self.phases = copy.deepcopy(figures)


def example_project() -> Project:
    text = (EXAMPLE / "pyproject.toml").read_text()
    standard = _replace(text, 'requires = ["manywheel", "setuptools>=64"]', 'requires = ["setuptools>=64"]')
    standard = _replace(standard, 'build-backend = "manywheel.backend"', 'build-backend = "setuptools.build_meta"')
    return Project("example_project", EXAMPLE, standard, text)


def inner_backend_project(name: str) -> Project:
    """A tests/projects sample whose [tool.manywheel] inner-backend is the standard path's backend."""
    source = Path(__file__).resolve().parent.parent / "tests" / "projects" / name
    text = (source / "pyproject.toml").read_text()
    backend = re.search(r'^inner-backend = "([^"]+)"', text, re.M)
    if backend is None:
        sys.exit(f"{source / 'pyproject.toml'} names no inner-backend")
    standard = _replace(text, 'requires = ["manywheel", ', 'requires = [')
    standard = _replace(standard, 'build-backend = "manywheel.backend"', f'build-backend = "{backend.group(1)}"')
    marks = CMAKE_PHASES if backend.group(1) == "scikit_build_core.build" else FRONTEND_PHASES
    return Project(name, source, standard, text, marks=marks)


def zstandard(work: Path) -> Project:
    source = zstandard_source(work)
    text = (source / "pyproject.toml").read_text()
    ours = _replace(text, 'build-backend = "setuptools.build_meta"', 'build-backend = "manywheel.backend"')
    ours = _replace(ours, '    "setuptools>=77.0.0",\n', '    "setuptools>=77.0.0",\n    "manywheel",\n')
    return Project("zstandard 0.25.0", source, text, ours)


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        sys.exit(f"cannot adapt pyproject.toml: {old!r} not found")
    return text.replace(old, new)


def copy_with(project: Project, parent: Path, pyproject: str, name: str) -> Path:
    path = fresh_copy(project.source, parent, name)
    (path / "pyproject.toml").write_text(pyproject)
    return path


def standard_round(py: Path, project: Project, work: Path, env: dict[str, str]) -> None:
    src = copy_with(project, work, project.standard_pyproject, "standard")
    slug = project.name.split()[0]
    built, repaired = work / f"standard-dist-{slug}", work / f"standard-repaired-{slug}"
    shutil.rmtree(built, ignore_errors=True)
    shutil.rmtree(repaired, ignore_errors=True)
    took, _, lines = timed_lines([py, "-m", "build", "--wheel", "--outdir", built, src], env)
    wheel = next(built.glob("*.whl"))
    took_repair, _ = timed([py, "-m", "auditwheel", "repair", "-w", repaired, wheel], env)
    project.times["build"].append(took)
    project.times["repair"].append(took_repair)
    for phase, seconds in {**phases_of(lines, took, project.marks), "auditwheel repair": took_repair}.items():
        project.phases["standard"].setdefault(phase, []).append(seconds)
    project.wheels["standard"] = next(repaired.glob("*.whl"))


def manywheel_round(py: Path, project: Project, work: Path, env: dict[str, str]) -> tuple[str, float]:
    src = copy_with(project, work, project.manywheel_pyproject, "manywheel")
    out = work / f"manywheel-dist-{project.name.split()[0]}"
    shutil.rmtree(out, ignore_errors=True)
    took, output, lines = timed_lines([py, "-m", "build", "--wheel", "--outdir", out, src], env)
    project.times["manywheel"].append(took)
    for phase, seconds in phases_of(lines, took, project.marks).items():
        project.phases["manywheel"].setdefault(phase, []).append(seconds)
    line = next((l for l in output.splitlines() if "time per step: " in l), "")
    inside = 0.0
    for step, seconds in re.findall(r"([a-zA-Z][\w ,()-]*?) ([0-9.]+) s(?:,|;)", line.split("time per step: ", 1)[-1]):
        project.steps.setdefault(step.strip(), []).append(float(seconds))
        inside += float(seconds)
    if line:
        project.steps.setdefault("frontend: isolated environment, other hooks", []).append(took - inside)
    project.wheels["manywheel"] = next(out.glob("*.whl"))
    return output, took


def warm_up(py: Path, projects: list[Project], work: Path, env: dict[str, str]) -> None:
    """One untimed build of each project on each side: pip's cache, ccache, and manywheel's caches
    that a machine fills once (the baseline; the build tools' bytecode, manywheel.inner.bytecode)."""
    for project in projects:
        kept = project.figures()
        log, _ = manywheel_round(py, project, work, env)
        standard_round(py, project, work, env)
        project.restore(kept)
        generated = re.search(r"baseline (\S+) generated in ([0-9.]+) s", log)
        if generated:
            say(f"manywheel's baseline {generated.group(1)} generated once, in {generated.group(2)} s (not in the rounds)")
        for count, seconds in re.findall(r"bytecode: compiled (\d+) modules of the build environment once, in "
                                         r"([0-9.]+) s", log):
            say(f"{project.name}: manywheel compiled {count} modules of its build environment once, in {seconds} s "
                "(not in the rounds; later builds reuse them)")


def ccache_rebuild(py: Path, project: Project, work: Path, env: dict[str, str]) -> None:
    """Two manywheel builds with CC="ccache gcc" and an empty ccache: the second compiles nothing."""
    if not shutil.which("ccache"):
        say(f"{project.name} with ccache: skipped, ccache is not installed (Debian: apt-get install ccache)")
        return
    cache = work / f"ccache-{project.name.split()[0]}"
    ccache_env = dict(env, CC="ccache gcc", CXX="ccache g++", CCACHE_DIR=str(cache))
    results = []
    for _ in range(2):
        took = manywheel_round(py, project, work, ccache_env)[1]
        stats = ccache_stats(cache)
        results.append((took, ccache_hits(stats), ccache_misses(stats)))
        run(["ccache", "--zero-stats"], ccache_env)
    (first, h1, m1), (second, h2, m2) = results
    say(f"{project.name} with CC='ccache gcc' (empty ccache, then unchanged sources):")
    say(f"  first build {first:.1f} s (ccache: {h1} hits, {m1} misses, counting the shims of manywheel's baseline "
        f"when it is generated for this compiler)")
    say(f"  rebuild     {second:.1f} s (ccache: {h2} hits, {m2} misses)")


def report(py: Path, project: Project, rounds: int) -> float:
    build, repair = median(project.times["build"]), median(project.times["repair"])
    standard = median([b + r for b, r in zip(project.times["build"], project.times["repair"])])
    ours = median(project.times["manywheel"])
    shown = run([py, "-m", "auditwheel", "show", project.wheels["manywheel"]], check=False)
    match = _TAG.search(" ".join(shown.stdout.split()))
    ratio = ours / standard
    say(f"{project.name}, median of {rounds} round{'s' if rounds != 1 else ''}:")
    say(f"  standard: python -m build {build:.1f} s + auditwheel repair {repair:.1f} s = {standard:.1f} s"
        f" -> {project.wheels['standard'].name}")
    say(f"  manywheel: python -m build {ours:.1f} s -> {project.wheels['manywheel'].name}"
        f" (auditwheel show: {match.group(1) if match else 'no tag: ' + shown.stdout.strip()[-200:]})")
    say(f"  ratio manywheel / standard = {ratio:.3f}")
    say("  each round (standard / manywheel, s): " + ", ".join(
        f"{b + r:.1f} / {m:.1f}" for b, r, m in zip(project.times["build"], project.times["repair"],
                                                   project.times["manywheel"])))
    say(f"  manywheel's steps (medians; a verbose build printed {project.calls} compiler calls, not counting those "
        f"a build system runs with its output captured, as CMake's and meson's checks do; each costs what "
        f"benchmarks/bench_wrapper.py measures):")
    for step, seconds in sorted(project.steps.items(), key=lambda kv: -median(kv[1])):
        say(f"    {step}: {median(seconds):.2f} s")
    standard_phases, ours_phases = project.phases["standard"], project.phases["manywheel"]
    if standard_phases or ours_phases:
        say("  both sides' phases, from the time each line of their output came (medians, standard / manywheel):")
        for phase in [name for name, _ in project.marks] + ["auditwheel repair"]:
            if phase in standard_phases or phase in ours_phases:
                shown_times = [f"{median(side[phase]):.2f} s" if side.get(phase) else "none"
                               for side in (standard_phases, ours_phases)]
                say(f"    {phase}: {shown_times[0]} / {shown_times[1]}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    names = ["example_project", "skbuild_pybind11", "meson_mixed", "zstandard"]
    parser.add_argument("--project", action="append", choices=names,
                        help="only this project (repeatable; default all four)")
    parser.add_argument("--no-launcher", action="store_true",
                        help="manywheel with launcher = false (every compiler call starts its Python wrapper): "
                             "the figures before the compiled launcher")
    parser.add_argument("--write-bytecode", action="store_true",
                        help="unset PYTHONDONTWRITEBYTECODE for both sides, as on most machines: each process "
                             "of a build then reuses the bytecode an earlier one wrote into the environment")
    parser.add_argument("--ccache", action="store_true",
                        help="then build each project twice more with CC='ccache gcc' and show ccache's counters")
    args = parser.parse_args()
    chosen = args.project or names
    say(machine_note("before"))
    with tempfile.TemporaryDirectory(prefix="mw-bench-std-") as tmp:
        work = Path(tmp)
        py, env = peer_setup(work)
        if args.write_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        say("PYTHONDONTWRITEBYTECODE is " + (f"set ({env['PYTHONDONTWRITEBYTECODE']!r}): every process of a build "
                                             "compiles the modules it imports" if env.get("PYTHONDONTWRITEBYTECODE")
                                             else "unset: a build's first import of a module writes its bytecode"))
        if args.no_launcher:
            env["MANYWHEEL_LAUNCHER"] = "false"
            say("manywheel with launcher = false: every compiler call starts the Python wrapper")
        projects = [example_project() if name == "example_project" else zstandard(work) if name == "zstandard"
                    else inner_backend_project(name) for name in chosen]
        say("warming up (untimed): one build of each project on each side ...")
        warm_up(py, projects, work, env)
        for project in projects:
            say(f"timing {project.name} ({args.rounds} round{'s' if args.rounds != 1 else ''}) ...")
            for i in range(args.rounds):
                sides = [standard_round, manywheel_round]
                for side in sides if i % 2 == 0 else reversed(sides):
                    side(py, project, work, env)
        for project in projects:  # untimed: a verbose build prints every compiler call the wrappers see
            kept = project.figures()
            log, _ = manywheel_round(py, project, work, dict(env, MANYWHEEL_VERBOSE="true"))
            project.restore(kept)
            project.calls = sum(1 for line in log.splitlines() if line.startswith("manywheel: $ "))
        for project in projects:
            report(py, project, args.rounds)
        for project in projects if args.ccache else []:
            ccache_rebuild(py, project, work, env)
    say(machine_note("after", judge=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
