"""The fast reader: the loader's view of the file.

It reads what the dynamic loader reads: the ELF header, the program headers, PT_INTERP,
PT_GNU_STACK, the GNU property note, PT_DYNAMIC and the tables it points to (string table,
dynamic symbols, their versions and the hash table that gives their number), each found
through the PT_LOAD segment that maps its address, checking every offset and size it uses.
What it cannot decide (no hash table, extended numbering, relocatable objects) it leaves to
the full reader by raising :class:`_Undecided`.
"""
from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Iterator

from ...errors import ElfError
from .facts import (_EXEC_STACK_BY_DEFAULT, _PF_X, _X86_ISA_NEEDED_RAW, ElfFacts, UnversionedRef, VersionedRef,
                    _float_abi, _split_paths)
from .sources import Source, StreamSource

class _Undecided(Exception):
    """The fast reader met a layout that only the full reader handles."""


_ET_REL = 1
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP, _PT_NOTE = 1, 2, 3, 4
_PT_GNU_STACK, _PT_GNU_PROPERTY = 0x6474E551, 0x6474E553
_DT_NEEDED, _DT_HASH, _DT_STRTAB, _DT_SYMTAB, _DT_STRSZ, _DT_SYMENT = 1, 4, 5, 6, 10, 11
_DT_SONAME, _DT_RPATH, _DT_RUNPATH, _DT_RELRSZ, _DT_RELR = 14, 15, 29, 35, 36
_DT_GNU_HASH = 0x6FFFFEF5
_DT_VERSYM, _DT_VERDEF, _DT_VERDEFNUM, _DT_VERNEED, _DT_VERNEEDNUM = (
    0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF)
_SHT_NOBITS, _SHT_DYNSYM, _SHT_GNU_VERSYM = 8, 11, 0x6FFFFFFF
_NT_GNU_PROPERTY_TYPE_0 = 5
_MACHINES = {3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM",
             62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV", 258: "EM_LOONGARCH"}
_OSABIS = {0: "ELFOSABI_SYSV", 3: "ELFOSABI_LINUX"}


def _enum_name(value: int, known: dict[int, str], enum: str) -> str:
    """The name pyelftools gives an e_machine or EI_OSABI value (its enum tables are slow to import)."""
    if value in known:
        return known[value]
    from elftools.elf import enums

    names = {v: str(k) for k, v in getattr(enums, enum).items() if isinstance(v, int)}
    return names.get(value, str(value))


@dataclass(frozen=True)
class _Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    align: int


class _FastReader:
    """Reads one file's facts through a :class:`Source`, checking every offset and size it uses."""

    def __init__(self, source: Source, name: str) -> None:
        self.src = source
        self.name = name
        self.bits = 64
        self.order = "<"
        self.loads: list[_Segment] = []

    def fail(self, reason: str) -> ElfError:
        return ElfError(self.name, f"malformed ELF data: {reason}")

    def take(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.src.size:
            raise self.fail(f"{what} at {offset:#x} ({length} bytes) runs past the end of the file "
                            f"({self.src.size} bytes)")
        data = self.src.read(offset, length)
        if len(data) != length:
            raise self.fail(f"{what} at {offset:#x}: only {len(data)} of {length} bytes could be read")
        return data

    def locate(self, address: int, length: int, what: str) -> int:
        """The file offset of ``length`` bytes at ``address``, which one PT_LOAD segment must hold."""
        for s in self.loads:
            if s.vaddr <= address < s.vaddr + s.filesz:
                if address + length > s.vaddr + s.filesz:
                    raise self.fail(f"{what} at address {address:#x} ({length} bytes) runs past the end of "
                                    f"its loadable segment (which ends at {s.vaddr + s.filesz:#x})")
                return s.offset + address - s.vaddr
        raise self.fail(f"{what} at address {address:#x} lies in no loadable segment")

    def facts(self) -> ElfFacts:
        try:
            return self._facts()
        except struct.error as e:  # a table too short for its own header; the checks above should prevent it
            raise self.fail(str(e)) from e

    def _facts(self) -> ElfFacts:
        size = self.src.size
        if size < 52:
            raise self.fail(f"the file has {size} bytes, too few for an ELF header")
        ident = self.take(0, 16, "the ELF identification")
        if ident[4] not in (1, 2):
            raise self.fail(f"unknown ELF class {ident[4]} (byte 4 is 1 for 32-bit, 2 for 64-bit files)")
        if ident[5] not in (1, 2):
            raise self.fail(f"unknown data encoding {ident[5]} (byte 5 is 1 for little-, 2 for big-endian files)")
        self.bits, self.order = (64 if ident[4] == 2 else 32), ("<" if ident[5] == 1 else ">")
        word = "Q" if self.bits == 64 else "I"
        fmt = self.order + "HHI" + word * 3 + "IHHHHHH"
        (e_type, e_machine, _, _, phoff, shoff, e_flags, _, phentsize, phnum,
         shentsize, shnum, _) = struct.unpack(fmt, self.take(16, struct.calcsize(fmt), "the ELF header"))
        if e_type == _ET_REL or phnum == 0xFFFF:
            raise _Undecided("a relocatable object or extended program header numbering")
        machine = _enum_name(e_machine, _MACHINES, "ENUM_E_MACHINE")
        self._check_section_table_bounds(shoff, shentsize, shnum)
        segments = self._segments(phoff, phentsize, phnum)
        self.loads = [s for s in segments if s.type == _PT_LOAD]
        if isinstance(self.src, StreamSource):
            self.src.keep_at_most(_useful_prefix(segments))
        stack = [s for s in segments if s.type == _PT_GNU_STACK]
        exec_stack = bool(stack[0].flags & _PF_X) if stack else bool(segments) and machine in _EXEC_STACK_BY_DEFAULT
        interpreter = self._interpreter(segments)
        isa = self._x86_isa_needed(segments) if machine in ("EM_X86_64", "EM_386") else None
        dynamic = next((s for s in segments if s.type == _PT_DYNAMIC), None)
        tables = _DynamicTables() if dynamic is None else self._dynamic(dynamic, machine)
        if shoff and shnum and self.src.cheap(shoff):
            self._check_sections(shoff, shentsize, shnum, tables.symbol_count)
        return ElfFacts(
            path=self.name, machine=machine, elf_class=self.bits, little_endian=self.order == "<",
            osabi=_enum_name(ident[7], _OSABIS, "ENUM_EI_OSABI"), arm_float_abi=_float_abi(machine, e_flags),
            e_flags=e_flags, interpreter=interpreter, needed=tuple(tables.needed), soname=tables.soname,
            rpath=_split_paths(tables.rpath), runpath=_split_paths(tables.runpath),
            versioned_refs=tuple(tables.versioned),
            version_needs=tuple(sorted(set((lib, ver) for ver, lib in tables.needs.values()))),
            unversioned_refs=tuple(tables.unversioned), exported=tuple(tables.exported),
            has_dynamic=dynamic is not None, exec_stack=exec_stack, has_relr=tables.relr, x86_isa_needed=isa,
        )

    def _check_section_table_bounds(self, shoff: int, shentsize: int, shnum: int) -> None:
        if not shoff or not shnum:
            return
        expected = 64 if self.bits == 64 else 40
        if shentsize != expected:
            raise self.fail(f"section header entries of {shentsize} bytes (a {self.bits}-bit file has {expected})")
        if shoff + shnum * shentsize > self.src.size:
            raise self.fail(f"the section header table at {shoff:#x} ({shnum} entries of {shentsize} bytes) runs "
                            f"past the end of the file ({self.src.size} bytes)")

    def _segments(self, phoff: int, phentsize: int, phnum: int) -> list[_Segment]:
        if not phnum:
            return []
        expected = 56 if self.bits == 64 else 32
        if phentsize != expected:
            raise self.fail(f"program header entries of {phentsize} bytes (a {self.bits}-bit file has {expected})")
        table = self.take(phoff, phnum * phentsize, "the program header table")
        segments = []
        for i in range(phnum):
            if self.bits == 64:
                p_type, flags, offset, vaddr, _, filesz, _, align = struct.unpack_from(self.order + "IIQQQQQQ", table, i * 56)
            else:
                p_type, offset, vaddr, _, filesz, _, flags, align = struct.unpack_from(self.order + "8I", table, i * 32)
            if p_type in (_PT_LOAD, _PT_DYNAMIC, _PT_INTERP, _PT_NOTE, _PT_GNU_PROPERTY) and offset + filesz > self.src.size:
                raise self.fail(f"segment {i} (type {p_type:#x}) at {offset:#x} ({filesz} bytes) runs past the end "
                                f"of the file ({self.src.size} bytes)")
            segments.append(_Segment(p_type, flags, offset, vaddr, filesz, align))
        return segments

    def _interpreter(self, segments: list[_Segment]) -> str | None:
        for s in segments:
            if s.type == _PT_INTERP:
                data = self.take(s.offset, s.filesz, "the interpreter name (PT_INTERP)")
                return data.split(b"\0", 1)[0].decode("utf-8", "replace")
        return None

    def _x86_isa_needed(self, segments: list[_Segment]) -> int | None:
        """The x86 ISA level the GNU property note asks for (PT_GNU_PROPERTY, else any PT_NOTE)."""
        notes = [s for s in segments if s.type == _PT_GNU_PROPERTY] or [s for s in segments if s.type == _PT_NOTE]
        for s in notes:
            data = self.take(s.offset, s.filesz, "a note segment")
            align = 8 if s.align == 8 else 4
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, n_type = struct.unpack_from(self.order + "III", data, pos)
                desc = _align(pos + 12 + namesz, align)
                if desc + descsz > len(data):
                    raise self.fail(f"a note at {s.offset + pos:#x} runs past the end of its segment")
                if n_type == _NT_GNU_PROPERTY_TYPE_0 and data[pos + 12:pos + 12 + namesz] == b"GNU\0":
                    found = self._isa_property(data[desc:desc + descsz])
                    if found is not None:
                        return found
                pos = _align(desc + descsz, align)
        return None

    def _isa_property(self, desc: bytes) -> int | None:
        pos, step = 0, (8 if self.bits == 64 else 4)
        while pos + 8 <= len(desc):
            pr_type, datasz = struct.unpack_from(self.order + "II", desc, pos)
            if pr_type == _X86_ISA_NEEDED_RAW and datasz == 4 and pos + 12 <= len(desc):
                value: int = struct.unpack_from(self.order + "I", desc, pos + 8)[0]
                return value
            pos = _align(pos + 8 + datasz, step)
        return None

    def _dynamic(self, segment: _Segment, machine: str) -> _DynamicTables:
        size = 16 if self.bits == 64 else 8
        data = self.take(segment.offset, segment.filesz - segment.filesz % size, "the dynamic section (PT_DYNAMIC)")
        tags: dict[int, list[int]] = {}
        for tag, value in struct.iter_unpack(self.order + ("qQ" if self.bits == 64 else "iI"), data):
            if tag == 0:
                break
            tags.setdefault(tag, []).append(value)
        return _DynamicReader(self, tags, machine).read()

    def _check_sections(self, shoff: int, shentsize: int, shnum: int, symbols: int | None) -> None:
        """The section headers must describe bytes inside the file and agree with the dynamic tables."""
        table = self.take(shoff, shnum * shentsize, "the section header table")
        fmt = self.order + ("IIQQQQIIQQ" if self.bits == 64 else "10I")
        for i, entry in enumerate(struct.iter_unpack(fmt, table)):
            sh_type, offset, size, entsize = entry[1], entry[4], entry[5], entry[9]
            if sh_type in (0, _SHT_NOBITS):
                continue
            if offset + size > self.src.size:
                raise self.fail(f"section {i} (type {sh_type:#x}) at {offset:#x} ({size} bytes) runs past the end of "
                                f"the file ({self.src.size} bytes)")
            if symbols is None:
                continue
            if sh_type == _SHT_DYNSYM and entsize and size // entsize != symbols:
                raise self.fail(f"the dynamic symbol table (section {i}) has {size // entsize} entries, its hash "
                                f"table counts {symbols}")
            if sh_type == _SHT_GNU_VERSYM and size != 2 * symbols:
                raise self.fail(f"the symbol version table (section {i}) has {size} bytes, {symbols} dynamic "
                                f"symbols need {2 * symbols}")


def _useful_prefix(segments: list[_Segment]) -> int:
    """Where the tables the loader needs end, as far as the program headers tell.

    A first PT_LOAD that is not executable holds only the dynamic linking tables (the
    layout of GNU ld's -z separate-code); PT_DYNAMIC itself is read as the stream reaches it.
    """
    end = 1 << 62
    loads = sorted((s for s in segments if s.type == _PT_LOAD), key=lambda s: s.offset)
    if loads and not loads[0].flags & _PF_X:
        end = loads[0].offset + loads[0].filesz
    dynamic = [s.offset for s in segments if s.type == _PT_DYNAMIC]
    return min([end] + dynamic)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class _DynamicTables:
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    relr: bool = False
    needs: dict[int, tuple[str, str]] = field(default_factory=dict)  # version index -> (version, library)
    versioned: list[VersionedRef] = field(default_factory=list)
    unversioned: list[UnversionedRef] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)
    symbol_count: int | None = None


class _DynamicReader:
    """The tables PT_DYNAMIC points to: strings, symbols, their versions."""

    def __init__(self, reader: _FastReader, tags: dict[int, list[int]], machine: str) -> None:
        self.r = reader
        self.tags = tags
        self.machine = machine
        self.strtab = b""

    def one(self, tag: int) -> int | None:
        values = self.tags.get(tag)
        return values[0] if values else None

    def string(self, offset: int, what: str) -> str:
        if offset >= len(self.strtab):
            raise self.r.fail(f"{what} at offset {offset:#x} lies past the end of the dynamic string table "
                              f"({len(self.strtab)} bytes)")
        end = self.strtab.find(b"\0", offset)
        if end < 0:
            raise self.r.fail(f"{what} at offset {offset:#x} runs past the end of the dynamic string table "
                              f"({len(self.strtab)} bytes, no terminating NUL)")
        return self.strtab[offset:end].decode("utf-8", "replace")

    def read(self) -> _DynamicTables:
        out = _DynamicTables(relr=_DT_RELR in self.tags or _DT_RELRSZ in self.tags)
        strtab, strsz = self.one(_DT_STRTAB), self.one(_DT_STRSZ)
        if strtab is None or strsz is None:
            if any(t in self.tags for t in (_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH, _DT_SYMTAB)):
                raise _Undecided("no DT_STRTAB or DT_STRSZ")
            return out
        self.strtab = self.r.take(self.r.locate(strtab, strsz, "the dynamic string table (DT_STRTAB)"), strsz,
                                  "the dynamic string table (DT_STRTAB)")
        out.needed = [self.string(v, "a DT_NEEDED name") for v in self.tags.get(_DT_NEEDED, [])]
        sonames = [self.string(v, "the DT_SONAME name") for v in self.tags.get(_DT_SONAME, [])]
        out.soname = sonames[0] if sonames else None
        out.rpath = [self.string(v, "a DT_RPATH entry") for v in self.tags.get(_DT_RPATH, [])]
        out.runpath = [self.string(v, "a DT_RUNPATH entry") for v in self.tags.get(_DT_RUNPATH, [])]
        out.needs = self.version_needs()
        if self.one(_DT_SYMTAB) is not None:
            self.symbols(out)
        return out

    def symbol_count(self) -> int:
        """The number of dynamic symbols, from DT_GNU_HASH or else DT_HASH (the loader knows it no other way)."""
        gnu, sysv = self.one(_DT_GNU_HASH), self.one(_DT_HASH)
        if gnu is not None:
            return self.gnu_hash_count(gnu)
        if sysv is not None:
            # 64-bit s390 uses 8-byte hash table entries; every other machine 4-byte ones.
            entry = 8 if self.machine == "EM_S390" and self.r.bits == 64 else 4
            offset = self.r.locate(sysv, 2 * entry, "the hash table (DT_HASH)")
            count: int = struct.unpack(self.r.order + ("QQ" if entry == 8 else "II"),
                                       self.r.take(offset, 2 * entry, "the hash table (DT_HASH)"))[1]
            return count
        raise _Undecided("no hash table gives the number of dynamic symbols")

    def gnu_hash_count(self, address: int) -> int:
        what = "the GNU hash table (DT_GNU_HASH)"
        start = self.r.locate(address, 16, what)
        nbuckets, symoffset, bloom_size, _ = struct.unpack(self.r.order + "4I", self.r.take(start, 16, what))
        buckets_at = start + 16 + bloom_size * (self.r.bits // 8)
        buckets = struct.unpack(f"{self.r.order}{nbuckets}I", self.r.take(buckets_at, 4 * nbuckets, what + " buckets"))
        last: int = max(buckets, default=0)
        if last < symoffset:
            return int(symoffset)
        chain_at = buckets_at + 4 * nbuckets
        index = last
        while True:
            at = chain_at + 4 * (index - symoffset)
            length = min(4096, self.r.src.size - at) // 4 * 4
            block = self.r.take(at, max(length, 4), what + " chain")
            for (value,) in struct.iter_unpack(self.r.order + "I", block):
                if value & 1:
                    return index + 1
                index += 1

    def version_needs(self) -> dict[int, tuple[str, str]]:
        """Version index -> (version, library) from DT_VERNEED, walked as the loader walks it."""
        address = self.one(_DT_VERNEED)
        if address is None:
            return {}
        expected = self.one(_DT_VERNEEDNUM)
        offset = self.r.locate(address, 16, "the version needs (DT_VERNEED)")
        needs: dict[int, tuple[str, str]] = {}
        for n in range(expected if expected is not None else 1 << 16):
            _, count, file, aux, following = struct.unpack(
                self.r.order + "HHIII", self.r.take(offset, 16, "a version need entry (DT_VERNEED)"))
            library = self.string(file, "a version need's library name")
            at = offset + aux
            for k in range(count):
                _, _, other, name, nxt = struct.unpack(
                    self.r.order + "IHHII", self.r.take(at, 16, f"a version of {library} (DT_VERNEED)"))
                needs[other & 0x7FFF] = (self.string(name, "a version name"), library)
                if nxt == 0 and k + 1 < count:
                    raise self.r.fail(f"the version needs of {library} list {k + 1} versions, "
                                      f"their count says {count}")
                at += nxt
            if following == 0:
                if expected is not None and n + 1 < expected:
                    raise self.r.fail(f"the version needs (DT_VERNEED) chain has {n + 1} entries, "
                                      f"DT_VERNEEDNUM says {expected}")
                break
            offset += following
        return needs

    def defined_version_indexes(self) -> int:
        """The highest version index DT_VERDEF defines (0 when there is none)."""
        address = self.one(_DT_VERDEF)
        if address is None:
            return 0
        offset = self.r.locate(address, 20, "the version definitions (DT_VERDEF)")
        highest = 0
        for _ in range(self.one(_DT_VERDEFNUM) or 1 << 16):
            _, _, ndx, _, _, _, following = struct.unpack(
                self.r.order + "HHHHIII", self.r.take(offset, 20, "a version definition (DT_VERDEF)"))
            highest = max(highest, ndx)
            if following == 0:
                break
            offset += following
        return highest

    def symbols(self, out: _DynamicTables) -> None:
        entry = 24 if self.r.bits == 64 else 16
        declared = self.one(_DT_SYMENT)
        if declared is not None and declared != entry:
            raise self.r.fail(f"DT_SYMENT says symbols have {declared} bytes, a {self.r.bits}-bit file's have {entry}")
        count = out.symbol_count = self.symbol_count()
        what = "the dynamic symbol table (DT_SYMTAB)"
        table = self.r.take(self.r.locate(self.one(_DT_SYMTAB) or 0, count * entry, what), count * entry, what)
        versym_at = self.one(_DT_VERSYM)
        versions: tuple[int, ...] = ()
        if versym_at is not None:
            what = "the symbol version table (DT_VERSYM)"
            raw = self.r.take(self.r.locate(versym_at, 2 * count, what), 2 * count, what)
            versions = struct.unpack(f"{self.r.order}{count}H", raw)
        highest = max(max(out.needs, default=0), self.defined_version_indexes(), 1)
        # (st_name, st_info, st_other, st_shndx) of each entry, 64- or 32-bit layout
        layout = "IBBH16x" if self.r.bits == 64 else "I8xBBH"
        self.classify(out, struct.iter_unpack(self.r.order + layout, table), versions, highest)

    def classify(self, out: _DynamicTables, rows: Iterator[tuple[int, ...]], versions: tuple[int, ...],
                 highest: int) -> None:
        """Sort the global and weak symbols into exported, versioned and unversioned references."""
        needs, names = out.needs, self.names()
        exported, versioned, unversioned = out.exported, out.versioned, out.unversioned
        for index, (name_at, info, _, shndx) in enumerate(rows):
            if info < 0x10 or not name_at or not index:  # a local symbol, no name, the null symbol
                continue
            name = names.get(name_at)
            if name is None:
                name = self.string(name_at, "a symbol name")  # a merged tail, or past the end (raises)
            if not name:
                continue
            if shndx:
                exported.append(name)
                continue
            weak = info >> 4 == 2
            ndx = versions[index] & 0x7FFF if versions else 1
            if ndx in needs:
                version, library = needs[ndx]
                versioned.append(VersionedRef(name, version, library, weak))
            elif ndx > highest:
                raise self.r.fail(f"symbol {name!r} has version index {ndx}, the version tables define "
                                  f"indexes up to {highest}")
            else:
                unversioned.append(UnversionedRef(name, weak))

    def names(self) -> dict[int, str]:
        """Offset -> string of every NUL-terminated string that starts right after a NUL (decoded at
        once, for speed). What follows the last NUL is left out, so an unterminated tail or an offset
        at the very end goes through ``string``, which refuses it as before."""
        if not self.strtab.isascii():
            return {}
        parts = self.strtab.decode("ascii").split("\0")[:-1]
        return dict(zip(itertools.accumulate((len(p) + 1 for p in parts), initial=0), parts))
