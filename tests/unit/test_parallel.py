"""Parallel compilation under setuptools, run for real: gcc behind a launcher that records when
each compile starts and ends and prints two diagnostic lines with a pause between them."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from manywheel.inner.parallel import parallel_compile
from tests.common import import_or_skip

import_or_skip("setuptools", "setuptools is not installed (tests/requirements.txt lists it)")
import distutils.ccompiler  # noqa: E402  (setuptools' copy, as in a build)
from distutils.errors import CompileError  # noqa: E402

from setuptools import Distribution, Extension  # noqa: E402

LAUNCHER = """#!/bin/sh
# Usage: launcher.sh COMPILER ARGS...; logs "start|end <source> <time> <pid> <marks>" to $MW_TEST_LOG.
src=unknown; marks=
for a in "$@"; do case "$a" in *.c) src=$(basename "$a");; -DMARK_*) marks="$marks${a#-DMARK_},";; esac; done
echo "start $src $(date +%s.%N) $$ $marks" >> "$MW_TEST_LOG"
echo "diag-1 $src" >&2
case "$src" in hang*) sleep 30;; *slow*) sleep 1;; *) sleep 0.3;; esac
echo "diag-2 $src" >&2
"$@"; rc=$?
echo "end $src $(date +%s.%N) $$" >> "$MW_TEST_LOG"
exit $rc
"""


class Events:
    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[list[str]]:
        return [line.split() for line in self.path.read_text().splitlines()] if self.path.exists() else []

    def started(self) -> list[str]:
        return [f[1] for f in self.lines() if f[0] == "start"]

    def intervals(self) -> dict[str, tuple[float, float]]:
        starts = {f[1]: float(f[2]) for f in self.lines() if f[0] == "start"}
        ends = {f[1]: float(f[2]) for f in self.lines() if f[0] == "end"}
        return {src: (starts[src], ends[src]) for src in starts if src in ends}

    def most_at_once(self) -> int:
        points = sorted([(s, 1) for s, _ in self.intervals().values()] + [(e, -1) for _, e in self.intervals().values()])
        best = now = 0
        for _, step in points:
            now += step
            best = max(best, now)
        return best

    def marks(self) -> dict[str, str]:
        return {f[1]: (f[4] if len(f) > 4 else "") for f in self.lines() if f[0] == "start"}


@pytest.fixture()
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Events:
    log = tmp_path / "events.log"
    monkeypatch.setenv("MW_TEST_LOG", str(log))
    monkeypatch.chdir(tmp_path)
    return Events(log)


@pytest.fixture()
def launcher(tmp_path: Path) -> Path:
    path = tmp_path / "launcher.sh"
    path.write_text(LAUNCHER)
    path.chmod(0o755)
    return path


@pytest.fixture()
def compiler(launcher: Path) -> Any:
    cc = distutils.ccompiler.new_compiler()
    cc.set_executables(compiler_so=[str(launcher), "gcc", "-fPIC"])  # type: ignore[arg-type]  # a list works too
    return cc


def sources(tmp_path: Path, *names: str) -> list[str]:
    out = []
    for i, name in enumerate(names):
        body = "int broken(void) { return not_declared; }\n" if name.startswith("bad") else f"int f{i}(void) {{ return {i}; }}\n"
        (tmp_path / name).write_text(body)
        out.append(name)
    return out


def messages() -> tuple[list[str], Any]:
    seen: list[str] = []
    return seen, seen.append


def test_sources_of_one_extension_compile_at_once_in_order(tmp_path: Path, events: Events, compiler: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    srcs = sources(tmp_path, "a.c", "b.c", "c.c", "d.c", "e.c")
    started = time.monotonic()
    with parallel_compile(2, print):
        objects = compiler.compile(srcs, output_dir="obj")
    took = time.monotonic() - started
    assert objects == [f"obj/{s[:-2]}.o" for s in srcs]  # every object, in the sources' order
    assert all((tmp_path / o).stat().st_size > 0 for o in objects)
    assert events.most_at_once() == 2
    assert took < 5 * 0.3  # five sleeping 0.3 s compiles, two at a time
    err = capsys.readouterr().err
    # Each compile's output is one block: its two lines are never split by another compile's.
    for src in srcs:
        assert f"diag-1 {src}\ndiag-2 {src}\n" in err


def test_first_error_is_raised_and_later_sources_are_not_started(tmp_path: Path, events: Events, compiler: Any,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    srcs = sources(tmp_path, "bad.c", "slow_ok.c", "x.c", "y.c", "z.c")
    seen, log = messages()
    with parallel_compile(2, log), pytest.raises(CompileError) as info:
        compiler.compile(srcs, output_dir="obj")
    assert events.started() == ["bad.c", "slow_ok.c"] or events.started() == ["slow_ok.c", "bad.c"]
    assert "slow_ok.c" in events.intervals()  # the compile already running was allowed to finish
    assert "exit code 1" in str(info.value) or "exit status 1" in str(info.value)
    assert seen == ["compiling bad.c failed (its output is above); 3 other sources not started"]
    err = capsys.readouterr().err
    block = err[err.index("diag-1 bad.c"):]
    assert re.match(r"diag-1 bad.c\ndiag-2 bad.c\n.*bad\.c:1:\d+: error: .not_declared. undeclared", block, re.S)


def test_one_job_leaves_setuptools_as_it_is(compiler: Any) -> None:
    original = distutils.ccompiler.CCompiler.compile
    with parallel_compile(1, print):
        assert distutils.ccompiler.CCompiler.compile is original
    with parallel_compile(2, print):
        assert distutils.ccompiler.CCompiler.compile is not original
    assert distutils.ccompiler.CCompiler.compile is original


def test_patches_are_removed_after_an_error_and_a_projects_own_patch_is_kept(tmp_path: Path, events: Events,
                                                                             compiler: Any) -> None:
    cls = distutils.ccompiler.CCompiler
    saved = {name: cls.__dict__[name] for name in ("compile", "spawn") if name in cls.__dict__}
    with pytest.raises(CompileError), parallel_compile(2, print):
        compiler.compile(sources(tmp_path, "bad.c", "ok.c"), output_dir="obj")
    assert {name: cls.__dict__[name] for name in saved} == saved

    def projects_own(self: Any, *args: Any, **kwargs: Any) -> Any:  # what pybind11's ParallelCompile does
        return saved["compile"](self, *args, **kwargs)

    try:
        with parallel_compile(2, print):
            cls.compile = projects_own  # type: ignore[method-assign]  # as the project does
        assert cls.__dict__["compile"] is projects_own
    finally:
        cls.compile = saved["compile"]  # type: ignore[method-assign]


def test_sources_already_up_to_date_are_passed_over(tmp_path: Path, events: Events, compiler: Any) -> None:
    # A compiler class may decide in _setup_compile that some objects need no compiling (distutils'
    # contract: only objects in the "build" mapping are compiled); all objects are still returned.
    srcs = sources(tmp_path, "a.c", "b.c", "c.c")
    original_setup = compiler._setup_compile

    def setup_skipping_b(*args: Any) -> Any:
        macros, objects, extra, pp_opts, build = original_setup(*args)
        return macros, objects, extra, pp_opts, {o: v for o, v in build.items() if "b.o" not in o}

    compiler._setup_compile = setup_skipping_b
    with parallel_compile(2, print):
        objects = compiler.compile(srcs, output_dir="obj", depends=["a.c"])
    assert objects == ["obj/a.o", "obj/b.o", "obj/c.o"]
    assert sorted(events.started()) == ["a.c", "c.c"]


def build_ext(tmp_path: Path, extensions: list[Extension], cmdclass: dict[str, Any] | None = None) -> Any:
    dist = Distribution({"name": "mwpar", "ext_modules": extensions, "script_name": "setup.py",
                         "cmdclass": cmdclass or {}})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(tmp_path / "lib")
    cmd.build_temp = str(tmp_path / "temp")
    cmd.ensure_finalized()
    return cmd


@pytest.fixture()
def cc_env(launcher: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", f"{launcher} gcc")
    monkeypatch.setenv("LDSHARED", "gcc -shared")


def test_extensions_build_at_the_same_time(tmp_path: Path, events: Events, cc_env: None) -> None:
    exts = [Extension("mwpar.one", sources(tmp_path, "slow_one1.c", "one2.c")),
            Extension("mwpar.two", sources(tmp_path, "slow_two1.c", "two2.c"))]
    started = time.monotonic()
    with parallel_compile(2, print):
        build_ext(tmp_path, exts).run()
    took = time.monotonic() - started
    built = sorted(p.name.split(".")[0] for p in (tmp_path / "lib" / "mwpar").glob("*.so"))
    assert built == ["one", "two"]
    spans = events.intervals()
    assert events.most_at_once() == 2
    assert spans["slow_two1.c"][0] < spans["slow_one1.c"][1]  # the second extension did not wait for the first
    assert took < 2 * 1.0 + 2 * 0.3


def test_an_extension_that_changes_the_shared_compiler_keeps_its_flags_to_itself(tmp_path: Path, events: Events,
                                                                                  cc_env: None) -> None:
    from setuptools.command.build_ext import build_ext as setuptools_build_ext

    class MarkingBuildExt(setuptools_build_ext):  # type: ignore[misc]
        """Changes the shared compiler object around each extension, as some projects do."""

        def build_extension(self, ext: Any) -> None:
            mark = f"-DMARK_{ext.name.split('.')[-1]}"
            self.compiler.compiler_so.append(mark)
            try:
                super().build_extension(ext)
            finally:
                self.compiler.compiler_so.remove(mark)

    exts = [Extension("mwpar.one", sources(tmp_path, "slow_one1.c", "one2.c")),
            Extension("mwpar.two", sources(tmp_path, "slow_two1.c", "two2.c"))]
    with parallel_compile(2, print):
        build_ext(tmp_path, exts, {"build_ext": MarkingBuildExt}).run()
    assert events.marks() == {"slow_one1.c": "one,", "one2.c": "one,", "slow_two1.c": "two,", "two2.c": "two,"}
    assert events.most_at_once() == 2  # the sources of each extension still compile at once


def test_a_failed_required_extension_stops_the_others(tmp_path: Path, events: Events, cc_env: None,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # build_ext compiles an extension's sources in sorted order: a_slow.c, g2.c, g3.c, g4.c.
    exts = [Extension("mwpar.good", sources(tmp_path, "a_slow.c", "g2.c", "g3.c", "g4.c")),
            Extension("mwpar.broken", sources(tmp_path, "bad.c"))]
    cmd = build_ext(tmp_path, exts)
    with parallel_compile(2, print), pytest.raises(CompileError) as info:
        cmd.run()
    assert "exit code 1" in str(info.value) or "exit status 1" in str(info.value)
    # bad.c waited at most for g2.c (first come, first served); nothing started after it failed.
    assert "bad.c" in events.started() and len(events.started()) <= 3 and "g4.c" not in events.started()
    assert "not_declared" in capsys.readouterr().err


def test_an_optional_extension_may_fail(tmp_path: Path, events: Events, cc_env: None) -> None:
    exts = [Extension("mwpar.good", sources(tmp_path, "g1.c", "g2.c")),
            Extension("mwpar.maybe", sources(tmp_path, "bad.c"), optional=True)]
    cmd = build_ext(tmp_path, exts)
    with parallel_compile(2, print):
        cmd.run()
    assert [p.name.split(".")[0] for p in (tmp_path / "lib" / "mwpar").glob("*.so")] == ["good"]


def test_the_projects_own_parallel_option_is_respected(tmp_path: Path, events: Events, cc_env: None) -> None:
    exts = [Extension("mwpar.a", sources(tmp_path, "a1.c")), Extension("mwpar.b", sources(tmp_path, "b1.c"))]
    cmd = build_ext(tmp_path, exts)
    cmd.parallel = 1  # build_ext -j1: one extension after the other, as the project asked
    with parallel_compile(2, print):
        cmd.run()
    spans = events.intervals()
    assert spans["b1.c"][0] >= spans["a1.c"][1]


@pytest.fixture()
def alarm() -> Iterator[None]:
    class Stop(BaseException):
        pass

    def handler(signum: int, frame: Any) -> None:
        raise Stop()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_an_interruption_stops_the_running_compilers(tmp_path: Path, events: Events, compiler: Any,
                                                     alarm: None) -> None:
    srcs = sources(tmp_path, "hang1.c", "hang2.c", "later.c")
    started = time.monotonic()
    with pytest.raises(BaseException) as info, parallel_compile(2, print):
        compiler.compile(srcs, output_dir="obj")
    assert type(info.value).__name__ == "Stop"
    assert time.monotonic() - started < 10
    pids = [int(f[3]) for f in events.lines() if f[0] == "start"]
    assert len(pids) == 2 and "later.c" not in events.started()
    deadline = time.monotonic() + 5
    while process_groups_alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_groups_alive(pids)  # the launchers and their sleeping children are gone


def process_groups_alive(groups: list[int]) -> list[str]:
    """Live processes (not zombies) in any of the process groups ``groups``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            alive.append(stat.parent.name)
    return alive


def test_threads_and_processes_of_the_project_still_work(tmp_path: Path, events: Events, compiler: Any) -> None:
    # A setup.py that compiles from its own threads, and forks worker processes, inside the build.
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    srcs = sources(tmp_path, "p1.c", "p2.c", "p3.c", "p4.c")
    with parallel_compile(2, print):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda s: compiler.compile([s], output_dir="obj"), srcs))
        ctx = multiprocessing.get_context("spawn" if sys.version_info >= (3, 14) else "fork")
        with ctx.Pool(2) as procs:
            squares = procs.map(abs, [-1, -2, -3])
    assert results == [[f"obj/{s[:-2]}.o"] for s in srcs] and squares == [1, 2, 3]
    assert events.most_at_once() <= 2


@pytest.mark.parametrize(("backend", "own_tool"), [
    ("scikit_build_core.build", True), ("mesonpy", True), ("mesonpy:something", True),
    ("setuptools.build_meta", False), ("setuptools.build_meta:__legacy__", False), ("flit_core.buildapi", False),
    ("backend", False)])
def test_setuptools_is_patched_for_every_backend_but_those_with_a_build_tool_of_their_own(
        tmp_path: Path, backend: str, own_tool: bool) -> None:
    """The build patches setuptools (and imports it) only for backends that may compile with its
    build_ext: scikit-build-core and meson-python never do."""
    from manywheel.inner.hooks import runs_own_build_tool

    assert runs_own_build_tool(backend) is own_tool
    probe = ("import sys; from manywheel.inner.parallel import parallel_compile\n"
             f"with parallel_compile({1 if own_tool else 2}, print): pass\n"
             "print('setuptools' in sys.modules)")
    import manywheel

    src = str(Path(manywheel.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(not own_tool)]
