"""The package is typed: mypy --strict (configured in pyproject.toml) finds nothing, in the
package and in the tests (not the sample projects), where every body is checked though not
every def is annotated."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common import skip_missing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def mypy_installed() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_missing("mypy is not installed (tests/requirements.txt lists it)")


def test_mypy_strict_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_checks_the_tests_too() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    assert set(config["files"]) >= {"src/manywheel", "tests"}


def test_a_fake_in_a_test_that_lacks_an_argument_is_an_error(tmp_path: Path) -> None:
    """An unannotated test body is checked too: a call that leaves out a field fails mypy."""
    unit = tmp_path / "tests" / "unit"
    unit.mkdir(parents=True)
    (tmp_path / "tests" / "__init__.py").write_text("")
    (unit / "__init__.py").write_text("")
    (unit / "test_fake.py").write_text("from manywheel.errors import ElfError\n\n\n"
                                       "def test_unannotated():\n    raise ElfError('lib.so')\n")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
                           "--no-incremental", "tests/unit/test_fake.py"], cwd=tmp_path, capture_output=True,
                          text=True, env=dict(os.environ, MYPYPATH=str(REPO / "src")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'test_fake.py:5: error: Missing positional argument "reason" in call to "ElfError"' in proc.stdout
