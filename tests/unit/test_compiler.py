"""toolchain.compiler: the one place manywheel asks a compiler what it is, each answer once."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from manywheel.arches import BY_NAME, host_arch
from manywheel.policy import LibcVersion
from manywheel.toolchain.compiler import Compiler, Compilers
from tests.common import skip_missing

GCC = shutil.which("gcc")


def counting_gcc(tmp_path: Path) -> tuple[Path, Path]:
    """A gcc that writes each command line it runs to a log, then runs the real gcc."""
    if GCC is None:
        skip_missing("gcc is not installed", "gcc")
    log = tmp_path / "calls.log"
    script = tmp_path / "bin" / "gcc"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {GCC} "$@"\n')
    script.chmod(0o755)
    return script, log


def test_each_question_runs_the_compiler_once_per_process(tmp_path: Path) -> None:
    script, log = counting_gcc(tmp_path)
    env = dict(os.environ, CC=str(script), CXX=str(script))
    for _ in range(2):  # two lookups, as two modules of one build would make
        compilers = Compilers.find(env)
        cc = compilers.cc
        assert cc.triplet == BY_NAME[host_arch()].gnu or cc.triplet.startswith(BY_NAME[host_arch()].machine)
        assert cc.version and cc.version[0].isdigit()
        assert cc.search_dirs and all(os.path.isabs(d) for d in cc.search_dirs)
        assert os.path.isabs(cc.print_file_name("libc.so.6"))
    calls = log.read_text().splitlines()
    # Finding CC and CXX checks each once (same command and environment: one run), then one run a question.
    assert sorted(calls) == sorted(["-dumpmachine", "-dumpfullversion -dumpversion", "-print-search-dirs",
                                    "-print-file-name=libc.so.6"]), calls


def test_the_archiver_is_gcc_ar_of_the_triplet_on_the_builds_path(tmp_path: Path) -> None:
    if GCC is None or shutil.which("ar") is None:
        skip_missing("gcc and binutils' ar are needed", "gcc binutils")
    cc = Compiler([GCC], dict(os.environ))
    assert Path(cc.ar).name in (f"{cc.triplet}-gcc-ar", "gcc-ar")
    only_ar = tmp_path / "bin"
    only_ar.mkdir()
    (only_ar / "ar").symlink_to(shutil.which("ar") or "ar")
    # The environment's PATH is the one searched: with only `ar` on it, `ar` it is.
    assert Compiler([GCC], {"PATH": str(only_ar)}).ar == str(only_ar / "ar")


def test_the_hosts_compiler_knows_the_hosts_glibc() -> None:
    if GCC is None:
        skip_missing("gcc is not installed", "gcc")
    raw = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not raw.startswith("glibc "):
        pytest.skip("the host's C library is not glibc")
    major, minor = raw.split()[1].split(".")[:2]
    assert Compiler([GCC], dict(os.environ)).glibc_version() == LibcVersion(int(major), int(minor))


def test_a_cross_compilers_sysroot_and_binutils() -> None:
    gcc = shutil.which("aarch64-linux-gnu-gcc")
    if gcc is None:
        skip_missing("needs Debian's aarch64 cross compiler", BY_NAME["aarch64"].cross_packages)
    cc = Compiler([gcc], dict(os.environ))
    assert cc.triplet == "aarch64-linux-gnu"
    assert cc.sysroot == "/usr/aarch64-linux-gnu"
    assert Path(cc.binutil("strip")).name == "aarch64-linux-gnu-strip"
    assert Path(cc.ar).name == "aarch64-linux-gnu-gcc-ar"
    assert cc.macros()["__aarch64__"] == "1"
