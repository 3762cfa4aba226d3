"""The cells of the matrix, named as cibuildwheel names them (``cp311-manylinux_x86_64``,
``cp314t-manylinux_aarch64``), and how a selection of them is written: ``--python`` items,
``build``/``skip`` selectors, ``--shard K/N``."""
from __future__ import annotations

import fnmatch
import re
from typing import Iterable, NamedTuple

from ..arches import BUILDABLE

# The CPython versions manywheel knows; free-threaded builds exist from 3.13.
KNOWN_MINORS = tuple(range(8, 16))
FREE_THREADED_FROM = 13
# What an unset `python` selects: the released versions manywheel's own requires-python allows.
DEFAULT_MINORS = tuple(range(9, 15))
# The main manylinux architectures, in the order plans and summaries list them.
MAIN_ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x", "armv7l", "i686")
ARCH_ORDER = MAIN_ARCHES + tuple(a for a in BUILDABLE if a not in MAIN_ARCHES)
# cibuildwheel identifiers manywheel never builds: they make a selector known, not an error.
_OTHER_PLATFORMS = ("musllinux_{arch}", "macosx_x86_64", "macosx_arm64", "macosx_universal2", "win32",
                    "win_amd64", "win_arm64", "pyodide_wasm32", "ios_arm64_iphoneos",
                    "ios_arm64_iphonesimulator", "ios_x86_64_iphonesimulator", "android_arm64_v8a",
                    "android_x86_64")
_SELECTOR = re.compile(r"^[A-Za-z0-9_*?!\[\]-]+$")
_VERSION = re.compile(r"^3\.(\d+)(t?)$")
_TAG = re.compile(r"^cp3(\d+)(t?)$")


class PythonVersion(NamedTuple):
    """A CPython version a wheel is built for: 3.11, or 3.14 free-threaded (``3.14t``)."""

    major: int
    minor: int
    free_threaded: bool = False

    @property
    def tag(self) -> str:
        """cibuildwheel's and the wheel's Python tag: ``cp311``, ``cp314t``."""
        return f"cp{self.major}{self.minor}{'t' if self.free_threaded else ''}"

    @property
    def dotted(self) -> str:
        return f"{self.major}.{self.minor}{'t' if self.free_threaded else ''}"


class Identifier(NamedTuple):
    """One cell: a Python version for an architecture."""

    python: PythonVersion
    arch: str

    def __str__(self) -> str:
        return f"{self.python.tag}-manylinux_{self.arch}"

    def sort_key(self) -> tuple[int, int, bool]:
        return ARCH_ORDER.index(self.arch), self.python.minor, self.python.free_threaded


def known_versions() -> tuple[PythonVersion, ...]:
    """Every CPython version manywheel builds for, free-threaded ones included."""
    gil = [PythonVersion(3, m) for m in KNOWN_MINORS]
    return tuple(gil + [PythonVersion(3, m, True) for m in KNOWN_MINORS if m >= FREE_THREADED_FROM])


def universe() -> list[Identifier]:
    """Every identifier manywheel could ever build."""
    return [Identifier(v, a) for a in ARCH_ORDER for v in known_versions()]


def _foreign_identifiers() -> list[str]:
    """cibuildwheel's other identifiers (PyPy, musllinux, macOS, Windows, ...), for telling a
    selector of those from a misspelled one."""
    tags = [f"cp3{m}" for m in range(6, 16)] + [f"cp3{m}t" for m in range(13, 16)] + \
        [f"pp3{m}" for m in range(7, 12)] + ["gp311_242", "gp312_250"]
    platforms = [p.format(arch=a) for p in _OTHER_PLATFORMS for a in ARCH_ORDER] + \
        [f"manylinux_{a}" for a in ARCH_ORDER]
    names = {f"{t}-{p}" for t in tags for p in platforms}
    return sorted(names - {str(i) for i in universe()})


def parse_version(text: str) -> PythonVersion:
    """``3.11``, ``3.14t``, ``cp311`` or ``cp314t``; ValueError naming the value otherwise."""
    match = _VERSION.match(text) or _TAG.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Python version (like 3.11, 3.14t or cp311)")
    version = PythonVersion(3, int(match.group(1)), bool(match.group(2)))
    if version not in known_versions():
        ft = f"; free-threaded builds exist from 3.{FREE_THREADED_FROM}" if version.free_threaded else ""
        raise ValueError(f"unknown Python version {text!r}: manywheel builds for CPython "
                         f"3.{KNOWN_MINORS[0]} to 3.{KNOWN_MINORS[-1]}{ft}")
    return version


def _version_range(first: str, last: str) -> list[PythonVersion]:
    low, high = parse_version(first), parse_version(last)
    if low.free_threaded != high.free_threaded:
        raise ValueError(f"{first}-{last} mixes free-threaded and GIL versions; write them as two items")
    if low.minor > high.minor:
        raise ValueError(f"{first}-{last} is an empty range (the first version is the newer)")
    found = [v for v in known_versions() if low.minor <= v.minor <= high.minor and v.free_threaded == low.free_threaded]
    return found


class PythonSelection(NamedTuple):
    """What ``--python`` (or ``python``) selects: versions, and identifier patterns."""

    versions: frozenset[PythonVersion]
    patterns: tuple[str, ...]

    def selects(self, ident: Identifier) -> bool:
        return ident.python in self.versions or any(fnmatch.fnmatchcase(str(ident), p) for p in self.patterns)

    def named_arches(self) -> list[str]:
        """The architectures its patterns name outright (``cp311-manylinux_aarch64``)."""
        return [a for a in ARCH_ORDER for p in self.patterns if p.endswith(f"-manylinux_{a}")]


def parse_python(items: Iterable[str]) -> PythonSelection:
    """``3.9-3.13``, ``3.14t``, ``cp39-*``, ``cp311-manylinux_aarch64`` (each a list entry or comma
    separated); ValueError naming the first bad item."""
    versions: set[PythonVersion] = set()
    patterns: list[str] = []
    for item in (part.strip() for entry in items for part in entry.replace(" ", ",").split(",")):
        if not item:
            continue
        if "-" in item and item.startswith("3."):
            first, _, last = item.partition("-")
            versions.update(_version_range(first, last))
        elif _VERSION.match(item) or _TAG.match(item):
            versions.add(parse_version(item))
        elif item.startswith(("cp", "*")) and "-" in item:
            check_selector(item, "--python", buildable_only=True)
            patterns.append(item)
        else:
            raise ValueError(f"{item!r} is neither a Python version (3.11, 3.14t, 3.9-3.13) nor an identifier "
                             "pattern (cp311-*, cp311-manylinux_aarch64)")
    return PythonSelection(frozenset(versions), tuple(patterns))


def check_selector(pattern: str, where: str, *, buildable_only: bool = False) -> bool:
    """Whether pattern selects something manywheel builds; ValueError when it is malformed or
    matches no identifier at all (nor, unless buildable_only, any of cibuildwheel's others)."""
    if not _SELECTOR.match(pattern):
        raise ValueError(f"{where}: {pattern!r} is not a selector (an identifier like cp311-manylinux_x86_64, "
                         "with * ? [...] wildcards)")
    if any(fnmatch.fnmatchcase(str(i), pattern) for i in universe()):
        return True
    if not buildable_only and any(fnmatch.fnmatchcase(i, pattern) for i in _foreign_identifiers()):
        return False
    raise ValueError(f"{where}: {pattern!r} matches no identifier manywheel could build "
                     f"(like cp311-manylinux_x86_64 or cp314t-manylinux_aarch64)")


def matches_any(ident: Identifier, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(str(ident), p) for p in patterns)


class Shard(NamedTuple):
    """Part ``part`` (1-based) of ``parts``: every parts-th cell of the sorted selection, from the
    part-th on.  The same selection always splits the same way, and the parts together hold every
    cell once."""

    part: int
    parts: int

    def take(self, cells: list[Identifier]) -> list[Identifier]:
        ordered = sorted(cells, key=Identifier.sort_key)
        return ordered[self.part - 1::self.parts]


def parse_shard(text: str) -> Shard:
    match = re.match(r"^(\d+)/(\d+)$", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not K/N (like 1/4: the first of four parts)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"{text!r}: K must be 1 to N (N >= 1), as in 1/{max(count, 2)} to {max(count, 2)}/{max(count, 2)}")
    return Shard(index, count)
