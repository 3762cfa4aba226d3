"""Running a plan: one sdist, then every wheel built from it (up to ``jobs`` at once), each
wheel's test starting as soon as its build ends (tests overlap the builds still running), a
status line per wheel, and the summary.

Each Python's wheels, of every architecture, are built in one build environment of that Python
(`BuildEnvironments`): a virtual environment made on its first wheel, holding pypa/build and the
project's ``build-system.requires``, into which what a wheel's ``get_requires_for_build_wheel``
adds is installed when missing; each build is then pypa/build's ``ProjectBuilder`` in it, without
isolation.  Making an isolated environment per wheel (``python -m build``; ``--isolated``) costs
about 2 s a wheel, most of a small project's build.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, TextIO

from ..arches import host_arch
from ..settings import build_system_requires, read_pyproject
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


def build_sdist(plan: Plan, python: Interpreter, work: Path, environ: Mapping[str, str], log: TextIO,
                envs: BuildEnvironments | None = None) -> Path | None:
    """The project's sdist, built once: in the interpreter's shared build environment when there is
    one and it holds what the sdist needs, else with ``python -m build --sdist``; None when that fails."""
    out = work / "sdist"
    project = str(plan.project.resolve())
    cwd = _empty_dir(work, "sdist-cwd")
    shared = envs.python(python, plan.project.resolve(), log) if envs is not None else None
    if shared is None or build_in_env(envs, python, shared, "sdist", Path(project), out, work / "sdist.missing.json",
                                      log, dict(environ), cwd) != 0:
        if shared is not None:
            log.write("building the sdist in the shared build environment failed: again, isolated\n")
        if run_logged([python.path, "-m", "build", "--sdist", "--outdir", str(out), project], log, env=dict(environ),
                      cwd=cwd) != 0:
            return None
    found = sorted(out.glob("*.tar.gz"))
    return found[0] if len(found) == 1 else None


def build_in_env(envs: BuildEnvironments | None, interpreter: Interpreter, python: Path, distribution: str,
                 source: Path, outdir: Path, missing_file: Path, log: TextIO, env: Mapping[str, str],
                 cwd: Path) -> int:
    """pypa/build's ``distribution`` ("wheel" or "sdist") of ``source`` in a shared build environment,
    without isolation; what the build backend's get_requires adds that the environment lacks is
    installed first (under the environment's lock). The exit status."""
    missing_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-c", _BUILD_IN_ENV, str(source), str(outdir), str(missing_file), distribution]
    code = run_logged(argv, log, env=env, cwd=cwd)
    if code == _MISSING:
        missing = json.loads(missing_file.read_text())
        log.write(f"the build environment lacks {', '.join(missing)}: installing\n")
        if envs is None or not envs.install(interpreter, python, missing, log):
            return 1
        code = run_logged(argv, log, env=env, cwd=cwd)
    return code


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


# Run by a build environment's Python: the wheel's build requirements that the environment lacks
# (written to argv[3], exit 75), else the wheel, built without isolation.
_BUILD_IN_ENV = """
import json, sys
import build
source, outdir, missing_file, distribution = sys.argv[1:5]
builder = build.ProjectBuilder(source)
missing = sorted({chain[0] for chain in builder.check_dependencies(distribution)})
if missing:
    with open(missing_file, "w") as f:
        json.dump(missing, f)
    sys.exit(75)
print("built", builder.build(distribution, outdir))
"""
_MISSING = 75


class BuildEnvironments:
    """One build environment per interpreter, made on its first wheel and shared by the wheels of
    every architecture of that Python; installs into one are serialized."""

    def __init__(self, work: Path, environ: Mapping[str, str]) -> None:
        self.work = work
        self.environ = {k: v for k, v in environ.items() if k != "MANYWHEEL_ARCH"}
        self._locks: dict[str, threading.Lock] = {}
        self._made: dict[str, Path | None] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def python(self, interpreter: Interpreter, source: Path, log: TextIO) -> Path | None:
        """The environment's Python, made now if it is the first wheel of this interpreter (python3
        and python3.11 of one installation are one); None when making it failed (the log says why)."""
        key = os.path.realpath(interpreter.path)
        with self._lock(key):
            if key not in self._made:
                self._made[key] = self._make(interpreter, source, log, key)
            return self._made[key]

    def _make(self, interpreter: Interpreter, source: Path, log: TextIO, key: str) -> Path | None:
        env = self.work / "envs" / f"{Path(interpreter.path).name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        log.write(f"--- the build environment of {interpreter.path}: {env}\n")
        if run_logged([interpreter.path, "-m", "venv", "--without-pip", str(env)], log, env=self.environ,
                      cwd=self.work) != 0:
            return None
        python = env / "bin" / "python"
        if self._pip(interpreter, python, ["build", *_build_system_requires(source)], log) != 0:
            return None
        return python

    def install(self, interpreter: Interpreter, python: Path, requirements: list[str], log: TextIO) -> bool:
        with self._lock(os.path.realpath(interpreter.path)):
            return self._pip(interpreter, python, requirements, log) == 0

    def _pip(self, interpreter: Interpreter, python: Path, requirements: list[str], log: TextIO) -> int:
        # The interpreter's own pip installs into the environment (pip --python, pip >= 22.3).
        argv = [interpreter.path, "-m", "pip", "--python", str(python), "install", "--no-input",
                "--disable-pip-version-check", *requirements]
        return run_logged(argv, log, env=self.environ, cwd=self.work)


def _build_system_requires(source: Path) -> list[str]:
    """The sdist's ``build-system.requires`` (pypa/build's default when it has none)."""
    return build_system_requires(read_pyproject(source), default=("setuptools >= 40.8.0",))


def build_wheel(cell: Cell, sdist: Path, work: Path, out: Path, environ: Mapping[str, str],
                log: TextIO, envs: BuildEnvironments | None = None) -> Path | None:
    """One wheel from the sdist, moved into out; None when the build fails. With ``envs``, in the
    interpreter's shared build environment, else in an isolated one of its own (python -m build)."""
    assert cell.interpreter is not None
    name = str(cell.ident)
    source = _unpack(sdist, work / "src" / name)
    dist = work / "wheels" / name
    prefix = f"MANYWHEEL_ARCH={cell.ident.arch} " if cell.ident.arch != host_arch() else ""
    env, cwd = _build_env(environ, cell.ident.arch), _empty_dir(work, f"cwd/{name}")
    python = envs.python(cell.interpreter, source, log) if envs is not None else None
    if python is None:
        if envs is not None:
            log.write("making the shared build environment failed (above): this wheel is built in an isolated "
                      "one of its own\n")
        log.write(f"--- {name}: {prefix}python -m build --wheel\n")
        argv = [cell.interpreter.path, "-m", "build", "--wheel", "--outdir", str(dist), str(source)]
        if run_logged(argv, log, env=env, cwd=cwd) != 0:
            return None
    else:
        log.write(f"--- {name}: {prefix}pypa/build in {python.parent.parent}, without isolation\n")
        if build_in_env(envs, cell.interpreter, python, "wheel", source, dist, work / "wheels" / f"{name}.missing.json",
                        log, env, cwd) != 0:
            return None
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        log.write(f"expected one wheel in {dist}, found {[w.name for w in wheels]}\n")
        return None
    final = out / wheels[0].name
    shutil.move(wheels[0], final)
    return final


def platform_tag(wheel: Path) -> str:
    """The wheel's platform tag (its file name's last part)."""
    return wheel.name[:-4].split("-")[-1]


class Runner:
    """Runs one plan; its board shows the progress."""

    def __init__(self, plan: Plan, environ: Mapping[str, str], stream: TextIO, live: bool,
                 isolated: bool = False) -> None:
        self.plan = plan
        self.environ = environ
        self.isolated = isolated
        self.envs: BuildEnvironments | None = None
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
                wheel = build_wheel(cell, sdist, work, self.plan.out, self.environ, log, self.envs)
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
        self.envs = None if self.isolated else BuildEnvironments(work, self.environ)
        with open(self.logs / "sdist.log", "w") as log:
            sdist = build_sdist(self.plan, python, work, self.environ, log, self.envs)
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


def run_plan(plan: Plan, environ: Mapping[str, str], stream: TextIO = sys.stdout, *, isolated: bool = False) -> int:
    """Run the plan, print the summary; the exit status. ``isolated``: each wheel in an isolated
    environment of its own, as ``python -m build`` makes, rather than its Python's shared one."""
    start = time.monotonic()
    runner = Runner(plan, environ, stream, live=stream.isatty(), isolated=isolated)
    code = runner.run()
    rows = [runner.board.rows[str(c.ident)] for c in plan.cells]
    stream.write("\n" + summary_table(rows) + "\n")
    built = sum(1 for r in rows if r.tag)
    stream.write(f"{built} of {len(rows)} wheels built in {plan.out}; wall time {time.monotonic() - start:.1f}s; "
                 f"logs in {runner.logs}\n")
    return code
