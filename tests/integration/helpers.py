"""Running real frontends on sample projects and judging the wheels they write."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from manywheel.policy import find_policy

from tests.conftest import run

_AUDITWHEEL_TAG = re.compile(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"')


def python_build(project: Path, out: Path, env: dict[str, str], *args: str, check: bool = True,
                 python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return run([python, "-m", "build", "--wheel", "--outdir", str(out), *args, str(project)],
               env=env, check=check)


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


def auditwheel_tag(wheel: Path) -> str:
    proc = run([sys.executable, "-m", "auditwheel", "show", str(wheel)], check=False)
    text = " ".join(proc.stdout.split())
    match = _AUDITWHEEL_TAG.search(text)
    assert match, f"auditwheel show gave no tag (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return match.group(1)


def assert_auditwheel_agrees(wheel: Path) -> str:
    """auditwheel's tag must be at least as compatible as the one manywheel wrote."""
    ours = platform_tag(wheel).split(".")[0]
    theirs = auditwheel_tag(wheel)
    arch = "x86_64"
    ours_policy, their_policy = find_policy(ours, arch), find_policy(theirs, arch)
    assert their_policy.libc_version <= ours_policy.libc_version, f"auditwheel: {theirs}, manywheel wrote {ours}"
    return theirs


def elf_members(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return [n for n in zf.namelist() if zf.read(n)[:4] == b"\x7fELF"]
