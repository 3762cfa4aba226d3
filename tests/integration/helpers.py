"""Running real frontends on sample projects and judging the wheels they write."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.policy import find_policy

from tests import oldroot
from tests.common import run, skip_missing

_AUDITWHEEL_TAG = re.compile(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"')


def python_build(project: Path, out: Path, env: dict[str, str], *args: str, check: bool = True,
                 python: str = sys.executable, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return run([python, "-m", "build", "--wheel", "--outdir", str(out), *args, str(project)],
               env=env, check=check, timeout=timeout)


def pip_wheel(project: Path, out: Path, env: dict[str, str], *args: str, check: bool = True
              ) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                "-w", str(out), *args, str(project)], env=env, check=check)


def only_wheel(out: Path) -> Path:
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}, found {[w.name for w in wheels]}"
    return wheels[0]


def platform_tag(wheel: Path) -> str:
    return wheel.name[:-4].split("-")[-1]


def read_auditwheel_tag(wheel: Path) -> tuple[str | None, subprocess.CompletedProcess[str]]:
    """The platform tag `auditwheel show` finds the wheel consistent with (None if it names none), and its run."""
    proc = run([sys.executable, "-m", "auditwheel", "show", str(wheel)], check=False)
    match = _AUDITWHEEL_TAG.search(" ".join(proc.stdout.split()))
    return (match.group(1) if match else None), proc


def auditwheel_tag(wheel: Path) -> str:
    tag, proc = read_auditwheel_tag(wheel)
    assert tag, f"auditwheel show gave no tag (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return tag


def tags_agree(ours: str, theirs: str, arch: str = "x86_64") -> bool:
    """Whether auditwheel's tag (``theirs``) agrees with the one manywheel wrote (``ours``).

    A policy tag agrees with one of the same family that is at least as compatible: manywheel
    may write a target above what the files need, never one below. linux_<arch> is never a
    target; it says the files meet no policy, so it agrees only with auditwheel saying the
    same (linux_<arch>), and a policy tag never agrees with linux_<arch>.
    """
    ours, theirs = ours.split(".")[0], theirs.split(".")[0]
    if ours.startswith("linux_") or theirs.startswith("linux_"):
        return ours == theirs
    mine, judged = find_policy(ours, arch), find_policy(theirs, arch)
    return judged.family == mine.family and judged.libc_version <= mine.libc_version


def assert_auditwheel_agrees(wheel: Path, arch: str = "x86_64") -> str:
    """auditwheel's tag must agree with the one manywheel wrote (``tags_agree``); returns auditwheel's."""
    ours = platform_tag(wheel).split(".")[0]
    theirs = auditwheel_tag(wheel)
    assert tags_agree(ours, theirs, arch), f"auditwheel: {theirs}, manywheel wrote {ours}"
    return theirs


def elf_files(wheel: Path) -> dict[str, bytes]:
    """The wheel's ELF members and their bytes, each member read once."""
    with zipfile.ZipFile(wheel) as zf:
        return {n: data for n in zf.namelist() if (data := zf.read(n))[:4] == b"\x7fELF"}


def elf_members(wheel: Path) -> list[str]:
    return list(elf_files(wheel))


def require_root(*, python311: bool = False) -> Path:
    """The older-glibc root; the test is skipped naming what is missing, or fails under CI
    (tools/test.sh makes the root)."""
    reason = oldroot.missing_reason(python311=python311)
    found = oldroot.find_root()
    if reason is None and found is not None:
        return found
    skip_missing(reason or "no older-glibc root", "tools/test.sh runs tools/oldroot.sh --python311")


def run_project_tests(root: Path, wheel: Path, project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own tests (its tests/ directory) in the root, with the wheel on PYTHONPATH
    and the root's Python matching the wheel's (cp39: python3, else python3.11)."""
    interpreter = oldroot.PYTHON39 if wheel.name.split("-")[2] == "cp39" else oldroot.PYTHON311
    with oldroot.unpacked_wheel(root, wheel) as site:
        return oldroot.run_in_root(root, [interpreter, "-m", "unittest", "discover", "-s", "tests", "-v"],
                                   copy_in={project / "tests": "tests"}, env={"PYTHONPATH": site})
