"""Debian source packages, fetched with ``apt-get source`` through a private apt configuration.

The configuration is made from the host's own apt sources (each ``deb`` line becomes a
``deb-src`` line, signed-by kept), in a directory of manywheel's cache, so the host's apt state
is never touched and no root is needed.  apt verifies what it fetches as it does for every
package: the ``Sources`` index is checked against the release's signature (the keyring named by
the host's sources), and each file of the source package against the hashes the index lists;
``apt-get source`` then unpacks it with ``dpkg-source``, which applies Debian's patches (security
fixes included).

Used by the OpenMP runtime (``openmp``: the compiler's gcc source) and by the libraries built
from source (``fromsource``).
"""
from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

from ..errors import BaselineError

# The index is fetched again when older than this (the newest security update is then seen).
LISTS_MAX_AGE = 24 * 3600


class AptSourceError(BaselineError):
    """A source package cannot be had from apt: the message says why, the hint what to do."""


def apt_source_lines(files: Mapping[str, str]) -> list[str]:
    """``deb-src`` lines for every ``deb`` source of the host's apt configuration (``files``: path ->
    text of sources.list and sources.list.d/*.list/*.sources)."""
    lines: list[str] = []
    for path, text in files.items():
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for raw in stanza.splitlines():
                    if raw.startswith("#") or ":" not in raw or raw[:1].isspace():
                        continue
                    key, _, value = raw.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                    continue
                signed = f"[signed-by={fields['signed-by']}] " if fields.get("signed-by", "").startswith("/") else ""
                for uri in fields.get("uris", "").split():
                    for suite in fields.get("suites", "").split():
                        lines.append(f"deb-src {signed}{uri} {suite} {fields.get('components', 'main')}")
        else:
            for raw in text.splitlines():
                words = raw.split("#", 1)[0].split()
                if words[:1] == ["deb"]:
                    lines.append(" ".join(["deb-src"] + words[1:]))
    return list(dict.fromkeys(lines))


def host_apt_sources() -> dict[str, str]:
    paths = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + sorted(
        glob.glob("/etc/apt/sources.list.d/*.sources"))
    found = {}
    for path in paths:
        with contextlib.suppress(OSError):
            found[path] = Path(path).read_text()
    return found


# Debian version ordering (deb-version(7)): epoch, then upstream and revision compared part by part,
# non-digits by a character order where "~" sorts before everything, even the end of the part.
def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    while a or b:
        na = re.match(r"\D*", a).group()  # type: ignore[union-attr]
        nb = re.match(r"\D*", b).group()  # type: ignore[union-attr]
        for i in range(max(len(na), len(nb))):
            ca = _order(na[i]) if i < len(na) else 0
            cb = _order(nb[i]) if i < len(nb) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a, b = a[len(na):], b[len(nb):]
        da = re.match(r"\d*", a).group()  # type: ignore[union-attr]
        db = re.match(r"\d*", b).group()  # type: ignore[union-attr]
        if int(da or 0) != int(db or 0):
            return -1 if int(da or 0) < int(db or 0) else 1
        a, b = a[len(da):], b[len(db):]
    return 0


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version ``a`` is older than, equal to or newer than ``b``."""
    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def upstream_version(version: str) -> str:
    """``1:1.2.13.dfsg-1+deb12u1`` -> ``1.2.13``: what the project itself calls the release."""
    rest = version.split(":", 1)[-1]
    rest = rest.rpartition("-")[0] if "-" in rest else rest
    return re.sub(r"[+.~]?(dfsg|ds)\d*$", "", rest)


@dataclass(frozen=True)
class SourcePackage:
    name: str  # the Debian source package ("libxml2")
    version: str  # its Debian version ("2.9.14+dfsg-1.3~deb12u6")
    tree: Path  # the unpacked tree, Debian's patches applied
    origin: str  # where it came from, for the log ("apt-get source (deb.debian.org bookworm-security)")
    skipped: tuple[str, ...] = ()  # newer versions listed that could not be fetched, each with why


class PrivateApt:
    """apt-get and apt-cache with a configuration of manywheel's own, under ``directory``."""

    def __init__(self, directory: Path, say: Callable[[str], None], extra_lines: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.say = say
        self.extra_lines = extra_lines

    @property
    def options(self) -> list[str]:
        d = self.directory
        return ["-o", f"Dir::Etc::SourceList={d / 'sources.list'}", "-o", f"Dir::Etc::SourceParts={d / 'parts'}",
                "-o", f"Dir::Etc::PreferencesParts={d / 'prefs'}", "-o", f"Dir::State::Lists={d / 'lists'}",
                "-o", f"Dir::Cache={d / 'cache'}", "-o", "APT::Sandbox::User=root", "-q"]

    def ready(self, hint: str) -> None:
        """Write the configuration and fetch the index when it is missing or older than a day."""
        if not shutil.which("apt-get"):
            raise AptSourceError("this host has no apt-get to fetch Debian source packages with", hint=hint)
        lines = list(self.extra_lines) or apt_source_lines(host_apt_sources())
        if not lines:
            raise AptSourceError("the host's apt configuration lists no deb sources to fetch source packages from",
                                 hint=hint)
        d = self.directory
        for sub in ("lists/partial", "cache/archives/partial", "parts", "prefs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        sources = d / "sources.list"
        text = "\n".join(lines) + "\n"
        stamp = d / "lists" / ".manywheel-updated"
        fresh = stamp.is_file() and time.time() - stamp.stat().st_mtime < LISTS_MAX_AGE
        if fresh and sources.is_file() and sources.read_text() == text:
            return
        sources.write_text(text)
        proc = subprocess.run(["apt-get", *self.options, "update"], capture_output=True, text=True)
        if proc.returncode != 0 or "W: GPG error" in proc.stderr or "NO_PUBKEY" in proc.stderr:
            detail = " / ".join(proc.stderr.strip().splitlines()[-3:]) or f"exit {proc.returncode}"
            raise AptSourceError(f"apt-get update of the source indexes failed: {detail}", hint=hint)
        stamp.touch()

    def versions(self, package: str) -> list[tuple[str, str]]:
        """(version, where) of every version of source package ``package`` the indexes list, newest first."""
        proc = subprocess.run(["apt-cache", *self.options, "showsrc", "--only-source", package],
                              capture_output=True, text=True)
        found: dict[str, str] = {}
        version = None
        for line in proc.stdout.splitlines():
            if line.startswith("Package: "):
                version = None
            elif line.startswith("Version: "):
                version = line.split(None, 1)[1]
                found.setdefault(version, "")
        madison = subprocess.run(["apt-cache", *self.options, "madison", package], capture_output=True, text=True)
        for line in madison.stdout.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[1] in found and parts[2].endswith("Sources"):
                found[parts[1]] = " ".join(parts[2].split()[:2])
        ordered = sorted(found, key=functools.cmp_to_key(compare_versions), reverse=True)
        return [(v, found[v]) for v in ordered]

    def source_of_binary(self, binary: str) -> str | None:
        """The source package that builds binary package ``binary`` (``libxml2-dev`` -> ``libxml2``)."""
        proc = subprocess.run(["apt-cache", *self.options, "showsrc", binary], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("Package: "):
                return line.split(None, 1)[1].strip()
        return None

    def fetch(self, package: str, version: str, into: Path, *, download_only: bool = False) -> subprocess.CompletedProcess[str]:
        into.mkdir(parents=True, exist_ok=True)
        args = ["apt-get", *self.options, "source", *(["--download-only"] if download_only else []),
                f"{package}={version}"]
        env = dict(os.environ, LC_ALL="C")
        return subprocess.run(args, cwd=into, capture_output=True, text=True, env=env)


def fetch_source(apt: PrivateApt, package: str, sources: Path, hint: str) -> SourcePackage:
    """The newest version of source package ``package`` that can be fetched, unpacked under ``sources``
    (once: a later call finds it there).  When the newest version listed cannot be fetched (a mirror
    that lacks it), the next one is taken, and the log says so."""
    apt.ready(hint)
    listed = apt.versions(package)
    if not listed:
        raise AptSourceError(f"no source package {package!r} in the host's apt sources", hint=hint)
    failures: list[str] = []
    for version, where in listed:
        final = sources / f"{package}_{version.replace(':', '%')}"
        unavailable = final.with_name(final.name + ".unavailable")
        if (final / ".manywheel-complete").is_file():
            return SourcePackage(package, version, final, f"cached ({where or 'apt'})", tuple(failures))
        if unavailable.is_file() and time.time() - unavailable.stat().st_mtime < LISTS_MAX_AGE:
            failures.append(f"{version} ({where or 'apt'}): {unavailable.read_text().strip()}")
            continue
        with _scratch(sources, f".fetch-{package}-") as work:
            proc = apt.fetch(package, version, work)
            dsc = sorted(work.glob("*.dsc"))
            trees = [p for p in work.iterdir() if p.is_dir()]
            if proc.returncode != 0 or not dsc or len(trees) != 1:
                why = " / ".join(_errors(proc.stdout + proc.stderr)) or "nothing unpacked"
                failures.append(f"{version} ({where or 'apt'}): {why}")
                if "404" in why:  # the mirror lacks it: not tried again for a day
                    unavailable.write_text(why + "\n")
                continue
            (trees[0] / ".manywheel-complete").write_text(f"{package} {version} {where}\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(trees[0], final)
        return SourcePackage(package, version, final, f"apt-get source ({where or 'apt'})", tuple(failures))
    raise AptSourceError(f"apt-get source {package} failed for every version listed: " + "; ".join(failures), hint=hint)


def _errors(output: str) -> list[str]:
    lines = [line.strip() for line in output.splitlines() if line.startswith(("E:", "dpkg-source: error"))]
    return lines[:1] + lines[-1:] if len(lines) > 2 else lines


@contextlib.contextmanager
def _scratch(parent: Path, prefix: str) -> Iterator[Path]:
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


__all__ = ["AptSourceError", "PrivateApt", "SourcePackage", "apt_source_lines", "compare_versions", "fetch_source",
           "host_apt_sources", "upstream_version"]
