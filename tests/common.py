"""What the tests share besides fixtures: paths, running commands (never from the checkout), manywheel's
own wheel (built from a copy of the checkout), copying and digesting project trees, and skipping a
test for something missing (a failure under CI).

A frontend run with the repository root as its working directory imports a ``build/``
directory there instead of pypa/build (and writes into the tree), so every command runs
from an empty directory of its own unless a test names one.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, NoReturn, Sequence

import pytest

if TYPE_CHECKING:
    from manywheel._wrapper.config import LibraryConfig, WrapperConfig

REPO = Path(__file__).resolve().parent.parent
PROJECTS = REPO / "tests" / "projects"
EXAMPLE = REPO / "example_project"


def skip_missing(reason: str, provider: str = "tools/test.sh installs it") -> NoReturn:
    """Skip the test for something it needs that is missing (``reason`` names it and how to get
    it); under CI (``CI`` set) fail instead, since CI ran tools/test.sh (``provider`` says what
    makes the thing): CI never passes a test it did not run.  Things a host may lack by nature
    (another architecture, an older glibc) are plain ``pytest.skip``."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (a failure under CI: {provider})", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def needs(present: object, reason: str) -> pytest.MarkDecorator:
    """A mark for a test that needs something: when ``present`` is false, tests/conftest.py
    calls ``skip_missing(reason)`` before the test (and its fixtures) set up."""
    return pytest.mark.needs(reason=None if present else reason)


def import_or_skip(name: str, reason: str) -> ModuleType:
    """The module ``name``, or ``skip_missing(reason)`` when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        skip_missing(reason, "tools/test.sh installs tests/requirements.txt")


@functools.lru_cache(maxsize=None)
def neutral_cwd() -> Path:
    """An empty directory of this test process: the working directory of every command by default."""
    return Path(tempfile.mkdtemp(prefix="manywheel-tests-cwd-"))


def run(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (from ``neutral_cwd()`` unless ``cwd`` is given); with ``check``, a non-zero exit
    raises AssertionError with the command and the tail of its output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd or neutral_cwd(), env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                             f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}")
    return proc


def manywheel_wheel(out: Path) -> Path:
    """Build this checkout's manywheel wheel into ``out`` (a find-links directory for isolated
    builds) with tools/manywheel-wheel.sh, which builds from a copy: the checkout stays as it was."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("manywheel-*.whl"):
        old.unlink()
    run(["bash", str(REPO / "tools" / "manywheel-wheel.sh"), str(out)],
        env=dict(os.environ, PYTHON=sys.executable))
    return next(out.glob("manywheel-*.whl"))


def wrapper_config(state_dir: Path, libs: LibraryConfig) -> WrapperConfig:
    """A whole wrapper configuration for tests of the link rewriting, which reads only ``libs``
    and ``state_dir``: the rest is neutral, and the type checker sees that no key is missing."""
    return {"cc": ["gcc"], "cxx": ["g++"], "cuda_host": ["gcc"], "arch": "x86_64", "compile_flags": [],
            "preprocess_flags": [], "link_flags": [], "link_flags_after": [], "export_map": "", "static_cxx": False,
            "no_relr": False, "isa_flags": {}, "env_prefix": "", "libs": libs, "verbose": False,
            "state_dir": str(state_dir), "nm": "nm"}


def tree_digest(root: Path) -> str:
    """A digest of every path and file content below ``root``: equal digests, an unchanged tree."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        h.update(str(path.relative_to(root)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def copy_project(src: Path, dest_parent: Path) -> Path:
    dest = dest_parent / src.name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.so"))
    return dest
