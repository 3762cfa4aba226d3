"""`manywheel wheels` for real (issue #28): tests/projects/c_simple as cp39 for x86_64 (native) and
aarch64 (cross), each wheel tested in its bullseye root (chroot; qemu-user), the test command read
from [tool.cibuildwheel]; and a test command that fails on aarch64 only: exit 1, both wheels kept."""
from __future__ import annotations

import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from tests import oldroot
from tests.common import PROJECTS, REPO, copy_project, run, skip_missing

pytestmark = [pytest.mark.oldglibc, pytest.mark.cross]


@pytest.fixture()
def roots(tmp_path: Path, cross_root: Callable[..., Path]) -> Path:
    """A roots directory in manywheel's layout whose entries are the test tools' roots."""
    reason = oldroot.missing_reason()
    if reason is not None:
        skip_missing(reason, "tools/test.sh runs tools/oldroot.sh --python311")
    aarch64 = cross_root("aarch64")
    base = tmp_path / "roots"
    (base / "cross-roots").mkdir(parents=True)
    (base / "bullseye-root").symlink_to(oldroot.default_root())
    (base / "cross-roots" / "aarch64").symlink_to(aarch64)
    return base


def matrix(project: Path, out: Path, roots: Path, env: dict[str, str], python39: str, *extra: str
           ) -> tuple[int, str]:
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        skip_missing("aarch64-linux-gnu-gcc is not installed (gcc-aarch64-linux-gnu)")
    env = dict(env, PYTHONPATH=str(REPO / "src"), PATH=os.path.dirname(python39) + os.pathsep + env["PATH"])
    proc = run([sys.executable, "-m", "manywheel", "wheels", str(project), "--python", "3.9", "--arch",
                "x86_64,aarch64", "--out", str(out), "--roots", str(roots), "--jobs", "2", *extra], env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def summary_rows(out: str) -> dict[str, list[str]]:
    table = out[out.index("\nidentifier "):].splitlines()[3:]
    return {line.split()[0]: re.split(r"\s{2,}", line)[1:] for line in table if line.startswith("cp39-")}


def with_table(tmp_path: Path, table: str) -> Path:
    project = copy_project(PROJECTS / "c_simple", tmp_path)
    with open(project / "pyproject.toml", "a") as f:
        f.write("\n" + table)
    return project


def test_two_architectures_built_and_tested_in_their_roots(tmp_path: Path, roots: Path, build_env: dict[str, str],
                                                           python39: str) -> None:
    project = with_table(tmp_path, '[tool.cibuildwheel]\ntest-command = "python -c \\"import platform; '
                                   'print(\'machine:\', platform.machine())\\" && python -m unittest discover -s '
                                   '{project}/tests -v"\nbefore-build = "true"\n')
    code, out = matrix(project, tmp_path / "wheelhouse", roots, build_env, python39)
    print(out)
    assert code == 0, out
    assert "read from [tool.cibuildwheel]: test-command" in out
    assert "not supported, ignored from [tool.cibuildwheel]: before-build" in out
    rows = summary_rows(out)
    assert rows["cp39-manylinux_x86_64"][0] == "manylinux_2_17_x86_64.manylinux2014_x86_64"
    assert rows["cp39-manylinux_aarch64"][0] == "manylinux_2_17_aarch64.manylinux2014_aarch64"
    assert all(row[-1].startswith("ok (") for row in rows.values()), rows
    wheels = sorted((tmp_path / "wheelhouse").glob("*.whl"))
    assert [w.name.split("-")[-1] for w in wheels] == ["manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
                                                       "manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    for wheel in wheels:
        assert any(n.endswith(".so") for n in zipfile.ZipFile(wheel).namelist())
    logs = tmp_path / "wheelhouse" / "logs"
    assert "machine: aarch64" in (logs / "cp39-manylinux_aarch64.log").read_text()
    assert "machine: x86_64" in (logs / "cp39-manylinux_x86_64.log").read_text()
    assert "Ran 5 tests" in (logs / "cp39-manylinux_aarch64.log").read_text()
    # One build environment for cp39, made once (by whichever wheel came first), used by both.
    texts = [(logs / f"cp39-manylinux_{arch}.log").read_text() for arch in ("x86_64", "aarch64")]
    assert sum(t.count("--- the build environment of") for t in texts) == 1, texts
    assert all("without isolation" in t for t in texts)


def test_a_failing_test_is_reported_and_every_wheel_kept(tmp_path: Path, roots: Path, build_env: dict[str, str],
                                                         python39: str) -> None:
    project = with_table(tmp_path, "[tool.manywheel.wheels]\ntest-command = \"python -c 'import platform, sys; "
                                   "sys.exit(3 if platform.machine() == \\\"aarch64\\\" else 0)'\"\n")
    code, out = matrix(project, tmp_path / "wheelhouse", roots, build_env, python39, "--isolated")
    print(out)
    assert code == 1, out
    assert "builds: each in an isolated environment of its own (--isolated)" in out
    assert "python -m build --wheel" in (tmp_path / "wheelhouse" / "logs" / "cp39-manylinux_aarch64.log").read_text()
    rows = summary_rows(out)
    assert rows["cp39-manylinux_x86_64"][-1].startswith("ok (")
    assert rows["cp39-manylinux_aarch64"][-1].startswith("failed (") and "test-command exited 3" in out
    assert len(list((tmp_path / "wheelhouse").glob("*.whl"))) == 2
