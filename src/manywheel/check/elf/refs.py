"""The undefined symbols of relocatable objects and archives: what ``manywheel explain`` traces.

Only ``explain`` uses them, to say which source file a reference comes from.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ...errors import ElfError
from .facts import ELF_MAGIC
from .fast import _FastReader
from .sections import SYMBOL_TABLES
from .sources import BytesSource

_STB_LOCAL, _STT_FILE = 0, 4


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
    """The object's ``.symtab`` (the section of that name, as pyelftools finds it); None when it has none
    or cannot be read."""
    try:
        return _read_object_refs(_FastReader(BytesSource(data), name), name)
    except (ElfError, struct.error):
        return None


def _read_object_refs(reader: _FastReader, name: str) -> ObjectRefs | None:
    reader.read_header()
    table = reader.sections
    symtab = table.named(".symtab", SYMBOL_TABLES)
    if symtab is None:
        return None
    entry = 24 if reader.bits == 64 else 16
    if symtab.entsize != entry:
        raise reader.fail(f".symtab has entries of {symtab.entsize} bytes, a {reader.bits}-bit file's have {entry}")
    strings = reader.linked(symtab, "the string table of .symtab")
    rows = reader.section_data(symtab, ".symtab")
    layout = reader.order + ("IBBH16x" if reader.bits == 64 else "I8xBBH")  # st_name, st_info, st_other, st_shndx
    source = None
    undefined = set()
    for name_at, info, _, shndx in struct.iter_unpack(layout, rows[:len(rows) - len(rows) % entry]):
        symbol = _string(strings, name_at)
        if info & 0xF == _STT_FILE and source is None:
            source = symbol
        elif shndx == 0 and symbol and info >> 4 != _STB_LOCAL:
            undefined.add(symbol.split("@", 1)[0])
    return ObjectRefs(name, source, frozenset(undefined))


def _string(strings: bytes, offset: int) -> str:
    end = strings.find(b"\0", offset)
    return strings[offset:end if end >= 0 else len(strings)].decode("utf-8", "replace")


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
