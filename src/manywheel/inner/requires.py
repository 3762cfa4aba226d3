"""setuptools' answer to the get_requires hooks, when it is known without asking setuptools.

setuptools.build_meta answers ``get_requires_for_build_wheel`` (and ``_sdist``, ``_editable``) by
importing itself and running the project's setup.py with ``egg_info`` up to the point where
``setup()`` reads ``setup_requires``: about 0.3 s in an isolated environment, spent again by
``build_wheel``. Its answer is the project's ``setup_requires`` (from ``setup()``'s arguments or
setup.cfg), plus ``wheel`` before setuptools 70.1. So when setuptools is 70.1 or newer and no file
that could hold ``setup_requires`` mentions it, the answer is an empty list.

setuptools is not a dependency of manywheel (a CMake or meson project does not need it): a
project whose inner backend is setuptools' and whose ``requires`` does not list setuptools gets
it from this answer.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

# The oldest setuptools manywheel builds with (PEP 660 editable installs, pyproject.toml config).
SETUPTOOLS = "setuptools>=64"
_SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")
# Before 70.1, setuptools.build_meta asks for `wheel` in every get_requires_for_build_wheel answer.
_NO_WHEEL_FROM = (70, 1)


def known_requires(backend: str, backend_path: Sequence[str], project: Path) -> tuple[list[str], str] | None:
    """The inner backend's get_requires answer and why it is known, when setuptools need not be run for it;
    else None (then ask the backend)."""
    if backend not in _SETUPTOOLS_BACKENDS or backend_path:
        return None
    version = _version("setuptools")
    if version is None:
        return [SETUPTOOLS], missing_setuptools(backend)
    if version < _NO_WHEEL_FROM:
        return None
    if mentions_setup_requires(project) is not None:
        return None
    return [], "no setup_requires in setup.py, setup.cfg or the project's other top-level .py files"


def missing_setuptools(backend: str) -> str:
    return (f"the inner backend {backend} needs setuptools, which this build environment lacks; "
            "listing setuptools in [build-system] requires installs it with the rest, one step sooner")


def lacks_setuptools(error: BaseException | None) -> bool:
    """Whether ``error`` (what importing the inner backend raised) is setuptools missing."""
    return isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] == "setuptools"


def mentions_setup_requires(project: Path) -> Path | None:
    """The first file that could give setuptools ``setup_requires`` and mentions it: setup.cfg, or a
    .py file at the project's top (setup.py, and what it may import its arguments from)."""
    candidates = [project / "setup.cfg", *sorted(project.glob("*.py"))]
    for path in candidates:
        try:
            if b"setup_requires" in path.read_bytes():
                return path
        except OSError:
            continue
    return None


def _version(distribution: str) -> tuple[int, ...] | None:
    """The installed version of ``distribution`` as numbers (84, 2, 1), or None when it is not installed."""
    from importlib import metadata

    try:
        text = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    numbers = re.match(r"\d+(?:\.\d+)*", text or "")
    return tuple(int(n) for n in numbers.group(0).split(".")) if numbers else None
