"""The one place manywheel asks a C or C++ compiler what it is.

A :class:`Compiler` is a command (a launcher such as ccache kept in front) and the environment
it runs in.  Every question (its target triplet, version, search directories, the files it
would link, its predefined macros, its glibc, its binutils) is asked here and answered once per
process: two modules asking the same compiler the same thing run it once.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sysconfig
import threading
from pathlib import Path
from typing import ClassVar, Mapping, NamedTuple, Sequence

from ..arches import BY_NAME, host_arch
from ..errors import ToolchainError
from ..policy import LibcVersion

_TRIPLET_QUERY = "-dumpmachine"  # what gcc and clang print their target triplet for
_TRIPLET = re.compile(r"^[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+){1,3}$")  # a GNU target triplet
_LAUNCHERS = {"ccache", "sccache", "distcc", "icecc"}
_TIMEOUT = 120


class Compiler:
    """A compiler command and its environment; its answers cached for the life of the process."""

    _answers: ClassVar[dict[tuple[object, ...], tuple[int, str, str]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, command: Sequence[str], environ: Mapping[str, str], var: str = "CC") -> None:
        self.command = list(command)
        self.environ = dict(environ)
        self.var = var  # the variable it came from, for messages: "CC", "CXX", "NVCC_CCBIN"

    def __repr__(self) -> str:
        return f"Compiler({shlex.join(self.command)})"

    @property
    def display(self) -> str:
        return " ".join(self.command)

    @property
    def without_launcher(self) -> list[str]:
        """The command with the launchers in front of the compiler (ccache, sccache...) left out."""
        words = list(self.command)
        while len(words) > 1 and Path(words[0]).name in _LAUNCHERS:
            words.pop(0)
        return words

    def behind(self, launcher: str) -> Compiler:
        """This compiler with ``launcher`` (ccache, sccache) in front; itself when it has one already."""
        if Path(self.command[0]).name in _LAUNCHERS:
            return self
        return Compiler([launcher, *self.command], self.environ, self.var)

    # ------------------------------------------------------------------ finding one

    @classmethod
    def find(cls, environ: Mapping[str, str], var: str, default_var: str) -> Compiler:
        """The compiler ``$var`` names, else Python's sysconfig ``default_var``, else cc/c++:
        resolved on PATH (a launcher's masquerading symlink unmasked) and checked to speak gcc's
        command line."""
        raw = environ.get(var) or sysconfig.get_config_var(default_var) or ("cc" if var == "CC" else "c++")
        words = shlex.split(str(raw))
        if not words:
            raise ToolchainError(f"{var} is empty", hint=f"unset {var} or set it to a compiler, e.g. {var}=gcc")
        resolved: list[str] = []
        for i, word in enumerate(words):
            if i == 0 or (resolved and Path(resolved[-1]).name in _LAUNCHERS and not word.startswith("-")):
                path = shutil.which(word, path=environ.get("PATH"))
                if path is None:
                    source = f"${var}" if environ.get(var) else f"Python's sysconfig {default_var}"
                    raise ToolchainError(
                        f"the compiler {word!r} (from {source}) is not on PATH",
                        hint="install it (Debian: apt-get install build-essential) or point "
                             f"{var} at a gcc-compatible compiler")
                resolved.append(path)
            else:
                resolved.append(word)
        compiler = cls(unmask_launcher(resolved, environ), environ, var)
        compiler.check_gcc_compatible()
        return compiler

    @classmethod
    def for_arch(cls, arch: str, environ: Mapping[str, str], source: str) -> tuple[Compiler, Compiler]:
        """The C and C++ compilers for another architecture: the user's CC/CXX when set (they must
        build for ``arch``), else Debian's ``<triplet>-gcc`` and ``<triplet>-g++`` on PATH."""
        info = BY_NAME[arch]
        found = []
        for var, tool in (("CC", "gcc"), ("CXX", "g++")):
            if environ.get(var):
                compiler = cls.find(environ, var, var)
                if not compiler.triplet.startswith(info.machine):
                    raise ToolchainError(
                        f"{var}={environ[var]} builds for {compiler.triplet}, not for {arch} (arch from {source})",
                        hint=f"unset {var} to use Debian's cross compiler {info.gnu}-{tool}, or point {var} at a "
                             f"compiler for {arch}")
                found.append(compiler)
                continue
            name = f"{info.gnu}-{tool}"
            path = shutil.which(name, path=environ.get("PATH"))
            if path is None:
                raise ToolchainError(
                    f"no {'C' if tool == 'gcc' else 'C++'} compiler for {arch}: {name} is not on PATH "
                    f"(arch from {source})",
                    hint=f"install Debian's cross compilers: apt-get install {info.cross_packages}; "
                         f"or set CC and CXX to compilers for {arch}")
            found.append(cls.find({**environ, var: path}, var, var))
        return found[0], found[1]

    def check_gcc_compatible(self) -> None:
        """The wrappers speak gcc's command line: refuse a compiler that does not."""
        try:
            code, out, err = self._ask(_TRIPLET_QUERY)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ToolchainError(f"the compiler {self.display} (${self.var}) cannot be run: {e}",
                                 hint=f"point {self.var} at gcc or clang") from e
        machine = out.strip()
        if code != 0 or not _TRIPLET.match(machine):
            got = (out + err).strip().splitlines()[:1]
            raise ToolchainError(
                f"the compiler {self.display} (${self.var}) is not gcc-compatible: "
                f"'{_TRIPLET_QUERY}' {'failed with exit code ' + str(code) if code else 'printed'}"
                f"{': ' + got[0] if got else ''}",
                hint=f"manywheel drives the compiler with gcc's options; point {self.var} at gcc or clang "
                     f"(a launcher such as ccache in front is fine)")

    # ------------------------------------------------------------------ its answers

    def _ask(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of the compiler run with ``args``, run once per process."""
        key = (tuple(self.command), args, stdin, tuple(sorted(self.environ.items())))
        with self._lock:
            answer = self._answers.get(key)
        if answer is None:
            proc = subprocess.run(self.command + list(args), capture_output=True, text=True, timeout=_TIMEOUT,
                                  env=self.environ, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
            answer = (proc.returncode, proc.stdout, proc.stderr)
            with self._lock:
                self._answers[key] = answer
        return answer

    def _output(self, *args: str) -> str:
        """The compiler's stdout for ``args``, empty when it cannot be run."""
        try:
            return self._ask(*args)[1]
        except (OSError, subprocess.TimeoutExpired):
            return ""

    @property
    def triplet(self) -> str:
        """The GNU triplet it builds for (``x86_64-linux-gnu``), or "an unknown machine"."""
        return self._output(_TRIPLET_QUERY).strip() or "an unknown machine"

    @property
    def version(self) -> str:
        """Its version, ``12.2.0`` (empty when it does not say)."""
        return self._output("-dumpfullversion", "-dumpversion").strip()

    @property
    def version_text(self) -> str:
        """What ``--version`` prints."""
        return self._output("--version")

    @property
    def is_gcc(self) -> bool:
        out = self.version_text.lower()
        return "clang" not in out and ("gcc" in out or "free software foundation" in out)

    def print_file_name(self, name: str) -> str:
        """The file the compiler would link for ``name`` (the name itself when it has none)."""
        return self._output(f"-print-file-name={name}").strip()

    def print_prog_name(self, name: str) -> str:
        """The program the compiler runs as ``name`` (``ld``)."""
        return self._output(f"-print-prog-name={name}").strip()

    @property
    def sysroot(self) -> str:
        """Where the toolchain keeps the target's libraries (/usr/aarch64-linux-gnu for Debian's
        aarch64 cross compiler), from where its libc.so.6 lies; empty when unknown."""
        libc = self.print_file_name("libc.so.6")
        if not os.path.isabs(libc):
            return ""
        return str(Path(os.path.normpath(libc)).parent.parent)

    @property
    def search_dirs(self) -> list[str]:
        """The directories the linker searches for ``-l`` after the ``-L`` ones."""
        dirs: list[str] = []
        for line in self._output("-print-search-dirs").splitlines():
            if line.startswith("libraries:"):
                for entry in line.split("=", 1)[-1].split(os.pathsep):
                    path = os.path.normpath(entry)
                    if entry and os.path.isdir(path) and path not in dirs:
                        dirs.append(path)
        return dirs

    def macros(self) -> dict[str, str]:
        """Its predefined macros for C (``cc -dM -E``, its flags included), by name."""
        shown = shlex.join([*self.command, *_MACROS_ARGS])
        try:
            code, out, err = self._ask(*_MACROS_ARGS)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ToolchainError(f"cannot run {shown}: {e}", hint=_MACROS_HINT) from e
        if code != 0:
            tail = "\n".join((out + err).strip().splitlines()[-10:])
            raise ToolchainError(f"{shown} failed with exit code {code}:\n{tail}", hint=_MACROS_HINT)
        macros = parse_macro_dump(out)
        if "__SIZEOF_POINTER__" not in macros:
            raise ToolchainError(f"{shown} printed no predefined macros (no __SIZEOF_POINTER__)", hint=_MACROS_HINT)
        return macros

    def glibc_version(self) -> LibcVersion:
        """The glibc its headers are of (``__GLIBC__``, ``__GLIBC_MINOR__`` of features.h)."""
        _, out, _ = self._ask("-E", "-P", "-x", "c", "-", stdin="#include <features.h>\n__GLIBC__ __GLIBC_MINOR__\n")
        major, minor = out.split()[-2:]
        return LibcVersion(int(major), int(minor))

    def binutil(self, tool: str) -> str:
        """The binutils program ``tool`` (nm, strip, ranlib...) for what it builds: ``<triplet>-tool``
        on PATH (a cross toolchain's), else the plain one on PATH, else ``tool``."""
        for name in (f"{self.triplet}-{tool}", tool):
            path = shutil.which(name, path=self.environ.get("PATH"))
            if path:
                return path
        return tool

    @property
    def ar(self) -> str:
        """The archiver for what it builds: gcc's ``gcc-ar`` (it passes the LTO plugin) of the
        triplet, else the triplet's ``ar``, else the plain ones, on PATH."""
        for name in (f"{self.triplet}-gcc-ar", f"{self.triplet}-ar", "gcc-ar", "ar"):
            path = shutil.which(name, path=self.environ.get("PATH"))
            if path:
                return path
        return "ar"


_MACROS_HINT = "point the cross compiler setting at gcc or clang for the target, e.g. aarch64-linux-gnu-gcc"
_MACROS_ARGS = ("-dM", "-E", "-x", "c", os.devnull)
# ``#define NAME VALUE`` as ``cc -dM -E`` prints it (function-like macros are skipped).
_DUMP_LINE = re.compile(r"#define (?P<name>[A-Za-z_]\w*)(?P<params>\([^)]*\))?(?: (?P<value>.*))?$")


def parse_macro_dump(text: str) -> dict[str, str]:
    """``cc -dM -E`` output as name -> value; function-like macros are left out."""
    macros: dict[str, str] = {}
    for line in text.splitlines():
        m = _DUMP_LINE.match(line)
        if m and not m["params"]:
            macros[m["name"]] = (m["value"] or "").strip()
    return macros


def unmask_launcher(command: list[str], environ: Mapping[str, str]) -> list[str]:
    """``/usr/lib/ccache/gcc`` (a launcher's masquerading symlink) -> ``[/usr/bin/ccache, /usr/bin/gcc]``.

    The masquerading launcher finds the real compiler by searching PATH, where it would
    find manywheel's own ``gcc`` wrapper first; naming both explicitly avoids that loop
    and says in the build log what really compiles.
    """
    launcher = os.path.realpath(command[0])
    if Path(launcher).name not in _LAUNCHERS or Path(command[0]).name in _LAUNCHERS:
        return command
    name = Path(command[0]).name
    for directory in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = shutil.which(name, path=directory) if directory else None
        if candidate and Path(os.path.realpath(candidate)).name not in _LAUNCHERS:
            return [launcher, candidate] + command[1:]
    return command


class Compilers(NamedTuple):
    """The C and C++ compilers of one build, and the architecture they build for."""

    cc: Compiler
    cxx: Compiler
    arch: str

    @classmethod
    def find(cls, environ: Mapping[str, str], arch: str = "", source: str = "default") -> Compilers:
        """The host's compilers (CC, CXX, Python's sysconfig) for the host's architecture (``arch``
        empty or the host's), else the cross compilers for ``arch`` (``source``: where arch was set)."""
        if arch and arch != host_arch():
            return cls(*Compiler.for_arch(arch, environ, source), arch)
        return cls(Compiler.find(environ, "CC", "CC"), Compiler.find(environ, "CXX", "CXX"), arch or host_arch())

    @property
    def cross(self) -> bool:
        return self.arch != host_arch()

    @property
    def environ(self) -> dict[str, str]:
        return self.cc.environ
