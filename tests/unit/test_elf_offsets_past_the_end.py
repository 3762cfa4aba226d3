"""A corrupt offset far past the end of the file is decided alike however the bytes are held.

The former full reader (pyelftools, now the tests' judge in tests/elf_full.py) followed a
DT_NEEDED string offset as it is. In memory a seek anywhere succeeds and reads nothing; on a
real file a seek at or beyond the largest size the file system allows fails (EINVAL: 2**44
bytes on ext4). read_elf_bytes read such a file while read_elf_streamed, which spools the file
to a temporary file, raised "malformed ELF data (OSError: [Errno 22] Invalid argument)". Found
by test_fuzz_elf.py::test_fuzz_mutated_elf_files in a full fast-tier run. manywheel now reads
relocatable objects itself and refuses the offset, with the same reason every way.
"""
from __future__ import annotations

import errno
import io
import os
import struct
from pathlib import Path
from typing import Callable

import pytest

from manywheel.check.elf import ElfFacts, read_elf_bytes, read_elf_file, read_elf_stream, read_elf_streamed
from manywheel.errors import ElfError

from tests.elf_full import read_full
from tests.streams import ChunkedStream

EXT4_LIMIT = 1 << 44  # the largest file ext4 allows (4 KiB blocks): lseek refuses offsets from here on
_SHT_STRTAB, _SHT_DYNAMIC, _DT_NEEDED = 3, 6, 1


def relocatable_with_needed(needed_offset: int) -> bytes:
    """A 64-bit little-endian x86_64 relocatable object (read through its section headers) whose
    one .dynamic entry is DT_NEEDED at ``needed_offset`` in .dynstr ("\\0libc.so.6\\0")."""
    dynstr = b"\0libc.so.6\0".ljust(16, b"\0")
    dynamic = struct.pack("<qQqQ", _DT_NEEDED, needed_offset, 0, 0)
    shstrtab = b"\0.dynstr\0.dynamic\0.shstrtab\0".ljust(32, b"\0")
    dynstr_at = 64
    dynamic_at = dynstr_at + len(dynstr)
    shstrtab_at = dynamic_at + len(dynamic)
    shoff = shstrtab_at + len(shstrtab)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 4, 3)
    section = struct.Struct("<IIQQQQIIQQ")
    sections = [
        section.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        section.pack(1, _SHT_STRTAB, 0, 0, dynstr_at, len(dynstr), 0, 0, 1, 0),
        section.pack(9, _SHT_DYNAMIC, 0, 0, dynamic_at, len(dynamic), 1, 0, 8, 16),
        section.pack(18, _SHT_STRTAB, 0, 0, shstrtab_at, len(shstrtab), 0, 0, 1, 0),
    ]
    return header + dynstr + dynamic + shstrtab + b"".join(sections)


class FileSystemLimitedStream(io.BytesIO):
    """A seekable stream that refuses offsets at or beyond ``limit`` as a real file does (EINVAL)."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = {os.SEEK_SET: 0, os.SEEK_CUR: self.tell(), os.SEEK_END: len(self.getbuffer())}[whence] + offset
        if target >= self.limit:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return super().seek(offset, whence)


def outcome(read: Callable[[], ElfFacts]) -> ElfFacts | str:
    """The facts, or the reason of the ElfError."""
    try:
        return read()
    except ElfError as e:
        return e.reason


def test_the_recipe_makes_a_file_read_as_pyelftools_reads_it() -> None:
    facts = read_elf_bytes(relocatable_with_needed(1), "x.o")
    assert facts.machine == "EM_X86_64" and facts.needed == ("libc.so.6",) and facts.has_dynamic
    assert facts == read_full(relocatable_with_needed(1), "x.o")


def test_the_offset_is_refused() -> None:
    with pytest.raises(ElfError, match=r"a DT_NEEDED name at offset 0x100000000001 lies past the end of the "
                                       r"dynamic string table \(16 bytes\)"):
        read_elf_bytes(relocatable_with_needed(1 + EXT4_LIMIT), "x.o")


@pytest.mark.parametrize("offset", [1 + EXT4_LIMIT, EXT4_LIMIT - 64, 1 << 48, 1 << 62],
                         ids=["2**44+1", "2**44-64", "2**48", "2**62"])
def test_whole_streamed_and_from_a_file_agree(offset: int, tmp_path: Path) -> None:
    data = relocatable_with_needed(offset)
    whole = outcome(lambda: read_elf_bytes(data, "x.o"))
    assert isinstance(whole, str) and "past the end of the dynamic string table" in whole
    (tmp_path / "x.o").write_bytes(data)
    assert outcome(lambda: read_elf_streamed(lambda: ChunkedStream(data), len(data), "x.o", keep=256)) == whole
    assert outcome(lambda: read_elf_file(tmp_path / "x.o", "x.o")) == whole


@pytest.mark.parametrize("offset", [1 + EXT4_LIMIT, 1 << 48], ids=["2**44+1", "2**48"])
def test_a_stream_with_a_file_systems_offset_limit_reads_like_memory(offset: int) -> None:
    # Wherever the temporary directory is (tmpfs allows offsets up to 2**63), a stream that
    # refuses offsets as ext4 does must give what the same bytes in memory give.
    data = relocatable_with_needed(offset)
    assert (outcome(lambda: read_elf_stream(FileSystemLimitedStream(data, EXT4_LIMIT), "x.o"))
            == outcome(lambda: read_elf_bytes(data, "x.o")))
