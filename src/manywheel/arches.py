"""The one table of architectures: every per-architecture fact manywheel uses, one row each.

Policy, the glibc ABI record, cross-building, the baseline's stub libraries, the shims, the
settings' documentation and the test roots all read this table; adding an architecture is
adding a row (and its glibc ABI record and policy data, which are generated).  The facts
come from the tools that name each architecture: the manylinux platform tags (PEP 599/600),
Debian's architecture and cross-compiler names, CPython's ``PLATFORM_TRIPLET`` (its
configure), glibc's dynamic loader names, qemu-user's program names, CMake's
``CMAKE_SYSTEM_PROCESSOR`` and meson's CPU families.
"""
from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Arch:
    """One manylinux architecture, as each tool that builds or runs for it names it."""

    name: str  # the manylinux name, in platform tags: "aarch64"
    gnu: str  # the GNU triplet of Debian's cross compilers (<gnu>-gcc): "aarch64-linux-gnu"
    multiarch: str  # CPython's PLATFORM_TRIPLET, in the extension suffix: "aarch64-linux-gnu"
    debian: str  # Debian's architecture name: "arm64"
    machine: str  # how the compiler's target triplet begins: "aarch64"
    loader: str  # glibc's dynamic loader: "ld-linux-aarch64.so.1"
    qemu: str  # qemu-user's emulator: "qemu-aarch64-static"
    cmake_processor: str  # CMAKE_SYSTEM_PROCESSOR
    meson_cpu_family: str
    meson_cpu: str
    endian: str  # "little" or "big"
    lp64: bool  # 64-bit long and pointers
    # The compiler's predefined macros that say it builds for the architecture (with endian and
    # lp64): (name, value), the value None for "defined".
    predefined: tuple[tuple[str, str | None], ...] = ()
    # What -march/-mtune/-mcpu=native become: the ISA every system of the architecture has.
    isa_flags: tuple[tuple[str, str], ...] = ()
    # Whether manywheel builds for it: shims, stub libraries and a cross toolchain exist.
    buildable: bool = True

    @property
    def cross_packages(self) -> str:
        """The Debian packages of its cross compilers."""
        return f"gcc-{self.gnu} g++-{self.gnu}"

    @property
    def native_flags(self) -> Mapping[str, str]:
        """``-march`` (and ``-mtune``, ``-mcpu``) -> the flag that replaces ``=native``."""
        return dict(self.isa_flags)


TABLE: tuple[Arch, ...] = (
    Arch("x86_64", "x86_64-linux-gnu", "x86_64-linux-gnu", "amd64", "x86_64", "ld-linux-x86-64.so.2",
         "qemu-x86_64-static", "x86_64", "x86_64", "x86_64", "little", True, (("__x86_64__", None),),
         (("-march", "-march=x86-64"), ("-mtune", "-mtune=generic"))),
    Arch("i686", "i686-linux-gnu", "i386-linux-gnu", "i386", "i686", "ld-linux.so.2",
         "qemu-i386-static", "i686", "x86", "i686", "little", False, (("__i386__", None),),
         (("-march", "-march=i686"), ("-mtune", "-mtune=generic"))),
    Arch("aarch64", "aarch64-linux-gnu", "aarch64-linux-gnu", "arm64", "aarch64", "ld-linux-aarch64.so.1",
         "qemu-aarch64-static", "aarch64", "aarch64", "aarch64", "little", True, (("__aarch64__", None),),
         (("-march", "-march=armv8-a"), ("-mtune", "-mtune=generic"), ("-mcpu", "-mcpu=generic"))),
    Arch("armv7l", "arm-linux-gnueabihf", "arm-linux-gnueabihf", "armhf", "arm", "ld-linux-armhf.so.3",
         "qemu-arm-static", "armv7l", "arm", "armv7", "little", False,
         (("__arm__", None), ("__ARM_ARCH", "7"), ("__ARM_PCS_VFP", None))),  # the hard-float ABI
    Arch("ppc64le", "powerpc64le-linux-gnu", "powerpc64le-linux-gnu", "ppc64el", "powerpc64le", "ld64.so.2",
         "qemu-ppc64le-static", "ppc64le", "ppc64", "ppc64le", "little", True, (("__powerpc64__", None),)),
    Arch("s390x", "s390x-linux-gnu", "s390x-linux-gnu", "s390x", "s390x", "ld64.so.1",
         "qemu-s390x-static", "s390x", "s390x", "s390x", "big", True, (("__s390x__", None),)),
    Arch("ppc64", "powerpc64-linux-gnu", "powerpc64-linux-gnu", "ppc64", "powerpc64-", "ld64.so.1",
         "qemu-ppc64-static", "ppc64", "ppc64", "ppc64", "big", True, (("__powerpc64__", None),)),
    Arch("riscv64", "riscv64-linux-gnu", "riscv64-linux-gnu", "riscv64", "riscv64", "ld-linux-riscv64-lp64d.so.1",
         "qemu-riscv64-static", "riscv64", "riscv64", "riscv64", "little", True, (("__riscv", None),)),
    # Policies and a glibc ABI record exist; no shims, stubs or cross toolchain yet.
    Arch("loongarch64", "loongarch64-linux-gnu", "loongarch64-linux-gnu", "loong64", "loongarch64",
         "ld-linux-loongarch-lp64d.so.1", "qemu-loongarch64-static", "loongarch64", "loongarch64", "loongarch64",
         "little", True, (("__loongarch64", None),), buildable=False),
)
BY_NAME: dict[str, Arch] = {a.name: a for a in TABLE}
# The architecture names of the manylinux/musllinux platform tags (and of the glibc ABI record).
ARCHES: tuple[str, ...] = tuple(a.name for a in TABLE)
# Those manywheel builds for (natively or cross).
BUILDABLE: tuple[str, ...] = tuple(a.name for a in TABLE if a.buildable)
# What sysconfig's platform calls some architectures, by their manylinux name.
_PLATFORM_NAMES = {"i386": "i686", "i586": "i686", "amd64": "x86_64", "arm64": "aarch64"}


def host_arch() -> str:
    """This machine's architecture, by its manylinux name (``x86_64``, ``aarch64``, ...)."""
    plat = sysconfig.get_platform()  # e.g. "linux-x86_64"
    machine = plat.split("-", 1)[1] if "-" in plat else plat
    return _PLATFORM_NAMES.get(machine, machine)


def check_buildable(value: str) -> None:
    """The ``arch`` setting's check: empty (the host's) or an architecture manywheel builds for."""
    if value and value not in BUILDABLE:
        extra = f" ({value} has manylinux policies, but no cross toolchain here)" if value in ARCHES else ""
        raise ValueError(f"{value!r} is not an architecture manywheel builds for{extra}; one of: {', '.join(BUILDABLE)}")
