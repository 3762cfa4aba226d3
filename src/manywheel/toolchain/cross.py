"""Building for another architecture than the host's: the cross toolchain and the target Python.

``arch`` names a manylinux architecture. For the host's own nothing here applies. For another
one (the host is x86_64, the wheel is for aarch64, say):

* the compilers are Debian's cross compilers, found by the target's GNU triplet
  (``aarch64-linux-gnu-gcc``), or the user's CC/CXX when they build for the target;
* the build runs with the host's interpreter, but sees the target's Python: a generated
  ``_sysconfigdata`` module (the host's values, with the target's triplet, extension suffix,
  SOABI, sizes and tools) that ``sysconfig`` loads through ``_PYTHON_SYSCONFIGDATA_NAME``,
  ``_PYTHON_HOST_PLATFORM`` for the platform, and a copy of the host's headers whose
  ``pyconfig.h`` has the target's architecture-dependent values (manywheel.toolchain.pyconfig);
* CMake gets a toolchain file and meson a cross file naming the wrappers and the target.
"""
from __future__ import annotations

import contextlib
import os
import pprint
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import SettingsError, ToolchainError
from ..policy import ARCHES, host_arch


@dataclass(frozen=True)
class ArchInfo:
    """How one manylinux architecture is named by the tools that build for it."""

    arch: str  # the manylinux name: "aarch64"
    gnu: str  # the GNU triplet of Debian's cross compilers: "aarch64-linux-gnu"
    multiarch: str  # CPython's PLATFORM_TRIPLET, in the extension suffix: "aarch64-linux-gnu"
    debian: str  # Debian's architecture name: "arm64"
    machine: str  # what `gcc -dumpmachine` starts with: "aarch64"
    cmake_processor: str  # CMAKE_SYSTEM_PROCESSOR
    meson_cpu_family: str
    meson_cpu: str
    endian: str  # "little" or "big"

    @property
    def packages(self) -> str:
        """The Debian packages of its cross compilers."""
        return f"gcc-{self.gnu} g++-{self.gnu}"


ARCH_INFO: dict[str, ArchInfo] = {a.arch: a for a in (
    ArchInfo("x86_64", "x86_64-linux-gnu", "x86_64-linux-gnu", "amd64", "x86_64", "x86_64", "x86_64", "x86_64",
             "little"),
    ArchInfo("i686", "i686-linux-gnu", "i386-linux-gnu", "i386", "i686", "i686", "x86", "i686", "little"),
    ArchInfo("aarch64", "aarch64-linux-gnu", "aarch64-linux-gnu", "arm64", "aarch64", "aarch64", "aarch64", "aarch64",
             "little"),
    ArchInfo("armv7l", "arm-linux-gnueabihf", "arm-linux-gnueabihf", "armhf", "arm", "armv7l", "arm", "armv7",
             "little"),
    ArchInfo("ppc64le", "powerpc64le-linux-gnu", "powerpc64le-linux-gnu", "ppc64el", "powerpc64le", "ppc64le",
             "ppc64", "ppc64le", "little"),
    ArchInfo("s390x", "s390x-linux-gnu", "s390x-linux-gnu", "s390x", "s390x", "s390x", "s390x", "s390x", "big"),
    ArchInfo("ppc64", "powerpc64-linux-gnu", "powerpc64-linux-gnu", "ppc64", "powerpc64-", "ppc64", "ppc64",
             "ppc64", "big"),
    ArchInfo("riscv64", "riscv64-linux-gnu", "riscv64-linux-gnu", "riscv64", "riscv64", "riscv64", "riscv64",
             "riscv64", "little"),
)}


def check_arch(value: str) -> None:
    """The ``arch`` setting's check: empty (the host's) or a manylinux architecture name."""
    if value and value not in ARCH_INFO:
        known = ", ".join(ARCH_INFO)
        extra = f" (loongarch64 has manylinux policies, but no cross toolchain here)" if value in ARCHES else ""
        raise ValueError(f"{value!r} is not an architecture manywheel builds for{extra}; one of: {known}")


def target_arch(setting: str) -> str:
    """The architecture a build is for: the ``arch`` setting, or the host's."""
    return setting or host_arch()


def is_cross(arch: str) -> bool:
    return arch != host_arch()


# ----------------------------------------------------------------------------- compilers

def cross_compilers(arch: str, environ: Mapping[str, str], source: str) -> tuple[list[str], list[str]]:
    """The C and C++ compilers for ``arch``: the user's CC/CXX when set (they must build for
    ``arch``), else Debian's ``<triplet>-gcc`` and ``<triplet>-g++`` on PATH."""
    from .wrappers import find_compiler

    info = ARCH_INFO[arch]
    found = []
    for var, tool in (("CC", "gcc"), ("CXX", "g++")):
        if environ.get(var):
            command = find_compiler(environ, var, var)
            machine = _dumpmachine(command, environ)
            if not machine.startswith(info.machine):
                raise ToolchainError(
                    f"{var}={environ[var]} builds for {machine}, not for {arch} (arch from {source})",
                    hint=f"unset {var} to use Debian's cross compiler {info.gnu}-{tool}, or point {var} at a "
                         f"compiler for {arch}")
            found.append(command)
            continue
        name = f"{info.gnu}-{tool}"
        path = shutil.which(name, path=environ.get("PATH"))
        if path is None:
            raise ToolchainError(
                f"no {'C' if tool == 'gcc' else 'C++'} compiler for {arch}: {name} is not on PATH (arch from {source})",
                hint=f"install Debian's cross compilers: apt-get install {info.packages}; "
                     f"or set CC and CXX to compilers for {arch}")
        found.append(find_compiler({**environ, var: path}, var, var))
    return found[0], found[1]


def _dumpmachine(command: list[str], environ: Mapping[str, str]) -> str:
    try:
        return subprocess.run(command + ["-dumpmachine"], capture_output=True, text=True, timeout=60,
                              env=dict(environ)).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "an unknown machine"


def binutil(cc: list[str], tool: str, environ: Mapping[str, str]) -> str:
    """The binutils program ``tool`` (ar, nm, strip...) for what ``cc`` builds: ``<triplet>-tool``
    when it exists (a cross toolchain's), else the plain one."""
    machine = _dumpmachine(cc, environ)
    for name in (f"{machine}-{tool}", tool):
        path = shutil.which(name, path=environ.get("PATH"))
        if path:
            return path
    return tool


# ----------------------------------------------------------------------------- target Python

@dataclass(frozen=True)
class TargetPython:
    """The target's view of this interpreter, written into ``directory``."""

    arch: str
    directory: Path  # holds the _sysconfigdata module and include/
    sysconfigdata: str  # the module's name
    platform: str  # sysconfig.get_platform() for the target: "linux-aarch64"
    ext_suffix: str  # ".cpython-39-aarch64-linux-gnu.so"
    include: Path  # the headers, with the target's pyconfig.h

    @property
    def environ(self) -> dict[str, str]:
        """What makes this interpreter, and Pythons the build starts, answer for the target."""
        return {"_PYTHON_SYSCONFIGDATA_NAME": self.sysconfigdata, "_PYTHON_HOST_PLATFORM": self.platform}


def make_target_python(arch: str, workdir: Path, cc: list[str], environ: Mapping[str, str],
                       wrappers: tuple[str, str] | None = None) -> TargetPython:
    """Write the target's _sysconfigdata module and headers into ``workdir``. ``cc`` is the real
    cross compiler; ``wrappers`` the C and C++ wrappers that its CC and LDSHARED name (a setup.py
    that reads them compiles through the wrappers too)."""
    from .pyconfig import compiler_macros, target_pyconfig

    info = ARCH_INFO[arch]
    host_vars = dict(_host_build_time_vars())
    host_multiarch = str(host_vars.get("MULTIARCH") or getattr(sys.implementation, "_multiarch", "") or "")
    host_soabi = str(host_vars.get("SOABI") or "")
    if not host_multiarch or not host_soabi.endswith(host_multiarch):
        raise ToolchainError(
            f"this Python ({sys.executable}) does not say its platform triplet (SOABI {host_soabi!r}, "
            f"MULTIARCH {host_multiarch!r}), so manywheel cannot name extension modules for {arch}",
            hint="cross-build with a CPython built for Linux by its own configure (pyenv, python.org, a distribution)")
    soabi = host_soabi[: -len(host_multiarch)] + info.multiarch
    workdir.mkdir(parents=True, exist_ok=True)
    include = workdir / "include" / Path(sysconfig.get_paths()["include"]).name
    host_include = Path(sysconfig.get_paths()["include"])
    shutil.rmtree(include, ignore_errors=True)
    shutil.copytree(host_include, include, symlinks=False)
    macros = compiler_macros(cc, environ)
    pyconfig = target_pyconfig((host_include / "pyconfig.h").read_text(), macros)
    (include / "pyconfig.h").write_text(pyconfig)
    values = _target_vars(host_vars, info, host_multiarch, soabi, pyconfig, include, cc, environ,
                          wrappers or (shlex.join(cc), shlex.join(cc)))
    name = f"_sysconfigdata_manywheel_{info.multiarch}"
    (workdir / f"{name}.py").write_text(
        f"# Generated by manywheel: this interpreter's build-time variables, for {arch}.\n"
        f"build_time_vars = {pprint.pformat(values, width=120)}\n")
    return TargetPython(arch, workdir, name, f"linux-{arch}", values["EXT_SUFFIX"], include)


def _host_build_time_vars() -> Mapping[str, Any]:
    name = sysconfig._get_sysconfigdata_name()  # type: ignore[attr-defined]
    module = __import__(name, globals(), locals(), ["build_time_vars"], 0)
    return module.build_time_vars  # type: ignore[no-any-return]


# Compiler flags only x86 compilers take (a distribution's Python may carry them in CFLAGS).
_X86_FLAGS = re.compile(r"^-(m64|m32|march=.*|mtune=.*|msse.*|mavx.*|mfpmath=.*|fcf-protection.*|mno-red-zone)$")


def _target_vars(host: dict[str, Any], info: ArchInfo, host_multiarch: str, soabi: str, pyconfig: str,
                 include: Path, cc: list[str], environ: Mapping[str, str], wrappers: tuple[str, str]) -> dict[str, Any]:
    values = dict(host)
    for key, value in host.items():  # the triplet in paths and names (LIBPL, the config directory...)
        if isinstance(value, str) and host_multiarch in value:
            values[key] = value = value.replace(host_multiarch, info.multiarch)
        if isinstance(value, str) and host_arch() in ("x86_64", "i686") and info.arch not in ("x86_64", "i686") \
                and ("FLAGS" in key or key in ("OPT", "CCSHARED", "LDSHARED", "BLDSHARED", "LDCXXSHARED")):
            values[key] = " ".join(w for w in value.split() if not _X86_FLAGS.match(w))
    ext = str(host.get("EXT_SUFFIX") or "")
    values["EXT_SUFFIX"] = f".{soabi}{ext[ext.rfind('.so'):] if '.so' in ext else '.so'}"
    values["SOABI"] = soabi
    values["MULTIARCH"] = info.multiarch
    if "PLATFORM_TRIPLET" in host:
        values["PLATFORM_TRIPLET"] = info.multiarch
    values["HOST_GNU_TYPE"] = info.gnu
    values["INCLUDEPY"] = values["CONFINCLUDEPY"] = str(include)
    values["CC"], values["CXX"] = wrappers
    values["LDSHARED"] = values["BLDSHARED"] = f"{wrappers[0]} -shared"
    values["LDCXXSHARED"] = f"{wrappers[1]} -shared"
    values["AR"] = binutil(cc, "ar", environ)
    for line in pyconfig.splitlines():  # the sizes and byte order the target's pyconfig.h says
        words = line.split()
        if len(words) == 3 and words[0] == "#define" and words[1] in host and words[2].isdigit():
            values[words[1]] = int(words[2])
        elif len(words) == 4 and words[:2] == ["/*", "#undef"] and words[2] in host:
            values[words[2]] = 0
    return values


@contextlib.contextmanager
def target_python_applied(target: TargetPython | None) -> Iterator[dict[str, str]]:
    """While the inner backend runs: this process's sysconfig answers for the target, and so does
    every Python the build starts (CMake's FindPython, meson's introspection), through the returned
    variables (to set in the environment with the toolchain's)."""
    if target is None:
        yield {}
        return
    env = dict(target.environ)
    path = os.environ.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(target.directory) + (os.pathsep + path if path else "")
    sys.path.insert(0, str(target.directory))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    _forget_config_vars()
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with contextlib.suppress(ValueError):
            sys.path.remove(str(target.directory))
        _forget_config_vars()


def _forget_config_vars() -> None:
    """Drop the config vars sysconfig and distutils have cached, so the next read takes the
    _sysconfigdata module _PYTHON_SYSCONFIGDATA_NAME names."""
    sysconfig._CONFIG_VARS = None  # type: ignore[attr-defined]
    if hasattr(sysconfig, "_CONFIG_VARS_INITIALIZED"):
        sysconfig._CONFIG_VARS_INITIALIZED = False
    for name in ("distutils.sysconfig", "setuptools._distutils.sysconfig"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_config_vars"):
            setattr(module, "_config_vars", None)


# ----------------------------------------------------------------------------- CMake and meson

def cmake_toolchain_file(path: Path, arch: str, cc: str, cxx: str, environ: Mapping[str, str],
                         real_cc: list[str]) -> Path:
    """A CMake toolchain file for the target: the wrappers as compilers, programs from the host,
    libraries and headers from the target's sysroot."""
    info = ARCH_INFO[arch]
    sysroot = _target_sysroot(real_cc, environ)
    lines = [
        f"# Generated by manywheel: cross-building for {arch}.",
        "set(CMAKE_SYSTEM_NAME Linux)",
        f"set(CMAKE_SYSTEM_PROCESSOR {info.cmake_processor})",
        f"set(CMAKE_C_COMPILER {_cmake_quote(cc)})",
        f"set(CMAKE_CXX_COMPILER {_cmake_quote(cxx)})",
        f"set(CMAKE_AR {_cmake_quote(binutil(real_cc, 'ar', environ))} CACHE FILEPATH \"\")",
        f"set(CMAKE_RANLIB {_cmake_quote(binutil(real_cc, 'ranlib', environ))} CACHE FILEPATH \"\")",
        f"set(CMAKE_STRIP {_cmake_quote(binutil(real_cc, 'strip', environ))} CACHE FILEPATH \"\")",
        f"set(CMAKE_LIBRARY_ARCHITECTURE {info.gnu})",
    ]
    if sysroot:
        lines.append(f"set(CMAKE_FIND_ROOT_PATH {_cmake_quote(sysroot)})")
    lines += [
        "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)",
        # No emulator is configured: try_run checks cannot run target programs.
        "set(CMAKE_CROSSCOMPILING_EMULATOR \"\")",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def _cmake_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _target_sysroot(cc: list[str], environ: Mapping[str, str]) -> str:
    """Where the cross toolchain keeps the target's libraries (/usr/aarch64-linux-gnu on Debian)."""
    try:
        libc = subprocess.run(cc + ["-print-file-name=libc.so.6"], capture_output=True, text=True, timeout=60,
                              env=dict(environ)).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if not os.path.isabs(libc):
        return ""
    lib = Path(os.path.normpath(libc)).parent  # /usr/aarch64-linux-gnu/lib
    return str(lib.parent)


def meson_cross_file(path: Path, arch: str, cc: str, cxx: str, environ: Mapping[str, str],
                     real_cc: list[str], python: str) -> Path:
    """A meson cross file for the target: the wrappers as compilers, the target's binutils, and
    ``python`` (a launcher that answers for the target) for the python module's introspection."""
    info = ARCH_INFO[arch]

    def q(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    lines = [
        f"# Generated by manywheel: cross-building for {arch}.",
        "[binaries]",
        f"c = {q(cc)}",
        f"cpp = {q(cxx)}",
        f"ar = {q(binutil(real_cc, 'ar', environ))}",
        f"strip = {q(binutil(real_cc, 'strip', environ))}",
        f"python = {q(python)}",
        "",
        "[host_machine]",
        "system = 'linux'",
        f"cpu_family = {q(info.meson_cpu_family)}",
        f"cpu = {q(info.meson_cpu)}",
        f"endian = {q(info.endian)}",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def python_launcher(path: Path, target: TargetPython) -> Path:
    """A script that runs this interpreter answering for the target (meson runs it to learn the
    extension suffix and the include directory)."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(target.environ.items()))
    path.write_text("#!/bin/sh\n"
                    f"PYTHONPATH={shlex.quote(str(target.directory))}${{PYTHONPATH:+:$PYTHONPATH}} "
                    f"{env} exec {shlex.quote(sys.executable)} \"$@\"\n")
    path.chmod(0o755)
    return path


def check_target_for_arch(target: str, arch: str, arch_source: str) -> None:
    """A target policy name that carries another architecture than ``arch``: one clear error."""
    for other in ARCHES:
        if other != arch and target.endswith(f"_{other}"):
            raise SettingsError(
                f"target {target!r} is for {other}, but this build is for {arch} (arch from {arch_source})",
                key="tool.manywheel.target",
                hint=f"name the policy without the architecture (target = \"{target[: -len(other) - 1]}\") "
                     f"and choose the architecture with arch = \"{other}\"")
