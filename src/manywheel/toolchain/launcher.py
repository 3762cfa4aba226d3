"""The compiled compiler launcher: the wrappers' front that runs the compiler without Python.

``manywheel/_wrapper/launcher.c`` is compiled once with the host's C compiler (``cc`` on the
build's PATH, not the build's CC: a launcher there, ccache say, would count it) and cached,
keyed on content: its source, the compiler (its real path and version) and the host's glibc.
The entry is compiled beside its final name and renamed into place, so concurrent builds
never run half a file.  ``wrappers.make_toolchain`` installs it as the wrappers ``cc``,
``c++``, ``gcc``, ``g++`` and ``cuda/g++``; when it cannot be compiled the wrappers stay
shell scripts, which start the Python wrapper for every call.  What it does itself and what it
leaves to Python is said in the C file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from .compiler import Compiler

SOURCE = Path(__file__).resolve().parents[1] / "_wrapper" / "launcher.c"
CONFIG_NAME = "toolchain.launcher"  # beside toolchain.marshal; launcher.c's CONFIG_NAME
FORMAT = "manywheel-launcher 2"  # the configuration's first field; launcher.c's FORMAT
FLAGS = ("-O2", "-x", "c")
_TIMEOUT = 120


class LauncherUnavailable(Exception):
    """The launcher could not be compiled here (the reason is the message); the shell scripts serve."""


def host_compiler(environ: Mapping[str, str]) -> Compiler:
    """The compiler that builds programs for this machine: ``cc`` (or ``gcc``) on ``environ``'s PATH."""
    for name in ("cc", "gcc"):
        path = shutil.which(name, path=environ.get("PATH"))
        if path:
            return Compiler([os.path.realpath(path)], environ)
    raise LauncherUnavailable("no host C compiler (cc or gcc) on PATH to compile it with")


def cache_key(compiler: Compiler, source: bytes) -> str:
    """The cache entry's name: a hash of the source, the compiler and the host's C library."""
    h = hashlib.sha256(source)
    h.update(f"{compiler.display}|{compiler.version}|{os.confstr('CS_GNU_LIBC_VERSION')}".encode())
    return h.hexdigest()[:20]


def compiled_launcher(cache: Path, environ: Mapping[str, str]) -> Path:
    """The launcher compiled for this host, from ``cache`` (``<cache>/launchers/<key>``) or
    compiled into it now with ``cc`` on ``environ``'s PATH; raises :class:`LauncherUnavailable`
    when it cannot be."""
    try:
        source = SOURCE.read_bytes()
    except OSError as e:
        raise LauncherUnavailable(f"its source {SOURCE} cannot be read: {e.strerror or e}") from e
    compiler = host_compiler(environ)
    final = cache / "launchers" / cache_key(compiler, source)
    if _usable(final):
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
        os.close(fd)
    except OSError as e:
        raise LauncherUnavailable(f"cannot write into {final.parent}: {e.strerror or e}") from e
    try:
        _compile(compiler, tmp)
        os.chmod(tmp, 0o755)
        _smoke_test(tmp)
        os.replace(tmp, final)
    except OSError as e:
        raise LauncherUnavailable(f"cannot write {final}: {e.strerror or e}") from e
    finally:
        Path(tmp).unlink(missing_ok=True)
    return final


def _compile(compiler: Compiler, output: str) -> None:
    cmd = [*compiler.command, *FLAGS, "-o", output, str(SOURCE)]
    try:
        proc = subprocess.run(cmd, env=compiler.environ, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LauncherUnavailable(f"`{' '.join(cmd)}` could not run: {e}") from e
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise LauncherUnavailable(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}: "
                                  + " / ".join(tail))


def _smoke_test(path: str) -> None:
    """Run it under its cache name: it must start and refuse to be anything but a wrapper (exit 2)."""
    try:
        proc = subprocess.run([path], stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                              timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LauncherUnavailable(f"the compiled launcher cannot run: {e}") from e
    if proc.returncode != 2 or "manywheel: error: the compiler launcher runs as" not in proc.stderr:
        raise LauncherUnavailable(f"the compiled launcher does not behave (exit {proc.returncode}: "
                                  f"{proc.stderr.strip()[:200]})")


def _usable(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF" and os.access(path, os.X_OK)
    except OSError:
        return False


def launcher_config(fields: list[str], lists: list[list[str]]) -> bytes:
    """The launcher's configuration file: each field, then each list as its length and its items,
    every one NUL-terminated (launcher.c's read_config)."""
    out = [FORMAT, *fields]
    for items in lists:
        out += [str(len(items)), *items]
    return b"".join(os.fsencode(s) + b"\0" for s in out)


def install_launcher(launcher: Path, bindir: Path, names: tuple[str, ...]) -> None:
    """``launcher`` as each of ``names`` in ``bindir`` (one copy, hard links for the others;
    each replaced atomically, so a build using an earlier wrapper there never sees half a file)."""
    first: Path | None = None
    for name in names:
        dest = bindir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        if first is None:
            shutil.copyfile(launcher, tmp)
            os.chmod(tmp, 0o755)
        else:
            try:
                os.link(first, tmp)
            except OSError:
                shutil.copy2(first, tmp)
        os.replace(tmp, dest)
        first = first or dest
