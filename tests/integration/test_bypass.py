"""Issue #14: a compile and link that do not go through the wrappers (a build that runs gcc by its
absolute path, as a stale CMake cache or a meson native file does) is named in the build log,
and the wheel is still verified and tagged by what its files need."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.common import PROJECTS, copy_project
from tests.integration.helpers import assert_auditwheel_agrees, only_wheel, python_build

pytestmark = [pytest.mark.slow]

SETUP = '''from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class HostGcc(build_ext):
    """Compiles and links with /usr/bin/gcc by path, whatever CC and LDSHARED say."""

    def build_extensions(self):
        self.compiler.set_executables(compiler_so="/usr/bin/gcc -fPIC -O2", linker_so="/usr/bin/gcc -shared")
        super().build_extensions()


setup(ext_modules=[Extension("mw_csimple._core", sources=["csrc/core.c"])], cmdclass={"build_ext": HostGcc})
'''


def test_a_module_linked_around_the_wrappers_is_named(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    (project / "setup.py").write_text(SETUP)
    out = tmp_path / "dist"
    proc = python_build(project, out, build_env)
    assert ("warning: mw_csimple/_core.cpython-311-x86_64-linux-gnu.so was not linked through manywheel's "
            "compiler wrappers") in proc.stderr, proc.stderr[-3000:]
    assert_auditwheel_agrees(only_wheel(out))


def test_a_module_linked_by_the_wrappers_is_not_named(tmp_path: Path, build_env: dict[str, str]) -> None:
    out = tmp_path / "dist"
    proc = python_build(copy_project(PROJECTS / "c_simple", tmp_path), out, build_env)
    assert "was not linked through manywheel's compiler wrappers" not in proc.stderr
