"""Put the libraries the links bundled into the wheel, and point the modules at them.

At link time (``manywheel._wrapper.extlibs``) a module that needs a bundled library got ``DT_NEEDED`` on
the library's unique name and a placeholder ``RUNPATH``.  Here, with the wheel's layout
known, each bundled library becomes ``<dist>.libs/<unique name>`` and each placeholder is
overwritten in place with ``$ORIGIN/<path to <dist>.libs>`` (NUL-padded: the string table
keeps its size, so nothing else in the file moves).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ._wrapper.elfedit import PLACEHOLDER, fill_runpath, has_runpath_placeholder
from .errors import WheelError
from .provided import runpath_entries
from .wheel import Member, WheelContents

if TYPE_CHECKING:
    from ._wrapper.linklog import LinkEntry
    from .provided import ProvidedLibrary


@dataclass(frozen=True)
class BundledLibrary:
    name: str  # the unique file name, e.g. libffi-1a2b3c4d.so.8
    path: Path  # the prepared copy (no DT_SONAME)
    source: str  # the host library it was copied from


def bundled_in(links: Sequence[LinkEntry]) -> dict[str, BundledLibrary]:
    """Every library some link of this build bundled (``links``: the link log), by unique name."""
    found: dict[str, BundledLibrary] = {}
    for link in links:
        for entry in link["bundled"]:
            found[entry["name"]] = BundledLibrary(entry["name"], Path(entry["path"]), entry["source"])
    return found


def libs_dir(contents: WheelContents) -> str:
    """``<dist>.libs``, as auditwheel names it: the distribution name of the .dist-info directory."""
    return contents.dist_info.split("-", 1)[0] + ".libs"


def runpath_for(member: str, libs: str) -> str:
    """``$ORIGIN``-relative path from ``member``'s directory to ``libs`` (both wheel paths)."""
    directory = posixpath.dirname(member)
    rel = posixpath.relpath(libs, directory or ".")
    return "$ORIGIN/" + rel


def bundle_libraries(contents: WheelContents, bundled: dict[str, BundledLibrary],
                     provided: Sequence[ProvidedLibrary] = ()) -> tuple[WheelContents, list[str]]:
    """The wheel with placeholders filled in and the needed libraries added; the added paths.

    A module's RUNPATH becomes ``<dist>.libs`` if it needs a bundled library, and the directory
    of each provided library it needs (``manywheel.provided``), in that order."""
    if not bundled and not provided:
        return contents, []
    libs = libs_dir(contents)
    members: list[Member] = []
    needed: set[str] = set()
    for m in contents.members:
        if has_runpath_placeholder(m.data):
            uses = [name for name in bundled if _names(m.data, name)]
            entries = [runpath_for(m.name, libs)] if uses else []
            entries += runpath_entries(m.name, [p.soname for p in provided if _names(m.data, p.soname)], provided)
            value = ":".join(entries)
            try:
                m = replace(m, data=fill_runpath(m.data, value))
            except ValueError:
                raise WheelError(f"{m.name}: its RUNPATH ({value}) is longer than the "
                                 f"{len(PLACEHOLDER)} bytes reserved for it",
                                 hint="install the extension module less deep in the package tree") from None
            needed.update(uses)
        members.append(m)
    stamp = members[0].date_time if members else (1980, 1, 1, 0, 0, 0)
    added = []
    for name in sorted(needed):
        path = f"{libs}/{name}"
        try:
            data = bundled[name].path.read_bytes()
        except OSError as e:
            raise WheelError(f"cannot read the bundled library {bundled[name].path}: {e.strerror}") from e
        members.append(Member(path, data, True, stamp))
        added.append(path)
    return replace(contents, members=tuple(members)), added


def _names(data: bytes, soname: str) -> bool:
    """Whether a module's string table holds this library name (its DT_NEEDED, in practice)."""
    return soname.encode() + b"\0" in data
