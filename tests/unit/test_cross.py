"""Cross-building's parts that need no emulator: the arch setting, the compilers, the target's
sysconfig variables, the CMake toolchain and meson cross files, and the bad-input messages."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from manywheel.arches import BY_NAME as ARCH_INFO
from manywheel.toolchain.compiler import Compiler
from manywheel.toolchain.cross import (cmake_toolchain_file, check_target_for_arch, make_target_python, meson_cross_file,
                                       target_python_applied)
from manywheel.build import Context
from manywheel.errors import PolicyError, SettingsError, ToolchainError
from manywheel.policy import find_policy
from manywheel.settings import read_settings
from tests.common import needs, skip_missing

needs_aarch64_gcc = needs(shutil.which("aarch64-linux-gnu-gcc"), "needs Debian's gcc-aarch64-linux-gnu")


def test_arch_setting_from_each_source(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.manywheel]\narch = "s390x"\n')
    assert read_settings(tmp_path, None, {}).arch == "s390x"
    assert read_settings(tmp_path, None, {"MANYWHEEL_ARCH": "armv7l"}).arch == "armv7l"
    got = read_settings(tmp_path, {"manywheel.arch": "aarch64"}, {"MANYWHEEL_ARCH": "armv7l"})
    assert got.arch == "aarch64" and got.sources["arch"] == "config setting -C manywheel.arch"
    assert read_settings(tmp_path / "nothing", None, {}).arch == ""


def test_unknown_arch_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as e:
        read_settings(tmp_path, {"manywheel.arch": "arm64"}, {})
    text = e.value.render()
    assert "-C manywheel.arch: 'arm64' is not an architecture manywheel builds for" in text
    assert "aarch64" in text and "hint:" in text


def test_target_of_another_arch_names_both() -> None:
    with pytest.raises(SettingsError) as e:
        check_target_for_arch("manylinux_2_17_x86_64", "aarch64", "config setting -C manywheel.arch")
    text = e.value.render()
    assert "target 'manylinux_2_17_x86_64' is for x86_64, but this build is for aarch64" in text
    assert 'target = "manylinux_2_17"' in text
    check_target_for_arch("manylinux_2_17_aarch64", "aarch64", "default")
    check_target_for_arch("manylinux2014", "aarch64", "default")
    assert find_policy("manylinux_2_17_aarch64", "aarch64").tag == "manylinux_2_17_aarch64.manylinux2014_aarch64"


def test_default_target_missing_for_the_arch_names_its_oldest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # riscv64's manylinux policies begin at 2.31: the default manylinux_2_17 cannot be met.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MANYWHEEL_TARGET", raising=False)
    with pytest.raises(PolicyError) as e:
        Context.load({"manywheel.arch": "riscv64"})
    assert str(e.value) == ("the default target manylinux_2_17 does not exist for riscv64 (arch from config "
                            "setting -C manywheel.arch): the oldest manylinux policy for riscv64 is manylinux_2_31")
    assert "-C manywheel.target=manylinux_2_31" in (e.value.hint or "")
    ctx = Context.load({"manywheel.arch": "riscv64", "manywheel.target": "manylinux_2_31"})
    assert ctx.target is not None and ctx.target.tag == "manylinux_2_31_riscv64"
    assert Context.load({"manywheel.arch": "aarch64"}).target.name == "manylinux_2_17"  # type: ignore[union-attr]


def test_missing_cross_compiler_names_the_debian_packages(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path)}  # nothing on it
    with pytest.raises(ToolchainError) as e:
        Compiler.for_arch("ppc64le", env, "config setting -C manywheel.arch")
    text = e.value.render()
    assert "no C compiler for ppc64le: powerpc64le-linux-gnu-gcc is not on PATH" in text
    assert "apt-get install gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu" in text


@needs_aarch64_gcc
def test_cross_compilers_found_by_triplet() -> None:
    cc, cxx = Compiler.for_arch("aarch64", dict(os.environ, CC="", CXX=""), "default")
    assert cc.command[-1].endswith("aarch64-linux-gnu-gcc") and cxx.command[-1].endswith("aarch64-linux-gnu-g++")


@needs_aarch64_gcc
def test_a_host_cc_for_a_cross_build_is_refused() -> None:
    env = dict(os.environ, CC="gcc")
    with pytest.raises(ToolchainError) as e:
        Compiler.for_arch("aarch64", env, "environment variable MANYWHEEL_ARCH")
    assert "CC=gcc builds for x86_64-linux-gnu, not for aarch64" in e.value.render()


@needs_aarch64_gcc
def test_user_cc_for_the_target_is_taken() -> None:
    env = dict(os.environ, CC="aarch64-linux-gnu-gcc -O1", CXX="")
    cc, _ = Compiler.for_arch("aarch64", env, "default")
    assert cc.command[0].endswith("aarch64-linux-gnu-gcc") and cc.command[1:] == ["-O1"]


@needs(all(shutil.which(f"{ARCH_INFO[a].gnu}-gcc") for a in ("aarch64", "armv7l", "i686", "s390x")),
       "needs Debian's cross compilers for aarch64, armhf, i386 and s390x")
@pytest.mark.parametrize("arch, multiarch, sizeof_void_p", [
    ("aarch64", "aarch64-linux-gnu", 8), ("armv7l", "arm-linux-gnueabihf", 4), ("i686", "i386-linux-gnu", 4),
    ("s390x", "s390x-linux-gnu", 8)])
def test_target_python(tmp_path: Path, arch: str, multiarch: str, sizeof_void_p: int) -> None:
    cc = [shutil.which(f"{ARCH_INFO[arch].gnu}-gcc") or ""]
    target = make_target_python(arch, tmp_path, Compiler(cc, os.environ))
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    assert target.ext_suffix == f".cpython-{version}{sys.abiflags}-{multiarch}.so"
    assert target.platform == f"linux-{arch}"
    assert (target.include / "Python.h").is_file() and (target.include / "pyconfig.h").is_file()
    before = sysconfig.get_config_var("EXT_SUFFIX")
    with target_python_applied(target) as env:
        assert sysconfig.get_config_var("EXT_SUFFIX") == target.ext_suffix
        assert sysconfig.get_config_var("SIZEOF_VOID_P") == sizeof_void_p
        assert sysconfig.get_platform() == f"linux-{arch}"
        assert env["_PYTHON_SYSCONFIGDATA_NAME"] == target.sysconfigdata
        # A Python the build starts (CMake's FindPython, meson) answers for the target too.
        out = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_config_var('SOABI'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out.endswith(multiarch)
    assert sysconfig.get_config_var("EXT_SUFFIX") == before
    assert sysconfig.get_platform() != f"linux-{arch}"
    assert "_PYTHON_SYSCONFIGDATA_NAME" not in os.environ


@needs_aarch64_gcc
def test_target_headers_compile_for_the_target(tmp_path: Path) -> None:
    """Python.h from the target's include directory compiles with the cross compiler, and its
    pyconfig.h agrees with the compiler on the sizes Python checks with static assertions."""
    cc = shutil.which("arm-linux-gnueabihf-gcc")
    if cc is None:
        skip_missing("needs gcc-arm-linux-gnueabihf")
    target = make_target_python("armv7l", tmp_path / "py", Compiler([cc], os.environ))
    src = tmp_path / "m.c"
    src.write_text("#include <Python.h>\n"
                   "_Static_assert(SIZEOF_LONG == sizeof(long), \"long\");\n"
                   "_Static_assert(SIZEOF_VOID_P == sizeof(void *), \"void *\");\n"
                   "_Static_assert(SIZEOF_SIZE_T == sizeof(size_t), \"size_t\");\n"
                   "_Static_assert(SIZEOF_TIME_T == sizeof(time_t), \"time_t\");\n"
                   "PyObject *f(PyObject *o) { return PyLong_FromLong(PyLong_AsLong(o)); }\n")
    subprocess.run([cc, "-c", f"-I{target.include}", str(src), "-o", str(tmp_path / "m.o")], check=True)


@needs_aarch64_gcc
def test_cmake_and_meson_files(tmp_path: Path) -> None:
    real = Compiler([shutil.which("aarch64-linux-gnu-gcc") or ""], os.environ)
    cmake = cmake_toolchain_file(tmp_path / "t.cmake", "aarch64", "/w/cc", "/w/c++", real).read_text()
    assert "set(CMAKE_SYSTEM_NAME Linux)" in cmake and "set(CMAKE_SYSTEM_PROCESSOR aarch64)" in cmake
    assert 'set(CMAKE_C_COMPILER "/w/cc")' in cmake and 'set(CMAKE_FIND_ROOT_PATH "/usr/aarch64-linux-gnu")' in cmake
    assert "aarch64-linux-gnu-gcc-ar" in cmake  # the one archiver answer: gcc-ar of the triplet
    meson = meson_cross_file(tmp_path / "m.ini", "aarch64", "/w/cc", "/w/c++", real, "/w/py").read_text()
    assert "c = '/w/cc'" in meson and "python = '/w/py'" in meson and "cpu_family = 'aarch64'" in meson
    assert "endian = 'little'" in meson
    s390 = meson_cross_file(tmp_path / "s.ini", "s390x", "/w/cc", "/w/c++", real, "/w/py").read_text()
    assert "endian = 'big'" in s390
