"""The one place that parses ELF files.

Returns plain frozen dataclasses; pyelftools objects never leave this module.
Anything the reader cannot make sense of becomes an :class:`ElfError` naming the
file and the reason.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

from elftools.common.exceptions import ELFError, ELFParseError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import NoteSection, SymbolTableSection

from .errors import ElfError

ELF_MAGIC = b"\x7fELF"
# pyelftools reports malformed input through many exception types; all of them mean
# "this file is not a readable ELF file" and are turned into ElfError at this boundary.
_PARSE_ERRORS: tuple[type[BaseException], ...] = (ELFError, ELFParseError, struct.error, ValueError, IndexError, KeyError,
                 TypeError, AttributeError, UnicodeDecodeError, AssertionError, OverflowError,
                 RecursionError, MemoryError, EOFError)
try:  # construct's own error base, raised by pyelftools' struct parsing
    from elftools.construct.core import ConstructError
    _PARSE_ERRORS = _PARSE_ERRORS + (ConstructError,)
except ImportError:  # pragma: no cover - depends on the pyelftools version
    pass

_X86_ISA_NEEDED = "GNU_PROPERTY_X86_ISA_1_NEEDED"
_X86_ISA_NEEDED_RAW = 0xC0008002
_EF_ARM_ABI_FLOAT_HARD = 0x400
_EF_ARM_ABI_FLOAT_SOFT = 0x200


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


def read_elf_file(path: str | Path, display_name: str | None = None) -> ElfFacts:
    """Read the facts of the ELF file at ``path``."""
    name = display_name or str(path)
    try:
        with open(path, "rb") as f:
            return read_elf_stream(f, name)
    except OSError as e:
        raise ElfError(name, e.strerror or str(e)) from e


def read_elf_bytes(data: bytes, display_name: str) -> ElfFacts:
    return read_elf_stream(io.BytesIO(data), display_name)


def read_elf_stream(stream: IO[bytes], display_name: str) -> ElfFacts:
    magic = stream.read(4)
    stream.seek(0)
    if magic != ELF_MAGIC:
        raise ElfError(display_name, f"not an ELF file (starts with {magic!r})")
    try:
        return _read(ELFFile(stream), display_name)
    except ElfError:
        raise
    except _PARSE_ERRORS as e:
        raise ElfError(display_name, f"malformed ELF data ({type(e).__name__}: {e})") from e


def _read(elf: ELFFile, name: str) -> ElfFacts:
    header = elf.header
    e_flags = int(header["e_flags"])
    machine = str(header["e_machine"])
    float_abi = None
    if machine == "EM_ARM":
        float_abi = "hard" if e_flags & _EF_ARM_ABI_FLOAT_HARD else "soft" if e_flags & _EF_ARM_ABI_FLOAT_SOFT else None
    dynamic = _dynamic_tags(elf)
    needs = _version_needs(elf)
    versioned, unversioned, exported = _symbols(elf, needs)
    return ElfFacts(
        path=name,
        machine=machine,
        elf_class=int(elf.elfclass),
        little_endian=bool(elf.little_endian),
        osabi=str(header["e_ident"]["EI_OSABI"]),
        arm_float_abi=float_abi,
        e_flags=e_flags,
        interpreter=_interpreter(elf),
        needed=tuple(dynamic.get("DT_NEEDED", ())),
        soname=next(iter(dynamic.get("DT_SONAME", [])), None),
        rpath=tuple(p for v in dynamic.get("DT_RPATH", ()) for p in v.split(":") if p),
        runpath=tuple(p for v in dynamic.get("DT_RUNPATH", ()) for p in v.split(":") if p),
        versioned_refs=versioned,
        version_needs=tuple(sorted(set((lib, ver) for ver, lib in needs.values()))),
        unversioned_refs=unversioned,
        exported=exported,
        has_dynamic="present" in dynamic,
        exec_stack=_exec_stack(elf),
        has_relr="DT_RELR" in dynamic,
        x86_isa_needed=_x86_isa_needed(elf),
    )


def _dynamic_tags(elf: ELFFile) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for section in elf.iter_sections():
        if not isinstance(section, DynamicSection):
            continue
        tags["present"] = []
        for tag in section.iter_tags():
            kind = str(tag.entry.d_tag)
            if kind == "DT_NEEDED":
                tags.setdefault(kind, []).append(str(getattr(tag, 'needed')))
            elif kind == "DT_SONAME":
                tags.setdefault(kind, []).append(str(getattr(tag, 'soname')))
            elif kind == "DT_RPATH":
                tags.setdefault(kind, []).append(str(getattr(tag, 'rpath')))
            elif kind == "DT_RUNPATH":
                tags.setdefault(kind, []).append(str(getattr(tag, 'runpath')))
            elif kind in ("DT_RELR", "DT_RELRSZ", 36):
                tags.setdefault("DT_RELR", []).append("")
        break
    return tags


def _version_needs(elf: ELFFile) -> dict[int, tuple[str, str]]:
    """Map a version index to (version name, library) from .gnu.version_r."""
    needs: dict[int, tuple[str, str]] = {}
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                library = str(verneed.name)
                for aux in auxiliaries:
                    needs[int(aux["vna_other"]) & 0x7FFF] = (str(aux.name), library)
    return needs


def _symbols(elf: ELFFile, needs: dict[int, tuple[str, str]]
             ) -> tuple[tuple[VersionedRef, ...], tuple[UnversionedRef, ...], tuple[str, ...]]:
    dynsym = elf.get_section_by_name(".dynsym")
    if not isinstance(dynsym, SymbolTableSection):
        return (), (), ()
    versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
    versioned: list[VersionedRef] = []
    unversioned: list[UnversionedRef] = []
    exported: list[str] = []
    for index, sym in enumerate(dynsym.iter_symbols()):
        if index == 0 or not sym.name:
            continue
        bind = sym["st_info"]["bind"]
        if bind == "STB_LOCAL":
            continue
        weak = bind == "STB_WEAK"
        if sym["st_shndx"] != "SHN_UNDEF":
            exported.append(str(sym.name))
            continue
        ndx = int(versym.get_symbol(index)["ndx"]) & 0x7FFF if versym is not None and _is_int(versym.get_symbol(index)["ndx"]) else 1
        if ndx in needs:
            version, library = needs[ndx]
            versioned.append(VersionedRef(str(sym.name), version, library, weak))
        else:
            unversioned.append(UnversionedRef(str(sym.name), weak))
    return tuple(versioned), tuple(unversioned), tuple(exported)


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_INTERP":
            return str(getattr(segment, "get_interp_name")())
    return None


def _exec_stack(elf: ELFFile) -> bool:
    """True when the stack would be executable: PT_GNU_STACK with PF_X."""
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_GNU_STACK":
            return bool(int(segment["p_flags"]) & 0x1)
    # No PT_GNU_STACK: glibc then assumes an executable stack on most architectures.
    return elf.num_segments() > 0 and elf.header["e_machine"] in ("EM_X86_64", "EM_386", "EM_ARM", "EM_PPC64", "EM_S390")


def _iter_properties(elf: ELFFile) -> Iterator[Any]:
    for section in elf.iter_sections():
        if isinstance(section, NoteSection) and section.name == ".note.gnu.property":
            for note in section.iter_notes():
                if note["n_type"] == "NT_GNU_PROPERTY_TYPE_0":
                    yield from note["n_desc"]


def _x86_isa_needed(elf: ELFFile) -> int | None:
    if elf.header["e_machine"] not in ("EM_X86_64", "EM_386"):
        return None
    for prop in _iter_properties(elf):
        if prop["pr_type"] in (_X86_ISA_NEEDED, _X86_ISA_NEEDED_RAW) and isinstance(prop["pr_data"], int):
            return int(prop["pr_data"])
    return None


@dataclass(frozen=True)
class ObjectRefs:
    """The undefined symbols of one relocatable object (a .o, or a member of a .a)."""

    path: str  # "build/x.o" or "libfoo.a(x.o)"
    source: str | None  # the STT_FILE name the compiler recorded, e.g. "src/rng.c"
    undefined: frozenset[str]


def read_object_refs(path: str | Path) -> list[ObjectRefs]:
    """Undefined symbols of an object file or of every member of an ``ar`` archive."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ElfError(str(path), e.strerror or str(e)) from e
    if data.startswith(b"!<arch>\n"):
        return [refs for name, member in _ar_members(data) if member[:4] == ELF_MAGIC
                for refs in [_object_refs(member, f"{path}({name})")] if refs]
    refs = _object_refs(data, str(path)) if data[:4] == ELF_MAGIC else None
    return [refs] if refs else []


def _object_refs(data: bytes, name: str) -> ObjectRefs | None:
    try:
        elf = ELFFile(io.BytesIO(data))
        symtab = elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return None
        source = None
        undefined = set()
        for sym in symtab.iter_symbols():
            if sym["st_info"]["type"] == "STT_FILE" and source is None:
                source = str(sym.name)
            elif sym["st_shndx"] == "SHN_UNDEF" and sym.name and sym["st_info"]["bind"] != "STB_LOCAL":
                undefined.add(str(sym.name).split("@", 1)[0])
        return ObjectRefs(name, source, frozenset(undefined))
    except _PARSE_ERRORS:
        return None


def _ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    pos = 8
    long_names = b""
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip()
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            return
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name == "//":
            long_names = body
            continue
        if name in ("/", "/SYM64/"):
            continue
        if name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.find(b"/\n", start)
            name = long_names[start:end if end >= 0 else None].decode("utf-8", "replace")
        yield name.rstrip("/"), body
