"""The OpenMP runtime for the baseline: GCC's libgomp, built once by the pinned toolchain and cached.

gcc adds ``-lgomp`` to every ``-fopenmp`` link itself.  The host's ``libgomp.so.1`` is newer than
the baseline (on Debian 12 it needs GLIBC_2.34), and ``libgomp.a`` cannot go into a shared
object (its TLS is initial-exec: ``R_X86_64_TPOFF32``).  So the runtime a wheel bundles is
libgomp from the source of the compiler that built the project (its ``GOMP_*`` entry points
are the ones that compiler emits), compiled and linked by manywheel's own wrappers for the
target's baseline, and cached beside the baseline: the first OpenMP build on a machine pays
for it (about 25 s here: fetching the source, configure, make), every later one reuses it.

The build is started by the wrapper (``manywheel._wrapper.extlibs``) at the first link that
uses OpenMP, so builds without OpenMP never pay for it; concurrent links wait on one lock.

The source: ``openmp-source`` (a GCC source tree, or a release tarball such as
``gcc-12.2.0.tar.xz``), else the compiler's Debian source package (``gcc-12``), fetched with
``apt-get source`` through a private apt configuration made from the host's apt sources
(Debian and Ubuntu hosts; ``aptsource``).  Only libgomp's part of it is kept in the cache (about 15 MB).
"""
from __future__ import annotations

import glob
import hashlib
import marshal
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import BaselineError
from ..files import locked
from .compiler import Compiler

if TYPE_CHECKING:
    from .._wrapper.config import WrapperConfig

FORMAT = 1  # bump when the way the runtime is built changes
RUNTIME = "libgomp.so.1"
# What of a GCC source tree libgomp's configure and make read.
_SOURCE_PARTS = ("libgomp", "config", "include", "config.guess", "config.sub", "install-sh", "ltmain.sh",
                 "missing", "mkinstalldirs", "config-ml.in", "depcomp", "compile", "move-if-change",
                 "config.rpath", "ylwrap", "test-driver", "libtool.m4", "ltoptions.m4", "ltsugar.m4",
                 "ltversion.m4", "lt~obsolete.m4", "multilib.am", "gcc/BASE-VER", "gcc/DATESTAMP", "gcc/DEV-PHASE")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class OpenmpError(BaselineError):
    """The OpenMP runtime for the baseline cannot be had: the message says why, the hint what to do."""


def runtime_path(cache: Path, baseline_dir: Path) -> Path:
    """Where the runtime for this baseline lives (its cache entry's name is a content key that
    covers the compiler and its version, the target and the architecture)."""
    key = hashlib.sha256(f"{FORMAT}|{baseline_dir.name}".encode()).hexdigest()[:20]
    return cache / "openmp" / key / RUNTIME


def build_command(runtime: Path, source: str, cache: Path) -> list[str]:
    """The command the wrapper runs (appending its configuration file) when ``runtime`` is missing."""
    start = (f"import sys; sys.path.insert(0, {str(_PACKAGE_ROOT)!r}); "
             "from manywheel.toolchain.openmp import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", start, str(runtime), source, str(cache)]


def main(argv: Sequence[str]) -> int:
    """``RUNTIME SOURCE CACHE CONFIG``: build the runtime into RUNTIME unless it is there."""
    runtime, source, cache, config = Path(argv[0]), argv[1], Path(argv[2]), Path(argv[3])
    try:
        with open(config, "rb") as f:
            cfg: WrapperConfig = marshal.load(f)
        ensure_runtime(runtime, source, cache, cfg)
    except OpenmpError as e:
        say(e.render(lead="error: "))
        return 1
    return 0


def say(message: str) -> None:
    print(f"manywheel: {message}", file=sys.stderr, flush=True)


def ensure_runtime(runtime: Path, source: str, cache: Path, cfg: WrapperConfig) -> Path:
    if runtime.is_file():
        return runtime
    try:
        with locked(runtime.parent.with_suffix(".lock")):
            if runtime.is_file():  # another link built it while this one waited
                return runtime
            _build(runtime, source, cache, cfg)
    except OSError as e:
        raise OpenmpError(f"cannot write the OpenMP runtime into {runtime.parent}: {e.strerror or e}",
                          hint="set cache-dir (MANYWHEEL_CACHE_DIR) to a writable directory") from e
    return runtime


def _build(runtime: Path, source: str, cache: Path, cfg: WrapperConfig) -> None:
    compiler = Compiler(cfg["cc"], os.environ)
    version = compiler.version
    if not re.match(r"^\d+\.\d+", version) or not compiler.is_gcc:
        raise OpenmpError(f"the OpenMP runtime is built from GCC's libgomp, and the C compiler {' '.join(cfg['cc'])} "
                          "is not gcc", hint="build with gcc (CC=gcc), or list the runtime in [tool.manywheel] "
                          "exclude to leave it to the system")
    started = time.perf_counter()
    tree = source_tree(source, cache, version)
    say(f"building the OpenMP runtime (libgomp of gcc {version}, from {tree}) for the baseline, once; it is "
        f"cached in {runtime.parent}")
    with tempfile.TemporaryDirectory(prefix="manywheel-openmp-") as tmp:
        work = Path(tmp)
        cc = _pinned_compiler(cfg, work / "toolchain")
        build = work / "build"
        build.mkdir()
        log = work / "build.log"
        triplet = compiler.triplet
        steps = [
            [str(tree / "libgomp" / "configure"), "--disable-multilib", "--disable-werror",
             f"--host={triplet}", f"--build={triplet}", f"CC={cc}", "CFLAGS=-O2 -g0"],
            ["make", f"-j{os.cpu_count() or 1}"],
        ]
        # The project's flags and an outer make's jobserver are not libgomp's.
        env = {k: v for k, v in os.environ.items()
               if k not in ("CFLAGS", "CPPFLAGS", "LDFLAGS", "LIBS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        env["LC_ALL"] = "C"
        for step in steps:
            with open(log, "ab") as out:
                proc = subprocess.run(step, cwd=build, stdout=out, stderr=subprocess.STDOUT, env=env)
            if proc.returncode != 0:
                tail = log.read_text(errors="replace").splitlines()[-25:]
                raise OpenmpError(f"building libgomp failed at `{' '.join(step[:1])}` (exit {proc.returncode}); "
                                  "the end of its log:\n    " + "\n    ".join(tail))
        built = build / ".libs" / "libgomp.so.1.0.0"
        if not built.is_file():
            raise OpenmpError(f"building libgomp left no {built.name} in {build / '.libs'}")
        runtime.parent.mkdir(parents=True, exist_ok=True)
        tmp_file = runtime.with_name(f".{runtime.name}.{os.getpid()}.tmp")
        shutil.copyfile(built, tmp_file)
        os.chmod(tmp_file, 0o755)
        os.replace(tmp_file, runtime)
    say(f"built the OpenMP runtime in {time.perf_counter() - started:.1f} s: {runtime}")


def _pinned_compiler(cfg: WrapperConfig, directory: Path) -> str:
    """A wrapper like the build's, with its baseline, but with nothing done to libraries."""
    from .wrappers import write_toolchain_config, write_wrapper_scripts

    directory.mkdir(parents=True)
    own: WrapperConfig = {**cfg, "libs": None, "verbose": False, "state_dir": str(directory)}
    bindir = write_wrapper_scripts(directory / "bin", write_toolchain_config(directory, own))
    return str(bindir / "cc")


def source_tree(source: str, cache: Path, version: str) -> Path:
    """A directory with libgomp's part of GCC's source, of the compiler's major version."""
    major = version.split(".")[0]
    if source:
        given = Path(source).expanduser()
        if given.is_dir():
            if not (given / "libgomp" / "configure").is_file():
                raise OpenmpError(f"openmp-source {given} is not a GCC source tree (no libgomp/configure)")
            _check_version(given, major, str(given))
            return given
        if not given.is_file():
            raise OpenmpError(f"openmp-source {given} does not exist",
                              hint="name a GCC source tree or release tarball (gcc-X.Y.Z.tar.xz)")
        return _unpacked(given, cache, major, str(given))
    kept = sorted(glob.glob(str(cache / "sources" / f"gcc-{major}.*-libgomp")))
    if kept:
        return Path(kept[-1])
    orig = fetch_debian_source(major, cache)
    try:
        return _unpacked(orig, cache, major, f"the gcc-{major} source package")
    finally:
        shutil.rmtree(cache / "sources" / "gcc-download", ignore_errors=True)  # about 90 MB, no longer needed


def _check_version(tree: Path, major: str, what: str) -> str:
    try:
        found = (tree / "gcc" / "BASE-VER").read_text().strip()
    except OSError:
        raise OpenmpError(f"{what} has no gcc/BASE-VER: not a GCC source tree") from None
    if found.split(".")[0] != major:
        raise OpenmpError(f"{what} is GCC {found}, and the compiler is gcc {major}: libgomp must come from the "
                          "same major version", hint=f"give the source of gcc {major} (openmp-source)")
    return found


def _unpacked(tarball: Path, cache: Path, major: str, what: str) -> Path:
    """libgomp's part of a GCC tarball (upstream, or Debian's orig tarball, which holds one), in the cache."""
    sources = cache / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=sources) as tmp:
        work = Path(tmp)
        names = _tar(["-tf", str(tarball)], what).splitlines()
        inner = [n for n in names if re.search(r"/gcc-[\d.]+(-dfsg)?\.tar\.(xz|gz|bz2)$", n)]
        if inner:  # Debian's orig tarball: the upstream tarball inside
            _tar(["-xf", str(tarball), "-C", str(work), inner[0]], what)
            tarball = work / inner[0]
            names = _tar(["-tf", str(tarball)], what).splitlines()
        top = names[0].split("/")[0] if names else ""
        if not top or f"{top}/libgomp/configure" not in names:
            raise OpenmpError(f"{what} is not a GCC source tarball (no {top or '?'}/libgomp/configure in it)")
        out = work / "tree"
        out.mkdir()
        wanted = [f"{top}/{part}" for part in _SOURCE_PARTS if f"{top}/{part}" in names or f"{top}/{part}/" in names]
        _tar(["-xf", str(tarball), "-C", str(out), "--strip-components=1", *wanted], what)
        version = _check_version(out, major, what)
        final = sources / f"gcc-{version}-libgomp"
        if not final.is_dir():
            os.replace(out, final)
    return final


def _tar(args: list[str], what: str) -> str:
    proc = subprocess.run(["tar", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OpenmpError(f"cannot unpack {what}: {proc.stderr.strip() or 'tar failed'}")
    return proc.stdout


def fetch_debian_source(major: str, cache: Path) -> Path:
    """Download Debian's (or Ubuntu's) ``gcc-MAJOR`` source package into ``cache/sources/gcc-download``
    (the newest version the mirror has); return its orig tarball."""
    hint = (f"download GCC {major}'s source (https://gcc.gnu.org/releases.html) and name it in "
            "openmp-source (MANYWHEEL_OPENMP_SOURCE), or list gomp in [tool.manywheel] exclude to leave "
            "the OpenMP runtime to the system")
    from .aptsource import AptSourceError, PrivateApt  # only when the runtime is built: a build's link asks

    apt = PrivateApt(cache / "sources" / "apt", say)
    package = f"gcc-{major}"
    try:
        apt.ready(hint)
    except AptSourceError as e:
        raise OpenmpError(f"the OpenMP runtime is built from GCC {major}'s source: {e.message}", hint=hint) from e
    downloads = cache / "sources" / "gcc-download"
    say(f"fetching the {package} source package with apt-get source (deb-src of the host's apt sources)")
    failures = []
    for version, where in apt.versions(package):
        shutil.rmtree(downloads, ignore_errors=True)
        got = apt.fetch(package, version, downloads, download_only=True)
        origs = sorted(downloads.glob(f"{package}_*.orig.tar.*"))
        if got.returncode == 0 and origs:
            return origs[0]
        detail = (got.stderr or got.stdout).strip().splitlines()[-3:]
        failures.append(f"{version} ({where or 'apt'}): {' / '.join(detail) or 'no orig tarball'}")
    raise OpenmpError(f"apt-get source {package} failed: {'; '.join(failures) or 'no such source package'}", hint=hint)


__all__ = ["runtime_path", "build_command", "ensure_runtime", "source_tree", "OpenmpError"]
