"""RUNPATHs through real builds (issue #24): a module under <name>.data/platlib/ finds the
library bundled for it (tests/projects/platlib_data) once pip has installed the wheel."""
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
