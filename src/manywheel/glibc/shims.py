"""Compatibility shims for glibc functions that have no version old enough for the target.

A normal build on a new host references some glibc symbols (``stat@GLIBC_2.33``,
``getrandom@GLIBC_2.25``, ``_dl_find_object@GLIBC_2.35`` from static libgcc, ...) that no
older glibc version of the symbol can replace, so the stub libraries cannot pin them. Each
such function gets a small C replacement under ``shims/`` built on old interfaces (raw
system calls, ``__xstat64``, ``pthread_cond_timedwait``, ``dl_iterate_phdr``...). Every
replacement is hidden and is its own member of ``libmanywheel_shims.a``, so the linker pulls
in only what an extension references and nothing is exported from it.

The archive goes into the linker script that stands in for ``libc.so``, before the stub
libc, so that references from prebuilt archives (libstdc++.a, libgcc_eh.a) reach it too.
Shims listing ``wrap`` names only take effect with ``-Wl,--wrap=NAME`` on the link line.

The shims serve x86_64, i686, aarch64, armv7l, ppc64le, ppc64, s390x and riscv64
(:data:`SUPPORTED_ARCHES`); other architectures raise :class:`~manywheel.errors.BaselineError`.
What differs between them is either in the C sources (``shim.h``: the ``_STAT_VER`` and
``_MKNOD_VER`` that ``__xstat*`` and ``__xmknod*`` expect, 32-bit ``struct stat``) or read
from the glibc ABI record: every ``MW_PIN(name)`` of a source binds ``name`` to its
default version at the oldest manylinux target of the architecture (``dlsym@GLIBC_2.2.5``
on x86_64, ``dlsym@GLIBC_2.17`` on aarch64, ``__xstat64@GLIBC_2.2`` on i686, whose
``GLIBC_2.1`` one fills an older structure). The fts64 shims exist only on 64-bit
architectures, where ``FTSENT64`` and ``FTSENT`` are the same; a 32-bit glibc older than
2.23 has no way to walk a tree with 64-bit file offsets at all.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..arches import BUILDABLE, TABLE
from ..errors import BaselineError
from ..files import replace_atomically
from ..policy import LibcVersion, load_policies
from .abi import load_abi

ARCHIVE_NAME = "libmanywheel_shims.a"
SUPPORTED_ARCHES = BUILDABLE
LP64_ARCHES = tuple(a.name for a in TABLE if a.buildable and a.lp64)
"""The supported architectures with 64-bit ``long`` and pointers (and so ``off_t``)."""
SOURCE_DIR = Path(__file__).resolve().parent / "shims"
_PIN = re.compile(r"^MW_PIN\((\w+)\);", re.MULTILINE)

# Always after the caller's flags: the shims must be plain GNU C11 objects, not LTO
# bytecode; they must not see the macros that redirect fcntl to fcntl64, stat to stat64,
# strtol to __isoc23_strtol or explicit_bzero to __explicit_bzero_chk; and a project's
# -Werror must not fail on code it does not own.
_BASE_CFLAGS = ("-O2", "-fvisibility=hidden")
_FORCED_CFLAGS = (
    "-std=gnu11",
    "-fPIC",
    "-fno-lto",
    "-U_FORTIFY_SOURCE",
    "-U_FILE_OFFSET_BITS",
    "-U_TIME_BITS",
    "-w",
)
_OUTPUT_TAIL_LINES = 25


@dataclass(frozen=True)
class Shim:
    """One member of the shim archive."""

    symbols: tuple[str, ...]
    """The symbols the member defines (all hidden)."""
    source: str
    """Its C file under ``shims/``."""
    introduced: tuple[int, int]
    """The glibc release that introduced the symbols: the shim serves targets below it."""
    wrap: tuple[str, ...] = ()
    """Symbols to pass to the linker as ``-Wl,--wrap=NAME`` when the shim is used."""
    arches: tuple[str, ...] = SUPPORTED_ARCHES
    """The architectures it is written for."""

    def needed_for(self, target: Sequence[int]) -> bool:
        """Whether a build for glibc ``target`` needs this shim (where it exists)."""
        return tuple(target[:2]) < self.introduced


def _isoc23(*names: str) -> tuple[Shim, ...]:
    return tuple(Shim((f"__isoc23_{n}",), f"isoc23_{n}.c", (2, 38)) for n in names)


SHIMS: tuple[Shim, ...] = (
    Shim(("__cxa_thread_atexit_impl",), "cxa_thread_atexit_impl.c", (2, 18)),
    Shim(
        ("fts64_open", "fts64_read", "fts64_children", "fts64_set", "fts64_close"),
        "fts64.c",
        (2, 23),
        arches=LP64_ARCHES,
    ),
    Shim(("getrandom",), "getrandom.c", (2, 25)),
    Shim(("getentropy",), "getentropy.c", (2, 25)),
    Shim(("explicit_bzero",), "explicit_bzero.c", (2, 25)),
    Shim(("__explicit_bzero_chk",), "explicit_bzero_chk.c", (2, 25)),
    Shim(("reallocarray",), "reallocarray.c", (2, 26)),
    Shim(("memfd_create",), "memfd_create.c", (2, 27)),
    Shim(("fcntl64",), "fcntl64.c", (2, 28)),
    Shim(("pthread_cond_clockwait",), "pthread_cond_clockwait.c", (2, 30)),
    Shim(("pthread_mutex_clocklock",), "pthread_mutex_clocklock.c", (2, 30)),
    Shim(("pthread_rwlock_clockrdlock",), "pthread_rwlock_clockrdlock.c", (2, 30)),
    Shim(("pthread_rwlock_clockwrlock",), "pthread_rwlock_clockwrlock.c", (2, 30)),
    Shim(("__libc_single_threaded",), "libc_single_threaded.c", (2, 32)),
    Shim(("stat", "stat64"), "stat.c", (2, 33)),
    Shim(("fstat", "fstat64"), "fstat.c", (2, 33)),
    Shim(("lstat", "lstat64"), "lstat.c", (2, 33)),
    Shim(("fstatat", "fstatat64"), "fstatat.c", (2, 33)),
    Shim(("mknod",), "mknod.c", (2, 33)),
    Shim(("mknodat",), "mknodat.c", (2, 33)),
    # Not a missing symbol: sysconf(_SC_SIGSTKSZ) answers -1 before glibc 2.34.
    Shim(("__wrap_sysconf",), "wrap_sysconf.c", (2, 34), wrap=("sysconf",)),
    Shim(("_dl_find_object",), "dl_find_object.c", (2, 35)),
    Shim(("arc4random",), "arc4random.c", (2, 36)),
    Shim(("arc4random_buf",), "arc4random_buf.c", (2, 36)),
    Shim(("arc4random_uniform",), "arc4random_uniform.c", (2, 36)),
    *_isoc23("strtol", "strtoul", "strtoll", "strtoull", "strtoimax", "strtoumax"),
    *_isoc23("wcstol", "wcstoul", "wcstoll", "wcstoull", "wcstoimax", "wcstoumax"),
    *_isoc23("fscanf", "scanf", "sscanf", "vfscanf", "vscanf", "vsscanf"),
    *_isoc23("fwscanf", "wscanf", "swscanf", "vfwscanf", "vwscanf", "vswscanf"),
)


class ShimBuildError(BaselineError):
    """Compiling or archiving the shims failed; carries the command, exit code and output."""

    def __init__(self, what: str, command: Sequence[str], returncode: int, output: str) -> None:
        tail = "\n".join(output.rstrip().splitlines()[-_OUTPUT_TAIL_LINES:])
        message = f"{what} failed: `{shlex.join(command)}` exited with {returncode}"
        if tail:
            message += "\n" + "\n".join("    " + line for line in tail.splitlines())
        super().__init__(
            message,
            hint="manywheel compiles its glibc shims with the project's C compiler; "
            "check that it can build a small C file with the flags shown",
        )
        self.command = list(command)
        self.returncode = returncode
        self.output = tail


def _check_arch(arch: str) -> None:
    if arch not in SUPPORTED_ARCHES:
        raise BaselineError(
            f"no glibc shims for architecture {arch!r} yet (only {', '.join(SUPPORTED_ARCHES)})",
            hint=f"build for one of {', '.join(SUPPORTED_ARCHES)}, or target a glibc new enough "
            "to need no shims (2.38)",
        )


def shims_for(target: Sequence[int], arch: str) -> list[Shim]:
    """The shims a build for glibc ``target`` (``(2, 17)``) on ``arch`` needs, in table order.

    Raises :class:`BaselineError` for an architecture without shims, even when the target
    would need none, so that a missing port is never mistaken for a complete baseline.
    """
    _check_arch(arch)
    return [shim for shim in SHIMS if arch in shim.arches and shim.needed_for(target)]


def oldest_target(arch: str) -> LibcVersion:
    """The oldest glibc a manylinux policy of ``arch`` targets (2.5 on x86_64 and i686)."""
    return min(p.libc_version for p in load_policies(arch) if p.family == "manylinux")


def pinned_versions(source: str, arch: str) -> dict[str, str]:
    """The version each ``MW_PIN(name)`` line of shim ``source`` binds ``name`` to on ``arch``
    (lines under ``#if`` for other arches included: their macros go unused).

    It is the symbol's default version at :func:`oldest_target`, read from the glibc ABI
    record: one every supported target has, and the one a build for it binds (never an
    older, compatibility-only version with another ABI, such as i686's ``__xstat64@GLIBC_2.1``).
    Raises :class:`BaselineError` naming the symbol if the record has no version of it at
    that target.
    """
    _check_arch(arch)
    abi, oldest = load_abi(arch), oldest_target(arch)
    versions, missing = {}, []
    for name in _PIN.findall((SOURCE_DIR / source).read_text()):
        found = abi.default_version(name, oldest)
        if found is None:
            missing.append(name)
        else:
            versions[name] = found.version
    if missing:
        raise BaselineError(
            f"shim {source} pins {', '.join(missing)}, which glibc {'.'.join(map(str, oldest[:2]))} "
            f"on {arch} does not have",
            hint="a shim may call only what the oldest target has: this is a bug in manywheel",
        )
    return versions


def shim_cflags(source: str, arch: str) -> list[str]:
    """The preprocessor flags that compile shim ``source`` for ``arch``: the architecture it
    must be (``shim.h`` stops a compiler that builds for another) and its pinned versions."""
    pins = pinned_versions(source, arch)
    return [f"-DMW_ARCH_{arch}", *(f'-DMW_VERSION_{name}="{pins[name]}"' for name in sorted(pins))]


def shimmed_symbols(target: Sequence[int], arch: str = "x86_64") -> frozenset[str]:
    """Every symbol the shims define for a build for glibc ``target`` on ``arch``."""
    return frozenset(sym for shim in shims_for(target, arch) for sym in shim.symbols)


def wrapped_symbols(target: Sequence[int], arch: str = "x86_64") -> tuple[str, ...]:
    """The names a link for glibc ``target`` must pass as ``-Wl,--wrap=NAME``."""
    return tuple(name for shim in shims_for(target, arch) for name in shim.wrap)


def build_shim_archive(
    cc: Sequence[str],
    ar: str,
    workdir: Path,
    target: Sequence[int],
    arch: str,
    extra_cflags: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Compile the shims ``target`` needs and write ``workdir/libmanywheel_shims.a``.

    ``cc`` is the C compiler command (``["gcc"]``, ``["ccache", "cc"]``); ``extra_cflags``
    go after manywheel's optimisation flags (``-march=...``, ``-g``), but the flags that
    would break the shims (a C standard, LTO, fortification, 64-bit file offsets) are
    overridden. Objects compile in parallel; members are sorted, and ``ar`` writes them
    deterministically. The archive replaces any previous one atomically. An empty archive
    is written when no shim is needed. Raises :class:`ShimBuildError` on failure.
    """
    shims = shims_for(target, arch)
    workdir.mkdir(parents=True, exist_ok=True)
    final = workdir / ARCHIVE_NAME
    with tempfile.TemporaryDirectory(prefix="shims-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        sources = sorted({shim.source for shim in shims})
        objects = _compile_all(cc, sources, tmpdir, arch, extra_cflags, env)
        archive = tmpdir / ARCHIVE_NAME
        if objects:
            _run("archiving the shims", [ar, "rcsD", str(archive), *map(str, objects)], env)
        else:
            archive.write_bytes(b"!<arch>\n")
        with replace_atomically(final) as out:
            out.write(archive.read_bytes())
    return final


def _compile_all(
    cc: Sequence[str],
    sources: list[str],
    outdir: Path,
    arch: str,
    extra_cflags: Sequence[str],
    env: Mapping[str, str] | None,
) -> list[Path]:
    jobs = []
    for name in sources:
        obj = outdir / (Path(name).stem + ".o")
        command = [
            *cc, *_BASE_CFLAGS, *extra_cflags, *_FORCED_CFLAGS, *shim_cflags(name, arch),
            "-c", "-x", "c", str(SOURCE_DIR / name), "-o", str(obj),
        ]  # fmt: skip
        jobs.append((f"compiling shim {name}", command, obj))
    if not jobs:
        return []
    workers = min(len(jobs), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run, what, command, env) for what, command, _ in jobs]
        for future in futures:  # in source order, so the first failure reported is stable
            future.result()
    return [obj for _, _, obj in jobs]


def _run(what: str, command: list[str], env: Mapping[str, str] | None) -> None:
    try:
        proc = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            check=False,
            env=None if env is None else dict(env),
        )
    except OSError as e:
        raise ShimBuildError(what, command, -1, str(e)) from e
    if proc.returncode != 0:
        raise ShimBuildError(what, command, proc.returncode, proc.stdout)
