"""The glibc shims at work on the other architectures, under qemu-user emulation.

The C and C++ check programs of tests/shimcheck.py, cross-compiled and linked like
manywheel links extensions (shims in front of libc, static libgcc/libstdc++, everything
newer than the target pinned), run by a small C driver that dlopens them:

* against the cross toolchain's own glibc 2.36 (``qemu-ARCH-static -L /usr/TRIPLET``),
  where the real _dl_find_object is there to compare with;
* in the Debian bullseye root of the arch (glibc 2.31) that tools/crossroot.sh makes,
  which has none of the functions the shims replace (marker ``cross``; aarch64, armv7l and
  i686 here: the mirror has no bullseye ppc64el or s390x, and no root is made for ppc64 or
  riscv64).

Skipped, naming what is missing, without the cross compiler, the emulator or the root.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from manywheel.arches import BY_NAME as ARCH_INFO
from manywheel.glibc import shims
from manywheel.glibc.shims import build_shim_archive

from tests import crossroot
from tests.shimcheck import (
    CXX_CHECK_NAMES, DRIVER_C, HOST, Report, Toolchain, check_names, compile_thread_atexit_fallback,
    cross_toolchain, glibc_version, link_c_checks, link_cxx_checks, link_pinned, make_check_dir,
    symbols,
)  # fmt: skip

CROSS_ARCHES = [arch for arch in shims.SUPPORTED_ARCHES if arch != HOST.arch]
_QEMU_NAMES = {"armv7l": "arm", "i686": "i386"}


def qemu_for(arch: str) -> str:
    return f"qemu-{_QEMU_NAMES.get(arch, arch)}-static"


@dataclass(frozen=True)
class Programs:
    """One arch's check programs, cross-built."""

    tools: Toolchain
    archive: Path
    driver: Path
    c_checks: Path
    c_fallback: Path
    workdir: Path


@pytest.fixture(scope="module", params=CROSS_ARCHES)
def programs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Programs:
    tools = cross_toolchain(request.param)
    reason = tools.missing()
    if reason is None and shutil.which(qemu_for(tools.arch)) is None:
        reason = f"needs {qemu_for(tools.arch)} (Debian: apt-get install qemu-user-static)"
    if reason is not None:
        pytest.skip(reason)
    d = tmp_path_factory.mktemp(f"cross-{tools.arch}")
    archive = build_shim_archive([tools.cc], tools.ar, d / "shims", tools.target, tools.arch, ["-g0"])
    (d / "driver.c").write_text(DRIVER_C)
    driver = link_pinned([tools.cc, "-O1", "-funwind-tables", "-o", str(d / "driver"), str(d / "driver.c"), "-ldl"],
                         d / "driver", tools)
    fallback = compile_thread_atexit_fallback(d / "cxa_fallback.o", tools)
    return Programs(
        tools=tools,
        archive=archive,
        driver=driver,
        c_checks=link_c_checks(archive, d / "libshimcheck.so", tools),
        c_fallback=link_c_checks(archive, d / "libshimcheck_fallback.so", tools, fallback),
        workdir=d,
    )


@pytest.fixture(scope="module")
def cxx_checks(programs: Programs) -> Path:
    return link_cxx_checks(programs.archive, programs.workdir / "cxx", programs.tools)


def run_driver(programs: Programs, sysroot: Path, lib: Path, entry: str, *extra: str) -> Report:
    """Run ``entry`` of check library ``lib`` under qemu with ``sysroot``'s C library."""
    work = make_check_dir(programs.workdir / f"run-{len(list(programs.workdir.glob('run-*')))}")
    command = [qemu_for(programs.tools.arch), "-L", str(sysroot), str(programs.driver), str(lib), entry,
               str(work), *extra]  # fmt: skip
    # The guest sees host paths where the sysroot lacks them (the driver, the library, work).
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})  # fmt: skip
    return Report(proc.stdout, proc.stderr, proc.returncode)


def dt_pltgot(lib: Path) -> int:
    with lib.open("rb") as f:
        dynamic = ELFFile(f).get_section_by_name(".dynamic")
        assert isinstance(dynamic, DynamicSection)
        return int(next(dynamic.iter_tags("DT_PLTGOT"))["d_ptr"])


# ------------------------------------------------- against the cross toolchain's glibc 2.36


def sysroot_of(tools: Toolchain) -> Path:
    return Path("/usr") / ARCH_INFO[tools.arch].gnu


@pytest.fixture(scope="module")
def c_report(programs: Programs) -> Report:
    return run_driver(programs, sysroot_of(programs.tools), programs.c_checks, "run_checks")


def test_c_checks_on_glibc_2_36(programs: Programs, c_report: Report) -> None:
    names = check_names(programs.tools)
    assert c_report.returncode == 0, c_report.text
    assert c_report.failed == {} and c_report.ok == set(names), c_report.text
    assert "main-thread-dtor-ran" in c_report.text
    assert int(c_report.info["unwound_frames"]) >= 8


def test_dl_find_object_agrees_with_glibc_2_36(programs: Programs, c_report: Report) -> None:
    assert int(c_report.info["dl_find_object_compared"]) >= 3, c_report.text
    if programs.tools.arch == "i686":  # the data base is the GOT, as libgcc took it before 2.35
        assert int(c_report.info["eh_dbase_offset"]) == dt_pltgot(programs.c_checks), c_report.text


def test_thread_atexit_fallback_on_glibc_2_36(programs: Programs) -> None:
    report = run_driver(programs, sysroot_of(programs.tools), programs.c_fallback, "run_checks",
                        "only=cxa_thread_atexit_impl", "dlclose")  # fmt: skip
    report.check("cxa_thread_atexit_impl")
    assert "main-thread-dtor-ran" in report.text
    assert report.info["still_loaded_after_dlclose"] == "1", report.text


def test_explicit_bzero_chk_aborts_on_overflow(programs: Programs) -> None:
    report = run_driver(programs, sysroot_of(programs.tools), programs.c_checks, "overflow_explicit_bzero_chk")
    assert report.returncode == -6, report.text  # SIGABRT from __chk_fail
    assert "buffer overflow detected" in report.text


def test_cxx_checks_need_only_the_known_gaps(programs: Programs, cxx_checks: Path) -> None:
    """Static libstdc++/libgcc need nothing newer than the target but what KNOWN_GAPS lists
    (PowerPC64: hwcaps and IEEE128 long double); each listed gap is really needed."""
    newer = {name for name, version, _, _, defined in symbols(cxx_checks, ".dynsym")
             if not defined and (v := glibc_version(version)) is not None and v[:2] > programs.tools.target}
    assert newer == programs.tools.known_gaps


def test_cxx_checks_on_glibc_2_36(programs: Programs, cxx_checks: Path) -> None:
    report = run_driver(programs, sysroot_of(programs.tools), cxx_checks, "cxx_checks")
    assert report.returncode == 0, report.text
    assert report.failed == {} and report.ok == set(CXX_CHECK_NAMES), report.text


# ------------------------------------------------- in the arch's bullseye root (glibc 2.31)


@pytest.fixture(scope="module")
def old_root(programs: Programs, cross_root: Callable[..., Path]) -> Path:
    if programs.tools.arch not in crossroot.ARCHES:
        pytest.skip(f"tools/crossroot.sh makes no root for {programs.tools.arch}")
    root: Path = cross_root(programs.tools.arch)
    assert crossroot.root_info(root).glibc == (2, 31)
    return root


@pytest.mark.cross
def test_c_checks_on_glibc_2_31(programs: Programs, old_root: Path) -> None:
    report = run_driver(programs, old_root, programs.c_checks, "run_checks")
    assert report.returncode == 0, report.text
    assert report.failed == {} and report.ok == set(check_names(programs.tools)), report.text
    assert "main-thread-dtor-ran" in report.text
    # glibc 2.31 has no _SC_SIGSTKSZ: the wrapper answered instead, like glibc 2.34 would.
    assert report.info["real_sigstksz"] == "-1"
    assert int(report.info["sigstksz"]) >= 4 * int(report.info["minsigstksz"]) >= 4 * 2048
    assert int(report.info["unwound_frames"]) >= 8
    assert report.info["dl_find_object_compared"] == "0"  # no glibc one to compare with
    if programs.tools.arch == "i686":
        assert int(report.info["eh_dbase_offset"]) == dt_pltgot(programs.c_checks), report.text


@pytest.mark.cross
def test_thread_atexit_fallback_on_glibc_2_31(programs: Programs, old_root: Path) -> None:
    report = run_driver(programs, old_root, programs.c_fallback, "run_checks", "only=cxa_thread_atexit_impl",
                        "dlclose")  # fmt: skip
    report.check("cxa_thread_atexit_impl")
    assert "main-thread-dtor-ran" in report.text
    assert report.info["still_loaded_after_dlclose"] == "1", report.text


@pytest.mark.cross
def test_cxx_checks_on_glibc_2_31(programs: Programs, old_root: Path, cxx_checks: Path) -> None:
    """Exceptions, thread_local, random_device, filesystem and timed waits of a statically
    linked libstdc++ on glibc 2.31."""
    report = run_driver(programs, old_root, cxx_checks, "cxx_checks")
    assert report.returncode == 0, report.text
    assert report.failed == {} and report.ok == set(CXX_CHECK_NAMES), report.text
