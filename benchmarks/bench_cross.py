#!/usr/bin/env python3
"""manywheel's cross build for aarch64 against its native x86_64 build, and against an emulated aarch64 build.

Usage: python benchmarks/bench_cross.py [--rounds N] [--emulated [--emulated-rounds M]]

On example_project, with one virtual environment holding manywheel (a wheel of this
checkout), setuptools, wheel and build:

- native: `python -m build --wheel --no-isolation` (manywheel, default arch: this host's
  x86_64, with the host's gcc);
- cross: the same with `-C manywheel.arch=aarch64` (Debian's aarch64-linux-gnu-gcc).

The frontend runs with --no-isolation on both sides: setting up an isolated environment
(installing setuptools, manywheel and pyelftools) costs the same for both archs and would
take most of the time of a build this small, pulling the ratio towards 1. First one build
of each into an empty baseline cache (the cold figure: it includes generating that arch's
baseline, whose own time is printed too); then N rounds on fresh copies, alternating the
order, with that cache warm for both. Printed: the medians of wall time and of CPU time
(user + system of every process of the build; manywheel compiles one source per core at
once), every round, the ratios cross / native, the wheels' names and sizes; the run fails
if the cross-built wheel is not tagged manylinux_2_17_aarch64. CC/CXX/CFLAGS and
MANYWHEEL_* variables are cleared. About 1 minute with the default 5 rounds on 2 cores.

--emulated adds the path cibuildwheel takes on an x86_64 machine without a cross compiler:
the whole build under qemu-user in an aarch64 Debian bullseye root with the root's own
gcc 10 and Python 3.9 (`python3 setup.py bdist_wheel` with the root's setuptools 52, which
predates pyproject metadata, so a setup.cfg gives it the name, version and package). The
root (gcc, g++, python3-dev, python3-setuptools, python3-wheel) is made once, in
~/.cache/manywheel/bench-aarch64-buildroot: `debootstrap --foreign` downloads the packages
(MWTEST_DEBIAN_MIRROR, else deb.debian.org), `dpkg-deb -x` unpacks them, then ldconfig
and compileall run in it. The time to make it (about 2 minutes here) is printed apart from
the builds (15-40 s each here): one first build, not counted, then M rounds, after the
manywheel rounds, whose cross median the ratio emulated / cross takes. Programs of the root
run through `chroot ROOT`; the compiler's own sub-processes (cc1, as, ld) are aarch64
programs too, so this needs a binfmt_misc handler for aarch64 that works inside a chroot
(flag F): one already registered is used and left as it is; else the benchmark registers
manywheel-bench-qemu-aarch64 (/usr/bin/qemu-aarch64-static, flag F), says so, and removes
it at the end. Needs root, debootstrap, dpkg-deb and qemu-user-static; without one of them
the emulated part is skipped with the reason printed.
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import fcntl
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (EXAMPLE, build_env, fresh_copy, machine_note, make_venv,  # noqa: E402
                     manywheel_wheel, median, run, say, timed)

CROSS_TAG = "manylinux_2_17_aarch64"
NATIVE_TAG = "manylinux_2_17_x86_64"
ROOT_FORMAT = "1"  # bump when what make_build_root puts in the root changes
ROOT_PACKAGES = "gcc,g++,python3-dev,python3-setuptools,python3-wheel"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
QEMU = Path("/usr/bin/qemu-aarch64-static")
OUR_HANDLER = "manywheel-bench-qemu-aarch64"  # in BINFMT, while the emulated builds run
CHROOT_ENV = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C.UTF-8"]
# setuptools 52 (bullseye) does not read [project] from pyproject.toml.
SETUP_CFG = "[metadata]\nname = mw-example\nversion = 0.1.0\n\n[options]\npackages = mw_example\n"
HELLO_CXX = '#include <iostream>\nint main() { std::cout << "ok" << std::endl; return 0; }\n'


@dataclass
class Way:
    label: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of every process of the build
    wheel: Path | None = None
    cold: float | None = None
    cold_note: str = ""


class Skip(Exception):
    """The emulated part cannot run here; the message says why."""


T = TypeVar("T")


def measured(step: Callable[[], T]) -> tuple[float, float, T]:
    """Wall seconds and CPU seconds (user + system, of all the processes it waited for) of ``step``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = step()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, result


# -- native and cross builds (manywheel) ------------------------------------------------------

def manywheel_build(py: Path, work: Path, env: dict[str, str], arch: str | None, cache: Path
                    ) -> tuple[float, float, Path, str]:
    """One `python -m build --wheel --no-isolation` of a fresh copy; returns its wall and CPU time, wheel and log."""
    name = arch or "native"
    src = fresh_copy(EXAMPLE, work, f"src-{name}")
    out = work / f"dist-{name}"
    shutil.rmtree(out, ignore_errors=True)
    cmd: list[str | Path] = [py, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, src]
    if arch:
        cmd += ["-C", f"manywheel.arch={arch}"]
    took, cpu, proc = measured(lambda: run(cmd, dict(env, MANYWHEEL_CACHE_DIR=str(cache))))
    return took, cpu, next(out.glob("*.whl")), proc.stdout + proc.stderr


def baseline_note(log: str) -> str:
    """What the cold build spent on the baseline, from manywheel's "baseline X generated in S s: DIR" line."""
    for line in log.splitlines():
        head, sep, tail = line.partition(" generated in ")
        if sep and "baseline" in head:
            return f"{tail.split(':')[0]} of it generating the {head.split()[-1]} baseline"
    return "no baseline generated (was the cache not empty?)"


def measure_manywheel(py: Path, work: Path, env: dict[str, str], rounds: int) -> tuple[Way, Way]:
    native, cross = Way("native x86_64, manywheel"), Way("cross aarch64, manywheel arch=aarch64")
    ways = {None: native, "aarch64": cross}
    cache = work / "mw-cache"  # empty now: the first build of each arch is the cold one
    say("cold baseline cache: one build of each ...")
    for arch, way in ways.items():
        way.cold, _, way.wheel, log = manywheel_build(py, work, env, arch, cache)
        way.cold_note = baseline_note(log)
    say(f"warm baseline cache: {rounds} round{'s' if rounds != 1 else ''}, alternating the order ...")
    for i in range(rounds):
        for arch in list(ways) if i % 2 == 0 else reversed(list(ways)):
            took, cpu, ways[arch].wheel, _ = manywheel_build(py, work, env, arch, cache)
            ways[arch].times.append(took)
            ways[arch].cpu.append(cpu)
    return native, cross


# -- the emulated build: binfmt_misc, the build root, setuptools under qemu ----------------------

def check_emulation_possible() -> None:
    if os.geteuid() != 0:
        raise Skip("not root (debootstrap, chroot and registering a binfmt_misc handler need root)")
    missing = [name for name, path in (("debootstrap (apt-get install debootstrap)", shutil.which("debootstrap")
                                        or shutil.which("/usr/sbin/debootstrap")),
                                       ("dpkg-deb", shutil.which("dpkg-deb")), ("chroot", shutil.which("chroot")),
                                       (f"{QEMU} (apt-get install qemu-user-static)", QEMU.exists() or None))
               if not path]
    if missing:
        raise Skip("missing: " + ", ".join(missing))
    if not (BINFMT / "register").exists():
        raise Skip(f"binfmt_misc is not mounted at {BINFMT} "
                   f"(mount -t binfmt_misc binfmt_misc {BINFMT}), and the compiler's sub-processes need it")


def debian_registration() -> list[str]:
    """The fields of Debian's qemu-aarch64 registration line: :name:type:offset:magic:mask:interpreter:flags."""
    try:
        fields = BINFMT_CONF.read_text().strip().split(":")
    except OSError as e:
        raise Skip(f"cannot read {BINFMT_CONF} (qemu-user-static): {e}") from e
    if len(fields) != 8 or fields[1] != "qemu-aarch64" or fields[2] != "M":
        raise Skip(f"unexpected registration line in {BINFMT_CONF}: {':'.join(fields)!r}")
    return fields


def usable_handler(magic: str) -> Path | None:
    """A registered handler that serves aarch64 ELF files in a chroot: enabled, with ``magic`` (hex),
    and flag F (its interpreter opened when registered, not looked up inside the chroot)."""
    for entry in sorted(BINFMT.iterdir()):
        if entry.name in ("register", "status"):
            continue
        lines = entry.read_text().splitlines()
        facts = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        if lines[:1] == ["enabled"] and facts.get("magic") == magic and "F" in facts.get("flags:", ""):
            return entry
    return None


@contextlib.contextmanager
def aarch64_binfmt() -> Iterator[None]:
    """A binfmt_misc handler for aarch64 ELF files while the block runs: one already registered that
    can serve a chroot, left as it is, else one registered here and removed at the end."""
    fields = debian_registration()
    magic = codecs.escape_decode(fields[4].encode())[0].hex()
    found = usable_handler(magic)
    if found:
        say(f"binfmt_misc: using the aarch64 handler already registered ({found}), left as it is")
        yield
        return
    entry = BINFMT / OUR_HANDLER
    try:
        (BINFMT / "register").write_text(":".join(["", OUR_HANDLER, *fields[2:6], str(QEMU), "F"]))
    except OSError as e:
        raise Skip(f"cannot register a binfmt_misc handler for aarch64 ({entry}): {e}") from e
    say(f"binfmt_misc: registered {entry} -> {QEMU} (flag F) for the emulated builds; removed at the end")
    try:
        yield
    finally:
        entry.write_text("-1")
        say(f"binfmt_misc: removed the handler registered above ({entry} "
            f"{'still exists!' if entry.exists() else 'is gone'})")


def root_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "manywheel" / "bench-aarch64-buildroot"


def in_root(root: Path, *cmd: str, cwd: str = "/", timeout: float = 3600) -> str:
    """Run an aarch64 program of the root, chrooted, with a clean environment, in ``cwd`` (inside the root)."""
    shell = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd, *cmd]
    return run(["chroot", root, *CHROOT_ENV, *shell], timeout=timeout).stdout


def make_build_root(root: Path) -> str:
    """The bullseye arm64 build root at ``root``, made once; returns a line on how long making it took."""
    marker = root / ".manywheel-bench-complete"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second run waits, then finds the root made
        if marker.exists() and marker.read_text().splitlines()[0] == f"format={ROOT_FORMAT}":
            return f"reused {root} ({marker.read_text().splitlines()[1]})"
        shutil.rmtree(root, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bench-aarch64-buildroot.", dir=root.parent))
        try:
            steps = fill_build_root(tmp)
            total = sum(steps.values())
            made = (f"made in {total:.0f} s on {time.strftime('%Y-%m-%d')}: "
                    + ", ".join(f"{name} {took:.0f} s" for name, took in steps.items()))
            (tmp / marker.name).write_text(f"format={ROOT_FORMAT}\n{made}\n")
            tmp.rename(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return f"{root} {made}"


def fill_build_root(tree: Path) -> dict[str, float]:
    """debootstrap --foreign, unpack every package, then what the maintainer scripts would have done."""
    mirror = os.environ.get("MWTEST_DEBIAN_MIRROR") or "http://deb.debian.org/debian"
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    steps: dict[str, float] = {}
    say(f"making the aarch64 build root (bullseye arm64 from {mirror}, with {ROOT_PACKAGES}) ...")
    steps["debootstrap --foreign (download)"], _ = timed(
        [debootstrap, "--arch=arm64", "--foreign", "--variant=minbase", f"--include={ROOT_PACKAGES}",
         f"--keyring={KEYRING}", "bullseye", tree, mirror])
    start = time.perf_counter()
    debs = sorted((tree / "var" / "cache" / "apt" / "archives").glob("*.deb"))
    for deb in debs:
        run(["dpkg-deb", "-x", deb, tree])
    for deb in debs:
        deb.unlink()
    shutil.rmtree(tree / "debootstrap")
    for db in ("passwd", "group"):
        if not (tree / "etc" / db).exists():
            shutil.copy(tree / "usr" / "share" / "base-passwd" / f"{db}.master", tree / "etc" / db)
    steps[f"unpack {len(debs)} packages (dpkg-deb -x)"] = time.perf_counter() - start
    start = time.perf_counter()
    in_root(tree, "/sbin/ldconfig")
    in_root(tree, "/usr/bin/python3", "-m", "compileall", "-q", "/usr/lib/python3.9", "/usr/lib/python3/dist-packages")
    steps["ldconfig and compileall under qemu"] = time.perf_counter() - start
    start = time.perf_counter()
    check_build_root(tree)
    steps["check gcc and g++"] = time.perf_counter() - start
    return steps


def check_build_root(tree: Path) -> None:
    """g++ compiles, links and runs a program in the root; python3 finds setuptools and wheel."""
    (tree / "tmp" / "hello.cpp").write_text(HELLO_CXX)
    in_root(tree, "g++", "-O2", "hello.cpp", "-o", "hello", cwd="/tmp")
    out = in_root(tree, "./hello", cwd="/tmp").strip()
    if out != "ok":
        sys.exit(f"the build root's g++ built a program that printed {out!r}, not 'ok'")
    in_root(tree, "python3", "-c", "import setuptools, wheel")
    for name in ("hello.cpp", "hello"):
        (tree / "tmp" / name).unlink()


def emulated_build(root: Path, work: Path) -> tuple[float, float, Path]:
    """`python3 setup.py bdist_wheel` of a fresh copy inside the root, all of it under qemu."""
    inside = Path("/tmp") / f"mw-bench-cross-{os.getpid()}"
    out = work / "dist-emulated"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    try:
        src = fresh_copy(EXAMPLE, root / inside.relative_to("/"), "example_project")
        (src / "setup.cfg").write_text(SETUP_CFG)
        took, cpu, _ = measured(lambda: in_root(root, "python3", "setup.py", "-q", "bdist_wheel",
                                                cwd=str(inside / "example_project")))
        wheel = Path(shutil.copy(next((src / "dist").glob("*.whl")), out))
    finally:
        shutil.rmtree(root / inside.relative_to("/"), ignore_errors=True)
    return took, cpu, wheel


def measure_emulated(work: Path, rounds: int) -> tuple[Way | None, str]:
    """The emulated way, or None and the reason it was skipped; and how the root came to be."""
    way = Way("emulated aarch64, setuptools in qemu")
    try:
        check_emulation_possible()
        with aarch64_binfmt():
            made = make_build_root(root_dir())
            say(f"build root: {made}")
            gcc = in_root(root_dir(), "gcc", "--version").splitlines()[0]
            say(f"emulated: {rounds} build{'s' if rounds != 1 else ''} with {gcc} under {QEMU} ...")
            way.cold, _, way.wheel = emulated_build(root_dir(), work)
            way.cold_note = "the first build, not counted in the median"
            for _ in range(rounds):
                took, cpu, way.wheel = emulated_build(root_dir(), work)
                way.times.append(took)
                way.cpu.append(cpu)
    except Skip as e:
        return None, f"skipped: {e}"
    return way, made


# -- the report ---------------------------------------------------------------------------------

def platform_tags(wheel: Path) -> list[str]:
    return wheel.name[:-len(".whl")].split("-")[-1].split(".")


def report(ways: list[Way], rounds: int) -> None:
    say("")
    say(f"example_project, median of {rounds} warm round{'s' if rounds != 1 else ''} (python -m build --wheel "
        "--no-isolation for manywheel; seconds):")
    say(f"  {'way':40} {'median':>7} {'min-max':>13} {'cpu':>7} {'cold':>7}  wheel")
    for way in ways:
        assert way.wheel is not None
        spread = f"{min(way.times):.2f}-{max(way.times):.2f}"
        size = way.wheel.stat().st_size / 1024
        say(f"  {way.label:40} {median(way.times):7.2f} {spread:>13} {median(way.cpu):7.2f} {way.cold or 0:7.2f}  "
            f"{way.wheel.name} ({size:.0f} KiB)")
    say("  (cpu: median user + system seconds of all the build's processes; cold: one build with an empty baseline "
        "cache)")
    for way in ways:
        say(f"  {way.label}: every round {', '.join(f'{t:.2f}' for t in way.times)} s; cold: {way.cold_note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds of the native and cross builds")
    parser.add_argument("--emulated", action="store_true",
                        help="also build under qemu in an aarch64 bullseye root (made once: a few minutes; needs root)")
    parser.add_argument("--emulated-rounds", type=int, default=3)
    args = parser.parse_args()
    if args.rounds < 1 or args.emulated_rounds < 1:
        parser.error("--rounds and --emulated-rounds must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the binfmt handler is removed
    say(machine_note("before"))
    with tempfile.TemporaryDirectory(prefix="mw-bench-cross-") as tmp:
        work = Path(tmp)
        say("setting up: a virtual environment with manywheel (this checkout), setuptools, wheel and build ...")
        py = make_venv(work / "venv", [str(manywheel_wheel(work / "links")), "setuptools>=64", "wheel", "build"])
        env = build_env(work / "links")
        say(f"compilers: {first_line(['gcc', '--version'])}; {first_line(['aarch64-linux-gnu-gcc', '--version'])}")
        native, cross = measure_manywheel(py, work, env, args.rounds)
        ways = [native, cross]
        emulated, note = measure_emulated(work, args.emulated_rounds) if args.emulated else (
            None, "not run (opt-in: --emulated; needs root, debootstrap and qemu-user-static)")
        if emulated:
            ways.append(emulated)
        report(ways, args.rounds)
        ratio = median(cross.times) / median(native.times)
        say(f"  ratio cross / native = {ratio:.3f} (warm; cpu {median(cross.cpu) / median(native.cpu):.3f}); "
            f"cold {(cross.cold or 0) / (native.cold or 1):.3f}")
        if emulated:
            say(f"  ratio emulated / cross = {median(emulated.times) / median(cross.times):.1f} "
                f"(cpu {median(emulated.cpu) / median(cross.cpu):.1f}; emulated: median of {args.emulated_rounds})")
            say(f"  build root: {note}")
        else:
            say(f"  emulated build: {note}")
        ok = check_tags(native, cross, emulated)
    say(machine_note("after", judge=False))
    return 0 if ok else 1


def first_line(cmd: list[str]) -> str:
    proc = run(cmd, check=False)
    return (proc.stdout or proc.stderr or f"{cmd[0]}: no output").splitlines()[0]


def check_tags(native: Way, cross: Way, emulated: Way | None) -> bool:
    """Say each wheel's platform tags; False when manywheel's are not the manylinux_2_17 ones expected."""
    ok = True
    for way, tag in ((native, NATIVE_TAG), (cross, CROSS_TAG)):
        tags = platform_tags(way.wheel) if way.wheel else []
        found = tag in tags
        ok = ok and found
        say(f"  {way.label}: platform tags {'.'.join(tags)}: {tag} {'yes' if found else 'NO: unexpected'}")
    if emulated and emulated.wheel:
        say(f"  {emulated.label}: platform tag {'.'.join(platform_tags(emulated.wheel))} (not repaired: "
            "bullseye's glibc 2.31 and its libstdc++ are what it needs; cibuildwheel would then run auditwheel "
            "repair, also under qemu)")
    return ok


if __name__ == "__main__":
    sys.exit(main())
