"""Cross-building (issue #15): wheels for aarch64, armv7l, ppc64le, s390x and i686 from this
x86_64 host with Debian's cross compilers, judged by auditwheel here, and run under emulation in
a Debian bullseye root (glibc 2.31, Python 3.9) of each architecture (tools/crossroot.sh)."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from manywheel.arches import BY_NAME as ARCH_INFO
from tests import crossroot
from tests.common import EXAMPLE, PROJECTS, copy_project
from tests.integration.helpers import assert_auditwheel_agrees, only_wheel, platform_tag, python_build
from tests.realworld.steps import find_python

pytestmark = [pytest.mark.slow]
ARCHES = ("aarch64", "armv7l", "ppc64le", "s390x", "i686")


def needs_cross_compiler(arch: str) -> None:
    gnu = ARCH_INFO[arch].gnu
    if shutil.which(f"{gnu}-gcc") is None or shutil.which(f"{gnu}-g++") is None:
        pytest.skip(f"needs Debian's cross compilers: apt-get install {ARCH_INFO[arch].cross_packages}")


def cross_root(arch: str) -> Path:
    reason = crossroot.missing_reason(arch)
    if reason:
        pytest.skip(reason)
    root = crossroot.find_root(arch)
    assert root is not None
    return root


def run_tests_in_root(arch: str, wheel: Path, project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The project's own unittest suite, run by the root's python3.9 under emulation with the
    wheel on PYTHONPATH."""
    site = tmp_path / f"site-{arch}"
    crossroot.install_wheel(wheel, site)
    work = tmp_path / f"run-{arch}"
    shutil.copytree(project / "tests", work / "tests")
    return crossroot.run_python(arch, ["-m", "unittest", "discover", "-s", "tests", "-v"],
                                pythonpath=[site], cwd=work, timeout=900)


def elf_machine(wheel: Path) -> set[str]:
    from elftools.elf.elffile import ELFFile
    import io

    machines = set()
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if data[:4] == b"\x7fELF":
                machines.add(ELFFile(io.BytesIO(data)).header["e_machine"])
    return machines


_MACHINE = {"aarch64": "EM_AARCH64", "armv7l": "EM_ARM", "ppc64le": "EM_PPC64", "s390x": "EM_S390", "i686": "EM_386"}


@pytest.mark.cross
@pytest.mark.parametrize("arch", ARCHES)
def test_example_project_for_each_arch(tmp_path: Path, build_env: dict[str, str], python39: str, arch: str) -> None:
    """`python -m build -C manywheel.arch=ARCH example_project` with CPython 3.9 writes a cp39
    manylinux_2_17 wheel of that architecture that auditwheel agrees with, and (with the root)
    example_project's own tests pass in a glibc 2.31 root of that architecture."""
    needs_cross_compiler(arch)
    out = tmp_path / "dist"
    proc = python_build(copy_project(EXAMPLE, tmp_path), out, build_env, f"-Cmanywheel.arch={arch}", python=python39)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == f"manylinux_2_17_{arch}.manylinux2014_{arch}", wheel.name
    assert "-cp39-cp39-" in wheel.name
    multiarch = ARCH_INFO[arch].multiarch
    with zipfile.ZipFile(wheel) as zf:
        modules = sorted(n for n in zf.namelist() if n.endswith(".so"))
    assert modules == [f"mw_example/_cext.cpython-39-{multiarch}.so", f"mw_example/_cppext.cpython-39-{multiarch}.so"]
    assert elf_machine(wheel) == {_MACHINE[arch]}
    assert f"cross-building for {arch}" in proc.stderr
    assert_auditwheel_agrees(wheel, arch=arch)
    reason = crossroot.missing_reason(arch, bullseye_only=False)
    if reason is not None:
        pytest.skip(f"built and judged; not run: {reason}")
    info = crossroot.root_info(crossroot.find_root(arch) or Path())
    if info.suite != "bullseye":
        # No bullseye packages for this arch on a reachable mirror (tools/crossroot.sh): the root
        # is bookworm (glibc 2.36, python3.11), so the run there takes a cp311 build.
        python311 = find_python("3.11")
        assert python311, "no host CPython 3.11 with build"
        out = tmp_path / "dist311"
        python_build(copy_project(EXAMPLE, tmp_path / "py311"), out, build_env, f"-Cmanywheel.arch={arch}",
                     python=python311)
        wheel = only_wheel(out)
        assert platform_tag(wheel) == f"manylinux_2_17_{arch}.manylinux2014_{arch}", wheel.name
    result = run_tests_in_root(arch, wheel, EXAMPLE, tmp_path)
    assert result.returncode == 0, crossroot.describe(result)
    assert re.search(r"Ran [1-9]\d* tests?", result.stderr), result.stderr


@pytest.mark.cross
def test_unpinned_cross_build_fails_in_the_old_root(tmp_path: Path, build_env: dict[str, str], python39: str) -> None:
    """The same project cross-built without pinning needs the cross toolchain's glibc 2.36 and
    fails to load in the aarch64 bullseye root."""
    needs_cross_compiler("aarch64")
    cross_root("aarch64")
    out = tmp_path / "dist"
    python_build(copy_project(EXAMPLE, tmp_path), out, build_env, "-Cmanywheel.arch=aarch64",
                 "-Cmanywheel.pin=false", "-Cmanywheel.target=auto", python=python39)
    wheel = only_wheel(out)
    assert re.fullmatch(r"manylinux_2_3[4-9]_aarch64", platform_tag(wheel)), wheel.name
    result = run_tests_in_root("aarch64", wheel, EXAMPLE, tmp_path)
    assert result.returncode != 0
    # The loader names the first version it misses (GLIBC_2.33: stat; the module needs 2.34 too).
    assert re.search(r"version `GLIBC_2\.3[3-9]' not found", result.stdout + result.stderr), \
        crossroot.describe(result)


@pytest.mark.cross
@pytest.mark.parametrize("project", ["cpp_heavy", "pybind11_cpp17", "skbuild_pybind11", "meson_mixed"])
def test_cpp_projects_for_aarch64(tmp_path: Path, build_env: dict[str, str], python39: str, project: str) -> None:
    """setuptools (cpp_heavy, pybind11_cpp17), scikit-build-core with the generated CMake
    toolchain file (skbuild_pybind11) and meson-python with the generated cross file (meson_mixed):
    the same -C manywheel.arch, and each project's tests pass under emulation."""
    needs_cross_compiler("aarch64")
    cross_root("aarch64")
    out = tmp_path / "dist"
    python_build(copy_project(PROJECTS / project, tmp_path), out, build_env, "-Cmanywheel.arch=aarch64",
                 python=python39)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == "manylinux_2_17_aarch64.manylinux2014_aarch64", wheel.name
    assert_auditwheel_agrees(wheel, arch="aarch64")
    result = run_tests_in_root("aarch64", wheel, PROJECTS / project, tmp_path)
    assert result.returncode == 0, crossroot.describe(result)
    assert re.search(r"Ran [1-9]\d* tests?", result.stderr), result.stderr


@pytest.mark.parametrize("args, expected", [
    (["-Cmanywheel.arch=arm64"], "'arm64' is not an architecture manywheel builds for"),
    (["-Cmanywheel.arch=aarch64", "-Cmanywheel.target=manylinux_2_17_x86_64"],
     "target 'manylinux_2_17_x86_64' is for x86_64, but this build is for aarch64"),
    (["-Cmanywheel.arch=aarch64", "-Cmanywheel.target=musllinux_1_2"],
     "target musllinux_1_2 is a musllinux policy"),
], ids=["unknown-arch", "target-of-another-arch", "musllinux"])
def test_bad_input(tmp_path: Path, build_env: dict[str, str], args: list[str], expected: str) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env, *args, check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(out.glob("*.whl")) if out.exists() else True


def test_missing_cross_compiler(tmp_path: Path, build_env: dict[str, str]) -> None:
    """An arch whose cross compiler is not installed: one message naming the Debian packages.
    (PATH holds only a directory without it; the frontend is started by absolute path.)"""
    project = copy_project(EXAMPLE, tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = dict(build_env, PATH=str(empty))
    out = tmp_path / "dist"
    proc = python_build(project, out, env, "-Cmanywheel.arch=s390x", check=False)
    assert proc.returncode != 0
    assert "no C compiler for s390x: s390x-linux-gnu-gcc is not on PATH" in proc.stderr, proc.stderr
    assert "apt-get install gcc-s390x-linux-gnu g++-s390x-linux-gnu" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not list(out.glob("*.whl"))


# A C sdist, a C++ one (pybind11, numpy at run time) and one that links libraries built from source
# (lxml: libxml2 and libxslt cross-built from Debian's source) from tests/realworld, all with cp39 wheels.
REALWORLD_CROSS = ("simplejson", "hnswlib", "lxml")


@pytest.mark.cross
@pytest.mark.realworld
@pytest.mark.parametrize("name", REALWORLD_CROSS)
def test_realworld_sdists_for_aarch64(tmp_path: Path, build_env: dict[str, str], python39: str, name: str) -> None:
    """Published sdists, switched with `manywheel adopt`, cross-built for aarch64 with CPython
    3.9: manylinux_2_17_aarch64, every compiled module, auditwheel agrees, and the project's
    smoke test passes under emulation in the aarch64 bullseye root (numpy for aarch64 from PyPI)."""
    from tests.realworld import steps

    needs_cross_compiler("aarch64")
    cross_root("aarch64")
    project = steps.load_projects()[name]
    src = steps.unpack_sdist(steps.fetch_sdist(project), tmp_path / "src")
    steps.apply_swap(src, project)
    env = {**build_env, **project.env, "MANYWHEEL_ARCH": "aarch64"}
    built = steps.build_wheel(src, tmp_path / "dist", python39, env, tmp_path / "build.log")
    wheel = built.wheel
    assert platform_tag(wheel) == "manylinux_2_17_aarch64.manylinux2014_aarch64", wheel.name
    modules = steps.compiled_modules(wheel)
    assert len(modules) == project.modules and all(m.endswith("-aarch64-linux-gnu.so") for m in modules), modules
    assert elf_machine(wheel) == {"EM_AARCH64"}
    assert_auditwheel_agrees(wheel, arch="aarch64")
    site = tmp_path / "site"
    crossroot.install_wheel(wheel, site)
    paths = [site]
    deps = steps.runtime_deps(project, "3.9", arch="aarch64")
    if deps is not None:
        paths.append(deps)
    result = crossroot.run_python("aarch64", ["-c", project.smoke], pythonpath=paths, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, crossroot.describe(result)
