"""manywheel adopt: the rewrite keeps comments and formatting, moves the backend, and refuses clearly."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from manywheel.adopt import adopt
from manywheel.errors import SettingsError
from manywheel.settings import read_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CASES = {
    "multi-line requires, comments, backend-path": ('''\
# A project
[build-system]
requires = [
    "scikit-build-core>=0.10",  # CMake
    "pybind11",
]
build-backend = "scikit_build_core.build"  # the backend
backend-path = [
    "_build",  # in-tree helpers
]

[project]
name = "x"   # keep me
version = "1"
''', '''\
# A project
[build-system]
requires = [
    "manywheel",
    "scikit-build-core>=0.10",  # CMake
    "pybind11",
]
build-backend = "manywheel.backend"  # the backend

[project]
name = "x"   # keep me
version = "1"

[tool.manywheel]
inner-backend = "scikit_build_core.build"
inner-backend-path = ["_build"]
'''),
    "one-line requires, an existing [tool.manywheel]": ('''\
[build-system]
requires = ['mesonpy', "numpy>=2"]
build-backend = 'mesonpy'

[tool.manywheel]
target = "manylinux_2_28"
''', '''\
[build-system]
requires = ["manywheel", 'mesonpy', "numpy>=2"]
build-backend = "manywheel.backend"

[tool.manywheel]
inner-backend = "mesonpy"
target = "manylinux_2_28"
'''),
    "no build-backend: PEP 517's setuptools fallback": ('''\
[build-system]
requires = ["setuptools>=40.8.0", "wheel"]
[tool.black]
line-length = 100
''', '''\
[build-system]
requires = ["manywheel", "setuptools>=40.8.0", "wheel"]
build-backend = "manywheel.backend"
[tool.black]
line-length = 100

[tool.manywheel]
inner-backend = "setuptools.build_meta:__legacy__"
'''),
    "manywheel already required, empty requires kept valid": ('''\
[build-system]
requires = ["manywheel>=0.1", "setuptools"]
build-backend = "setuptools.build_meta"
''', '''\
[build-system]
requires = ["manywheel>=0.1", "setuptools"]
build-backend = "manywheel.backend"

[tool.manywheel]
inner-backend = "setuptools.build_meta"
'''),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_rewrite_changes_only_what_adopting_means(tmp_path: Path, case: str) -> None:
    before, after = CASES[case]
    (tmp_path / "pyproject.toml").write_text(before)
    adoption = adopt(tmp_path)
    assert adoption.new == after
    adoption.write()
    settings = read_settings(tmp_path, None, {})  # manywheel itself reads the result
    old = tomllib.loads(before)["build-system"]
    assert settings.inner_backend == old.get("build-backend", "setuptools.build_meta:__legacy__")
    assert settings.inner_backend_path == tuple(old.get("backend-path", ()))


@pytest.mark.parametrize(("text", "message"), [
    ('[project]\nname = "x"\n', "has no [build-system] table"),
    ('[build-system]\nrequires = ["manywheel"]\nbuild-backend = "manywheel.backend"\n', "already uses manywheel"),
    ('[build-system]\nrequires = ["x"]\nbuild-backend = "x"\n[tool.manywheel]\ninner-backend = "y"\n',
     "already uses manywheel"),
    ('build-system = { requires = ["setuptools"], build-backend = "setuptools.build_meta" }\n',
     "is not written as a table header"),
    ("[build-system\n", "is not valid TOML"),
])
def test_refusals_name_the_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        adopt(tmp_path)
    assert (tmp_path / "pyproject.toml").read_text() == text


def test_the_command_prints_the_diff_and_dry_run_changes_nothing(tmp_path: Path) -> None:
    before, after = CASES["one-line requires, an existing [tool.manywheel]"]
    (tmp_path / "pyproject.toml").write_text(before)
    cmd = [sys.executable, "-m", "manywheel", "adopt", str(tmp_path)]
    dry = subprocess.run(cmd + ["--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0 and "-build-backend = 'mesonpy'" in dry.stdout and '+inner-backend = "mesonpy"' in dry.stdout
    assert (tmp_path / "pyproject.toml").read_text() == before and "dry run" in dry.stderr
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and (tmp_path / "pyproject.toml").read_text() == after
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "already uses manywheel" in again.stderr and "Traceback" not in again.stderr
    missing = subprocess.run([sys.executable, "-m", "manywheel", "adopt", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file" in missing.stderr
