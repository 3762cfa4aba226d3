"""The generated pyconfig.h for each cross target, judged two ways with the real cross compilers:

- against Debian's own pyconfig.h of that architecture (CPython 3.9, 3.11, 3.13, fetched once by
  tools/debian-pyconfig.sh): every macro that differs between Debian's amd64 and target files,
  and every macro manywheel re-sets, must have Debian's target value;
- against the compiler itself (CPython 3.9 to 3.13 from pyenv): Python.h compiles, and each
  size, alignment and capability in the file is what the compiler says (sizeof, _Alignof,
  configure's own asm and __uint128_t probes).

Values are compared as the compiler's preprocessor evaluates them (``-dM -E -include``), not as text.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.toolchain.compiler import Compiler
from manywheel.toolchain.pyconfig import RULES, target_pyconfig
from tests.common import REPO

pytestmark = pytest.mark.slow

CROSS = {"amd64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc", "armhf": "arm-linux-gnueabihf-gcc",
         "ppc64el": "powerpc64le-linux-gnu-gcc", "s390x": "s390x-linux-gnu-gcc", "i386": "i686-linux-gnu-gcc"}
DEBIAN_PYTHONS = ("3.9", "3.11", "3.13")
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
# Where manywheel's value is not Debian's on purpose: (version or "*", Debian arch, macro) -> (ours, why).
DEBIAN_CHOICES = {
    ("*", "armhf", "PY_SUPPORT_TIER"): (
        "3", "Debian configures armhf as arm-linux-gnueabihf, which PEP 11's table does not name (tier 0); "
             "a native armv7l build, such as manylinux's CPython, is armv7l-unknown-linux-gnueabihf: tier 3"),
    ("3.13", "armhf", "SIZEOF_TIME_T"): (
        "4", "Debian trixie builds armhf with 64-bit time_t (-D_TIME_BITS=64, the t64 transition); the "
             "compiler's default, and manylinux armv7l's CPython, is 32-bit"),
}
_ENTRY = re.compile(r"^\s*(?:#\s*define\s+(\w+)|/\*\s*#\s*undef\s+(\w+)\s*\*/)", re.M)
_DUMP = re.compile(r"^#define (\w+)(?: (.*))?$", re.M)


@pytest.fixture(scope="session")
def debian_cache() -> Path:
    """Debian's pyconfig.h files, fetched on the first run (about 12 s), then from the cache."""
    missing = [tool for tool in ("curl", "xz", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"tools/debian-pyconfig.sh needs {', '.join(missing)}, not installed")
    proc = subprocess.run(["bash", str(REPO / "tools" / "debian-pyconfig.sh")], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"tools/debian-pyconfig.sh failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def cross_compiler(arch: str) -> str:
    cc = CROSS[arch]
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed (Debian: apt-get install gcc-{cc.removesuffix('-gcc').replace('_', '-')})")
    return cc


def host_include(version: str) -> Path:
    """pyenv's x86_64 include/python3.X for ``version`` (the newest patch release)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}.*/include/python{version}/pyconfig.h"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-4])])
    if not found:
        pytest.skip(f"no pyenv CPython {version} ({root}/{version}.*/include/python{version}/pyconfig.h)")
    return found[-1].parent


def mentioned(text: str) -> set[str]:
    return {a or b for a, b in _ENTRY.findall(text)}


def evaluate(cc: str, header: Path) -> dict[str, str | None]:
    """Every entry of ``header`` as the preprocessor sees it after including it (None: undefined)."""
    proc = subprocess.run([cc, "-dM", "-E", "-x", "c", "-include", str(header), os.devnull],
                          capture_output=True, text=True, check=True)
    defined = {name: (value or "").strip() for name, value in _DUMP.findall(proc.stdout)}
    return {name: defined.get(name) for name in mentioned(header.read_text())}


@pytest.mark.parametrize("arch", sorted(CROSS))
@pytest.mark.parametrize("version", DEBIAN_PYTHONS)
def test_architecture_dependent_macros_have_debians_values(debian_cache: Path, tmp_path: Path, version: str,
                                                            arch: str) -> None:
    cc = cross_compiler(arch)
    entry = debian_cache / version / arch
    if (entry / "absent").is_file():
        pytest.skip(f"no Debian pyconfig.h for {version} {arch}: {(entry / 'absent').read_text().splitlines()[0]}")
    host_text = (host_include(version) / "pyconfig.h").read_text()
    generated = tmp_path / "pyconfig.h"
    generated.write_text(target_pyconfig(host_text, Compiler([cc], dict(os.environ)).macros()))
    ours, theirs = evaluate(cc, generated), evaluate(cc, entry / "pyconfig.h")
    amd64 = evaluate(cc, debian_cache / version / "amd64" / "pyconfig.h")
    dependent = {name for name in theirs.keys() & amd64.keys() if theirs[name] != amd64[name]}
    problems = [f"{name}: differs between Debian's amd64 ({amd64[name]!r}) and {arch} ({theirs[name]!r}) "
                f"but manywheel does not re-set it" for name in sorted(dependent - RULES.keys())]
    # A macro this pyenv release does not mention (another patch release's) is not in its headers either.
    for name in sorted((dependent | RULES.keys()) & ours.keys() & theirs.keys()):
        want = theirs[name]
        choice = DEBIAN_CHOICES.get((version, arch, name)) or DEBIAN_CHOICES.get(("*", arch, name))
        if choice and theirs[name] != choice[0]:
            want = choice[0]
        if ours[name] != want:
            problems.append(f"{name}: manywheel {ours[name]!r}, Debian {arch} {theirs[name]!r}"
                            + (f" (expected {want!r}: {choice[1]})" if choice else ""))
    assert not problems, f"CPython {version} for {arch}:\n" + "\n".join(problems)
    assert arch == "amd64" or dependent, f"Debian's amd64 and {arch} files do not differ: nothing was checked"


# Each value the file states, checked with the target compiler's own sizeof and _Alignof
# after Python.h (so with pyconfig.h's _FILE_OFFSET_BITS).  The unmanaged sizes too: they
# must be the same on every target.
PROBE = r"""
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include <sys/types.h>
#include <wchar.h>
#define CHECK(c) _Static_assert(c, #c)
CHECK(SIZEOF_SHORT == sizeof(short)); CHECK(SIZEOF_INT == sizeof(int)); CHECK(SIZEOF_LONG == sizeof(long));
CHECK(SIZEOF_LONG_LONG == sizeof(long long)); CHECK(SIZEOF_VOID_P == sizeof(void *));
CHECK(SIZEOF_SIZE_T == sizeof(size_t)); CHECK(SIZEOF_UINTPTR_T == sizeof(uintptr_t));
CHECK(SIZEOF_FLOAT == sizeof(float)); CHECK(SIZEOF_DOUBLE == sizeof(double));
CHECK(SIZEOF_LONG_DOUBLE == sizeof(long double)); CHECK(SIZEOF_WCHAR_T == sizeof(wchar_t));
CHECK(SIZEOF_TIME_T == sizeof(time_t)); CHECK(SIZEOF_PTHREAD_T == sizeof(pthread_t));
CHECK(SIZEOF_OFF_T == sizeof(off_t)); CHECK(SIZEOF_FPOS_T == sizeof(fpos_t)); CHECK(SIZEOF_PID_T == sizeof(pid_t));
CHECK(SIZEOF_PTHREAD_KEY_T == sizeof(pthread_key_t)); CHECK(SIZEOF__BOOL == sizeof(_Bool));
#ifdef ALIGNOF_LONG
CHECK(ALIGNOF_LONG == _Alignof(long)); CHECK(ALIGNOF_SIZE_T == _Alignof(size_t));
#endif
#ifdef ALIGNOF_MAX_ALIGN_T
CHECK(ALIGNOF_MAX_ALIGN_T == _Alignof(max_align_t));
#endif
#ifdef HAVE_LARGEFILE_SUPPORT
CHECK(sizeof(off_t) > sizeof(long));
#else
CHECK(sizeof(off_t) <= sizeof(long));
#endif
#ifdef HAVE_USABLE_WCHAR_T
CHECK((wchar_t)-1 > 0);
#else
CHECK((wchar_t)-1 < 0);
#endif
#if defined(WORDS_BIGENDIAN) != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#error "WORDS_BIGENDIAN is not the compiler's byte order"
#endif
"""
# configure's own compile tests (3.9 to 3.13): the macro is defined when the snippet compiles.
CONFIGURE_PROBES = {
    "HAVE_GCC_ASM_FOR_X64": 'void f(void) { __asm__ __volatile__ ("movq %rcx, %rax"); }',
    "HAVE_GCC_ASM_FOR_X87": 'void f(void) { unsigned short cw; __asm__ __volatile__ ("fnstcw %0" : "=m" (cw)); '
                            '__asm__ __volatile__ ("fldcw %0" : : "m" (cw)); }',
    "HAVE_GCC_UINT128_T": "__uint128_t f(void) { __uint128_t x; x = 2; x = x * 3; return x; }",
}


@pytest.mark.parametrize("arch", sorted(CROSS))
@pytest.mark.parametrize("version", PYTHONS)
def test_generated_values_are_the_compilers(tmp_path: Path, version: str, arch: str) -> None:
    cc = cross_compiler(arch)
    include = tmp_path / f"python{version}"
    shutil.copytree(host_include(version), include)
    header = include / "pyconfig.h"
    header.write_text(target_pyconfig(header.read_text(), Compiler([cc], dict(os.environ)).macros()))
    (tmp_path / "probe.c").write_text(PROBE)
    proc = subprocess.run([cc, "-c", "-o", os.devnull, "-I", str(include), str(tmp_path / "probe.c")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"CPython {version} for {arch}:\n{proc.stderr[-4000:]}"
    values = evaluate(cc, header)
    wrong = []
    for name, snippet in CONFIGURE_PROBES.items():
        (tmp_path / "conftest.c").write_text(snippet + "\n")
        compiles = subprocess.run([cc, "-c", "-o", os.devnull, str(tmp_path / "conftest.c")],
                                  capture_output=True).returncode == 0
        if (values[name] is not None) != compiles:
            wrong.append(f"{name} is {values[name]!r} but configure's probe {'compiles' if compiles else 'fails'}")
    assert not wrong, f"CPython {version} for {arch}:\n" + "\n".join(wrong)
