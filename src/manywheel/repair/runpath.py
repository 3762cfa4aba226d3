"""The ``$ORIGIN`` RUNPATH entries of the wheel's files, relative to where each file is installed.

``origin_path``: the ``$ORIGIN``-relative path from a member to a directory, as an installer
lays them out: ``<dist>.data/platlib/`` is the install root, like the wheel's own root
(``manywheel.wheel.install_path``, which the verdict uses too).  Bundled libraries
(``manywheel.repair.bundle``) and provided ones (``manywheel.repair.provided``) are reached
through it.
"""
from __future__ import annotations

import posixpath

from ..wheel import install_path


def origin_path(member: str, directory: str) -> str:
    """``$ORIGIN``-relative path from ``member``'s installed directory to ``directory`` (wheel paths, or
    paths relative to the install root)."""
    here = posixpath.dirname(install_path(member)) or "."
    return "$ORIGIN/" + posixpath.relpath(install_path(directory), here)

