"""The roots wheels are tested in: Debian roots of older glibc, one or more per architecture,
made by the project's tools (tools/oldroot.sh: the x86_64 bullseye root, with a CPython 3.11 built
inside; tools/crossroot.sh: one root per foreign architecture).  Under the roots directory
(``--roots``, ``[tool.manywheel.wheels] roots``, default ``~/.cache/manywheel``):

- ``bullseye-root/``: x86_64, glibc 2.31, ``/usr/bin/python3`` (3.9); entered with chroot (as root);
- ``cross-roots/<arch>/`` and ``cross-roots/<arch>-<suite>/`` (``tools/crossroot.sh --suite``): the
  marker names the suite, glibc and Python; run under ``qemu-<arch>-static -L ROOT`` (no root
  needed), or chrooted when of this host's architecture.

Any root may hold more Pythons, each named by a marker ``.manywheel-python<X.Y>-complete`` whose
``python=`` line is its path in the root: oldroot.sh's ``--python311`` (``python311``) and
tools/rootpython.sh's CPythons built for a root.  A root counts only once its marker says it is
complete (``format=1`` on the first line).
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..arches import BY_NAME, host_arch
from .identifiers import PythonVersion

MARKER = ".manywheel-complete"
PYTHON_MARKERS = ".manywheel-python*-complete"
MARKER_FORMAT = "format=1"
# The Python of each Debian suite, where a marker names none.
SUITE_PYTHON = {"bullseye": (3, 9), "bookworm": (3, 11), "trixie": (3, 13)}


@dataclass(frozen=True)
class Root:
    """One complete root: its architecture, glibc and Pythons (paths inside the root)."""

    arch: str
    path: Path
    suite: str
    glibc: tuple[int, int]
    pythons: Mapping[tuple[int, int], str]
    emulated: bool  # qemu-user with -L; else chroot

    def describe(self) -> str:
        return f"{self.suite} {self.arch} root (glibc {self.glibc[0]}.{self.glibc[1]}) at {self.path}"


def default_roots_dir(environ: Mapping[str, str]) -> Path:
    cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(cache) / "manywheel"


def _marker(path: Path) -> dict[str, str] | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    if not lines or lines[0] != MARKER_FORMAT:
        return None
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _version_of(python: str, suite: str) -> tuple[int, int] | None:
    match = re.search(r"python(\d+)\.(\d+)$", python)
    if match:
        return int(match.group(1)), int(match.group(2))
    return SUITE_PYTHON.get(suite)


def _more_pythons(path: Path) -> dict[tuple[int, int], str]:
    """The Pythons built for a root, each named by a complete ``.manywheel-python*-complete``."""
    found = {}
    for marker in sorted(path.glob(PYTHON_MARKERS)):
        python = (_marker(marker) or {}).get("python", "")
        version = _version_of(python, "") if python else None
        if version:
            found[version] = python
    return found


def _x86_64_root(base: Path) -> Root | None:
    path = base / "bullseye-root"
    if _marker(path / MARKER) is None:
        return None
    pythons = {(3, 9): "/usr/bin/python3", **_more_pythons(path)}
    return Root("x86_64", path, "bullseye", (2, 31), pythons, emulated=False)


def _cross_root(path: Path, arch: str) -> Root | None:
    fields = _marker(path / MARKER)
    if fields is None or "python" not in fields or fields.get("arch", arch) != arch:
        return None
    suite = fields.get("suite", "")
    major, _, minor = fields.get("glibc", "0.0").partition(".")
    version = _version_of(fields["python"], suite)
    pythons = {version: fields["python"]} if version else {}
    pythons.update(_more_pythons(path))
    return Root(arch, path, suite, (int(major or 0), int(minor or 0)), pythons, emulated=arch != host_arch())


def roots_of(base: Path, arch: str) -> list[Root]:
    """arch's complete roots under base, oldest glibc first."""
    found = [_x86_64_root(base)] if arch == "x86_64" == host_arch() else []
    cross = base / "cross-roots"
    found += [_cross_root(path, arch) for path in [cross / arch, *sorted(cross.glob(f"{arch}-*"))] if path.is_dir()]
    return sorted((r for r in found if r is not None), key=lambda r: r.glibc)


@dataclass(frozen=True)
class PlaceOfTest:
    """Where one wheel's test runs: a root and its Python, or why it cannot run (``reason``)."""

    root: Root | None
    python: str = ""  # inside the root
    emulator: str = ""  # the qemu-user program, for an emulated root
    reason: str = ""


def place_of_test(base: Path, arch: str, version: PythonVersion, *, euid: int, path_env: str) -> PlaceOfTest:
    """The oldest root of arch with a Python of version, and how to enter it; else why none."""
    roots = roots_of(base, arch)
    if not roots:
        tool = "tools/oldroot.sh --python311" if arch == "x86_64" else f"tools/crossroot.sh {arch}"
        where = base / ("bullseye-root" if arch == "x86_64" else f"cross-roots/{arch}")
        return PlaceOfTest(None, reason=f"no {arch} root at {where} (manywheel's {tool} makes it)")
    if version.free_threaded:
        return PlaceOfTest(None, reason=f"no free-threaded Python {version.dotted} in any {arch} root")
    wanted = (version.major, version.minor)
    usable = [r for r in roots if wanted in r.pythons]
    if not usable:
        have = "; ".join(f"{r.describe()} has {', '.join('%d.%d' % v for v in sorted(r.pythons))}" for r in roots)
        return PlaceOfTest(None, reason=f"no Python {version.dotted} in the {arch} roots ({have})")
    root = usable[0]
    if not root.emulated:
        if euid != 0:
            return PlaceOfTest(None, reason=f"entering the {root.describe()} needs chroot, so root")
        return PlaceOfTest(root, root.pythons[wanted])
    emulator = shutil.which(BY_NAME[arch].qemu, path=path_env)
    if emulator is None:
        return PlaceOfTest(None, reason=f"{BY_NAME[arch].qemu} is not installed (Debian: apt-get install qemu-user-static)")
    return PlaceOfTest(root, root.pythons[wanted], emulator)


def current_euid() -> int:
    return os.geteuid()
