"""Say where a reference that breaks the target comes from, and what would accept it.

Used only when verification fails: the compiler wrapper logged every link (output and
input objects, ``manywheel._wrapper.linklog``); this reads those objects and names the
ones that reference each offending symbol, with the source file the compiler recorded.
What glibc version a symbol needs and which policy accepts it, ``verify`` already put in
each constraint.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol

from .check.elf import ObjectRefs, read_object_refs
from .check.verify import Constraint
from .errors import ElfError

if TYPE_CHECKING:
    from ._wrapper.linklog import LinkEntry


class SymbolFact(Protocol):
    """A fact about a symbol of a file: a policy ``Constraint`` or a Python ABI ``AbiViolation``."""

    @property
    def file(self) -> str: ...

    @property
    def symbol(self) -> str | None: ...


def find_origins(constraints: Iterable[SymbolFact], links: list[LinkEntry],
                 aliases: Mapping[str, str] | None = None) -> dict[tuple[str, str], list[str]]:
    """(wheel file, symbol) -> ["rng.c (build/temp/rng.o)", ...] for each symbol constraint.

    ``aliases`` maps directory prefixes to the names to show for them (manywheel's
    temporary setuptools build directory is shown as ``build``)."""
    origins: dict[tuple[str, str], list[str]] = {}
    cache: dict[str, list[ObjectRefs]] = {}
    for c in constraints:
        if not c.symbol:
            continue
        base = os.path.basename(c.file)
        for link in links:
            if os.path.basename(link["output"]) != base:
                continue
            for obj in link["inputs"]:
                if obj not in cache:
                    try:
                        cache[obj] = read_object_refs(obj)
                    except ElfError:
                        cache[obj] = []
                for refs in cache[obj]:
                    if c.symbol in refs.undefined:
                        shown = _short(refs.path, aliases or {})
                        where = f"{refs.source} ({shown})" if refs.source else shown
                        found = origins.setdefault((c.file, c.symbol), [])
                        if where not in found:  # a symbol two rules reject, or an output linked twice
                            found.append(where)
    return origins


def _short(path: str, aliases: Mapping[str, str]) -> str:
    for prefix, alias in aliases.items():
        if path.startswith(prefix.rstrip("/") + "/"):
            return alias + path[len(prefix.rstrip("/")):]
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def describe_missing(constraints: Iterable[Constraint], target: str) -> dict[str, str]:
    """For symbols the pinned link left unversioned: when glibc got them and which target accepts
    them (``target``: the version node the baseline pinned to, e.g. ``GLIBC_2.17``)."""
    notes = {}
    for c in constraints:
        if c.kind != "unversioned" or not c.symbol:
            continue
        if c.library is None:
            notes[c.symbol] = ("no glibc library defines it: an unversioned reference that fails to load on every "
                               "system (a missing library, or a typo)")
        elif c.version is None:
            notes[c.symbol] = f"glibc defines it in {c.library}, which the file does not load: link that library"
        else:
            notes[c.symbol] = (f"no version <= {target} exists ({c.version} in {c.library} is the oldest) "
                               f"and no shim covers it; oldest target that accepts it: "
                               f"{c.oldest.name if c.oldest else 'none known'}")
    return notes
