"""Build issues #4 and #14's published sdists with manywheel and check the wheels.

    python tests/realworld/run.py [--python 3.11] [--project NAME ...] [--compare] [--work DIR]

Per project (tests/realworld/projects.json) and Python: download the sdist (cached in
~/.cache/manywheel/realworld/sdists), switch it to manywheel with `manywheel adopt` (plus
projects.json's [tool.manywheel] keys), build it with
`python -m build --wheel` and a manywheel wheel of this checkout, then check the platform tag,
the compiled-module count, `auditwheel show`, and a smoke test in the Debian bullseye root
(tools/oldroot.sh --python311). --compare also builds the unchanged sdist with its own
backend (setuptools, scikit-build-core, meson-python, ...) and runs
`auditwheel repair` on it, in the same run, and prints both ways side by side. Progress goes to
stderr, the tables to stdout. Exit status 1 when any check failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests import oldroot
from tests.realworld import steps


def parse_args(argv: list[str] | None, names: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", choices=sorted(steps.ROOT_PYTHONS),
                        help="build for this Python only (repeatable; default: each project's list)")
    parser.add_argument("--project", action="append", choices=names, metavar="NAME",
                        help=f"this project only (repeatable; default: all of {', '.join(names)})")
    parser.add_argument("--compare", action="store_true",
                        help="also build the unchanged sdist with its own backend and auditwheel repair it")
    parser.add_argument("--work", type=Path, default=Path("/tmp/manywheel-realworld"),
                        help="work directory (default: %(default)s; each project's part is remade)")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size / 1024:.0f} KiB"


def results_table(outcomes: list[steps.Outcome], projects: dict[str, steps.Project]) -> str:
    rows = ["| project | python | tag written | modules | auditwheel show | smoke test in root | build s | result |",
            "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        modules = "-" if o.modules is None else f"{o.modules}/{projects[o.project].modules}"
        smoke = {None: "-", True: "passed", False: "FAILED"}[o.smoke]
        result = "ok" if not o.failures else "FAILED: " + ", ".join(f.split(":")[0] for f in o.failures)
        rows.append(f"| {o.project} {projects[o.project].version} | {o.python} | {o.tag or '-'} | {modules} | "
                    f"{o.auditwheel or '-'} | {smoke} | {_s(o.seconds)} | {result} |")
    return "\n".join(rows)


def compare_table(outcomes: list[steps.Outcome]) -> str:
    rows = [("| project | python | backend | tag written (manywheel) | tag auditwheel repair gives | build s manywheel | "
             "build s own backend + repair | wheel size manywheel | wheel size repaired | "
             "zmm instructions manywheel / repaired |"),
            "|---|---|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        both = None if o.plain_seconds is None or o.repair_seconds is None else o.plain_seconds + o.repair_seconds
        standard = "-" if both is None else f"{_s(both)} ({_s(o.plain_seconds)} + {_s(o.repair_seconds)})"
        rows.append(f"| {o.project} | {o.python} | {o.backend or '-'} | {o.tag or '-'} | {o.repaired_tag or '-'} | {_s(o.seconds)} | "
                    f"{standard} | {_size(o.size)} | {_size(o.repaired_size)} | {o.zmm} / {o.repaired_zmm} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    projects = steps.load_projects()
    args = parse_args(argv, list(projects))
    chosen = [projects[n] for n in (args.project or projects)]
    runs = [(p, py) for p in chosen for py in p.pythons if not args.python or py in args.python]
    if not runs:
        say("nothing to do: no chosen project builds for the chosen Python")
        return 2
    work = args.work.resolve()
    root_reason = oldroot.missing_reason(python311=any(py == "3.11" for _, py in runs))
    root = None if root_reason else oldroot.find_root()
    if root_reason:
        say(f"warning: {root_reason}; every smoke test will fail")
    say(f"building this checkout's manywheel wheel into {work / 'manywheel-dist'}")
    dist = steps.make_manywheel_dist(work / "manywheel-dist")
    base_env = steps.make_base_env(dist, work / "manywheel-cache")
    outcomes = []
    for project, python in runs:
        outcomes.append(steps.check_project(project, python, work / f"{project.name}-py{python}", base_env,
                                            root, root_reason, compare=args.compare, say=say))
    print(results_table(outcomes, projects))
    if args.compare:
        print()
        print(compare_table(outcomes))
    failed = [o for o in outcomes if o.failures]
    if failed:
        print(f"\n{len(failed)} of {len(outcomes)} runs failed:")
        for o in failed:
            for failure in o.failures:
                print(f"\n- {o.project} py{o.python}: {failure}")
        return 1
    print(f"\nall {len(outcomes)} runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
