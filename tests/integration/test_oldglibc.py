"""Runtime proof: wheels built here for manylinux_2_17 import and pass their own tests in a
Debian bullseye root (glibc 2.31, Python 3.9), while the same projects built without
manywheel fail there to load."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import oldroot
from tests.common import EXAMPLE, PROJECTS, copy_project
from tests.integration.helpers import (assert_auditwheel_agrees, only_wheel, platform_tag, python_build, require_root,
                                       run_project_tests)

pytestmark = [pytest.mark.oldglibc, pytest.mark.slow]
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"


@pytest.fixture(scope="module")
def root() -> Path:
    found = require_root()
    assert oldroot.glibc_version(found) == (2, 31)
    return found


def plain_setuptools_copy(project: Path, dest: Path) -> Path:
    copy = copy_project(project, dest)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace('build-backend = "manywheel.backend"', 'build-backend = "setuptools.build_meta"')
    text = re.sub(r'requires = \["manywheel"(, "setuptools>=64")?', 'requires = ["setuptools>=64"', text)
    pyproject.write_text(text)
    return copy


@pytest.mark.parametrize("project", [EXAMPLE, PROJECTS / "cython_mod", PROJECTS / "pybind11_cpp17",
                                     PROJECTS / "vendored_static", PROJECTS / "cpp_heavy"],
                         ids=lambda p: p.name)
def test_pinned_wheel_passes_its_tests_on_glibc_2_31(tmp_path: Path, build_env: dict[str, str], root: Path,
                                                     python39: str, project: Path) -> None:
    out = tmp_path / "dist"
    python_build(copy_project(project, tmp_path), out, build_env, python=python39)
    wheel = only_wheel(out)
    assert platform_tag(wheel) == TAG_2_17 and "-cp39-" in wheel.name
    assert_auditwheel_agrees(wheel)
    result = run_project_tests(root, wheel, project)
    assert result.returncode == 0, oldroot.describe(result)
    assert re.search(r"Ran [1-9]\d* tests?", result.stderr), result.stderr


@pytest.mark.parametrize("project", [EXAMPLE, PROJECTS / "cpp_heavy"], ids=lambda p: p.name)
def test_the_same_project_without_manywheel_fails_to_load(tmp_path: Path, build_env: dict[str, str],
                                                          root: Path, python39: str, project: Path) -> None:
    out = tmp_path / "dist"
    python_build(plain_setuptools_copy(project, tmp_path), out, build_env, python=python39)
    result = run_project_tests(root, only_wheel(out), project)
    assert result.returncode != 0
    assert re.search(r"version `(GLIBC_2\.3[2-9]|GLIBCXX_3\.4\.(2[89]|3\d)|CXXABI_1\.3\.1[3-9])' not found",
                     result.stdout + result.stderr), oldroot.describe(result)


def test_function_without_shim_fails_the_build_with_a_report(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(PROJECTS / "noshim", tmp_path), out, build_env, check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert "copy_file_range (unversioned)" in err
    assert "no version <= GLIBC_2.17 exists (GLIBC_2.27 in libc.so.6 is the oldest) and no shim covers it" in err
    assert "oldest target that accepts it: manylinux_2_27" in err
    assert re.search(r"referenced from core\.c \(build/temp[^)]*/csrc/core\.o\)", err), err
    assert "Traceback" not in err
    assert not out.exists() or not list(out.glob("*.whl"))
    # The same project with a target that has the function builds.
    (tmp_path / "again").mkdir()
    python_build(copy_project(PROJECTS / "noshim", tmp_path / "again"), out, build_env,
                 "-C", "manywheel.target=manylinux_2_27")
    assert platform_tag(only_wheel(out)) == "manylinux_2_27_x86_64"
