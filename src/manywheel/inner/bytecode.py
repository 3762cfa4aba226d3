"""Compiled bytecode for the build environment's own Python packages, kept across builds.

A frontend's isolated build environment is installed without bytecode (``build`` runs pip with
``--no-compile``; uv compiles nothing unless asked), so every build compiles its build tools from
source again, once per process that imports them when ``PYTHONDONTWRITEBYTECODE`` is set: meson,
meson-python, scikit-build-core, setuptools, manywheel.  For tests/projects/meson_mixed that is
about 0.7 s of meson-python's 1.9 s on a 2-core machine (meson starts three times).

Before the inner build, manywheel writes the bytecode it compiled in an earlier build into the
environment's ``__pycache__`` directories, for the distributions that have none: checked-hash
``.pyc`` files (PEP 552), which Python uses only after checking the hash of the source file they
were compiled from, so a file changed since is compiled anew, never run stale.  The cache is keyed
by the SHA-256 each distribution's RECORD gives for the file and by the interpreter's bytecode
magic number: ``<cache-dir>/bytecode/<cache tag>-<magic>/``.  What is not cached yet is compiled
once, after the hook that found it missing, and cached for the next build.

Only the build requirements are touched: manywheel, the project's ``[build-system] requires`` and
what they require in turn (by each METADATA's Requires-Dist), found in the directories manywheel and
the inner backend are imported from, and of those only the ones installed without bytecode (their
RECORD lists no .pyc), and of their modules only those without a .pyc.  ``bytecode-cache = false``
turns this off.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import marshal
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

_CHECKED_HASH = (0b11).to_bytes(4, "little")  # PEP 552 flags: hash-based, check_source
_DIGEST = re.compile(r"[A-Za-z0-9_-]{43}")  # a sha256 in RECORD: urlsafe base64 without padding
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")  # a requirement's name (PEP 508)


@dataclass
class Missing:
    source: Path
    digest: str  # RECORD's sha256, urlsafe base64 without padding
    target: Path | None  # where the environment's .pyc goes; None: it has one (Python's own), cache only


@dataclass
class Primed:
    """What one priming pass did: modules written from the cache, modules still to compile."""

    cache: Path | None
    written: int = 0
    distributions: list[str] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    seconds: float = 0.0


def cache_key_dir(cache_dir: Path) -> Path | None:
    """The folder of this interpreter's cached bytecode, or None where it writes none we could reuse."""
    tag = sys.implementation.cache_tag
    if tag is None or sys.flags.optimize or sys.pycache_prefix:
        return None  # no bytecode, .opt-N.pyc names, or a PYTHONPYCACHEPREFIX tree of the user's
    return cache_dir / "bytecode" / f"{tag}-{importlib.util.MAGIC_NUMBER.hex()}"


def site_dirs(*modules: str) -> list[Path]:
    """The directories the named top-level modules would be imported from (not importing them)."""
    found: list[Path] = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name.partition(":")[0].split(".")[0])
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.has_location:
            continue
        origin = Path(spec.origin)
        where = origin.parent.parent if spec.submodule_search_locations is not None else origin.parent
        if where not in found:
            found.append(where)
    return found


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: Iterable[str]) -> list[str]:
    """The distribution names of PEP 508 requirement strings (markers and extras ignored)."""
    return [normalized(m.group(1)) for m in map(_NAME.match, requirements) if m]


def closure(site: Path, roots: Iterable[str]) -> list[Path]:
    """The dist-info directories in ``site`` of ``roots`` and of everything they require, in turn."""
    try:
        infos = {normalized(p.name[:-len(".dist-info")].rpartition("-")[0]): p for p in site.glob("*.dist-info")}
    except OSError:
        return []
    queue, seen = [normalized(r) for r in roots], set()
    while queue:
        name = queue.pop()
        if name in seen or name not in infos:
            continue
        seen.add(name)
        try:
            metadata = (infos[name] / "METADATA").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        header = metadata.split("\n\n", 1)[0]
        queue += requirement_names(line[len("Requires-Dist:"):] for line in header.splitlines()
                                   if line.startswith("Requires-Dist:"))
    return sorted(infos[name] for name in seen)


def prime(dirs: Iterable[Path], cache_dir: Path, roots: Iterable[str]) -> Primed:
    """Write the cached bytecode of the build requirements in ``dirs`` (``roots`` and what they
    require) that were installed without bytecode."""
    started = time.perf_counter()
    key_dir = cache_key_dir(cache_dir)
    primed = Primed(key_dir)
    if key_dir is None:
        return primed
    roots = list(roots)
    made: set[Path] = set()  # __pycache__ directories known to exist
    for site in dirs:
        for info in closure(site, roots):
            record = info / "RECORD"
            touched = False
            for rel, digest in _modules_without_bytecode(record):
                source = site / rel
                target = Path(importlib.util.cache_from_source(str(source)))
                cached = key_dir / digest[:2] / f"{digest}.pyc"
                if os.path.exists(target):
                    # An earlier hook's, or Python's own: without PYTHONDONTWRITEBYTECODE, Python writes
                    # it for what the hook imported before this, and for a .pth file's module at start.
                    if not os.path.exists(cached):
                        primed.missing.append(Missing(source, digest, None))
                    continue
                if not touched:
                    primed.distributions.append(record.parent.name[:-len(".dist-info")])
                    touched = True
                if target.parent not in made:
                    try:
                        target.parent.mkdir(exist_ok=True)
                    except OSError:
                        continue
                    made.add(target.parent)
                placed = _place(cached, target)
                if placed is None:
                    primed.missing.append(Missing(source, digest, target))
                elif placed:
                    primed.written += 1
    primed.seconds = time.perf_counter() - started
    return primed


def _modules_without_bytecode(record: Path) -> list[tuple[str, str]]:
    """RECORD's .py files with their sha256, where the distribution was installed without bytecode."""
    entries: list[tuple[str, str]] = []
    try:
        with open(record, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                if not row:
                    continue
                path = row[0]
                if path.endswith(".pyc"):
                    return []  # the installer compiled it (pip without --no-compile lists them)
                if (path.endswith(".py") and len(row) > 1 and _DIGEST.fullmatch(row[1][len("sha256="):])
                        and row[1].startswith("sha256=") and not path.startswith(("/", "..")) and "/../" not in path):
                    entries.append((path, row[1][len("sha256="):]))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return entries


def fill(missing: Iterable[Missing], key_dir: Path) -> tuple[int, float]:
    """Compile what ``prime`` found uncached, into the cache and the environment.

    A file that no longer matches its RECORD hash, or that does not compile, is left to Python."""
    started = time.perf_counter()
    count = 0
    for item in missing:
        try:
            data = item.source.read_bytes()
        except OSError:
            continue
        if base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode() != item.digest:
            continue
        with warnings.catch_warnings():  # an invalid escape in a build tool's source is not this build's news
            warnings.simplefilter("ignore")
            try:
                code = compile(data, str(item.source), "exec", dont_inherit=True)
            except Exception:  # SyntaxError, ValueError (NUL), RecursionError: Python will say so if imported
                continue
        pyc = importlib.util.MAGIC_NUMBER + _CHECKED_HASH + importlib.util.source_hash(data) + marshal.dumps(code)
        _write(key_dir / item.digest[:2] / f"{item.digest}.pyc", pyc)
        if item.target is not None:
            _write(item.target, pyc)
        count += 1
    return count, time.perf_counter() - started


def _place(cached: Path, target: Path) -> bool | None:
    """Put the cached file at ``target``: a hard link (Python and py_compile replace a .pyc, they never
    write into one), else a copy.  None: not in the cache; False: not placed."""
    try:
        os.link(cached, target)
        return True
    except FileNotFoundError:
        return None if not cached.exists() else False
    except FileExistsError:
        return False
    except OSError:  # another filesystem, or no hard links there
        try:
            data = cached.read_bytes()
        except OSError:
            return None
        return _write(target, data)


def _write(path: Path, data: bytes) -> bool:
    """Write ``path`` whole or not at all (another build may read it at the same moment)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


class BytecodeCache:
    """Priming before a hook's work, filling after it, with the build log's lines."""

    def __init__(self, enabled: bool, cache_dir: Path, modules: Iterable[str], requirements: Iterable[str],
                 log: Callable[[str], None], verbose: bool) -> None:
        self.log, self.verbose = log, verbose
        self.primed = prime(site_dirs(*modules), cache_dir, requirement_names(requirements)) if enabled \
            else Primed(None)
        if self.primed.written and verbose:
            log(f"bytecode: {self.primed.written} modules of {', '.join(self.primed.distributions)} from the "
                f"cache in {self.primed.seconds:.2f} s")

    def fill(self) -> None:
        key_dir = self.primed.cache
        if key_dir is None or not self.primed.missing:
            return
        count, seconds = fill(self.primed.missing, key_dir)
        self.primed.missing = []
        if count:
            self.log(f"bytecode: compiled {count} modules of the build environment once, in {seconds:.2f} s; "
                     f"later builds reuse them ({key_dir})")
