"""A damaged glibc ABI record (a broken installation) is one clear error, never a traceback:
exit 2 for `manywheel check`, exit 1 for a build, no wheel written."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import manywheel
from tests.common import EXAMPLE, copy_project, run

# A reference with no symbol version and no NEEDED entry: judging it needs the ABI record.
UNVERSIONED = "long getrandom(void *, unsigned long, unsigned);\nlong f(void) { char b[4]; return getrandom(b, 4, 0); }\n"


@pytest.fixture()
def broken_install(tmp_path: Path) -> Path:
    """A copy of the manywheel package whose x86_64 ABI record is garbage; returns its sys.path entry."""
    site = tmp_path / "site"
    shutil.copytree(Path(manywheel.__file__).parent, site / "manywheel",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "manywheel" / "glibc" / "data" / "glibc-abi-x86_64.json.gz").write_bytes(b"not a gzip file at all\n")
    return site


def test_check_says_the_record_is_broken_and_how_to_fix_it(broken_install: Path, tmp_path: Path) -> None:
    src = tmp_path / "u.c"
    src.write_text(UNVERSIONED)
    lib = tmp_path / "u.so"
    run(["gcc", "-shared", "-fPIC", "-nostdlib", "-o", str(lib), str(src)])
    env = dict(os.environ, PYTHONPATH=str(broken_install))
    proc = run([sys.executable, "-m", "manywheel", "check", str(lib)], env=env, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("manywheel: error:")]
    assert len(errors) == 1, proc.stderr
    record = broken_install / "manywheel" / "glibc" / "data" / "glibc-abi-x86_64.json.gz"
    assert str(record) in errors[0] and "not gzip-compressed JSON" in errors[0]
    assert "hint: reinstall manywheel" in proc.stderr


@pytest.mark.slow
def test_a_build_with_a_broken_record_fails_with_exit_1_and_writes_nothing(broken_install: Path, tmp_path: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path)
    out = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANYWHEEL_")}
    env.update(PYTHONPATH=str(broken_install), MANYWHEEL_CACHE_DIR=str(tmp_path / "cache"))
    proc = run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(project)],
               env=env, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "manywheel: error: the glibc ABI record" in proc.stderr and "hint: reinstall manywheel" in proc.stderr
    assert not list(out.glob("*.whl"))
