"""Shared fixtures: real compilers, a real manywheel wheel for isolated builds."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests import crossroot
from tests.common import manywheel_wheel, run, skip_missing
from tests.realworld.steps import find_python

INTEGRATION = Path(__file__).resolve().parent / "integration"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything that needs the older-glibc root, the foreign-architecture roots, the network
    or a real frontend is `slow`: `-m "not slow"` is the fast tier. That is every test under
    tests/integration and every test marked `oldglibc`, `cross` or `realworld`; a unit test
    that needs more marks itself `slow`."""
    for item in items:
        if (item.path.is_relative_to(INTEGRATION) or item.get_closest_marker("oldglibc")
                or item.get_closest_marker("cross") or item.get_closest_marker("realworld")):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``needs(reason=...)`` (tests.common.needs) lacks something: a skip, under CI a failure."""
    for mark in item.iter_markers("needs"):
        if mark.kwargs.get("reason"):
            skip_missing(mark.kwargs["reason"])


@pytest.fixture(scope="session")
def compile_so(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Compile a C source into a shared object with the real gcc."""
    if shutil.which("gcc") is None:
        skip_missing("gcc is not installed")
    base = tmp_path_factory.mktemp("so")
    counter = [0]

    def compile(source: str, *flags: str, name: str | None = None, lang: str = "c") -> Path:
        counter[0] += 1
        src = base / f"src{counter[0]}.{'c' if lang == 'c' else 'cpp'}"
        src.write_text(source)
        out = base / (name or f"lib{counter[0]}.so")
        compiler = "gcc" if lang == "c" else "g++"
        run([compiler, "-shared", "-fPIC", "-O1", "-o", str(out), str(src), *flags])
        return out

    return compile


@pytest.fixture(scope="session")
def manywheel_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a manywheel wheel built from this checkout (for PIP_FIND_LINKS)."""
    out = tmp_path_factory.mktemp("mwdist")
    manywheel_wheel(out)
    return out


# The parts of manywheel's cache that every build on a machine fills once and then reuses, as a
# user's builds do: the baselines, the build environments' bytecode and the compiled launchers.
# Generating them again in each of the 132 frontend tests cost 0.5 to 1.5 s a test (warm CI 28:45 -> 25:18).
SHARED_CACHE_PARTS = ("baselines", "bytecode", "launchers")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's copy of SHARED_CACHE_PARTS, which each test's private cache links to."""
    shared = tmp_path_factory.mktemp("shared-cache")
    for part in SHARED_CACHE_PARTS:
        (shared / part).mkdir()
    return shared


@pytest.fixture()
def build_env(manywheel_dist: Path, tmp_path: Path, shared_cache: Path) -> dict[str, str]:
    """Environment for a frontend run: finds manywheel, uses a cache of its own (libraries built
    from source, downloads) whose SHARED_CACHE_PARTS are the session's. $MWTEST_CACHE names one
    cache for everything instead; a test that needs a cold cache sets MANYWHEEL_CACHE_DIR itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANYWHEEL_")}
    links = str(manywheel_dist) + (" " + env["PIP_FIND_LINKS"] if env.get("PIP_FIND_LINKS") else "")
    env["PIP_FIND_LINKS"] = links
    if os.environ.get("MWTEST_CACHE"):
        env["MANYWHEEL_CACHE_DIR"] = os.environ["MWTEST_CACHE"]
        return env
    cache = tmp_path / "cache"
    cache.mkdir()
    for part in SHARED_CACHE_PARTS:
        (cache / part).symlink_to(shared_cache / part, target_is_directory=True)
    env["MANYWHEEL_CACHE_DIR"] = str(cache)
    return env


@pytest.fixture(scope="module")
def python39() -> str:
    """A CPython 3.9 with `build`, matching the root's Python for cp39 wheels."""
    found = find_python("3.9")
    if found:
        return found
    skip_missing("no CPython 3.9 with the 'build' package (pyenv 3.9, or $MWTEST_PYTHON39)",
                 "tools/test.sh installs build into pyenv's 3.9")


@pytest.fixture(scope="session")
def cross_root() -> Callable[..., Path]:
    """cross_root(arch) is arch's root from tools/crossroot.sh (bullseye unless called with
    bullseye_only=False). The test is skipped with crossroot.missing_reason; under CI it fails
    when the root was never made, since tools/test.sh makes them all."""

    def find(arch: str, *, bullseye_only: bool = True) -> Path:
        reason = crossroot.missing_reason(arch, bullseye_only=bullseye_only)
        root = crossroot.find_root(arch)
        if reason is None and root is not None:
            return root
        reason = reason or f"no {arch} root"
        if root is None and os.environ.get("MWTEST_SKIP_CROSSROOTS") != "1":
            skip_missing(reason, "tools/test.sh runs tools/crossroot.sh all")
        pytest.skip(reason)

    return find
