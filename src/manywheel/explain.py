"""Say where a reference that breaks the target comes from, and what would accept it.

Used only when verification fails: the compiler wrapper logged every link (output and
input objects); this reads those objects and names the ones that reference each
offending symbol, with the source file the compiler recorded.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Mapping

from .elf import ObjectRefs, read_object_refs
from .errors import ElfError
from .policy import Policy
from .verify import Constraint


def read_link_log(path: Path) -> list[tuple[str, list[str]]]:
    links = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
            links.append((str(entry["output"]), [str(p) for p in entry["inputs"]]))
        except (ValueError, KeyError, TypeError):
            continue
    return links


def find_origins(constraints: Iterable[Constraint], links: list[tuple[str, list[str]]],
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
        for output, inputs in links:
            if os.path.basename(output) != base:
                continue
            for obj in inputs:
                if obj not in cache:
                    try:
                        cache[obj] = read_object_refs(obj)
                    except ElfError:
                        cache[obj] = []
                for refs in cache[obj]:
                    if c.symbol in refs.undefined:
                        shown = _short(refs.path, aliases or {})
                        where = f"{refs.source} ({shown})" if refs.source else shown
                        origins.setdefault((c.file, c.symbol), []).append(where)
    return origins


def _short(path: str, aliases: Mapping[str, str]) -> str:
    for prefix, alias in aliases.items():
        if path.startswith(prefix.rstrip("/") + "/"):
            return alias + path[len(prefix.rstrip("/")):]
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def describe_missing(constraints: Iterable[Constraint], arch: str, target_glibc: tuple[int, int],
                     policies: Iterable[Policy]) -> dict[str, str]:
    """For symbols the pinned link left unversioned: when glibc got them and which target accepts them."""
    from .glibc.abi import GlibcVersion, load_abi

    abi = load_abi(arch)
    ordered = sorted((p for p in policies if p.family == "manylinux"), key=lambda p: p.libc_version)
    notes = {}
    for c in constraints:
        if c.kind != "unversioned" or not c.symbol:
            continue
        oldest = abi.oldest(c.symbol)
        target = f"GLIBC_{target_glibc[0]}.{target_glibc[1]}"
        if oldest is None:
            notes[c.symbol] = ("no glibc library defines it: an unversioned reference that fails to load on every "
                               "system (a missing library, or a typo)")
            continue
        first = GlibcVersion(*[int(x) for x in oldest.version.split("_", 1)[1].split(".")][:2])
        accepting = next((p.name for p in ordered if tuple(p.libc_version) >= tuple(first)[:2]), None)
        notes[c.symbol] = (f"no version <= {target} exists ({oldest.version} in {oldest.library} is the oldest) "
                           f"and no shim covers it; oldest target that accepts it: {accepting or 'none known'}")
    return notes
