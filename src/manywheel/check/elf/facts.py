"""The facts the readers return: plain frozen dataclasses, and what both readers share.

A fact is what the policy checks need to know about one ELF file (:class:`ElfFacts`);
how a raw field becomes a fact (the ARM float ABI, the default executable stack, a
colon-separated search path) is decided here once, for the reader and for the tests'
pyelftools judge (tests/elf_full.py) alike.
"""
from __future__ import annotations

from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"

# Shared with the tests' pyelftools judge.
_X86_ISA_NEEDED_RAW = 0xC0008002
_EF_ARM_ABI_FLOAT_HARD = 0x400
_EF_ARM_ABI_FLOAT_SOFT = 0x200
# Without PT_GNU_STACK glibc assumes an executable stack on these machines.
_EXEC_STACK_BY_DEFAULT = ("EM_X86_64", "EM_386", "EM_ARM", "EM_PPC64", "EM_S390")
_PF_X = 0x1


@dataclass(frozen=True)
class VersionedRef:
    """An undefined dynamic symbol bound to a version, e.g. memcpy@GLIBC_2.14 in libc.so.6."""

    name: str
    version: str
    library: str
    weak: bool


@dataclass(frozen=True)
class UnversionedRef:
    """An undefined dynamic symbol with no version requirement."""

    name: str
    weak: bool


@dataclass(frozen=True)
class ElfFacts:
    """What the policy checks need to know about one ELF file."""

    path: str
    machine: str  # e_machine, e.g. "EM_X86_64"
    elf_class: int  # 32 or 64
    little_endian: bool
    osabi: str
    arm_float_abi: str | None  # "hard", "soft" or None (not ARM / not stated)
    e_flags: int
    interpreter: str | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    versioned_refs: tuple[VersionedRef, ...]
    version_needs: tuple[tuple[str, str], ...]  # every (library, version) of .gnu.version_r
    unversioned_refs: tuple[UnversionedRef, ...]
    exported: tuple[str, ...]
    has_dynamic: bool
    exec_stack: bool
    has_relr: bool
    x86_isa_needed: int | None  # GNU property bit mask (1 = baseline, 2 = v2, 4 = v3, 8 = v4)

    @property
    def arch(self) -> str | None:
        """The manylinux architecture name, or None if manywheel does not know it."""
        return arch_of(self.machine, self.elf_class, self.little_endian, self.arm_float_abi)


def arch_of(machine: str, elf_class: int, little_endian: bool, arm_float_abi: str | None) -> str | None:
    if machine == "EM_X86_64":
        return "x86_64" if elf_class == 64 else None
    if machine in ("EM_386", "EM_486"):
        return "i686"
    if machine == "EM_AARCH64":
        return "aarch64"
    if machine == "EM_ARM":
        return "armv7l" if arm_float_abi == "hard" else None
    if machine == "EM_PPC64":
        return "ppc64le" if little_endian else "ppc64"
    if machine == "EM_S390":
        return "s390x" if elf_class == 64 else None
    if machine == "EM_RISCV":
        return "riscv64" if elf_class == 64 else None
    if machine in ("EM_LOONGARCH", 258):
        return "loongarch64"
    return None


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def _float_abi(machine: str, e_flags: int) -> str | None:
    if machine != "EM_ARM":
        return None
    return "hard" if e_flags & _EF_ARM_ABI_FLOAT_HARD else "soft" if e_flags & _EF_ARM_ABI_FLOAT_SOFT else None


def _split_paths(values: list[str]) -> tuple[str, ...]:
    return tuple(p for v in values for p in v.split(":") if p)
