"""The undefined symbols of relocatable objects and archives: what ``manywheel explain`` traces.

Only ``explain`` uses them, to say which source file a reference comes from.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ...errors import ElfError
from .facts import ELF_MAGIC
from .full import _parse_errors


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
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

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
    except _parse_errors():
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
