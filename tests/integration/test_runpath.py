"""RUNPATHs through real builds (issue #24): CMake's install step rewrites a
build-tree RPATH in place (tests/projects/skbuild_rpath), and a module under
<name>.data/platlib/ finds the library bundled for it (tests/projects/platlib_data).
Each wheel is installed with pip and imported; none of its files keeps a path of the build host."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from manywheel.check.elf import read_elf_bytes
from tests.common import PROJECTS, copy_project, run
from tests.integration.helpers import elf_files, only_wheel, python_build

pytestmark = pytest.mark.slow


def install_and_run(wheel: Path, where: Path, code: str) -> str:
    """pip installs the wheel into ``where`` (as an installer lays it out), then runs ``code`` there."""
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target", str(where),
         str(wheel)])
    return run([sys.executable, "-c", code], env={k: v for k, v in dict(os.environ, PYTHONPATH=str(where)).items()
                                                  if k != "LD_LIBRARY_PATH"}).stdout


def runpaths(wheel: Path) -> dict[str, tuple[str, ...]]:
    paths = {}
    for name, data in elf_files(wheel).items():
        facts = read_elf_bytes(data, name)
        paths[name] = facts.runpath + facts.rpath
    return paths


def test_cmake_install_rpath_is_written_and_no_host_path_is_left(tmp_path: Path, build_env: dict[str, str]) -> None:
    """_ext links the project's own libmwrcore.so from the build tree and has INSTALL_RPATH $ORIGIN/lib:
    cmake_install.cmake's file(RPATH_CHANGE) finds the build-tree RPATH it replaces.  _vendored links
    an external library by its path, which manywheel bundles; the install step takes its build-tree
    RPATH out, and what CMake leaves of it (an empty entry) goes in the repair step."""
    project = copy_project(PROJECTS / "skbuild_rpath", tmp_path)
    add_vendor_library(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env, "-C", f"cmake.define.MWRPATH_VENDOR={project / 'vendor'}",
                        check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    wheel = only_wheel(out)
    paths = runpaths(wheel)
    ext = next(n for n in paths if n.startswith("mwrpath/_ext."))
    vendored = next(n for n in paths if n.startswith("mwrpath/_vendored."))
    assert paths[ext] == ("$ORIGIN/lib",) and paths[vendored] == ("$ORIGIN/../mwrpath.libs",), paths
    assert "mwrpath/lib/libmwrcore.so" in paths
    assert all(e.startswith("$ORIGIN") for entries in paths.values() for e in entries), paths
    code = "import mwrpath; from mwrpath._vendored import square; print(mwrpath.triple(14), square(7))"
    assert install_and_run(wheel, tmp_path / "site", code).strip() == "42 49"


def add_vendor_library(project: Path) -> None:
    """vendor/libmwvendor.so.1 (a shared library only: manywheel bundles it)."""
    vendor = project / "vendor"
    vendor.mkdir()
    (vendor / "mwvendor.c").write_text("int mwvendor_square(int n) { return n * n; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wl,-soname,libmwvendor.so.1", "-o", str(vendor / "libmwvendor.so.1"),
                    str(vendor / "mwvendor.c")], check=True)
    (vendor / "libmwvendor.so").symlink_to("libmwvendor.so.1")


def test_a_module_under_data_platlib_finds_its_bundled_library_once_installed(
        tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "platlib_data", tmp_path)
    add_vendor_library(project)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    wheel = only_wheel(out)
    paths = runpaths(wheel)
    module = next(n for n in paths if n.startswith("mwdata-1.0.0.data/platlib/mwdata/_vendored."))
    # Installed, the module is site/mwdata/_vendored...so and the library site/mwdata.libs/libmwvendor-...so.1.
    assert paths[module] == ("$ORIGIN/../mwdata.libs",), paths
    assert [n.split("/")[0] for n in paths if "libmwvendor-" in n] == ["mwdata.libs"], paths
    assert install_and_run(wheel, tmp_path / "site", "import mwdata; print(mwdata.square(7))").strip() == "49"
