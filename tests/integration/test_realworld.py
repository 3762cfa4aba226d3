"""Issues #4 and #14: published sdists build with manywheel after only `manywheel adopt`
(whatever their backend: setuptools, an in-tree one, scikit-build-core, meson-python), into
wheels with the expected tag and every compiled module, that auditwheel agrees with and that
pass a smoke test in the Debian bullseye root (glibc 2.31).

The same steps as `python tests/realworld/run.py`; the projects are tests/realworld/projects.json.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests import oldroot
from tests.integration.helpers import platform_tag, require_root, tags_agree
from tests.realworld import steps

pytestmark = [pytest.mark.realworld, pytest.mark.oldglibc, pytest.mark.slow]
PROJECTS = steps.load_projects()
RUNS = [(project, python) for project in PROJECTS.values() for python in project.pythons]


@pytest.fixture(scope="module")
def root() -> Path:
    return require_root(python311=True)


@pytest.mark.parametrize(("project", "python_version"), RUNS, ids=[f"{p.name}-py{py}" for p, py in RUNS])
def test_sdist_builds_after_manywheel_adopt(root: Path, tmp_path: Path, build_env: dict[str, str],
                                           project: steps.Project, python_version: str) -> None:
    python = steps.find_python(python_version)
    if python is None:
        pytest.skip(f"no host CPython {python_version} with the 'build' package (pyenv {python_version})")
    src = steps.unpack_sdist(steps.fetch_sdist(project), tmp_path / "src")
    steps.apply_swap(src, project)
    built = steps.build_wheel(src, tmp_path / "dist", python, {**build_env, **project.env}, tmp_path / "build.log")
    wheel = built.wheel

    tag = platform_tag(wheel)
    assert tag.split(".")[0] == project.tag, wheel.name
    python_tag, abi_tag = wheel.name[:-4].split("-")[-3:-1]
    # abi3, the interpreter's own tag, or py3-none for a library loaded with ctypes (lightgbm)
    assert abi_tag in ("abi3", "none") or python_tag == f"cp{python_version.replace('.', '')}", wheel.name
    modules = steps.compiled_modules(wheel)
    assert len(modules) == project.modules, f"a pure-Python fallback? compiled modules: {modules}"
    theirs = steps.auditwheel_show(wheel)
    assert tags_agree(tag, theirs), f"auditwheel show: {theirs}, manywheel wrote {tag}"
    if not project.avx512:
        assert steps.zmm_instructions(wheel) == 0, "AVX-512 instructions in a wheel for every x86_64 machine"
    result = steps.smoke_test(root, wheel, project, python_version)
    assert result.returncode == 0, oldroot.describe(result)
