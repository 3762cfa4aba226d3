"""The host Pythons that build the wheels: one per Python version, found on PATH, in pyenv, in
uv's managed Pythons and among those manywheel's tools built (tools/rootpython.sh's build Pythons,
in ``~/.cache/manywheel/rootpython/build-python/<version>``), each checked by running it.  A cross build needs only a host
interpreter of the same version: the target's sysconfig comes from manywheel."""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from .identifiers import PythonVersion

_PROBE = ("import importlib.util, json, sys, sysconfig; print(json.dumps([list(sys.version_info[:3]), "
          "bool(sysconfig.get_config_var('Py_GIL_DISABLED')), importlib.util.find_spec('build') is not None, "
          "importlib.util.find_spec('pip') is not None, sys.executable]))")


@dataclass(frozen=True)
class Interpreter:
    """A host Python that was run and answered."""

    path: str  # as found (a PATH entry, pyenv's or uv's directory)
    version: tuple[int, int, int]
    free_threaded: bool
    has_build: bool
    has_pip: bool

    def serves(self, wanted: PythonVersion) -> bool:
        return self.version[:2] == (wanted.major, wanted.minor) and self.free_threaded == wanted.free_threaded


@dataclass(frozen=True)
class Found:
    """The interpreter for one Python version, or why there is none (``reason``)."""

    version: PythonVersion
    interpreter: Interpreter | None
    reason: str = ""


@dataclass(frozen=True)
class SearchPlaces:
    """Where interpreters are looked for, from the environment passed in."""

    path: tuple[str, ...]
    pyenv_root: Path
    uv_dir: Path
    built_dir: Path  # the Pythons manywheel's tools built

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SearchPlaces:
        home = Path(environ.get("HOME") or Path.home())
        pyenv = Path(environ.get("PYENV_ROOT") or home / ".pyenv")
        data = Path(environ.get("XDG_DATA_HOME") or home / ".local/share")
        uv = Path(environ.get("UV_PYTHON_INSTALL_DIR") or data / "uv/python")
        built = Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "manywheel/rootpython/build-python"
        return cls(tuple(p for p in environ.get("PATH", "").split(os.pathsep) if p), pyenv, uv, built)

    def describe(self) -> str:
        home = str(Path.home()).rstrip("/") + "/"
        short = [f"~/{p[len(home):]}" if p.startswith(home) else p
                 for p in map(str, (self.pyenv_root / "versions", self.uv_dir, self.built_dir))]
        return f"PATH, pyenv ({short[0]}), uv ({short[1]}), manywheel's tools ({short[2]})"

    def candidates(self, wanted: PythonVersion) -> list[str]:
        """Every file that may be that Python, in order: PATH (pyenv's shims left out: pyenv is
        searched itself), then pyenv's versions, then uv's, then manywheel's tools', newest first."""
        name = f"python{wanted.major}.{wanted.minor}{'t' if wanted.free_threaded else ''}"
        shims = str(self.pyenv_root / "shims")
        found = [os.path.join(d, name) for d in self.path if d != shims and "/shims" not in d]
        for base in (self.pyenv_root / "versions", self.uv_dir, self.built_dir):
            found += sorted(glob.glob(str(base / "*" / "bin" / name)), key=_newest_first)
        return [p for p in dict.fromkeys(found) if os.access(p, os.X_OK) and not os.path.isdir(p)]


def _newest_first(path: str) -> list[int]:
    return [-int(x) for x in re.findall(r"\d+", Path(path).parts[-3])]


def probe(path: str, timeout: float = 30) -> Interpreter | None:
    """Run path and read what it is; None when it does not run or answers nonsense."""
    try:
        proc = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=timeout,
                              check=False, env={"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home())})
        version, free_threaded, has_build, has_pip, _ = json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return None
    return Interpreter(path, (version[0], version[1], version[2]), bool(free_threaded), bool(has_build),
                       bool(has_pip))


def find_interpreters(wanted: Iterable[PythonVersion], places: SearchPlaces) -> dict[PythonVersion, Found]:
    """The first interpreter of each version that runs, is that version and has ``build``; when
    only ones without ``build`` exist, the reason says so (and how to fix it)."""
    result = {}
    for version in sorted(set(wanted)):
        lacking: Interpreter | None = None
        chosen: Interpreter | None = None
        for path in places.candidates(version):
            found = probe(path)
            if found is None or not found.serves(version):
                continue
            if found.has_build:
                chosen = found
                break
            lacking = lacking or found
        if chosen is not None:
            result[version] = Found(version, chosen)
        elif lacking is not None:
            result[version] = Found(version, None, f"{lacking.path} has no 'build' package: "
                                    "pip install build")
        else:
            result[version] = Found(version, None, f"no interpreter found; looked in {places.describe()}")
    return result
