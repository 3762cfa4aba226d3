"""RUNPATHs of the wheel's files: ``$ORIGIN``-relative from where each file is installed, and
nothing of the build host.

Two jobs, one rule: an entry that does not start with ``$ORIGIN`` names a directory of the
build host (the verdict says so too, ``manywheel.check.verify``).
- ``origin_path``: the ``$ORIGIN``-relative path from a member to a directory, as an installer
  lays them out: ``<dist>.data/platlib/`` is the install root, like the wheel's own root
  (``manywheel.wheel.install_path``, which the verdict uses too).  Bundled libraries
  (``manywheel.repair.bundle``) and provided ones (``manywheel.repair.provided``) are reached
  through it.
- ``strip_host_runpaths``: links keep the RPATHs they are given (CMake's install step rewrites
  the build-tree RPATH it finds in place, ``file(RPATH_CHANGE)``, and fails when it is gone);
  what is left of the build host's entries in the wheel's files is taken out here, in place
  (``elfedit.keep_runpath_entries``).
"""
from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import Callable

from .._wrapper.elfedit import ElfEditError, keep_runpath_entries
from ..wheel import WheelContents, install_path

_ELF_MAGIC = b"\x7fELF"


def origin_path(member: str, directory: str) -> str:
    """``$ORIGIN``-relative path from ``member``'s installed directory to ``directory`` (wheel paths, or
    paths relative to the install root)."""
    here = posixpath.dirname(install_path(member)) or "."
    return "$ORIGIN/" + posixpath.relpath(install_path(directory), here)


def is_origin_relative(entry: str) -> bool:
    return entry.startswith(("$ORIGIN", "${ORIGIN}"))


def strip_host_runpaths(contents: WheelContents, log: Callable[[str], None]) -> WheelContents:
    """The wheel with every RPATH and RUNPATH entry that is not ``$ORIGIN``-relative taken out of
    its ELF files (each file named in the log); the same object when there is none.

    A file this cannot edit (not one ELF file elfedit understands: test data, say) stays as it
    is; the verdict reads it like every file, and names a host RPATH left in it."""
    members = list(contents.members)
    changed = False
    for n, m in enumerate(members):
        if m.data[:4] != _ELF_MAGIC:
            continue
        try:
            data, dropped = keep_runpath_entries(m.data, is_origin_relative)
        except ElfEditError:
            continue
        if dropped:
            members[n], changed = replace(m, data=data), True
            log(f"{m.name}: removed the build host's entries from its RUNPATH: "
                + ", ".join(entry or "an empty one (the working directory)" for entry in dict.fromkeys(dropped)))
    return replace(contents, members=tuple(members)) if changed else contents
