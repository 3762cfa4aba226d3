"""Load the wrapped ("inner") PEP 517 backend, and tell it manywheel's parallelism."""
from __future__ import annotations

import importlib
import re
import shlex
import shutil
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping, Sequence

from ..errors import InnerBackendError, ManywheelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# ninja's job count as a meson-python compile argument: -j8, or -j followed by 8.
_NINJA_JOBS = re.compile(r"^-j(\d*)$")


def load_inner_backend(name: str, backend_path: Sequence[str], project: Path) -> Any:
    """Import ``module`` or ``module:object`` as PEP 517 says, in-tree paths first."""
    resolved = []
    root = project.resolve()
    for entry in backend_path:
        path = (project / entry).resolve()
        if path != root and root not in path.parents:
            raise InnerBackendError(
                f"inner-backend-path entry {entry!r} resolves to {path}, outside the project {root}",
                hint="in-tree backends must live inside the project directory (PEP 517 backend-path rule)")
        if not path.is_dir():
            raise InnerBackendError(f"inner-backend-path entry {entry!r}: no directory {path}",
                                    hint="fix [tool.manywheel] inner-backend-path")
        resolved.append(str(path))
    for path_str in reversed(resolved):
        if path_str not in sys.path:
            sys.path.insert(0, path_str)
    module_name, _, attr = name.partition(":")
    try:
        backend: Any = importlib.import_module(module_name)
    except ImportError as e:
        where = f" (searched first in {', '.join(resolved)})" if resolved else ""
        raise InnerBackendError(
            f"cannot import the inner backend {name!r}{where}: {e}",
            hint="install it by adding it to [build-system] requires, or set [tool.manywheel] inner-backend-path "
                 "for an in-tree backend; the default is setuptools.build_meta") from e
    except Exception as e:  # the backend's own module code failed: show its traceback tail
        tail = "".join(traceback.format_exception_only(type(e), e)).strip()
        raise InnerBackendError(f"importing the inner backend {name!r} raised {tail}",
                                hint="the error is in the inner backend's code, not in manywheel") from e
    for part in filter(None, attr.split(".")):
        try:
            backend = getattr(backend, part)
        except AttributeError as e:
            raise InnerBackendError(f"inner backend {name!r}: {module_name} has no attribute {part!r}") from e
    if not hasattr(backend, "build_wheel"):
        raise InnerBackendError(f"inner backend {name!r} has no build_wheel hook, so it is not a PEP 517 backend",
                                hint="name the module that defines build_wheel and build_sdist")
    if resolved:
        _check_in_tree(backend, module_name, resolved)
    return backend


def _check_in_tree(backend: Any, module_name: str, resolved: list[str]) -> None:
    module = backend if isinstance(backend, ModuleType) else sys.modules.get(module_name)
    origin = getattr(module, "__file__", None)
    if origin and not any(Path(origin).resolve().is_relative_to(Path(p)) for p in resolved):
        # PEP 517: a backend named with backend-path must be loaded from there.
        raise InnerBackendError(
            f"inner backend {module_name!r} was imported from {origin}, not from inner-backend-path {resolved}",
            hint="rename the in-tree module or remove the installed one")


def call_hook(backend: Any, hook: str, *args: Any, **kwargs: Any) -> Any:
    """Call a hook of the inner backend; a missing optional hook returns None.

    An exception the inner backend raises becomes an InnerBackendError that names the
    hook, the exception and where it was raised.  SystemExit (how setuptools reports a
    failed compile, after printing the command) and KeyboardInterrupt pass through.
    """
    func = getattr(backend, hook, None)
    if func is None:
        return None
    try:
        return func(*args, **kwargs)
    except ManywheelError:
        raise
    except Exception as e:
        name = getattr(backend, "__name__", type(backend).__name__)
        frames = traceback.extract_tb(e.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        what = "".join(traceback.format_exception_only(type(e), e)).strip()
        raise InnerBackendError(
            f"the inner backend {name} failed in {hook}: {what}{where}",
            hint="the error comes from the inner backend (or the project's setup code), not from manywheel; "
                 "run the inner backend alone to see its full traceback") from e


@dataclass(frozen=True)
class InnerOptions:
    """What the inner backend's hook gets from manywheel's settings, besides the toolchain."""

    env: dict[str, str]  # variables to set while the hook runs
    config_settings: dict[str, Any] | None  # what to pass to the hook
    note: str  # for the build log; "" when nothing was added


def _backend_package(backend: str) -> str:
    """The top-level package of a backend's name: ``mesonpy`` of ``mesonpy``, ``scikit_build_core``
    of ``scikit_build_core.build``."""
    return backend.partition(":")[0].split(".")[0]


def runs_own_build_tool(backend: str) -> bool:
    """Whether the inner backend compiles with a build tool of its own (scikit-build-core: CMake;
    meson-python: meson and ninja), never with setuptools' build_ext: then manywheel's parallel
    compile inside setuptools (``inner.parallel``) has nothing to do, and setuptools is not imported."""
    return _backend_package(backend) in ("scikit_build_core", "mesonpy")


def inner_options(backend: str, jobs: int, config_settings: Mapping[str, Any] | None,
                  environ: Mapping[str, str], project: Path, *, cross_file: Path | None = None) -> InnerOptions:
    """Pass ``jobs`` (parallel compiles, already resolved: never 0) to a backend that runs its own build tool.

    scikit-build-core runs ``cmake --build``, which reads CMAKE_BUILD_PARALLEL_LEVEL; meson-python
    runs ninja with its ``compile-args``, so ``-j<jobs>`` is added to them. A user's own choice wins:
    CMAKE_BUILD_PARALLEL_LEVEL already set, or a ``-j`` in ``compile-args`` (config setting or
    ``[tool.meson-python.args] compile``). Any other backend (setuptools: manywheel's own parallel
    compile) and every other config setting pass through unchanged. ``cross_file``: when
    cross-building, meson's cross file, added to meson-python's ``setup-args``.
    """
    settings = dict(config_settings) if config_settings is not None else None
    top = _backend_package(backend)
    if top == "scikit_build_core":
        if environ.get("CMAKE_BUILD_PARALLEL_LEVEL"):
            return InnerOptions({}, settings, f"CMAKE_BUILD_PARALLEL_LEVEL={environ['CMAKE_BUILD_PARALLEL_LEVEL']} "
                                              "(set by you)")
        return InnerOptions({"CMAKE_BUILD_PARALLEL_LEVEL": str(jobs)}, settings, f"CMAKE_BUILD_PARALLEL_LEVEL={jobs}")
    if top == "mesonpy":
        note = ""
        if cross_file is not None:
            setup = _as_list((settings or {}).get("setup-args"))
            settings = dict(settings or {}, **{"setup-args": [*setup, f"--cross-file={cross_file}"]})
            note = f"setup-args --cross-file={cross_file}; "
        given = _as_list((settings or {}).get("compile-args"))
        if _has_ninja_jobs(given) or _has_ninja_jobs(_meson_python_compile_args(project)):
            return InnerOptions({}, settings, note + "ninja's -j from compile-args (set by you)")
        settings = dict(settings or {}, **{"compile-args": [*given, f"-j{jobs}"]})
        return InnerOptions({}, settings, note + f"compile-args -j{jobs}")
    return InnerOptions({}, settings, "")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _has_ninja_jobs(args: Sequence[str]) -> bool:
    words = [w for arg in args for w in shlex.split(arg)]
    return any(_NINJA_JOBS.match(w) for w in words)


def _meson_python_compile_args(project: Path) -> list[str]:
    try:
        with open(project / "pyproject.toml", "rb") as f:
            table = tomllib.load(f).get("tool", {}).get("meson-python", {}).get("args", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []  # settings.py has already reported an unreadable pyproject.toml
    return _as_list(table.get("compile")) if isinstance(table, dict) else []


def compiler_cache(backend: str, environ: Mapping[str, str]) -> str | None:
    """The compiler cache the inner backend's build system would put in front of a compiler it
    finds itself, else None: meson (meson-python) takes sccache, else ccache, from PATH for a
    native build whose CC or CXX is unset.  manywheel sets CC and CXX to its wrappers, which
    hides the compiler from meson's search, so the wrappers run the cache in front of the real
    compiler instead, as meson would have.  Meson checks the cache runs; so does ``--version`` here."""
    if _backend_package(backend) != "mesonpy":
        return None
    for name in ("sccache", "ccache"):
        path = shutil.which(name, path=environ.get("PATH"))
        if path is not None and _runs(path, environ):
            return path
    return None


def _runs(path: str, environ: Mapping[str, str]) -> bool:
    import subprocess

    try:
        return subprocess.run([path, "--version"], env=dict(environ), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
