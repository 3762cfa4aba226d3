"""Running a plan: one sdist, then every wheel built from it (up to ``jobs`` at once), each
wheel's test starting as soon as its build ends (tests overlap the builds still running), a
status line per wheel, and the summary."""
from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, TextIO

from ..arches import host_arch
from .identifiers import Identifier
from .interpreters import Interpreter
from .plan import Cell, Plan
from .status import Board, summary_table
from .testing import Outcome, TestSpec, run_logged, run_test

EXIT_OK, EXIT_FAILED = 0, 1


def _build_env(environ: Mapping[str, str], arch: str) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k != "MANYWHEEL_ARCH"}
    if arch != host_arch():
        env["MANYWHEEL_ARCH"] = arch
    return env


def build_sdist(plan: Plan, python: Interpreter, work: Path, environ: Mapping[str, str], log: TextIO) -> Path | None:
    """The project's sdist, built once with ``python -m build --sdist``; None when that fails."""
    out = work / "sdist"
    argv = [python.path, "-m", "build", "--sdist", "--outdir", str(out), str(plan.project.resolve())]
    if run_logged(argv, log, env=dict(environ), cwd=_empty_dir(work, "sdist-cwd")) != 0:
        return None
    found = sorted(out.glob("*.tar.gz"))
    return found[0] if len(found) == 1 else None


def _empty_dir(work: Path, name: str) -> Path:
    # A frontend started where a build/ directory exists imports it instead of pypa/build.
    path = work / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unpack(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tf.extractall(dest)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest


def build_wheel(cell: Cell, sdist: Path, work: Path, out: Path, environ: Mapping[str, str],
                log: TextIO) -> Path | None:
    """One wheel from the sdist, moved into out; None when the build fails."""
    assert cell.interpreter is not None
    name = str(cell.ident)
    source = _unpack(sdist, work / "src" / name)
    dist = work / "wheels" / name
    argv = [cell.interpreter.path, "-m", "build", "--wheel", "--outdir", str(dist), str(source)]
    log.write(f"--- {name}: {'MANYWHEEL_ARCH=' + cell.ident.arch + ' ' if cell.ident.arch != host_arch() else ''}"
              f"python -m build --wheel\n")
    if run_logged(argv, log, env=_build_env(environ, cell.ident.arch), cwd=_empty_dir(work, f"cwd/{name}")) != 0:
        return None
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        log.write(f"expected one wheel in {dist}, found {[w.name for w in wheels]}\n")
        return None
    final = out / wheels[0].name
    os.replace(wheels[0], final) if wheels[0].stat().st_dev == out.stat().st_dev else shutil.move(wheels[0], final)
    return final


def platform_tag(wheel: Path) -> str:
    """The wheel's platform tag (its file name's last part)."""
    return wheel.name[:-4].split("-")[-1]


class Runner:
    """Runs one plan; its board shows the progress."""

    def __init__(self, plan: Plan, environ: Mapping[str, str], stream: TextIO, live: bool) -> None:
        self.plan = plan
        self.environ = environ
        self.logs = plan.out / "logs"
        self.board = Board([str(c.ident) for c in plan.cells], stream, live)
        c = plan.config
        self.spec = TestSpec(c.text("test-command"), c.items("test-requires"), c.items("test-extras"),
                             c.items("test-sources"), plan.project.resolve())
        self.failed = False

    def log_path(self, ident: Identifier | str) -> Path:
        return self.logs / f"{ident}.log"

    def _build_one(self, cell: Cell, sdist: Path, work: Path, tests: ThreadPoolExecutor) -> Future[None] | None:
        name = str(cell.ident)
        self.board.update(name, "building")
        start = time.monotonic()
        with open(self.log_path(name), "w") as log:
            try:
                wheel = build_wheel(cell, sdist, work, self.plan.out, self.environ, log)
            except OSError as e:  # a frontend that cannot start, a full disk: this wheel fails, not the run
                log.write(f"{e}\n")
                wheel = None
        seconds = time.monotonic() - start
        if wheel is None:
            self.failed = True
            self.board.update(name, "failed", build_seconds=seconds, detail=f"build failed, see {self.log_path(name)}")
            return None
        self.board.update(name, "built", build_seconds=seconds, tag=platform_tag(wheel), size=wheel.stat().st_size)
        if cell.test is None:
            self.board.update(name, "ok", test=cell.test_note)
            return None
        self.board.update(name, "queued for test")
        return tests.submit(self._test_one, cell, wheel)

    def _test_one(self, cell: Cell, wheel: Path) -> None:
        name = str(cell.ident)
        assert cell.test is not None and cell.interpreter is not None
        self.board.update(name, "testing")
        with open(self.log_path(name), "a") as log:
            try:
                outcome = run_test(wheel, cell.ident, cell.test, cell.interpreter, self.spec, self.environ, log)
            except OSError as e:
                log.write(f"{e}\n")
                outcome = Outcome("failed", f"the test could not start: {e}", 0.0)
        if outcome.state == "failed":
            self.failed = True
            self.board.update(name, "failed", test="failed", test_seconds=outcome.seconds,
                              detail=f"{outcome.detail}, see {self.log_path(name)}")
        elif outcome.state == "not run":
            self.board.update(name, "ok", test=f"not run: {outcome.detail}")
        else:
            self.board.update(name, "ok", test="ok", test_seconds=outcome.seconds)

    def run(self) -> int:
        """Build and test everything; the exit status (1 when a build or a test failed)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for cell in self.plan.cells:
            if cell.interpreter is None:
                self.board.rows[str(cell.ident)].state = "not built"
                self.board.rows[str(cell.ident)].detail = cell.reason.removeprefix("not built: ")
        work = Path(tempfile.mkdtemp(prefix="manywheel-wheels-"))
        try:
            return self._run_in(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _run_in(self, work: Path) -> int:
        python = self.plan.sdist_python
        buildable = [c for c in self.plan.cells if c.interpreter is not None]
        if python is None or not buildable:
            return EXIT_OK if not buildable else EXIT_FAILED
        with open(self.logs / "sdist.log", "w") as log:
            sdist = build_sdist(self.plan, python, work, self.environ, log)
        if sdist is None:
            for cell in buildable:
                self.board.rows[str(cell.ident)].state = "failed"
                self.board.rows[str(cell.ident)].detail = f"the sdist failed, see {self.logs / 'sdist.log'}"
            return EXIT_FAILED
        with self.board, ThreadPoolExecutor(self.plan.jobs) as tests, ThreadPoolExecutor(self.plan.jobs) as builds:
            started = [builds.submit(self._build_one, c, sdist, work, tests) for c in buildable]
            pending = [f.result() for f in started]
            for test in pending:
                if test is not None:
                    test.result()
        return EXIT_FAILED if self.failed else EXIT_OK


def run_plan(plan: Plan, environ: Mapping[str, str], stream: TextIO = sys.stdout) -> int:
    """Run the plan, print the summary; the exit status."""
    start = time.monotonic()
    runner = Runner(plan, environ, stream, live=stream.isatty())
    code = runner.run()
    rows = [runner.board.rows[str(c.ident)] for c in plan.cells]
    stream.write("\n" + summary_table(rows) + "\n")
    built = sum(1 for r in rows if r.tag)
    stream.write(f"{built} of {len(rows)} wheels built in {plan.out}; wall time {time.monotonic() - start:.1f}s; "
                 f"logs in {runner.logs}\n")
    return code
