"""The libraries ``from-source`` built for one project, each in its own prefix, and what the
project's build sees of them. Apart from ``fromsource`` (which builds them) so that a build
without ``from-source`` imports none of the building code."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class BuiltLibrary:
    """A library built from source, installed in its own prefix."""

    package: str
    version: str  # Debian's version ("2.9.14+dfsg-1.3~deb12u6"), or the local source's
    prefix: Path
    links: tuple[str, ...]  # the -l names its prefix holds
    shared: bool
    origin: str  # "Debian bookworm-security" / the local path
    purl: str  # "pkg:deb/debian/libxml2@...?arch=source", or "" for a local source
    built_for: str  # "manylinux_2_17_x86_64"
    seconds: float  # how long its build took (when it was built, maybe by an earlier run)
    cached: bool  # reused from the cache by this build

    @property
    def lib_dir(self) -> Path:
        return self.prefix / "lib"


@dataclass(frozen=True)
class Prefixes:
    """The libraries built for one project, in the order they were built."""

    libraries: tuple[BuiltLibrary, ...] = ()

    def link_dirs(self) -> dict[str, str]:
        """-l name -> the only directory a link may take it from."""
        return {name: str(lib.lib_dir) for lib in self.libraries for name in lib.links}

    def env(self, environ: Mapping[str, str], cross: bool, path: str, *, after_first: bool = True) -> dict[str, str]:
        """What the project's build sees first: the prefixes' pkg-config files (for a cross build
        only theirs: the host's are for another architecture), their ``*-config`` scripts on PATH
        (after the wrappers, which ``path`` begins with when ``after_first``), headers and libraries."""
        if not self.libraries:
            return {}
        pcs = [str(lib.lib_dir / "pkgconfig") for lib in reversed(self.libraries)]
        bins = [str(lib.prefix / "bin") for lib in reversed(self.libraries) if (lib.prefix / "bin").is_dir()]
        incs = [str(lib.prefix / "include") for lib in reversed(self.libraries)]
        libs = [str(lib.lib_dir) for lib in reversed(self.libraries)]
        parts = path.split(os.pathsep)
        keep = 1 if after_first else 0
        env = {"PATH": os.pathsep.join(parts[:keep] + bins + parts[keep:]),
               "CPATH": _joined(incs, environ.get("CPATH")),
               "LIBRARY_PATH": _joined(libs, environ.get("LIBRARY_PATH"))}
        if cross:
            env["PKG_CONFIG_LIBDIR"] = os.pathsep.join(pcs)
            env["PKG_CONFIG_PATH"] = ""
        else:
            env["PKG_CONFIG_PATH"] = _joined(pcs, environ.get("PKG_CONFIG_PATH"))
        return env


def _joined(first: list[str], rest: str | None) -> str:
    return os.pathsep.join(first + ([rest] if rest else []))
