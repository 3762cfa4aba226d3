"""How manywheel's flags reach every compiler and linker call of the inner build.

manywheel writes small wrapper scripts (``cc``, ``c++``, ``gcc``, ``g++``) that run
``manywheel._wrapper.ccwrap``; the inner build sees them through ``CC``/``CXX``/``LDSHARED``/
``LDCXXSHARED`` and, for build systems that call ``gcc`` directly, first on ``PATH``.
The wrappers add the baseline's flags, replace ``-march=native``, and drop
host-specific absolute RPATHs (pyenv's interpreters add one to every link).  nvcc is given
``cuda/g++`` as its host compiler (NVCC_CCBIN, and CUDAHOSTCXX for CMake), so CUDA host code
is compiled and linked like any other.
"""
from __future__ import annotations

import json
import marshal
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence

from .._wrapper import linklog
from .cross import binutil, cmake_toolchain_file, meson_cross_file, python_launcher
from ..errors import ToolchainError
from ..files import replace_atomically

if TYPE_CHECKING:
    from .._wrapper.config import LibraryConfig, WrapperConfig
    from .cross import TargetPython

# The directory that holds the manywheel package: the wrappers run with ``python -S -E`` (no
# site-packages, no PYTHONPATH) and put it first on sys.path to import the wrapper from it.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# What -march/-mtune=native become: the ISA every system of the arch has.
_ISA_FLAGS = {
    "x86_64": {"-march": "-march=x86-64", "-mtune": "-mtune=generic"},
    "i686": {"-march": "-march=i686", "-mtune": "-mtune=generic"},
    "aarch64": {"-march": "-march=armv8-a", "-mtune": "-mtune=generic", "-mcpu": "-mcpu=generic"},
}
_TRIPLET = re.compile(r"^[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+){1,3}$")  # what gcc -dumpmachine prints
_LAUNCHERS = {"ccache", "sccache", "distcc", "icecc"}


class BaselineFlags(Protocol):
    """What a pinned baseline contributes to every compile and link."""

    directory: Path  # its cache entry (the name is a content key)
    compile_flags: list[str]
    link_flags: list[str]
    link_flags_after: list[str]
    export_map: str
    static_cxx: bool
    no_relr: bool
    summary: str


@dataclass(frozen=True)
class LibraryRules:
    """How links treat libraries outside the policy's allow-list (see ``manywheel._wrapper.extlibs``)."""

    allowed: frozenset[str]  # link names the policy allows ("c", "m", "z", ...)
    static: tuple[str, ...] = ()
    bundle: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    bundle_enabled: bool = True  # False for editable installs: they run against the host's libraries
    provided: Mapping[str, str] = field(default_factory=dict)  # link and file name -> provider's file
    # The OpenMP runtime for the baseline (manywheel.toolchain.openmp): its cached file, and the command that
    # builds it when a link first needs it.  None: OpenMP links are left to the linker.
    openmp: tuple[str, list[str]] | None = None


@dataclass(frozen=True)
class Toolchain:
    cc: list[str]
    cxx: list[str]
    wrapper_dir: Path
    env: dict[str, str]  # variables to set for the inner build
    summary: str
    cross_files: dict[str, Path] = field(default_factory=dict)  # "cmake" / "meson" -> file, when cross-building

    @property
    def link_log(self) -> Path:
        """The log of every link the wrappers ran (``manywheel._wrapper.linklog``)."""
        return Path(linklog.path_in(str(self.wrapper_dir)))


def find_compiler(environ: Mapping[str, str], var: str, default_var: str) -> list[str]:
    """The real compiler command (launcher kept), from the environment or Python's sysconfig."""
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
    resolved = unmask_launcher(resolved, environ)
    check_gcc_compatible(var, resolved, environ)
    return resolved


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


def check_gcc_compatible(var: str, command: list[str], environ: Mapping[str, str]) -> None:
    """The wrappers speak gcc's command line: refuse a compiler that does not."""
    try:
        proc = subprocess.run(command + ["-dumpmachine"], capture_output=True, text=True, timeout=60,
                              env=dict(environ))
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolchainError(f"the compiler {' '.join(command)} (${var}) cannot be run: {e}",
                             hint=f"point {var} at gcc or clang") from e
    machine = proc.stdout.strip()
    if proc.returncode != 0 or not _TRIPLET.match(machine):
        got = (proc.stdout + proc.stderr).strip().splitlines()[:1]
        raise ToolchainError(
            f"the compiler {' '.join(command)} (${var}) is not gcc-compatible: "
            f"'-dumpmachine' {'failed with exit code ' + str(proc.returncode) if proc.returncode else 'printed'}"
            f"{': ' + got[0] if got else ''}",
            hint=f"manywheel drives the compiler with gcc's options; point {var} at gcc or clang "
                 f"(a launcher such as ccache in front is fine)")


def without_forced_includes(flags: list[str]) -> list[str]:
    """``flags`` without ``-include FILE`` (the pin header, whose asm lines only mean something to the compiler)."""
    kept: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "-include":
            skip = True
        elif not flag.startswith("-include"):
            kept.append(flag)
    return kept


def linker_search_dirs(cc: list[str], environ: Mapping[str, str]) -> list[str]:
    """The directories the linker searches for ``-l`` after the ``-L`` ones (``cc -print-search-dirs``)."""
    try:
        proc = subprocess.run(cc + ["-print-search-dirs"], capture_output=True, text=True, timeout=60, env=dict(environ))
    except (OSError, subprocess.TimeoutExpired):
        return []
    dirs: list[str] = []
    for line in proc.stdout.splitlines():
        if line.startswith("libraries:"):
            for entry in line.split("=", 1)[-1].split(os.pathsep):
                path = os.path.normpath(entry)
                if entry and os.path.isdir(path) and path not in dirs:
                    dirs.append(path)
    return dirs


def library_config(rules: LibraryRules | None, cc: list[str], environ: Mapping[str, str]) -> LibraryConfig | None:
    if rules is None:
        return None
    return {
        "allowed": sorted(rules.allowed),
        "static": list(rules.static),
        "bundle": list(rules.bundle),
        "exclude": list(rules.exclude),
        "provided": dict(rules.provided),
        "bundle_enabled": rules.bundle_enabled,
        "search_dirs": linker_search_dirs(cc, environ),
        "openmp": {"runtime": rules.openmp[0], "build": list(rules.openmp[1])} if rules.openmp else None,
    }


def write_toolchain_config(workdir: Path, config: WrapperConfig) -> Path:
    """Write the wrappers' configuration: ``toolchain.marshal``, which they read (marshal loads
    without imports), and the same as ``toolchain.json`` for people reading a build's files."""
    (workdir / "toolchain.json").write_text(json.dumps(config, indent=1))
    path = workdir / "toolchain.marshal"
    with replace_atomically(path) as f:
        f.write(marshal.dumps(dict(config)))
    return path


def write_wrapper_scripts(bindir: Path, config_path: Path) -> Path:
    """Write ``cc``, ``c++``, ``gcc``, ``g++`` and ``cuda/g++`` into ``bindir``, each running the
    wrapper with the configuration at ``config_path``; return ``bindir``."""
    # sys.argv is then ["-c", CONFIG, LANG, ARGS...], what ccwrap.main reads.
    start = (f"import sys; sys.path[0] = {str(_PACKAGE_ROOT)!r}; "
             "from manywheel._wrapper.ccwrap import main; sys.exit(main(sys.argv))")
    (bindir / "cuda").mkdir(parents=True, exist_ok=True)
    for name, lang in (("cc", "c"), ("c++", "c++"), ("gcc", "c"), ("g++", "c++"), ("cuda/g++", "cuda-host")):
        script = bindir / name
        script.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(sys.executable)} -S -E -c {shlex.quote(start)} "
            f"{shlex.quote(str(config_path))} {lang} \"$@\"\n")
        script.chmod(0o755)
    return bindir


def make_toolchain(workdir: Path, environ: Mapping[str, str], arch: str, baseline: BaselineFlags | None,
                   *, project: Path, verbose: bool, libraries: LibraryRules | None = None,
                   compilers: tuple[list[str], list[str]] | None = None,
                   target_python: TargetPython | None = None) -> Toolchain:
    """Write the wrappers into ``workdir`` and return the environment that routes the build through them.

    ``compilers``: the C and C++ commands when the caller has resolved them (find_compiler runs each).
    ``target_python``: when cross-building, the target's Python (its headers go first on every
    compile's include path), and CMake and meson get a toolchain / cross file.
    """
    cc, cxx = compilers or (find_compiler(environ, "CC", "CC"), find_compiler(environ, "CXX", "CXX"))
    cuda_host = cuda_host_compiler(environ, cxx)
    workdir.mkdir(parents=True, exist_ok=True)
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    # The project's path never reaches the objects; sys.prefix (often a temporary isolated build
    # environment) is mapped by the wrapper only for compiles that use something under it.
    prefix_maps = [f"-ffile-prefix-map={project.resolve()}={project.name}"]
    if target_python is not None:  # before any -I of the build: its Python.h, with the target's pyconfig.h
        prefix_maps.append(f"-I{target_python.include}")
    config: WrapperConfig = {
        "cc": cc,
        "cxx": cxx,
        "arch": arch,
        "compile_flags": prefix_maps + (baseline.compile_flags if baseline else []),
        # -E output may be parsed rather than compiled (cffi's cdef, configure checks): no pin header in it.
        "preprocess_flags": prefix_maps + without_forced_includes(baseline.compile_flags if baseline else []),
        "link_flags": baseline.link_flags if baseline else [],
        "link_flags_after": baseline.link_flags_after if baseline else [],
        "export_map": baseline.export_map if baseline else "",
        "static_cxx": bool(baseline and baseline.static_cxx),
        "no_relr": bool(baseline and baseline.no_relr),
        "isa_flags": _ISA_FLAGS.get(arch, {}),
        "env_prefix": sys.prefix,
        "cuda_host": cuda_host,
        "libs": library_config(libraries, cc, environ),
        "verbose": verbose,
        "state_dir": str(workdir),
        "nm": binutil(cc, "nm", environ) if target_python is not None else "nm",
    }
    write_wrapper_scripts(bindir, write_toolchain_config(workdir, config))
    wcc, wcxx = str(bindir / "cc"), str(bindir / "c++")
    env = {
        "CC": wcc,
        "CXX": wcxx,
        "LDSHARED": f"{wcc} -shared",
        "LDCXXSHARED": f"{wcxx} -shared",
        "PATH": str(bindir) + os.pathsep + environ.get("PATH", os.defpath),
    }
    summary = f"compilers {' '.join(cc)} / {' '.join(cxx)}" + (f"; {baseline.summary}" if baseline else "; host ABI (pin = false)")
    cross_files: dict[str, Path] = {}
    if target_python is not None:
        env["AR"] = binutil(cc, "ar", environ)
        cross_files["cmake"] = cmake_toolchain_file(workdir / "cross-toolchain.cmake", arch, wcc, wcxx, environ, cc)
        launcher = python_launcher(bindir / "target-python", target_python)
        cross_files["meson"] = meson_cross_file(workdir / "cross-meson.ini", arch, wcc, wcxx, environ, cc,
                                                str(launcher))
        if environ.get("CMAKE_TOOLCHAIN_FILE"):
            summary += f"; CMake toolchain file {environ['CMAKE_TOOLCHAIN_FILE']} (set by you)"
        else:
            env["CMAKE_TOOLCHAIN_FILE"] = str(cross_files["cmake"])
    # nvcc builds host code for its own architecture: CUDA is left alone when cross-building.
    cuda = cuda_environ(environ, bindir / "cuda" / "g++", env["PATH"]) if target_python is None else {}
    if cuda:
        env.update(cuda)
        summary += f"; CUDA: nvcc {cuda['CUDACXX']}, host compiler {' '.join(cuda_host)} (wrapped)"
    return Toolchain(cc, cxx, workdir, env, summary, cross_files)


def cuda_host_compiler(environ: Mapping[str, str], cxx: list[str]) -> list[str]:
    """The compiler nvcc runs for host code: the user's NVCC_CCBIN or CUDAHOSTCXX, else CXX.
    nvcc is then given manywheel's wrapper of it, so host code and static cudart are pinned."""
    for var in ("NVCC_CCBIN", "CUDAHOSTCXX"):
        if environ.get(var):
            return find_compiler(environ, var, var)
    return cxx


def find_nvcc(environ: Mapping[str, str], search: Sequence[str]) -> str | None:
    """nvcc: $CUDACXX, else one a build requirement installed (``nvidia-cuda-nvcc``: the newest
    ``nvidia/cuN/bin/nvcc`` on ``search``, sys.path), else none (the build's own choice stands)."""
    if environ.get("CUDACXX"):
        return environ["CUDACXX"]
    found = []
    for entry in search:
        for candidate in Path(entry or ".").glob("nvidia/cu*/bin/nvcc"):
            version = candidate.parent.parent.name[2:]
            if version.isdigit() and os.access(candidate, os.X_OK):
                found.append((int(version), str(candidate)))
    return max(found)[1] if found else None


def cuda_environ(environ: Mapping[str, str], host_wrapper: Path, path: str) -> dict[str, str]:
    """What routes CUDA builds through the wrappers: nvcc's host compiler (NVCC_CCBIN for nvcc
    itself, CUDAHOSTCXX for CMake), and an nvcc from the build requirements first on PATH and
    in CUDACXX (CMake's variable).  Empty when there is no nvcc to speak of."""
    nvcc = find_nvcc(environ, sys.path)
    if nvcc is None and shutil.which("nvcc", path=path) is None:
        return {}
    env = {"NVCC_CCBIN": str(host_wrapper), "CUDAHOSTCXX": str(host_wrapper)}
    if nvcc is not None:
        env["CUDACXX"] = nvcc
        parts = path.split(os.pathsep)
        env["PATH"] = os.pathsep.join(parts[:1] + [str(Path(nvcc).parent)] + parts[1:])
    else:
        env["CUDACXX"] = shutil.which("nvcc", path=path) or "nvcc"
    return env
