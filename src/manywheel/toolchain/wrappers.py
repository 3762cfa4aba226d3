"""How manywheel's flags reach every compiler and linker call of the inner build.

manywheel writes small wrappers (``cc``, ``c++``, ``gcc``, ``g++``) that run
``manywheel._wrapper.ccwrap``; the inner build sees them through ``CC``/``CXX``/``LDSHARED``/
``LDCXXSHARED`` and, for build systems that call ``gcc`` directly, first on ``PATH``.  Each is
the compiled launcher (``launcher``), which runs the compiler itself for the calls that need no
Python and starts ccwrap for the others, or, where it cannot be compiled, a shell script that
starts ccwrap for every call.
The wrappers add the baseline's flags and replace ``-march=native``; they keep every RPATH
the build asks for (CMake's install step rewrites the build tree's), and the repair step
removes the host-specific ones from the wheel's files (``repair.runpath``).  In a native
build nvcc is given ``cuda/g++`` as its host compiler (NVCC_CCBIN, and CUDAHOSTCXX for CMake),
so CUDA host code is compiled and linked like any other; a cross build leaves CUDA alone (an
x86_64 nvcc compiles host code for x86_64).  The compilers themselves are asked what they are
through ``compiler.Compiler``.
"""
from __future__ import annotations

import json
import marshal
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, Sequence

from .._wrapper import linklog
from ..arches import BY_NAME
from .compiler import Compiler, Compilers
from .launcher import CONFIG_NAME, LauncherUnavailable, compiled_launcher, install_launcher, launcher_config
from .cross import cmake_toolchain_file, meson_cross_file, python_launcher
from ..files import replace_atomically

if TYPE_CHECKING:
    from .._wrapper.config import LibraryConfig, WrapperConfig
    from .cross import TargetPython

# The directory that holds the manywheel package: the wrappers run with ``python -S -E`` (no
# site-packages, no PYTHONPATH) and put it first on sys.path to import the wrapper from it.
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# Each wrapper's name in the bin directory and the language it compiles (ccwrap's LANG).
WRAPPER_NAMES = (("cc", "c"), ("c++", "c++"), ("gcc", "c"), ("g++", "c++"), ("cuda/g++", "cuda-host"))


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
    # Libraries built from source (manywheel.toolchain.fromsource): link name -> its prefix's lib directory.
    from_source: Mapping[str, str] = field(default_factory=dict)


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


def library_config(rules: LibraryRules | None, cc: Compiler) -> LibraryConfig | None:
    if rules is None:
        return None
    return {
        "allowed": sorted(rules.allowed),
        "static": list(rules.static),
        "bundle": list(rules.bundle),
        "exclude": list(rules.exclude),
        "provided": dict(rules.provided),
        "bundle_enabled": rules.bundle_enabled,
        "search_dirs": cc.search_dirs,
        "openmp": {"runtime": rules.openmp[0], "build": list(rules.openmp[1])} if rules.openmp else None,
        "from_source": dict(rules.from_source),
    }


def python_wrapper_command(config_path: Path) -> list[str]:
    """The command that runs the Python wrapper with the configuration at ``config_path``; a
    wrapper adds the language and the compiler's arguments."""
    # sys.argv is then ["-c", CONFIG, LANG, ARGS...], what ccwrap.main reads.
    start = (f"import sys; sys.path[0] = {str(_PACKAGE_ROOT)!r}; "
             "from manywheel._wrapper.ccwrap import main; sys.exit(main(sys.argv))")
    return [sys.executable, "-S", "-E", "-c", start, str(config_path)]


def write_toolchain_config(workdir: Path, config: WrapperConfig) -> Path:
    """Write the wrappers' configuration: ``toolchain.marshal``, which they read (marshal loads
    without imports), the same as ``toolchain.json`` for people reading a build's files, and
    what the compiled launcher reads (``toolchain.launcher``, see ``launcher.c``)."""
    (workdir / "toolchain.json").write_text(json.dumps(config, indent=1))
    path = workdir / "toolchain.marshal"
    with replace_atomically(path) as f:
        f.write(marshal.dumps(dict(config)))
    libs = config["libs"]
    fields = ["1" if config["verbose"] else "0", os.path.join(config["state_dir"], "bin"), config["env_prefix"],
              config["state_dir"], "1" if libs and libs["from_source"] else "0"]
    lists = [config["cc"], config["cxx"], config["cuda_host"], config["compile_flags"], config["preprocess_flags"],
             config["link_flags"], config["link_flags_after"], python_wrapper_command(path)]
    with replace_atomically(workdir / CONFIG_NAME) as f:
        f.write(launcher_config(fields, lists))
    return path


def write_wrapper_scripts(bindir: Path, config_path: Path, launcher: Path | None = None) -> Path:
    """Write ``cc``, ``c++``, ``gcc``, ``g++`` and ``cuda/g++`` into ``bindir``, each running the
    wrapper with the configuration at ``config_path``; return ``bindir``.  With ``launcher``
    (``launcher.compiled_launcher``), each is that program, which reads the configuration
    written beside ``config_path``; else each is a shell script."""
    (bindir / "cuda").mkdir(parents=True, exist_ok=True)
    if launcher is not None:
        install_launcher(launcher, bindir, tuple(name for name, _ in WRAPPER_NAMES))
        return bindir
    command = shlex.join(python_wrapper_command(config_path))
    for name, lang in WRAPPER_NAMES:
        script = bindir / name
        script.unlink(missing_ok=True)  # a launcher hard link there would otherwise be written through
        script.write_text(f"#!/bin/sh\nexec {command} {lang} \"$@\"\n")
        script.chmod(0o755)
    return bindir


def make_toolchain(workdir: Path, compilers: Compilers, baseline: BaselineFlags | None, *, project: Path,
                   verbose: bool, libraries: LibraryRules | None = None,
                   target_python: TargetPython | None = None, cache: Path | None = None,
                   log: Callable[[str], None] | None = None, launcher: bool = True) -> Toolchain:
    """Write the wrappers into ``workdir`` and return the environment that routes the build through them.

    ``target_python``: when cross-building, the target's Python (its headers go first on every
    compile's include path), and CMake and meson get a toolchain / cross file.  ``cache``: where
    the compiled launcher is kept (default: manywheel's cache directory); ``log``: says, when
    ``verbose``, why the wrappers are shell scripts when the launcher cannot be compiled; ``launcher``
    False: shell scripts that start Python for every call (the ``launcher`` setting).
    """
    cc, cxx = compilers.cc, compilers.cxx
    environ = compilers.environ
    cuda_host = cuda_host_compiler(environ, cxx)
    workdir.mkdir(parents=True, exist_ok=True)
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    config = _wrapper_config(workdir, compilers, baseline, cuda_host, project=project, verbose=verbose,
                             libraries=libraries, target_python=target_python)
    write_wrapper_scripts(bindir, write_toolchain_config(workdir, config), _launcher(compilers, cache, verbose, log) if launcher else None)
    wcc, wcxx = str(bindir / "cc"), str(bindir / "c++")
    env = {
        "CC": wcc,
        "CXX": wcxx,
        "LDSHARED": f"{wcc} -shared",
        "LDCXXSHARED": f"{wcxx} -shared",
        "PATH": str(bindir) + os.pathsep + environ.get("PATH", os.defpath),
    }
    summary = (f"compilers {cc.display} / {cxx.display}"
               + (f"; {baseline.summary}" if baseline else "; host ABI (pin = false)"))
    cross_files: dict[str, Path] = {}
    if target_python is not None:
        env["AR"] = cc.binutil("ar")
        cross_files = _cross_files(workdir, compilers, (wcc, wcxx), target_python)
        if environ.get("CMAKE_TOOLCHAIN_FILE"):
            summary += f"; CMake toolchain file {environ['CMAKE_TOOLCHAIN_FILE']} (set by you)"
        else:
            env["CMAKE_TOOLCHAIN_FILE"] = str(cross_files["cmake"])
    # nvcc builds host code for its own architecture: CUDA is left alone when cross-building.
    cuda = cuda_environ(environ, bindir / "cuda" / "g++", env["PATH"]) if target_python is None else {}
    if cuda:
        env.update(cuda)
        summary += f"; CUDA: nvcc {cuda['CUDACXX']}, host compiler {cuda_host.display} (wrapped)"
    return Toolchain(cc.command, cxx.command, workdir, env, summary, cross_files)


def _launcher(compilers: Compilers, cache: Path | None, verbose: bool,
              log: Callable[[str], None] | None) -> Path | None:
    """The compiled launcher for the wrappers, or None (shell scripts) when it cannot be had."""
    if cache is None:
        from ..files import default_cache_dir

        cache = default_cache_dir(compilers.environ)
    try:
        return compiled_launcher(cache, compilers.environ)
    except LauncherUnavailable as e:
        if verbose and log is not None:
            log(f"compiler launcher: {e}; the wrappers start Python for every call")
        return None


def _wrapper_config(workdir: Path, compilers: Compilers, baseline: BaselineFlags | None, cuda_host: Compiler, *,
                    project: Path, verbose: bool, libraries: LibraryRules | None,
                    target_python: TargetPython | None) -> WrapperConfig:
    """What the wrappers read: the real compilers, the baseline's flags and the library rules."""
    # The project's path never reaches the objects; sys.prefix (often a temporary isolated build
    # environment) is mapped by the wrapper only for compiles that use something under it.
    prefix_maps = [f"-ffile-prefix-map={project.resolve()}={project.name}"]
    if target_python is not None:  # before any -I of the build: its Python.h, with the target's pyconfig.h
        # It lives in this build's temporary directory: a stable name keeps the objects reproducible.
        prefix_maps += [f"-ffile-prefix-map={target_python.directory}=manywheel-target-python",
                        f"-I{target_python.include}"]
    return {
        "cc": compilers.cc.command,
        "cxx": compilers.cxx.command,
        "arch": compilers.arch,
        "compile_flags": prefix_maps + (baseline.compile_flags if baseline else []),
        # -E output may be parsed rather than compiled (cffi's cdef, configure checks): no pin header in it.
        "preprocess_flags": prefix_maps + without_forced_includes(baseline.compile_flags if baseline else []),
        "link_flags": baseline.link_flags if baseline else [],
        "link_flags_after": baseline.link_flags_after if baseline else [],
        "export_map": baseline.export_map if baseline else "",
        "static_cxx": bool(baseline and baseline.static_cxx),
        "no_relr": bool(baseline and baseline.no_relr),
        "isa_flags": dict(BY_NAME[compilers.arch].native_flags) if compilers.arch in BY_NAME else {},
        "env_prefix": sys.prefix,
        "cuda_host": cuda_host.command,
        "libs": library_config(libraries, compilers.cc),
        "verbose": verbose,
        "state_dir": str(workdir),
        "nm": compilers.cc.binutil("nm") if target_python is not None else "nm",
    }


def _cross_files(workdir: Path, compilers: Compilers, wrappers: tuple[str, str],
                 target_python: TargetPython) -> dict[str, Path]:
    """CMake's toolchain file and meson's cross file for the target, naming the wrappers."""
    wcc, wcxx = wrappers
    launcher = python_launcher(workdir / "bin" / "target-python", target_python)
    return {
        "cmake": cmake_toolchain_file(workdir / "cross-toolchain.cmake", compilers.arch, wcc, wcxx, compilers.cc),
        "meson": meson_cross_file(workdir / "cross-meson.ini", compilers.arch, wcc, wcxx, compilers.cc,
                                  str(launcher)),
    }


def cuda_host_compiler(environ: Mapping[str, str], cxx: Compiler) -> Compiler:
    """The compiler nvcc runs for host code: the user's NVCC_CCBIN or CUDAHOSTCXX, else CXX.
    nvcc is then given manywheel's wrapper of it, so host code and static cudart are pinned."""
    for var in ("NVCC_CCBIN", "CUDAHOSTCXX"):
        if environ.get(var):
            return Compiler.find(environ, var, var)
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
