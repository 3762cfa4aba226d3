"""The package is typed: mypy --strict (configured in pyproject.toml) finds nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.common import skip_missing

REPO = Path(__file__).resolve().parents[2]


def test_mypy_strict_is_clean() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_missing("mypy is not installed (tests/requirements.txt lists it)")
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
