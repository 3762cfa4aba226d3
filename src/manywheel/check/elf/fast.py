"""The fast reader: the loader's view of the file.

It reads what the dynamic loader reads: the ELF header, the program headers, PT_INTERP,
PT_GNU_STACK, the GNU property note, PT_DYNAMIC and the tables it points to (string table,
dynamic symbols, their versions and the hash table that gives their number), each found
through the PT_LOAD segment that maps its address, checking every offset and size it uses.
What the program headers cannot decide it reads from the section headers (:mod:`.sections`)
as pyelftools reads them: a relocatable object's dynamic section, symbols, versions and GNU
property note; the count in section 0 under extended numbering; the string table of a
dynamic array without DT_STRTAB or DT_STRSZ; the number of dynamic symbols without a hash
table. Where neither decides, the file is malformed (:class:`ElfError`).
"""
from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Iterator

from ...errors import ElfError
from .facts import (_EXEC_STACK_BY_DEFAULT, _PF_X, _X86_ISA_NEEDED_RAW, ElfFacts, UnversionedRef, VersionedRef,
                    _float_abi, _split_paths)
from .sections import (SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM, SHT_NOBITS, SHT_NOTE,
                       SYMBOL_TABLES, Section, SectionHeaders, SectionTable, header_format, linked_data,
                       section_data)
from .sources import Source, StreamSource

_ET_REL = 1
_PN_XNUM = 0xFFFF
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP, _PT_NOTE = 1, 2, 3, 4
_PT_GNU_STACK, _PT_GNU_PROPERTY = 0x6474E551, 0x6474E553
_DT_NEEDED, _DT_HASH, _DT_STRTAB, _DT_SYMTAB, _DT_STRSZ, _DT_SYMENT = 1, 4, 5, 6, 10, 11
_DT_SONAME, _DT_RPATH, _DT_RUNPATH, _DT_RELRSZ, _DT_RELR = 14, 15, 29, 35, 36
_DT_GNU_HASH = 0x6FFFFEF5
_DT_VERSYM, _DT_VERDEF, _DT_VERDEFNUM, _DT_VERNEED, _DT_VERNEEDNUM = (
    0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF)
_NT_GNU_PROPERTY_TYPE_0 = 5
# The names pyelftools (0.33: ENUM_E_MACHINE, ENUM_EI_OSABI) gives e_machine and EI_OSABI values, which
# the facts keep; a value without a name reads as its number. tests/unit/test_check_readers.py compares.
_MACHINES = {
    0: "EM_NONE", 1: "EM_M32", 2: "EM_SPARC", 3: "EM_386", 4: "EM_68K", 5: "EM_88K", 6: "EM_IAMCU", 7: "EM_860",
    8: "EM_MIPS", 9: "EM_S370", 10: "EM_MIPS_RS3_LE", 15: "EM_PARISC", 17: "EM_VPP500", 18: "EM_SPARC32PLUS",
    19: "EM_960", 20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390", 23: "EM_SPU", 36: "EM_V800", 37: "EM_FR20",
    38: "EM_RH32", 39: "EM_RCE", 40: "EM_ARM", 41: "EM_ALPHA", 42: "EM_SH", 43: "EM_SPARCV9", 44: "EM_TRICORE",
    45: "EM_ARC", 46: "EM_H8_300", 47: "EM_H8_300H", 48: "EM_H8S", 49: "EM_H8_500", 50: "EM_IA_64", 51: "EM_MIPS_X",
    52: "EM_COLDFIRE", 53: "EM_68HC12", 54: "EM_MMA", 55: "EM_PCP", 56: "EM_NCPU", 57: "EM_NDR1", 58: "EM_STARCORE",
    59: "EM_ME16", 60: "EM_ST100", 61: "EM_TINYJ", 62: "EM_X86_64", 63: "EM_PDSP", 64: "EM_PDP10", 65: "EM_PDP11",
    66: "EM_FX66", 67: "EM_ST9PLUS", 68: "EM_ST7", 69: "EM_68HC16", 70: "EM_68HC11", 71: "EM_68HC08",
    72: "EM_68HC05", 73: "EM_SVX", 74: "EM_ST19", 75: "EM_VAX", 76: "EM_CRIS", 77: "EM_JAVELIN", 78: "EM_FIREPATH",
    79: "EM_ZSP", 80: "EM_MMIX", 81: "EM_HUANY", 82: "EM_PRISM", 83: "EM_AVR", 84: "EM_FR30", 85: "EM_D10V",
    86: "EM_D30V", 87: "EM_V850", 88: "EM_M32R", 89: "EM_MN10300", 90: "EM_MN10200", 91: "EM_PJ", 92: "EM_OPENRISC",
    93: "EM_ARC_COMPACT", 94: "EM_XTENSA", 95: "EM_VIDEOCORE", 96: "EM_TMM_GPP", 97: "EM_NS32K", 98: "EM_TPC",
    99: "EM_SNP1K", 100: "EM_ST200", 101: "EM_IP2K", 102: "EM_MAX", 103: "EM_CR", 104: "EM_F2MC16", 105: "EM_MSP430",
    106: "EM_BLACKFIN", 107: "EM_SE_C33", 108: "EM_SEP", 109: "EM_ARCA", 110: "EM_UNICORE", 111: "EM_EXCESS",
    112: "EM_DXP", 113: "EM_ALTERA_NIOS2", 114: "EM_CRX", 115: "EM_XGATE", 116: "EM_C166", 117: "EM_M16C",
    118: "EM_DSPIC30F", 119: "EM_CE", 120: "EM_M32C", 131: "EM_TSK3000", 132: "EM_RS08", 133: "EM_SHARC",
    134: "EM_ECOG2", 135: "EM_SCORE7", 136: "EM_DSP24", 137: "EM_VIDEOCORE3", 138: "EM_LATTICEMICO32",
    139: "EM_SE_C17", 140: "EM_TI_C6000", 141: "EM_TI_C2000", 142: "EM_TI_C5500", 143: "EM_TI_ARP32",
    144: "EM_TI_PRU", 160: "EM_MMDSP_PLUS", 161: "EM_CYPRESS_M8C", 162: "EM_R32C", 163: "EM_TRIMEDIA",
    164: "EM_QDSP6", 165: "EM_8051", 166: "EM_STXP7X", 167: "EM_NDS32", 168: "EM_ECOG1X", 169: "EM_MAXQ30",
    170: "EM_XIMO16", 171: "EM_MANIK", 172: "EM_CRAYNV2", 173: "EM_RX", 174: "EM_METAG", 175: "EM_MCST_ELBRUS",
    176: "EM_ECOG16", 177: "EM_CR16", 178: "EM_ETPU", 179: "EM_SLE9X", 180: "EM_L10M", 181: "EM_K10M",
    183: "EM_AARCH64", 185: "EM_AVR32", 186: "EM_STM8", 187: "EM_TILE64", 188: "EM_TILEPRO", 189: "EM_MICROBLAZE",
    190: "EM_CUDA", 191: "EM_TILEGX", 192: "EM_CLOUDSHIELD", 193: "EM_COREA_1ST", 194: "EM_COREA_2ND",
    195: "EM_ARC_COMPACT2", 196: "EM_OPEN8", 197: "EM_RL78", 198: "EM_VIDEOCORE5", 199: "EM_78KOR",
    200: "EM_56800EX", 201: "EM_BA1", 202: "EM_BA2", 203: "EM_XCORE", 204: "EM_MCHP_PIC", 205: "EM_INTEL205",
    206: "EM_INTEL206", 207: "EM_INTEL207", 208: "EM_INTEL208", 209: "EM_INTEL209", 210: "EM_KM32", 211: "EM_KMX32",
    212: "EM_KMX16", 213: "EM_KMX8", 214: "EM_KVARC", 215: "EM_CDP", 216: "EM_COGE", 217: "EM_COOL", 218: "EM_NORC",
    219: "EM_CSR_KALIMBA", 220: "EM_Z80", 221: "EM_VISIUM", 222: "EM_FT32", 223: "EM_MOXIE", 224: "EM_AMDGPU",
    243: "EM_RISCV", 247: "EM_BPF", 252: "EM_CSKY", 258: "EM_LOONGARCH", 21569: "EM_FRV",
}
_OSABIS = {
    0: "ELFOSABI_SYSV", 1: "ELFOSABI_HPUX", 2: "ELFOSABI_NETBSD", 3: "ELFOSABI_LINUX", 4: "ELFOSABI_HURD",
    6: "ELFOSABI_SOLARIS", 7: "ELFOSABI_AIX", 8: "ELFOSABI_IRIX", 9: "ELFOSABI_FREEBSD", 10: "ELFOSABI_TRU64",
    11: "ELFOSABI_MODESTO", 12: "ELFOSABI_OPENBSD", 13: "ELFOSABI_OPENVMS", 14: "ELFOSABI_NSK", 15: "ELFOSABI_AROS",
    16: "ELFOSABI_FENIXOS", 17: "ELFOSABI_CLOUD", 53: "ELFOSABI_SORTIX", 64: "ELFOSABI_ARM_AEABI",
    97: "ELFOSABI_ARM", 102: "ELFOSABI_CELL_LV2", 255: "ELFOSABI_STANDALONE",
}


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
        self.section_headers = SectionHeaders(0, 0, 0, 0)  # until the header is read
        self._sections: SectionTable | None = None

    @property
    def sections(self) -> SectionTable:
        """The section header table, read on first use."""
        if self._sections is None:
            self._sections = self.section_headers.read(self)
        return self._sections

    def section_data(self, section: Section, what: str) -> bytes:
        return section_data(self, section, what)

    def linked(self, section: Section, what: str) -> bytes:
        return linked_data(self, self.sections, section, what)

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
        (e_type, e_machine, phoff, shoff, e_flags, phentsize, phnum, shentsize, shnum, osabi) = self.read_header()
        machine = _MACHINES.get(e_machine, str(e_machine))
        if phnum == _PN_XNUM:
            phnum = self.section_headers.program_header_count(self)
        self._check_section_table_bounds(shoff, shentsize, shnum)
        segments = self._segments(phoff, phentsize, phnum)
        self.loads = [s for s in segments if s.type == _PT_LOAD]
        if isinstance(self.src, StreamSource):
            self.src.keep_at_most(_useful_prefix(segments))
        stack = [s for s in segments if s.type == _PT_GNU_STACK]
        exec_stack = bool(stack[0].flags & _PF_X) if stack else bool(segments) and machine in _EXEC_STACK_BY_DEFAULT
        interpreter = self._interpreter(segments)
        if e_type == _ET_REL:  # no PT_DYNAMIC, no loader's view: what its sections say
            tables, has_dynamic = _DynamicReader(self, {}, machine).read_sections()
            isa = self._x86_isa_needed(self._property_sections()) if machine in ("EM_X86_64", "EM_386") else None
        else:
            dynamic = next((s for s in segments if s.type == _PT_DYNAMIC), None)
            tables = _DynamicTables() if dynamic is None else self._dynamic(dynamic, machine)
            has_dynamic = dynamic is not None
            isa = self._x86_isa_needed(self._property_segments(segments)) if machine in ("EM_X86_64", "EM_386") else None
        if shoff and shnum and self.src.cheap(shoff):
            self._check_sections(shoff, shentsize, shnum, tables.symbol_count)
        return ElfFacts(
            path=self.name, machine=machine, elf_class=self.bits, little_endian=self.order == "<",
            osabi=_OSABIS.get(osabi, str(osabi)), arm_float_abi=_float_abi(machine, e_flags),
            e_flags=e_flags, interpreter=interpreter, needed=tuple(tables.needed), soname=tables.soname,
            rpath=_split_paths(tables.rpath), runpath=_split_paths(tables.runpath),
            versioned_refs=tuple(tables.versioned),
            version_needs=tuple(sorted(set((lib, ver) for ver, lib in tables.needs.values()))),
            unversioned_refs=tuple(tables.unversioned), exported=tuple(tables.exported),
            has_dynamic=has_dynamic, exec_stack=exec_stack, has_relr=tables.relr, x86_isa_needed=isa,
        )

    def read_header(self) -> tuple[int, ...]:
        """The ELF header's (e_type, e_machine, e_phoff, e_shoff, e_flags, e_phentsize, e_phnum, e_shentsize,
        e_shnum, EI_OSABI); sets the class, byte order and section table."""
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
         shentsize, shnum, shstrndx) = struct.unpack(fmt, self.take(16, struct.calcsize(fmt), "the ELF header"))
        self.section_headers, self._sections = SectionHeaders(shoff, shentsize, shnum, shstrndx), None
        return e_type, e_machine, phoff, shoff, e_flags, phentsize, phnum, shentsize, shnum, ident[7]

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

    @staticmethod
    def _property_segments(segments: list[_Segment]) -> list[tuple[int, int, int, str]]:
        """Where the GNU property note lies: PT_GNU_PROPERTY, else every PT_NOTE."""
        notes = [s for s in segments if s.type == _PT_GNU_PROPERTY] or [s for s in segments if s.type == _PT_NOTE]
        return [(s.offset, s.filesz, s.align, "a note segment") for s in notes]

    def _property_sections(self) -> list[tuple[int, int, int, str]]:
        """Where the GNU property note lies in a file read by its sections: each .note.gnu.property."""
        return [(s.offset, s.size, s.align, f"the note section {s.index} (.note.gnu.property)")
                for s in self.sections.sections if s.type == SHT_NOTE and s.name == ".note.gnu.property"]

    def _x86_isa_needed(self, notes: list[tuple[int, int, int, str]]) -> int | None:
        """The x86 ISA level the first GNU property note that states one asks for."""
        for offset, size, alignment, what in notes:
            data = self.take(offset, size, what)
            align = 8 if alignment == 8 else 4
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, n_type = struct.unpack_from(self.order + "III", data, pos)
                desc = _align(pos + 12 + namesz, align)
                if desc + descsz > len(data):
                    raise self.fail(f"a note at {offset + pos:#x} runs past the end of {what}")
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
        data = self.take(segment.offset, segment.filesz, "the dynamic section (PT_DYNAMIC)")
        return _DynamicReader(self, self.dynamic_tags(data), machine).read()

    def dynamic_tags(self, data: bytes) -> dict[int, list[int]]:
        """The dynamic array's values by tag, up to DT_NULL."""
        size = 16 if self.bits == 64 else 8
        tags: dict[int, list[int]] = {}
        for tag, value in struct.iter_unpack(self.order + ("qQ" if self.bits == 64 else "iI"),
                                             data[:len(data) - len(data) % size]):
            if tag == 0:
                break
            tags.setdefault(tag, []).append(value)
        return tags

    def _check_sections(self, shoff: int, shentsize: int, shnum: int, symbols: int | None) -> None:
        """The section headers must describe bytes inside the file and agree with the dynamic tables."""
        table = self.take(shoff, shnum * shentsize, "the section header table")
        fmt = header_format(self)
        for i, entry in enumerate(struct.iter_unpack(fmt, table)):
            sh_type, offset, size, entsize = entry[1], entry[4], entry[5], entry[9]
            if sh_type in (0, SHT_NOBITS):
                continue
            if offset + size > self.src.size:
                raise self.fail(f"section {i} (type {sh_type:#x}) at {offset:#x} ({size} bytes) runs past the end of "
                                f"the file ({self.src.size} bytes)")
            if symbols is None:
                continue
            if sh_type == SHT_DYNSYM and entsize and size // entsize != symbols:
                raise self.fail(f"the dynamic symbol table (section {i}) has {size // entsize} entries, its hash "
                                f"table counts {symbols}")
            if sh_type == SHT_GNU_VERSYM and size != 2 * symbols:
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
        """The tables as the loader finds them: through the addresses PT_DYNAMIC gives."""
        out = _DynamicTables(relr=_DT_RELR in self.tags or _DT_RELRSZ in self.tags)
        strtab, strsz = self.one(_DT_STRTAB), self.one(_DT_STRSZ)
        if strtab is not None and strsz is not None:
            what = "the dynamic string table (DT_STRTAB)"
            self.strtab = self.r.take(self.r.locate(strtab, strsz, what), strsz, what)
        elif any(t in self.tags for t in (_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH, _DT_SYMTAB)):
            self.strtab = self.dynamic_strings_from_sections()
        else:
            return out
        self.tag_strings(out)
        verneed = self.one(_DT_VERNEED)
        if verneed is not None:
            out.needs = self.version_needs(self.r.locate(verneed, 16, "the version needs (DT_VERNEED)"),
                                           self.one(_DT_VERNEEDNUM))
        symtab = self.one(_DT_SYMTAB)
        if symtab is None:
            return out
        entry = 24 if self.r.bits == 64 else 16
        declared = self.one(_DT_SYMENT)
        if declared is not None and declared != entry:
            raise self.r.fail(f"DT_SYMENT says symbols have {declared} bytes, a {self.r.bits}-bit file's have {entry}")
        count = self.symbol_count()
        table = self.r.locate(symtab, count * entry, "the dynamic symbol table (DT_SYMTAB)")
        versym, verdef = self.one(_DT_VERSYM), self.one(_DT_VERDEF)
        self.symbols(out, table, count,
                     None if versym is None else self.r.locate(versym, 2 * count, "the symbol version table (DT_VERSYM)"),
                     None if verdef is None else self.r.locate(verdef, 20, "the version definitions (DT_VERDEF)"),
                     self.one(_DT_VERDEFNUM))
        return out

    def read_sections(self) -> tuple[_DynamicTables, bool]:
        """The tables as the section headers give them (a relocatable object), and whether there is a
        dynamic section: the first SHT_DYNAMIC section, its tags' strings in the string table it links
        to; every SHT_GNU_verneed section; the section named .dynsym, its SHT_GNU_versym and
        SHT_GNU_verdef sections."""
        table = self.r.sections
        dynamic = table.first(SHT_DYNAMIC)
        if dynamic is not None:
            self.tags = self.r.dynamic_tags(self.r.section_data(dynamic, "the dynamic section"))
        out = _DynamicTables(relr=_DT_RELR in self.tags or _DT_RELRSZ in self.tags)
        if dynamic is not None:
            self.strtab = self.r.linked(dynamic, "the dynamic section's string table")
            self.tag_strings(out)
        for section in table.sections:
            if section.type == SHT_GNU_VERNEED:
                self.strtab = self.r.linked(section, "the version needs' string table")
                out.needs.update(self.version_needs(section.offset, section.info))
        dynsym = table.named(".dynsym", SYMBOL_TABLES)
        if dynsym is not None:
            versym, verdef = table.first(SHT_GNU_VERSYM), table.first(SHT_GNU_VERDEF)
            count = self.dynsym_count()
            if versym is not None and versym.size < 2 * count:
                raise self.r.fail(f"the symbol version table (section {versym.index}) has {versym.size} bytes, "
                                  f"{count} dynamic symbols need {2 * count}")
            self.strtab = self.r.linked(dynsym, "the string table of .dynsym")
            self.symbols(out, dynsym.offset, count, None if versym is None else versym.offset,
                         None if verdef is None else verdef.offset, None if verdef is None else verdef.info)
        return out, dynamic is not None

    def tag_strings(self, out: _DynamicTables) -> None:
        out.needed = [self.string(v, "a DT_NEEDED name") for v in self.tags.get(_DT_NEEDED, [])]
        sonames = [self.string(v, "the DT_SONAME name") for v in self.tags.get(_DT_SONAME, [])]
        out.soname = sonames[0] if sonames else None
        out.rpath = [self.string(v, "a DT_RPATH entry") for v in self.tags.get(_DT_RPATH, [])]
        out.runpath = [self.string(v, "a DT_RUNPATH entry") for v in self.tags.get(_DT_RUNPATH, [])]

    def dynamic_strings_from_sections(self) -> bytes:
        """The dynamic string table where DT_STRTAB or DT_STRSZ is missing: the one the SHT_DYNAMIC
        section links to."""
        dynamic = self.r.sections.first(SHT_DYNAMIC)
        if dynamic is None:
            raise self.r.fail("the dynamic array (PT_DYNAMIC) names strings but has no DT_STRTAB or DT_STRSZ, "
                              "and no SHT_DYNAMIC section header says which string table it uses")
        return self.r.linked(dynamic, "the dynamic section's string table")

    def dynsym_count(self) -> int:
        """The number of dynamic symbols as the section headers give it: .dynsym's sh_size // sh_entsize."""
        dynsym = self.r.sections.named(".dynsym", SYMBOL_TABLES)
        if dynsym is None:
            raise self.r.fail("the number of dynamic symbols is unknown: there is no hash table (DT_GNU_HASH, "
                              "DT_HASH) and no .dynsym section header")
        entry = 24 if self.r.bits == 64 else 16
        if dynsym.entsize != entry:
            raise self.r.fail(f"the dynamic symbol table (section {dynsym.index}) has entries of {dynsym.entsize} "
                              f"bytes, a {self.r.bits}-bit file's have {entry}")
        return dynsym.size // entry

    def symbol_count(self) -> int:
        """The number of dynamic symbols, from DT_GNU_HASH or else DT_HASH (what the loader goes by), else
        from the .dynsym section header."""
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
        return self.dynsym_count()

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

    def version_needs(self, offset: int, expected: int | None) -> dict[int, tuple[str, str]]:
        """Version index -> (version, library) from the version needs at ``offset``, walked as the loader walks
        them; ``expected`` entries when the count is known (DT_VERNEEDNUM, sh_info)."""
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

    def defined_version_indexes(self, offset: int | None, count: int | None) -> int:
        """The highest version index the version definitions at ``offset`` define (0 when there are none)."""
        if offset is None:
            return 0
        highest = 0
        for _ in range(count or 1 << 16):
            _, _, ndx, _, _, _, following = struct.unpack(
                self.r.order + "HHHHIII", self.r.take(offset, 20, "a version definition (DT_VERDEF)"))
            highest = max(highest, ndx)
            if following == 0:
                break
            offset += following
        return highest

    def symbols(self, out: _DynamicTables, table_at: int, count: int, versym_at: int | None, verdef_at: int | None,
                verdefs: int | None) -> None:
        """Read ``count`` symbols at ``table_at``, their versions at ``versym_at`` (if any)."""
        entry = 24 if self.r.bits == 64 else 16
        out.symbol_count = count
        table = self.r.take(table_at, count * entry, "the dynamic symbol table")
        versions: tuple[int, ...] = ()
        if versym_at is not None:
            raw = self.r.take(versym_at, 2 * count, "the symbol version table")
            versions = struct.unpack(f"{self.r.order}{count}H", raw)
        highest = max(max(out.needs, default=0), self.defined_version_indexes(verdef_at, verdefs), 1)
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
