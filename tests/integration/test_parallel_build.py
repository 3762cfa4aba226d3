"""Parallel compilation and compiler launchers in real PEP 517 builds (python -m build, isolated,
with the newest setuptools from the index): jobs from -C and the environment, readable output,
a clear first error, a project that uses processes and threads in setup.py, and ccache."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common import EXAMPLE, PROJECTS, copy_project, run
from tests.integration.helpers import assert_auditwheel_agrees, only_wheel, platform_tag, python_build
from tests.launchers import ccache_hits, ccache_misses, ccache_stats, require_ccache

pytestmark = pytest.mark.slow
TAG_2_17 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
# A launcher in CC, as ccache would be: records when each compile runs, then runs the compiler.
TIMING_LAUNCHER = """#!/bin/sh
case " $* " in *" src/"*|*" build/generated/"*) ;; *) exec "$@";; esac  # only the project's own sources
echo "start $(date +%s.%N)" >> "$MW_TIMES"
sleep 0.5
"$@"; rc=$?
echo "end $(date +%s.%N)" >> "$MW_TIMES"
exit $rc
"""


def most_at_once(times: Path) -> int:
    events = sorted((float(t), 1 if kind == "start" else -1) for kind, t in
                    (line.split() for line in times.read_text().splitlines()))
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


@pytest.fixture()
def timed_env(build_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    launcher = tmp_path / "timing-launcher"
    launcher.write_text(TIMING_LAUNCHER)
    launcher.chmod(0o755)
    return dict(build_env, CC=f"{launcher} gcc", MW_TIMES=str(tmp_path / "times"))


def install_and_run(wheel: Path, where: Path, code: str) -> str:
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target",
         str(where), str(wheel)])
    return run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(where)), cwd=where.parent).stdout


def build(project: Path, out: Path, env: dict[str, str], *args: str, check: bool = True
          ) -> subprocess.CompletedProcess[str]:
    """python -m build --wheel; a hang fails the test after 5 minutes instead of 15."""
    return python_build(project, out, env, *args, check=check, timeout=300)


def test_a_project_using_processes_and_threads_builds_in_parallel(tmp_path: Path, timed_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "parallel_sources", tmp_path)
    proc = build(project, tmp_path / "dist", dict(timed_env, MANYWHEEL_JOBS="2"))
    wheel = only_wheel(tmp_path / "dist")
    assert platform_tag(wheel) == TAG_2_17
    assert_auditwheel_agrees(wheel)
    assert most_at_once(tmp_path / "times") == 2  # 10 sources in 2 extensions, never more than 2 at once
    out = install_and_run(wheel, tmp_path / "site", "import mw_par._alpha as a, mw_par._beta as b; "
                                                   "print(a.total(), b.total())")
    assert out.split() == ["80", "1282"]


def test_worker_processes_of_setup_py_end_quietly(tmp_path: Path, build_env: dict[str, str]) -> None:
    # setup.py's multiprocessing Pool ends its forked workers with SIGTERM, as it always does: they
    # must not run manywheel's SIGTERM handler (it made them print Interrupted and, rarely, hang).
    project = copy_project(PROJECTS / "parallel_sources", tmp_path)
    proc = build(project, tmp_path / "dist", build_env)
    assert "Interrupted" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("how", ["config-setting", "environment"])
def test_one_job_compiles_one_source_at_a_time(tmp_path: Path, timed_env: dict[str, str], how: str) -> None:
    project = copy_project(PROJECTS / "parallel_sources", tmp_path)
    if how == "config-setting":
        build(project, tmp_path / "dist", dict(timed_env, MANYWHEEL_JOBS="4"), "-C", "manywheel.jobs=1")
    else:
        build(project, tmp_path / "dist", dict(timed_env, MANYWHEEL_JOBS="1"))
    assert platform_tag(only_wheel(tmp_path / "dist")) == TAG_2_17
    assert most_at_once(tmp_path / "times") == 1


def test_the_first_compile_error_is_clear(tmp_path: Path, build_env: dict[str, str]) -> None:
    project = copy_project(PROJECTS / "parallel_sources", tmp_path)
    (project / "src" / "a2.c").write_text("long mw_a2(void) { return undeclared_in_a2; }\n")
    proc = build(project, tmp_path / "dist", dict(build_env, MANYWHEEL_JOBS="2"), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "error: 'undeclared_in_a2' undeclared" in out.replace("‘", "'").replace("’", "'")
    assert "manywheel: compiling src/a2.c failed (its output is above)" in out
    assert "Traceback" not in out
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").glob("*.whl"))


def test_ccache_serves_an_unchanged_rebuild(tmp_path: Path, build_env: dict[str, str]) -> None:
    require_ccache()
    cache = tmp_path / "ccache"
    env = dict(build_env, CC="ccache gcc", CXX="ccache g++", CCACHE_DIR=str(cache), SOURCE_DATE_EPOCH="1700000000")
    project = copy_project(EXAMPLE, tmp_path)
    build(project, tmp_path / "first", env)
    first = ccache_stats(cache)
    build(project, tmp_path / "second", env)
    second = ccache_stats(cache)
    # The second build compiled nothing: both sources (C and C++) came from the cache.
    assert ccache_misses(second) == ccache_misses(first), (first, second)
    assert ccache_hits(second) - ccache_hits(first) == 2, (first, second)
    wheels = [only_wheel(tmp_path / d) for d in ("first", "second")]
    assert platform_tag(wheels[1]) == TAG_2_17
    assert hashlib.sha256(wheels[0].read_bytes()).digest() == hashlib.sha256(wheels[1].read_bytes()).digest()
