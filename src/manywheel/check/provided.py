"""Libraries other wheels provide: which modules need them, and whether Requires-Dist brings them.

The judgement both ``manywheel check --provided-by`` and the build make (``manywheel.provided``
adds what only a build environment knows: where the provider installs the library).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..policy import provided_key
from .elf import ElfFacts
from .sboms import Sbom


@dataclass(frozen=True)
class ProvidedNeed:
    """A module's NEEDED entry that a provider ships."""

    file: str  # the module, as a path in the wheel
    soname: str  # the NEEDED entry
    dist: str  # the distribution that provides it (from provided-by)
    runpath: tuple[str, ...]  # where the module looks for it (RUNPATH, else RPATH)


def provided_needs(facts: Sequence[ElfFacts], table: Mapping[str, str]) -> list[ProvidedNeed]:
    needs = []
    for f in facts:
        for soname in f.needed:
            key = provided_key(table, soname)
            if key is not None:
                needs.append(ProvidedNeed(f.path, soname, table[key], f.runpath or f.rpath))
    return needs


# A Requires-Dist entry's name (PEP 508), and what follows its ";" (the environment marker).
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?[^;]*(?:;(.*))?$")


def canonical_name(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Nvidia_CUDA.Runtime`` -> ``nvidia-cuda-runtime``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def required_names(requires_dist: Sequence[str]) -> set[str]:
    """The distributions a wheel requires whatever extras are chosen (canonical names)."""
    names: set[str] = set()
    for entry in requires_dist:
        m = _REQUIREMENT.match(entry)
        if m and not re.search(r"\bextra\b", m.group(2) or ""):
            names.add(canonical_name(m.group(1)))
    return names


def uncovered(needs: Sequence[ProvidedNeed], requires_dist: Sequence[str]) -> list[ProvidedNeed]:
    """The needs whose provider the wheel does not require (an extra does not count: it is optional)."""
    required = required_names(requires_dist)
    return [n for n in needs if canonical_name(n.dist) not in required]


def parse_provided_by(entries: Sequence[str]) -> dict[str, str]:
    """``--provided-by LIB=DIST`` arguments as a table; ValueError names a malformed one."""
    table = {}
    for entry in entries:
        lib, eq, dist = entry.partition("=")
        if not eq or not lib.strip() or not dist.strip():
            raise ValueError(f"--provided-by {entry!r}: expected LIB=DIST, like libcudart.so.13=nvidia-cuda-runtime")
        table[lib.strip()] = dist.strip()
    return table


def cuda_runtimes(facts: Sequence[ElfFacts]) -> list[tuple[str, str]]:
    """(file, NEEDED) for each module that loads a CUDA runtime library (libcudart.so.N)."""
    return [(f.path, n) for f in facts for n in f.needed if n.startswith("libcudart.so.")]


def cuda_linked_statically(sboms: Sequence[Sbom]) -> list[tuple[str, str]]:
    """(file, version) for each module an SBOM says has nvidia-cuda-runtime's static cudart linked in."""
    return [(where, c.version or "?") for sbom in sboms for c in sbom.components
            if canonical_name(c.name) == "nvidia-cuda-runtime" and any(h.startswith("linked statically") for h in c.how)
            for where in c.locations]


def render_provided(needs: Sequence[ProvidedNeed], requires_dist: Sequence[str] | None,
                    cuda: Sequence[tuple[str, str]], cuda_static: Sequence[tuple[str, str]] = ()) -> str:
    """The text report: each provided library, who needs it, where the module looks, and whether
    the wheel's Requires-Dist brings its provider (unknown for a file outside a wheel)."""
    lines = []
    missing = set(uncovered(needs, requires_dist)) if requires_dist is not None else set()
    for n in needs:
        if requires_dist is None:
            status = "not a wheel: no Requires-Dist to look at"
        elif n in missing:
            status = f"NOT required by the wheel's Requires-Dist: installing it does not bring {n.soname}"
        else:
            status = "required by the wheel's Requires-Dist"
        where = ":".join(n.runpath) if n.runpath else "none (only LD_LIBRARY_PATH or a preload can find it)"
        lines.append(f"  provided: {n.file} needs {n.soname} from {n.dist}; {status}; RUNPATH {where}")
    for file, soname in cuda:
        major = soname.rsplit(".", 1)[-1]
        lines.append(f"  CUDA: {file} loads the CUDA {major} runtime ({soname}): it runs with an NVIDIA "
                     f"driver that supports CUDA {major}")
    for file, version in cuda_static:
        major = version.split(".")[0]
        lines.append(f"  CUDA: {file} has the CUDA {version} runtime linked in (nvidia-cuda-runtime, from the SBOM): "
                     f"it runs with an NVIDIA driver that supports CUDA {major}")
    return "\n".join(lines)


def provided_json(needs: Sequence[ProvidedNeed], requires_dist: Sequence[str] | None) -> list[dict[str, object]]:
    missing = set(uncovered(needs, requires_dist)) if requires_dist is not None else set()
    return [{"file": n.file, "needed": n.soname, "provided_by": n.dist, "runpath": list(n.runpath),
             "required": None if requires_dist is None else n not in missing} for n in needs]
