"""The foreign-architecture roots of tools/crossroot.sh (issue #15), checked through
tests/crossroot.py: each root's Python runs under its emulator as the architecture it claims,
with glibc 2.31; a C library cross-compiled here with Debian's cross gcc loads in it with ctypes
and computes the right answers, while one that needs GLIBC_2.34 (the cross toolchain's glibc
is 2.36) fails to load; a wheel unpacked in a host directory imports from PYTHONPATH."""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from tests import crossroot
from tests.common import run

pytestmark = [pytest.mark.cross, pytest.mark.slow]
ARCHES = list(crossroot.ARCHES)

PROBE = """
import json, os, platform, sys
print(json.dumps({"machine": platform.machine(), "libc": os.confstr("CS_GNU_LIBC_VERSION"),
                  "python": "%d.%d" % sys.version_info[:2], "byteorder": sys.byteorder,
                  "bits": 64 if sys.maxsize > 2**32 else 32, "path": sys.path,
                  "env": sorted(os.environ)}))
"""

LIBRARY_C = r"""
#include <string.h>
int mw_add(int a, int b) { return a + b; }
int mw_pointer_bits(void) { return (int)(8 * sizeof(void *)); }
int mw_strlen(const char *s) { return (int)strlen(s); }
int mw_first_byte_of_one(void) { unsigned int one = 1; return *(unsigned char *)&one; }
"""

# pthread_mutexattr_gettype moved from libpthread into libc in glibc 2.34: linked against the
# cross toolchain's glibc 2.36, it is pthread_mutexattr_gettype@GLIBC_2.34 on all five
# architectures (the older versions, GLIBC_2.17 on aarch64 and ppc64le, GLIBC_2.4 on armhf,
# GLIBC_2.2 on s390x, GLIBC_2.1 on i386, are link-time hidden).
NEEDS_2_34_C = r"""
#include <pthread.h>
int mw_mutex_type(void) {
    pthread_mutexattr_t a;
    int type = -1;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_gettype(&a, &type);
    return type;
}
"""

LOAD_LIBRARY = """
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
print(json.dumps([lib.mw_add(40, 2), lib.mw_pointer_bits(), lib.mw_strlen(b"manywheel"),
                  lib.mw_first_byte_of_one()]))
"""


def cross_compile(arch: str, source: str, out: Path) -> Path:
    """A shared library for arch, built from source with Debian's cross gcc."""
    triplet = crossroot.ARCHES[arch].triplet
    gcc = f"{triplet}-gcc"
    if shutil.which(gcc) is None:
        pytest.skip(f"{gcc} is not installed (apt-get install gcc-{triplet})")
    src = out.with_suffix(".c")
    src.write_text(source)
    run([gcc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)])
    return out


def glibc_versions_needed(arch: str, library: Path) -> set[str]:
    """The GLIBC_x.y versions of the symbols library takes from libc, per the cross objdump."""
    triplet = crossroot.ARCHES[arch].triplet
    dump = run([f"{triplet}-objdump", "-T", str(library)]).stdout
    return {word.strip("()") for line in dump.splitlines() if "*UND*" in line
            for word in line.split() if word.strip("()").startswith("GLIBC_")}


def probe(arch: str) -> dict[str, Any]:
    result = crossroot.run_python(arch, ["-c", PROBE])
    assert result.returncode == 0, crossroot.describe(result)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("arch", ARCHES)
def test_python_runs_as_the_architecture(cross_root: Callable[..., Path], arch: str) -> None:
    """platform.machine() is the manylinux name (armhf says armv7l, i386 says i686 under
    qemu-i386), and glibc and Python are those the marker names: 2.31 and 3.9 on bullseye."""
    info = crossroot.root_info(cross_root(arch, bullseye_only=False))
    spec = crossroot.ARCHES[arch]
    found = probe(arch)
    assert found["machine"] == spec.machine
    assert found["byteorder"] == spec.byteorder
    assert found["bits"] == (32 if arch in ("armv7l", "i686") else 64)
    assert found["libc"] == "glibc %d.%d" % info.glibc
    assert found["python"] == info.python.rsplit("python", 1)[1]
    if info.suite == "bullseye":
        assert (found["libc"], found["python"]) == ("glibc 2.31", "3.9")


def test_the_guest_sees_no_host_environment(cross_root: Callable[..., Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONPATH and QEMU_* settings of the host do not reach the root's Python: it sees
    BASE_ENV and QEMU_LD_PREFIX (run_python's, for the programs it starts) only."""
    cross_root("aarch64")
    monkeypatch.setenv("PYTHONPATH", "/host-only-pythonpath")
    monkeypatch.setenv("QEMU_STRACE", "1")
    monkeypatch.setenv("MW_HOST_ONLY", "1")
    found = probe("aarch64")
    assert set(crossroot.BASE_ENV) <= set(found["env"]) <= {*crossroot.BASE_ENV, "QEMU_LD_PREFIX"}
    assert not any("host-only" in p for p in found["path"])


@pytest.mark.parametrize("arch", ARCHES)
def test_cross_compiled_library_loads(cross_root: Callable[..., Path], tmp_path: Path, arch: str) -> None:
    """A library built here by <triplet>-gcc, in a host directory, loads with ctypes in the
    root and computes under emulation: an addition, the pointer size, libc's strlen, and the
    byte order (s390x is big-endian)."""
    cross_root(arch, bullseye_only=False)
    library = cross_compile(arch, LIBRARY_C, tmp_path / "libmw.so")
    result = crossroot.run_python(arch, ["-c", LOAD_LIBRARY, str(library)])
    assert result.returncode == 0, crossroot.describe(result)
    little = crossroot.ARCHES[arch].byteorder == "little"
    bits = 32 if arch in ("armv7l", "i686") else 64
    assert json.loads(result.stdout) == [42, bits, 9, 1 if little else 0]


@pytest.mark.parametrize("arch", ARCHES)
def test_library_needing_glibc_2_34_fails_to_load(cross_root: Callable[..., Path], tmp_path: Path,
                                                  arch: str) -> None:
    """The negative: linked against the cross toolchain's glibc 2.36 as it stands, the library
    needs GLIBC_2.34, which the bullseye root's glibc 2.31 does not have."""
    cross_root(arch)
    library = cross_compile(arch, NEEDS_2_34_C, tmp_path / "libneeds234.so")
    assert "GLIBC_2.34" in glibc_versions_needed(arch, library)
    result = crossroot.run_python(arch, ["-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(library)])
    assert result.returncode != 0
    assert "version `GLIBC_2.34' not found" in result.stderr, crossroot.describe(result)


@pytest.mark.parametrize("arch", ARCHES)
def test_wheel_unpacked_on_the_host_imports(cross_root: Callable[..., Path], tmp_path: Path, arch: str) -> None:
    """install_wheel into a host temporary directory (outside the root) and run_python with it
    on PYTHONPATH and a host working directory: qemu's -L falls back to the host for paths the
    root lacks, so the package and its cross-compiled library load, and relative paths are
    the host directory's."""
    cross_root(arch, bullseye_only=False)
    build = tmp_path / "build"
    build.mkdir()
    library = cross_compile(arch, LIBRARY_C, build / "libmw.so")
    library.chmod(0o755)
    wheel = tmp_path / "mwcross-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mwcross/__init__.py", "import ctypes, os\n"
                    "_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'libmw.so'))\n"
                    "def answer():\n    return _lib.mw_add(40, 2)\n")
        zf.write(library, "mwcross/libmw.so")
    site = crossroot.install_wheel(wheel, tmp_path / "site")
    assert os.access(site / "mwcross" / "libmw.so", os.X_OK)
    work = tmp_path / "work"
    work.mkdir()
    (work / "note.txt").write_text("read from the host\n")
    code = "import mwcross; print(mwcross.answer(), mwcross.__file__, open('note.txt').read().strip())"
    result = crossroot.run_python(arch, ["-c", code], pythonpath=[site], cwd=work)
    assert result.returncode == 0, crossroot.describe(result)
    assert result.stdout.split(" ", 2) == ["42", str(site / "mwcross" / "__init__.py"), "read from the host\n"]
