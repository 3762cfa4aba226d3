"""``manywheel check``, ``manywheel adopt``, ``manywheel targets`` and ``manywheel wheels`` (whose work is in
``manywheel.matrix``, imported only when it runs: ``check`` never loads the build side)."""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Sequence

from . import __version__, lifecycle
from .errors import ComplianceError, ManywheelError, PolicyError, UsageError
from .check.pyabi import (PythonAbiVerdict, abi_hint, judge_python_abi, python_abi_json, render_abi_violations,
                          render_python_abi)
from .check.provided import (cuda_linked_statically, cuda_runtimes, parse_provided_by, provided_json, provided_needs, render_provided,
                             uncovered)
from .check.report import hint_for, render_verdict, render_violations, summary_line, verdict_json
from .check.sboms import render_sboms, sboms_json, sboms_of
from .check.stable_abi import load_stable_abi
from .check.scan import Scan, majority_arch, scan_path
from .check.verify import Verdict, judge
from .arches import ARCHES, host_arch
from .policy import Policy, excludes, find_policy, load_policies, provided_key

EXIT_MEETS, EXIT_FAILS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
        return code
    except ManywheelError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manywheel", description="Build and judge portable manylinux wheels.")
    parser.add_argument("--version", action="version", version=f"manywheel {__version__}")
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check", help="judge wheels, shared objects or directories against the policies",
                           description="Print the best policy every ELF file meets and every fact that rules out "
                                       "an older one. Exit 0 if the files meet the target (--target, else the "
                                       "wheel's own tag), 1 if not, 2 for usage errors or unreadable input.")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a .whl, a shared object, or a directory")
    check.add_argument("--target", help="judge against this policy (e.g. manylinux_2_17 or manylinux2014)")
    check.add_argument("--json", action="store_true", help="print the verdicts as JSON (every fact)")
    check.add_argument("--all", action="store_true", help="list every fact of every file, not the first few")
    check.add_argument("--exclude", action="append", default=[], metavar="LIB",
                       help="a library something outside the wheel provides, accepted as it is (repeatable; "
                            "like [tool.manywheel] exclude: cuda or libcuda.so.1)")
    check.add_argument("--provided-by", action="append", default=[], metavar="LIB=DIST",
                       help="a library another wheel provides, and that wheel's distribution (repeatable; like "
                            "[tool.manywheel.provided-by]: libcudart.so.13=nvidia-cuda-runtime, globs allowed): "
                            "accepted as NEEDED, and the wheel's Requires-Dist must require DIST")
    check.set_defaults(func=_check)
    adopt = sub.add_parser("adopt", help="switch a project's build backend to manywheel",
                           description="Rewrite [build-system] in pyproject.toml to use manywheel, moving the current "
                                       "backend (and backend-path) into [tool.manywheel] as inner-backend; comments and "
                                       "formatting are kept. Prints the diff.")
    adopt.add_argument("path", nargs="?", type=Path, default=Path("."), metavar="PATH",
                       help="the project directory or its pyproject.toml (default: the current directory)")
    adopt.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    adopt.set_defaults(func=_adopt)
    targets = sub.add_parser("targets", help="list the policies for an architecture")
    targets.add_argument("--arch", default=None, help="architecture (default: this host's)")
    targets.set_defaults(func=_targets)
    _wheels_parser(sub)
    return parser


WHEELS_DESCRIPTION = """\
Build the whole wheel matrix of a project that builds with manywheel: one sdist, then one wheel per
selected Python x architecture from it (cross-built, no container, no emulator), then each wheel's
test-command in the oldest root of its architecture that has a Python of its version. Options also
read from [tool.manywheel.wheels], and the selectors and test keys from [tool.cibuildwheel] (build,
skip, test-command, test-requires, test-extras, test-sources, test-skip, archs) when the manywheel
table lacks them; the command line wins. Exit 0 when no build and no test failed (wheels without an
interpreter and tests without a root are listed, with the reason), 1 when one did (the wheels that
built are kept), 2 for bad input (found before any build)."""


def _wheels_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wheels = sub.add_parser("wheels", help="build and test every Python x architecture wheel of a project",
                            description=WHEELS_DESCRIPTION)
    wheels.add_argument("path", nargs="?", type=Path, default=Path("."), metavar="PATH",
                        help="the project directory (default: the current directory)")
    wheels.add_argument("--python", metavar="SPEC",
                        help="versions and ranges (3.9-3.13,3.14t) or cibuildwheel identifiers (cp39-*, "
                             "cp311-manylinux_aarch64); default: 3.9-3.14, less what requires-python excludes")
    wheels.add_argument("--arch", metavar="LIST",
                        help="architectures (x86_64,aarch64,ppc64le,s390x,armv7l,i686,...) or all (those six); "
                             "default: this host's, plus those --python identifiers name")
    wheels.add_argument("--out", metavar="DIR", help="where the wheels go (default: wheelhouse); logs in DIR/logs/")
    wheels.add_argument("--jobs", type=int, metavar="N", help="builds at once (default: one per CPU core)")
    wheels.add_argument("--roots", metavar="DIR",
                        help="where the test roots are (default: ~/.cache/manywheel: bullseye-root/, cross-roots/ARCH/)")
    wheels.add_argument("--no-test", action="store_true", help="build only; run no test-command")
    wheels.add_argument("--isolated", action="store_true",
                        help="build each wheel in an isolated environment of its own (python -m build), not in "
                             "its Python's build environment shared by every architecture")
    wheels.add_argument("--shard", metavar="K/N", help="build part K of N of the matrix (deterministic; for CI matrices)")
    wheels.add_argument("--plan", action="store_true", help="print the plan (interpreters, roots) and build nothing")
    wheels.set_defaults(func=_wheels)


def _wheels(args: argparse.Namespace) -> int:
    import os

    from .matrix.plan import make_plan, render_plan
    from .matrix.runner import run_plan

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more", argument="--jobs")
    cli = {"python": args.python, "arch": args.arch, "out": args.out, "jobs": args.jobs, "roots": args.roots}
    plan = make_plan(args.path, cli, dict(os.environ), shard=args.shard, no_test=args.no_test)
    print(render_plan(plan), flush=True)
    print("builds: " + ("each in an isolated environment of its own (--isolated)" if args.isolated else
                        "each Python's in one build environment, shared by its architectures (--isolated: "
                        "one per wheel)"), flush=True)
    if args.plan:
        return EXIT_MEETS
    return run_plan(plan, dict(os.environ), isolated=args.isolated)


def _check(args: argparse.Namespace) -> int:
    results = []
    worst = EXIT_MEETS
    try:
        provided = parse_provided_by(args.provided_by)
    except ValueError as e:
        raise UsageError(str(e), argument="--provided-by",
                         hint="give the library and the distribution that ships it") from None
    for path in args.paths:
        scan, verdict, target = _judge_path(path, args.target, args.exclude, provided)
        sboms = sboms_of(scan)
        needs = provided_needs(scan.facts, provided)
        pyabi = judge_python_abi(scan.facts, path.name if path.suffix == ".whl" else None, load_stable_abi())
        ok = verdict.meets(target) if target else verdict.policy is not None or not scan.facts
        ok = ok and not (scan.requires_dist is not None and uncovered(needs, scan.requires_dist))
        worst = max(worst, EXIT_MEETS if ok and pyabi.ok else EXIT_FAILS)
        results.append((path, scan, verdict, target, sboms, needs, pyabi))
        if not args.json:
            print(render_verdict(verdict, str(path), every=args.all))
            if verdict.policy is not None:
                print(_who_can_install(target if target and ok else verdict.policy))
            if target and not ok:
                report = ComplianceError(render_violations(verdict, target), hint=hint_for(verdict, target))
                print(report.render(lead="  does not meet: "))
            _print_python_abi(pyabi, args.all)
            print("  " + summary_line(verdict, scan))
            extra = render_provided(needs, scan.requires_dist, cuda_runtimes(scan.facts), cuda_linked_statically(sboms))
            if extra:
                print(extra)
            if sboms:
                print(render_sboms(sboms, every=args.all))
    if args.json:
        print(json.dumps([{"path": str(p), **verdict_json(v, t, s), **_install_json(v), "sboms": sboms_json(b),
                           "provided": provided_json(n, s.requires_dist), "python_abi": python_abi_json(a)}
                          for p, s, v, t, b, n, a in results], indent=2))
    return worst


def _print_python_abi(pyabi: PythonAbiVerdict, every: bool) -> None:
    shown = render_python_abi(pyabi, every)
    if shown:
        print(shown)
    if not pyabi.ok:
        report = ComplianceError(render_abi_violations(pyabi), hint=abi_hint(pyabi))
        print(report.render(lead="  does not meet: "))


def _judge_path(path: Path, target_name: str | None, exclude: list[str],
                provided: dict[str, str]) -> tuple[Scan, Verdict, Policy | None]:
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory", argument=str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise UsageError(f"{path}: an empty file, neither a wheel nor an ELF file", argument=str(path))
    scan = scan_path(path)
    if path.is_dir() and not scan.facts:
        raise UsageError(f"{path}: no ELF files in this directory ({scan.members} files looked at)",
                         argument=str(path), hint="name a wheel, a shared object, or a directory holding some")
    arch = _wheel_arch(path) or majority_arch(scan.facts, "") or host_arch()
    verdict = judge(scan.facts, load_policies(arch), arch,
                    exclude=lambda soname: excludes(exclude, soname) or provided_key(provided, soname) is not None)
    return scan, verdict, _target_for(target_name, path, arch)


def _install_json(v: Verdict) -> dict[str, object]:
    if v.policy is None:
        return {"installable_by": None}
    return {"installable_by": {"pip": lifecycle.oldest_pip(v.policy),
                               "distributions": [d.name for d in lifecycle.installable_on(v.policy)]}}


def _wheel_arch(path: Path) -> str | None:
    if path.suffix != ".whl":
        return None
    platform = path.name[:-4].split("-")[-1].split(".")[0]
    # Longest first: "ppc64le" must not be taken for "ppc64".
    for policy_arch in sorted(ARCHES, key=len, reverse=True):
        if platform.endswith("_" + policy_arch):
            return policy_arch
    return None


def _target_for(name: str | None, path: Path, arch: str) -> Policy | None:
    if name:
        return find_policy(name, arch)
    if path.suffix != ".whl":
        return None
    # The wheel's own claim: the most compatible of its platform tags.
    claimed = []
    for plat in path.name[:-4].split("-")[-1].split("."):
        if plat.startswith(("manylinux", "musllinux")) and plat.endswith("_" + arch):
            try:
                claimed.append(find_policy(plat, arch))
            except PolicyError:
                continue
    return min(claimed, key=lambda p: p.libc_version) if claimed else None


def _adopt(args: argparse.Namespace) -> int:
    from .adopt import adopt

    adoption = adopt(args.path)
    sys.stdout.write(adoption.diff())
    where = f" (inner-backend-path {list(adoption.inner_backend_path)})" if adoption.inner_backend_path else ""
    if args.dry_run:
        print(f"manywheel: dry run: {adoption.path} not changed", file=sys.stderr)
    else:
        adoption.write()
        print(f"manywheel: {adoption.path} now builds with manywheel; {adoption.inner_backend} does the "
              f"compiling as [tool.manywheel] inner-backend{where}", file=sys.stderr)
    return EXIT_MEETS


def _targets(args: argparse.Namespace) -> int:
    arch = args.arch or host_arch()
    policies = load_policies(arch)
    if not policies:
        raise PolicyError(f"no policies for architecture {arch!r}")
    today = datetime.date.today()
    print(f"policies for {arch} (most compatible first):")
    for p in policies:
        aliases = f" (alias {', '.join(p.aliases)})" if p.aliases else ""
        libc = "glibc" if p.family == "manylinux" else "musl"
        print(f"  {p.display_name}{aliases}: {libc} >= {p.libc_version}, pip >= {lifecycle.oldest_pip(p)}")
        for d in lifecycle.reference_distributions(p):
            eol = f"end of life {d.eol}{' (ended)' if d.ended(today) else ''}" if d.eol else "end of life not recorded"
            print(f"      reference: {d.name}, {eol}")
    print("sources: " + "; ".join(f"{k}: {v}" for k, v in lifecycle.sources().items()))
    return EXIT_MEETS


def _who_can_install(policy: Policy) -> str:
    names = [d.name for d in lifecycle.installable_on(policy)]
    shown = ", ".join(names[:6]) + (" and newer" if len(names) > 6 else "")
    libc = "glibc" if policy.family == "manylinux" else "musl"
    return (f"  installable by pip >= {lifecycle.oldest_pip(policy)} on {libc} >= {policy.libc_version}"
            + (f": {shown}" if shown else ""))


if __name__ == "__main__":
    sys.exit(main())
