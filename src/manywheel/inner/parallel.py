"""Parallel compilation inside setuptools' build_ext.

setuptools compiles the sources of an extension one after another, and its extensions one
after another.  While :func:`parallel_compile` is active:

- ``CCompiler.compile`` runs the sources that need compiling in a thread pool (at most
  ``jobs`` compiler processes at once for the whole build), returns every object in its
  usual order, and raises the first ``CompileError`` once the compiles already running
  have ended; sources not started yet are not started.
- ``build_ext.build_extensions`` builds separate extensions at the same time, unless the
  project chose ``--parallel`` itself or one extension links to another.  Only their
  compiles overlap: the rest of each extension's build (cythonize, a project's own
  ``build_extension`` code, the link) runs under one lock, one extension at a time; its
  compiles use a copy of the compiler object taken when they were scheduled; and an
  extension whose own code changed the shared compiler object keeps the lock until it is
  built, so the next one never sees that change.
- a compiler command run from a pool thread has its output captured and printed with its
  command line as one block when it ends, so outputs never interleave.

``jobs = 1`` leaves setuptools exactly as it is.  Every patched method is restored on exit.
"""
from __future__ import annotations

import collections
import contextlib
import copy
import functools
import importlib
import inspect
import os
import signal
import subprocess
import sys
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

# The modules whose classes setuptools' build uses: "distutils.*" is setuptools' own copy
# once setuptools is imported (a separate module object from setuptools._distutils.*), or
# the standard library's on Python <= 3.11 with SETUPTOOLS_USE_DISTUTILS=stdlib.
_COMPILER_MODULES = ("distutils.ccompiler", "setuptools._distutils.ccompiler")
_BUILD_EXT_MODULES = ("distutils.command.build_ext", "setuptools._distutils.command.build_ext")
_COMPILE_PARAMS = ("self", "sources", "output_dir", "macros", "include_dirs", "debug",
                   "extra_preargs", "extra_postargs", "depends")


class _Slots:
    """A semaphore that serves its waiters first come, first served: a compile queued by one
    extension is not overtaken again and again by the next sources of another."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._free = count
        self._waiting: collections.deque[threading.Event] = collections.deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the slot passes straight to the first in line
            else:
                self._free += 1


@dataclass
class _State:
    jobs: int
    log: Callable[[str], None]
    slots: _Slots
    turn: threading.Lock = field(default_factory=threading.Lock)  # held by the extension whose Python code runs
    output: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)  # a compile failed: start no more compiles
    stopped: threading.Event = field(default_factory=threading.Event)  # interrupted: start no more processes
    running: set[subprocess.Popen[bytes]] = field(default_factory=set)
    local: threading.local = field(default_factory=threading.local)


_state: _State | None = None
_active_lock = threading.Lock()


class _NotStarted(Exception):
    """A source was not compiled because another compile failed first."""


@contextlib.contextmanager
def parallel_compile(jobs: int, log: Callable[[str], None]) -> Iterator[None]:
    """While active, setuptools compiles up to ``jobs`` sources at once, within and across extensions."""
    global _state
    if jobs < 2:
        yield
        return
    with _active_lock:
        if _state is not None:  # nested (a build inside a build): the outer one already patched
            yield
            return
        _state = _State(jobs, log, _Slots(jobs))
    patches = _install_patches()
    try:
        yield
    finally:
        _remove_patches(patches)
        _state = None


# -- patching ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Patch:
    owner: type
    name: str
    original: Any
    replacement: Any


def _install_patches() -> list[_Patch]:
    patches: list[_Patch] = []
    for cls in _classes(_COMPILER_MODULES, "CCompiler"):
        for name, factory in (("compile", _make_compile), ("spawn", _make_runner), ("call", _make_runner)):
            original = cls.__dict__.get(name)
            if callable(original):
                patches.append(_Patch(cls, name, original, factory(original, name)))
    for cls in _classes(_BUILD_EXT_MODULES, "build_ext"):
        original = cls.__dict__.get("build_extensions")
        if callable(original):
            patches.append(_Patch(cls, "build_extensions", original, _make_build_extensions(original)))
    for patch in patches:
        setattr(patch.owner, patch.name, patch.replacement)
    return patches


def _remove_patches(patches: list[_Patch]) -> None:
    for patch in reversed(patches):
        # A project may have replaced the method again (pybind11's ParallelCompile does): keep theirs.
        if patch.owner.__dict__.get(patch.name) is patch.replacement:
            setattr(patch.owner, patch.name, patch.original)


def _classes(module_names: tuple[str, ...], attr: str) -> list[type]:
    """The distinct classes named ``attr`` in ``module_names`` (setuptools' copy only when already loaded)."""
    with contextlib.suppress(ImportError):
        importlib.import_module("setuptools")  # makes "distutils" the copy the inner build will use
    found: list[type] = []
    for name in module_names:
        module = sys.modules.get(name)
        if module is None and not name.startswith("setuptools."):
            # Never import setuptools._distutils.* by that name: the copy would shadow parts of
            # "distutils" (``import distutils.command.sdist`` then fails). Patch it only if loaded.
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # the stdlib's distutils on 3.10/3.11
                    module = importlib.import_module(name)
            except ImportError:
                continue
        cls = getattr(module, attr, None)
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return found


# -- CCompiler.compile ---------------------------------------------------------------------

def _make_compile(original: Any, name: str) -> Any:
    signature = inspect.signature(original)
    known = tuple(signature.parameters) == _COMPILE_PARAMS  # else a distutils this code does not know

    @functools.wraps(original)
    def compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _state
        try:
            bound = signature.bind(self, *args, **kwargs) if known else None
        except TypeError:
            bound = None
        if state is None or bound is None:
            return original(self, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        # The same steps as CCompiler.compile: which objects, which need compiling, which flags.
        _macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
            a["output_dir"], a["macros"], a["include_dirs"], a["sources"], a["depends"], a["extra_postargs"])
        cc_args = self._get_cc_args(pp_opts, a["debug"], a["extra_preargs"])
        todo = [(obj, *build[obj]) for obj in objects if obj in build]
        if todo:
            _compile_all(state, self, todo, cc_args, extra_postargs, pp_opts)
        return objects

    return compile


def _compile_all(state: _State, compiler: Any, todo: list[tuple[str, str, str]], cc_args: list[str],
                 extra_postargs: list[str], pp_opts: list[str]) -> None:
    """Compile every (object, source, extension) of ``todo``; raise the first failure."""
    holds_turn = getattr(state.local, "holds_turn", False)
    if len(todo) == 1 and not holds_turn:  # nothing to overlap: run here, output straight through
        with state.slots:
            compiler._compile(*todo[0], cc_args, extra_postargs, pp_opts)
        return
    # Let another extension's build go on while these compile, unless this extension's own code
    # changed the shared compiler object (flags set around super().build_extension(), say):
    # the next extension would then see the change, so it waits until this one is done.
    release = holds_turn and _fingerprint(compiler) == getattr(state.local, "fingerprint", None)
    if release:  # other extensions may change the compiler object while this one waits
        compiler = _snapshot(compiler)
    failed = threading.Event()
    # A failure in a required extension built beside others stops their compiles at once,
    # before this job's slot goes to the next one.
    fatal = holds_turn and not getattr(state.local, "optional", True)

    def job(obj: str, src: str, ext: str) -> bool:
        with state.slots:
            if failed.is_set() or state.abort.is_set():
                return False
            state.local.capture = True
            try:
                compiler._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
            except BaseException:
                failed.set()
                if fatal:
                    state.abort.set()
                raise
            finally:
                state.local.capture = False
            return True

    if release:
        state.turn.release()
    try:
        errors, not_started = _wait_all(state, [(item[1], (job, item)) for item in todo])
    finally:
        if release:
            state.turn.acquire()
    if errors:
        source, first = errors[0]
        others = f"; {len(not_started)} other source{'s' if len(not_started) != 1 else ''} not started" if not_started else ""
        state.log(f"compiling {source} failed (its output is above){others}")
        raise first
    if not_started:
        raise _NotStarted(f"{len(not_started)} source(s) not compiled after another extension failed")


def _wait_all(state: _State, work: list[tuple[str, tuple[Callable[..., bool], tuple[str, ...]]]]
              ) -> tuple[list[tuple[str, BaseException]], list[str]]:
    """Run each (label, (function, args)) in a pool; return (label, error) in the order they failed and
    the labels not started.  An interruption of the waiting thread stops everything and propagates."""
    errors: list[tuple[str, BaseException]] = []
    not_started: list[str] = []
    with ThreadPoolExecutor(max_workers=min(state.jobs, len(work)), thread_name_prefix="manywheel-cc") as pool:
        futures: dict[Future[bool], str] = {pool.submit(fn, *args): label for label, (fn, args) in work}
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:
                    errors.append((futures[future], error))
                elif not future.result():
                    not_started.append(futures[future])
        except BaseException:  # SIGTERM/SIGINT in the waiting thread: stop the compilers, then unwind
            _stop_everything(state, futures)
            raise
    return errors, not_started


def _stop_everything(state: _State, futures: dict[Future[bool], str]) -> None:
    state.abort.set()
    state.stopped.set()
    for future in futures:
        future.cancel()
    with state.output:
        running = list(state.running)
    for proc in running:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)  # the wrapper, the compiler driver and cc1 alike


def _fingerprint(compiler: Any) -> tuple[int, str]:
    """Which compiler object, and its state (executables, flags, directories)."""
    return id(compiler), repr(sorted(vars(compiler).items(), key=lambda item: item[0]))


def _snapshot(compiler: Any) -> Any:
    """A copy of the compiler whose lists and dicts (compiler_so, ...) are its own."""
    clone = copy.copy(compiler)
    for key, value in vars(compiler).items():
        if isinstance(value, (list, dict)):
            setattr(clone, key, copy.copy(value))
    return clone


# -- CCompiler.spawn / CCompiler.call: output as one block ----------------------------------

def _make_runner(original: Any, name: str) -> Any:
    """``spawn`` (raises DistutilsExecError) or ``call`` (newer setuptools; raises CalledProcessError)."""
    logger = original.__globals__.get("log")

    @functools.wraps(original)
    def runner(self: Any, cmd: Any, **kwargs: Any) -> Any:
        state = _state
        extra = set(kwargs) - {"env", "search_path", "verbose", "dry_run"}
        if state is None or extra or not getattr(state.local, "capture", False):
            return original(self, cmd, **kwargs)
        cmd = [os.fsdecode(c) for c in cmd]
        if kwargs.get("dry_run", getattr(self, "dry_run", False)):
            _print_block(state, logger, cmd, b"")
            return None
        try:
            code, output = _run_captured(state, cmd, kwargs.get("env"))
        except OSError as e:
            _print_block(state, logger, cmd, f"{e}\n".encode())
            if name == "spawn":
                raise _errors_module(self).DistutilsExecError(f"command {cmd[0]!r} failed: {e.args[-1]}") from e
            raise
        _print_block(state, logger, cmd, output)
        if code != 0:
            if name == "spawn":
                raise _errors_module(self).DistutilsExecError(f"command {cmd[0]!r} failed with exit code {code}")
            raise subprocess.CalledProcessError(code, cmd)
        return None

    return runner


def _run_captured(state: _State, cmd: list[str], env: Any) -> tuple[int, bytes]:
    with state.output:
        if state.stopped.is_set():  # interrupted: start nothing new
            return 1, b"not started: the build was interrupted\n"
        # In a process group of its own, so that an interruption stops the whole compiler
        # (wrapper, driver, cc1), not only the process this thread started.
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        state.running.add(proc)
    try:
        output, _ = proc.communicate()
    finally:
        with state.output:
            state.running.discard(proc)
    return proc.returncode, output


def _print_block(state: _State, logger: Any, cmd: list[str], output: bytes) -> None:
    with state.output:
        if logger is not None and hasattr(logger, "info"):
            logger.info(subprocess.list2cmdline(cmd))
        sys.stdout.flush()
        if output:
            sys.stderr.write(output.decode("utf-8", "replace"))
        sys.stderr.flush()


def _errors_module(compiler: Any) -> Any:
    """The ``errors`` module of the distutils the compiler class comes from."""
    module = type(compiler).__module__
    package = "setuptools._distutils" if module.startswith("setuptools._distutils.") else "distutils"
    return importlib.import_module(package + ".errors")


# -- build_ext.build_extensions: extensions at the same time --------------------------------

def _make_build_extensions(original: Any) -> Any:
    @functools.wraps(original)
    def build_extensions(self: Any) -> Any:
        state = _state
        extensions = list(getattr(self, "extensions", None) or [])
        if state is None or getattr(self, "parallel", None) or len(extensions) < 2 or _links_between(extensions):
            return original(self)
        self.check_extensions_list(extensions)
        _build_concurrently(state, self, extensions)
        return None

    return build_extensions


def _links_between(extensions: list[Any]) -> bool:
    """True when an extension links to another one (setuptools' Library): their order matters."""
    library = getattr(sys.modules.get("setuptools.extension"), "Library", None)
    return any((isinstance(library, type) and isinstance(ext, library)) or getattr(ext, "_links_to_dynamic", False)
               for ext in extensions)


def _build_concurrently(state: _State, command: Any, extensions: list[Any]) -> None:
    """build_extension for each extension in a thread; raise the first failure of a required one."""
    state.abort.clear()

    def build(ext: Any) -> bool:
        with state.turn:
            state.local.holds_turn = state.local.capture = True
            state.local.fingerprint = _fingerprint(command.compiler)
            state.local.optional = bool(getattr(ext, "optional", False))
            try:
                with command._filter_build_errors(ext):  # an optional extension's failure is a warning
                    command.build_extension(ext)
            except _NotStarted:
                return True
            except BaseException:
                state.abort.set()
                raise
            finally:
                state.local.holds_turn = state.local.capture = False
        return True

    errors, _ = _wait_all(state, [(ext.name, (build, (ext,))) for ext in extensions])
    if errors:
        raise errors[0][1]
