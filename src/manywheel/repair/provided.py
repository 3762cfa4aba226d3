"""Libraries that other wheels provide (``[tool.manywheel.provided-by]``).

A module may need such a library (``libcudart.so.13`` from ``nvidia-cuda-runtime``): it is
neither linked statically nor bundled.  Three things make that honest:
- the provider is installed in the build environment, and ships a file of that name
  (``find_provided``); links that name it find it there (``manywheel._wrapper.extlibs``);
- the module's ``RUNPATH`` reaches the directory where the provider installs it, relative
  to the module's own place (``runpath_entries``), computed from the provider's RECORD;
- the project's dependencies require the provider (``check_requirements``), so whoever
  installs the wheel gets the library.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from ..check.provided import ProvidedNeed, provided_needs, uncovered
from ..errors import SettingsError, SettingsErrors
from ..policy import library_name, provided_key
from .runpath import origin_path

if TYPE_CHECKING:
    from ..check.elf import ElfFacts


@dataclass(frozen=True)
class ProvidedLibrary:
    """One file a provider installs that ``provided-by`` names."""

    key: str  # the provided-by key that names it
    dist: str  # the distribution, as the table names it
    version: str  # the provider's version installed in the build environment
    file: str  # its path relative to the install root: nvidia/cu13/lib/libcudart.so.13
    path: Path  # where it is in this build environment

    @property
    def soname(self) -> str:
        return posixpath.basename(self.file)


def find_provided(table: Mapping[str, str]) -> list[ProvidedLibrary]:
    """Each provided library's file, from its provider's installed files (this process runs in
    the build environment); every problem is reported together."""
    found: list[ProvidedLibrary] = []
    errors: list[SettingsError] = []
    if not table:
        return found
    import importlib.metadata  # only with provided-by: a build without it does not pay for the import

    for key, dist in table.items():
        where = f"tool.manywheel.provided-by.{key}"
        try:
            d = importlib.metadata.distribution(dist)
        except importlib.metadata.PackageNotFoundError:
            errors.append(SettingsError(
                f"[tool.manywheel.provided-by] says {dist} provides {key!r}, but {dist} is not installed "
                f"in the build environment, so where it installs {key!r} is unknown", key=where,
                hint=f'add "{dist}" to [build-system] requires in pyproject.toml'))
            continue
        shared = [str(f) for f in d.files or () if ".so" in posixpath.basename(str(f))]
        files = [f for f in shared if provided_key({key: dist}, posixpath.basename(f))]
        if not files:
            have = ", ".join(sorted({posixpath.basename(f) for f in shared})[:12]) or "no shared libraries"
            errors.append(SettingsError(
                f"[tool.manywheel.provided-by] says {dist} provides {key!r}, but {dist} {d.version} "
                f"installs no such library in the build environment (it has: {have})", key=where,
                hint=f"name one of {dist}'s libraries, or the distribution that ships {key!r}"))
            continue
        for f in files:
            found.append(ProvidedLibrary(key, dist, d.version, f, Path(str(d.locate_file(f)))))
    if errors:
        raise errors[0] if len(errors) == 1 else SettingsErrors(errors)
    return found


def link_names(provided: Iterable[ProvidedLibrary]) -> dict[str, str]:
    """What the wrapper matches a link's arguments against: file and ``-l`` names -> the file."""
    names: dict[str, str] = {}
    for lib in provided:
        names.setdefault(lib.soname, str(lib.path))
        names.setdefault(library_name(lib.soname), str(lib.path))
    return names


def runpath_entries(member: str, needed: Sequence[str], provided: Sequence[ProvidedLibrary]) -> list[str]:
    """``$ORIGIN``-relative directories from ``member`` to the provided libraries it needs."""
    entries: list[str] = []
    for soname in needed:
        lib = next((p for p in provided if p.soname == soname), None)
        if lib is not None:
            entry = origin_path(member, posixpath.dirname(lib.file))
            if entry not in entries:
                entries.append(entry)
    return entries


def check_requirements(needs: Sequence[ProvidedNeed], requires_dist: Sequence[str]) -> None:
    """Refuse a wheel whose modules need a provided library its Requires-Dist does not bring."""
    missing = uncovered(needs, requires_dist)
    if not missing:
        return
    lines = [f"{n.file} needs {n.soname}, which [tool.manywheel.provided-by] says {n.dist} provides, "
             f"but the project's dependencies do not require {n.dist}" for n in missing]
    dists = sorted({n.dist for n in missing})
    raise SettingsError(
        "\n  ".join(lines), key="project.dependencies",
        hint=f"add {', '.join(repr(d) for d in dists)} to [project] dependencies in pyproject.toml, "
             f"or link the library statically")


def report_provided(facts: Sequence[ElfFacts], table: Mapping[str, str], provided: Sequence[ProvidedLibrary],
                    requires_dist: Sequence[str], log: Callable[[str], None]) -> None:
    """Refuse modules whose provider the dependencies do not bring; say where each provided
    library will be found, and warn when a module's RUNPATH does not reach it."""
    needs = provided_needs(facts, table)
    check_requirements(needs, requires_dist)
    for need in needs:
        expected = runpath_entries(need.file, [need.soname], provided)
        lib = next((p for p in provided if p.soname == need.soname), None)
        origin = f"{need.dist} {lib.version} installs it as {lib.file}" if lib else f"from {need.dist}"
        log(f"{need.file} needs {need.soname} ({origin}); RUNPATH {':'.join(need.runpath) or '(none)'}")
        if expected and not set(expected) <= set(need.runpath):
            log(f"warning: {need.file} does not look for {need.soname} in {expected[0]}: it was not linked "
                f"through manywheel's wrappers (or in an editable build); it finds {need.soname} only "
                f"through LD_LIBRARY_PATH or a library loaded before it")
    for key in table:
        if not any(provided_key({key: table[key]}, n.soname) for n in needs):
            log(f"provided-by: no module needs {key!r} ({table[key]}): nothing to do for it")
