"""Put the libraries the links bundled into the wheel, with what they need, and point the modules at them.

At link time (``manywheel._wrapper.extlibs``) a module that needs a bundled library got ``DT_NEEDED`` on
the library's unique name and a placeholder ``RUNPATH``.  Here, with the wheel's layout
known, each bundled library becomes ``<dist>.libs/<unique name>`` and each placeholder is
overwritten in place with ``$ORIGIN/<path to <dist>.libs>`` (NUL-padded: the string table
keeps its size, so nothing else in the file moves).

A bundled library's own dependencies outside the policy's allow-list are bundled too, recursively
(the closure): each under its unique name without ``DT_SONAME``, and the copies that need them get
``DT_NEEDED`` on those names and ``RUNPATH $ORIGIN`` (``elfedit.rename_needed``).  One copy per
library, however many modules of the wheel need it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .._wrapper.elfedit import PLACEHOLDER, ElfEditError, fill_runpath, has_runpath_placeholder, rename_needed
from .._wrapper.extlibs import LinkError, bundle_copy, link_name
from ..errors import WheelError
from .provided import runpath_entries
from .runpath import origin_path
from ..wheel import Member, WheelContents

if TYPE_CHECKING:
    from .._wrapper.linklog import LinkEntry
    from .provided import ProvidedLibrary


@dataclass(frozen=True)
class BundledLibrary:
    name: str  # the unique file name, e.g. libffi-1a2b3c4d.so.8
    path: Path  # the prepared copy (no DT_SONAME)
    source: str  # the host library it was copied from
    needed_by: str = ""  # for a library of the closure: the bundled library that needs it (its source)


@dataclass(frozen=True)
class ClosureRules:
    """Which dependencies of a bundled library stay as they are, and where the others are found."""

    allowed: frozenset[str]  # the policy's libraries, as NEEDED names them (libc.so.6, libz.so.1, ...)
    exclude: frozenset[str] = frozenset()  # link names left to the system ([tool.manywheel] exclude)
    provided: frozenset[str] = frozenset()  # NEEDED names another wheel provides
    search_dirs: tuple[str, ...] = ()  # where the linker (and the loader) look, after the library's own directory
    workdir: Path = Path(".")  # where the copies of the closure are prepared


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


def bundle_libraries(contents: WheelContents, bundled: dict[str, BundledLibrary],
                     provided: Sequence[ProvidedLibrary] = (), closure: ClosureRules | None = None
                     ) -> tuple[WheelContents, dict[str, BundledLibrary]]:
    """The wheel with placeholders filled in and the needed libraries added; the added paths
    (``<dist>.libs/<name>``) with what each is.

    A module's RUNPATH becomes ``<dist>.libs`` if it needs a bundled library, and the directory
    of each provided library it needs (``manywheel.repair.provided``), in that order.  With ``closure``,
    the bundled libraries' own dependencies outside the allow-list are added too."""
    if not bundled and not provided:
        return contents, {}
    libs = libs_dir(contents)
    members: list[Member] = []
    needed: set[str] = set()
    for m in contents.members:
        if has_runpath_placeholder(m.data):
            uses = [name for name in bundled if _names(m.data, name)]
            entries = [origin_path(m.name, libs)] if uses else []
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
    files = {name: _read(bundled[name]) for name in needed}
    chosen = {name: bundled[name] for name in needed}
    if closure is not None:
        files, chosen = with_closure(files, chosen, closure)
    added = {}
    for name in sorted(files):
        path = f"{libs}/{name}"
        members.append(Member(path, files[name], True, stamp))
        added[path] = chosen[name]
    return replace(contents, members=tuple(members)), added


def _read(library: BundledLibrary) -> bytes:
    try:
        return library.path.read_bytes()
    except OSError as e:
        raise WheelError(f"cannot read the bundled library {library.path}: {e.strerror}") from e


def with_closure(files: dict[str, bytes], chosen: dict[str, BundledLibrary], rules: ClosureRules
                 ) -> tuple[dict[str, bytes], dict[str, BundledLibrary]]:
    """``files`` (unique name -> the copy's bytes) with every library they need, recursively,
    that the rules do not leave to the system; the needing copies edited to name them."""
    from ..check.elf import read_elf_bytes
    from ..errors import ElfError

    files, chosen = dict(files), dict(chosen)
    by_source = {os.path.realpath(lib.source): name for name, lib in chosen.items()}
    pending = sorted(files)
    while pending:
        name = pending.pop(0)
        try:
            needed = read_elf_bytes(files[name], name).needed
        except ElfError as e:
            raise WheelError(f"cannot read the bundled library {chosen[name].source}: {e}") from e
        renames = {}
        for soname in needed:
            if _stays(soname, rules):
                continue
            source = _find(soname, chosen[name].source, rules)
            if source is None:
                raise WheelError(
                    f"the bundled library {chosen[name].source} needs {soname}, which is neither allowed by the "
                    f"policy nor found (looked in {', '.join(_dirs(chosen[name].source, rules))})",
                    hint=f"install the package that ships {soname}, or list it in [tool.manywheel] exclude if the "
                         "system provides it at run time")
            real = os.path.realpath(source)
            if real not in by_source:
                try:
                    copy = Path(bundle_copy(real, str(rules.workdir)))
                except LinkError as e:
                    raise WheelError(str(e)) from None
                by_source[real] = copy.name
                chosen[copy.name] = BundledLibrary(copy.name, copy, real, needed_by=chosen[name].source)
                files[copy.name] = copy.read_bytes()
                pending.append(copy.name)
            renames[soname] = by_source[real]
        if renames:
            try:
                files[name] = rename_needed(files[name], renames, "$ORIGIN")
            except ElfEditError as e:
                raise WheelError(f"cannot point the bundled copy of {chosen[name].source} at its bundled "
                                 f"dependencies: {e}") from None
    return files, chosen


def _stays(soname: str, rules: ClosureRules) -> bool:
    """Whether a dependency is left to the system: allowed, the loader, excluded or provided."""
    return (soname in rules.allowed or soname.startswith("ld-linux") or soname.startswith("ld64.so")
            or soname in rules.provided or link_name(soname) in rules.exclude or soname in rules.exclude)


def _dirs(source: str, rules: ClosureRules) -> list[str]:
    return list(dict.fromkeys([os.path.dirname(os.path.realpath(source)), os.path.dirname(source),
                               *rules.search_dirs]))


def _find(soname: str, source: str, rules: ClosureRules) -> str | None:
    for directory in _dirs(source, rules):
        path = os.path.join(directory, soname)
        if os.path.isfile(path):
            return path
    return None


def _names(data: bytes, soname: str) -> bool:
    """Whether a module's string table holds this library name (its DT_NEEDED, in practice)."""
    return soname.encode() + b"\0" in data
