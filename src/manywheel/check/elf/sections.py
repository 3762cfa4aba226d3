"""The section header table, where the program headers cannot decide.

The fast reader reads it when a file has no segments to follow (a relocatable object), keeps
a count in section 0 (extended numbering), or has a dynamic array without its string table
or without a hash table to count the dynamic symbols. :mod:`.refs` reads the symbol tables of
objects through it. Sections are found as pyelftools finds them: by type, or by name (the
last section of that name).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fast import _FastReader

SHN_XINDEX = 0xFFFF
SHT_SYMTAB, SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS, SHT_DYNSYM = 2, 6, 7, 8, 11
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
# The types pyelftools reads as a symbol table (SHT_SUNW_LDYNSYM is Solaris' local .dynsym).
SYMBOL_TABLES = (SHT_SYMTAB, SHT_DYNSYM, 0x6FFFFFF3)


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    entsize: int


@dataclass(frozen=True)
class SectionTable:
    """The sections of one file (plain data: it holds no reader, so no reference cycle keeps the
    reader's source, e.g. an open zip member, alive)."""

    sections: tuple[Section, ...]

    def first(self, sh_type: int) -> Section | None:
        return next((s for s in self.sections if s.type == sh_type), None)

    def named(self, name: str, types: tuple[int, ...]) -> Section | None:
        """The last section called ``name`` (the one pyelftools finds by name), if it has one of ``types``."""
        found = [s for s in self.sections if s.name == name]
        return found[-1] if found and found[-1].type in types else None


@dataclass(frozen=True)
class SectionHeaders:
    """Where the section header table is, as the ELF header says.

    Extended numbering: where ``e_shnum`` is 0 the count is section 0's ``sh_size``, where
    ``e_shstrndx`` is ``SHN_XINDEX`` the name table's index is section 0's ``sh_link``, and
    where ``e_phnum`` is ``PN_XNUM`` the number of program headers is section 0's ``sh_info``.
    """

    shoff: int
    shentsize: int
    shnum: int
    shstrndx: int

    def _entry(self, r: _FastReader, index: int) -> tuple[int, ...]:
        fmt = header_format(r)
        expected = struct.calcsize(fmt)
        if self.shentsize != expected:
            raise r.fail(f"section header entries of {self.shentsize} bytes (a {r.bits}-bit file has {expected})")
        return struct.unpack(fmt, r.take(self.shoff + index * expected, expected, f"section header {index}"))

    def program_header_count(self, r: _FastReader) -> int:
        """The number of program headers where ``e_phnum`` is ``PN_XNUM``: section 0's ``sh_info``."""
        if not self.shoff:
            raise r.fail("e_phnum is PN_XNUM (0xffff), which puts the number of program headers in section 0, "
                         "but the file has no section header table")
        return self._entry(r, 0)[7]

    def read(self, r: _FastReader) -> SectionTable:
        if not self.shoff:
            return SectionTable(())
        count, names_at = self.shnum, self.shstrndx
        if count == 0 or names_at == SHN_XINDEX:
            first = self._entry(r, 0)
            count = count or first[5]
            names_at = first[6] if names_at == SHN_XINDEX else names_at
        if not count:
            return SectionTable(())
        self._entry(r, 0)  # checks the entry size
        if self.shoff + count * self.shentsize > r.src.size:
            raise r.fail(f"the section header table at {self.shoff:#x} ({count} entries of {self.shentsize} bytes) "
                         f"runs past the end of the file ({r.src.size} bytes)")
        rows = list(struct.iter_unpack(header_format(r), r.take(self.shoff, count * self.shentsize,
                                                          "the section header table")))
        if names_at >= count:
            raise r.fail(f"the section name table is section {names_at}, the file has {count} sections")
        names = b""
        if names_at and rows[names_at][1] != SHT_NOBITS:
            names = r.take(rows[names_at][4], rows[names_at][5], "the section name table")
        # (sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize)
        return SectionTable(tuple(Section(i, _name(names, row[0]), row[1], row[4], row[5], row[6], row[7], row[8],
                                          row[9]) for i, row in enumerate(rows)))


def section_data(r: _FastReader, section: Section, what: str) -> bytes:
    if section.type == SHT_NOBITS:
        return b""
    return r.take(section.offset, section.size, f"{what} (section {section.index})")


def linked_data(r: _FastReader, table: SectionTable, section: Section, what: str) -> bytes:
    """The bytes of the section ``section`` links to (its string table)."""
    if not 0 < section.link < len(table.sections):
        raise r.fail(f"{what}: section {section.index} links to section {section.link}, the file has "
                     f"{len(table.sections)} sections")
    return section_data(r, table.sections[section.link], what)


def header_format(r: _FastReader) -> str:
    """The struct format of one section header of the file ``r`` reads."""
    return r.order + ("IIQQQQIIQQ" if r.bits == 64 else "10I")


def _name(names: bytes, offset: int) -> str:
    end = names.find(b"\0", offset)
    return names[offset:end if end >= 0 else len(names)].decode("utf-8", "replace")
