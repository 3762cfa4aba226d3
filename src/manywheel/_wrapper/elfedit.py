"""The one place that edits ELF files, without patchelf.

Four edits.  The first three keep every offset in the file as it was:
- ``remove_soname``: a bundled library's copy loses its ``DT_SONAME`` (the dynamic array's
  entries move up one, a ``DT_NULL`` more at its end), so a system copy of the same
  library loaded by something else is never mistaken for it;
- ``fill_runpath``: the ``RUNPATH`` placeholder reserved at link time is overwritten with the
  real ``$ORIGIN``-relative paths, NUL-padded, once the wheel's layout is known (or taken out,
  with the RUNPATH entry itself when nothing else is in it);
- ``keep_runpath_entries``: the entries of an RPATH or RUNPATH that point at the build host are
  taken out the same way.
The last appends to the file:
- ``rename_needed``: a bundled library's copy names its bundled dependencies by their unique
  names (``DT_NEEDED`` and the version needs' file names) and gets a ``RUNPATH`` (``$ORIGIN``)
  that finds them.  The new names do not fit in the dynamic string table, so a copy of it
  with the new strings after the old ones is appended to the file (every old offset still
  names the same string) and mapped by a new read-only ``PT_LOAD``: the program header of a
  ``PT_NOTE`` (or an unused ``PT_NULL``), which nothing needs at run time.

Reading ELF files is ``manywheel.check.elf``'s job; the little reading here (program
headers, the dynamic array, a SONAME) only finds what to edit.  Standard library only:
the wrapper imports it.
"""
from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Mapping

# The RUNPATH reserved in a module that needs a bundled library, long enough for any
# ``$ORIGIN/<...>/<dist>.libs``.
PLACEHOLDER = "$ORIGIN/.manywheel-bundled-libraries" + "-" * 200
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
_DT_VERNEED, _DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
_PT_NULL, _PT_LOAD, _PT_DYNAMIC, _PT_NOTE, _PT_GNU_PROPERTY = 0, 1, 2, 4, 0x6474E553
_PF_R, _SHT_STRTAB, _SHF_ALLOC = 4, 3, 2
# struct formats by ELF class: a program header (Elf32_Phdr puts p_flags after p_memsz),
# a section header, a dynamic entry.
_PHDR = {2: "IIQQQQQQ", 1: "IIIIIIII"}
_SHDR = {2: "IIQQQQIIQQ", 1: "IIIIIIIIII"}
_DYN = {2: ("qQ", 16), 1: ("iI", 8)}


class ElfEditError(Exception):
    """The bytes are not an ELF file this module can edit."""


def _program_headers(data: bytes | bytearray) -> tuple[str, int, int, int, list[tuple[int, ...]]]:
    """(byte order, class, e_phoff, e_phentsize, program headers as (type, flags, offset,
    vaddr, paddr, filesz, memsz, align) in the table's order)."""
    if data[:4] != b"\x7fELF":
        raise ElfEditError("not an ELF file")
    if data[4] not in (1, 2) or data[5] not in (1, 2):
        raise ElfEditError(f"unknown ELF class {data[4]} or byte order {data[5]}")
    bits, order = data[4], "<" if data[5] == 1 else ">"
    try:
        if bits == 2:
            phoff, phentsize, phnum = struct.unpack_from(order + "32xQ14xHH", data, 0)
        else:
            phoff, phentsize, phnum = struct.unpack_from(order + "28xI10xHH", data, 0)
        headers = []
        for n in range(phnum):
            fields = struct.unpack_from(order + _PHDR[bits], data, phoff + n * phentsize)
            if bits == 2:
                headers.append(fields)
            else:  # Elf32_Phdr has p_flags after p_memsz
                p_type, offset, vaddr, paddr, filesz, memsz, flags, align = fields
                headers.append((p_type, flags, offset, vaddr, paddr, filesz, memsz, align))
    except struct.error as e:
        raise ElfEditError(f"truncated ELF file: the program headers end past its {len(data)} bytes") from e
    return order, bits, phoff, phentsize, headers


def _layout(data: bytes) -> tuple[str, int, list[tuple[int, int, int, int]], tuple[int, int] | None]:
    """(byte order, class, PT_LOAD (vaddr, offset, filesz, memsz) list, PT_DYNAMIC (offset, size))."""
    order, bits, _phoff, _phentsize, headers = _program_headers(data)
    loads = [(h[3], h[2], h[5], h[6]) for h in headers if h[0] == _PT_LOAD]
    dynamic = [(h[2], h[5]) for h in headers if h[0] == _PT_DYNAMIC]
    return order, bits, loads, dynamic[-1] if dynamic else None


def _entries(data: bytes) -> tuple[str, int, list[tuple[int, int]], tuple[int, int] | None, list[tuple[int, int, int, int]]]:
    order, bits, loads, dynamic = _layout(data)
    entries = []
    if dynamic is not None:
        fmt, size = (order + "qQ", 16) if bits == 2 else (order + "iI", 8)
        for off in range(dynamic[0], dynamic[0] + dynamic[1] - size + 1, size):
            tag, val = struct.unpack_from(fmt, data, off)
            entries.append((tag, val))
            if tag == _DT_NULL:
                break
    return order, bits, entries, dynamic, loads


def read_soname(data: bytes) -> str | None:
    _order, _bits, entries, _dynamic, loads = _entries(data)
    soname = next((v for t, v in entries if t == _DT_SONAME), None)
    return None if soname is None else _string(data, entries, loads, soname)


def read_needed(data: bytes) -> list[str]:
    """The ``DT_NEEDED`` names, in order."""
    _order, _bits, entries, _dynamic, loads = _entries(data)
    names = [_string(data, entries, loads, v) for t, v in entries if t == _DT_NEEDED]
    return [n for n in names if n is not None]


def remove_soname(data: bytes) -> bytes:
    """``data`` with the DT_SONAME entry taken out of the dynamic array (a DT_NULL more at its end)."""
    return _remove_entries(data, lambda tag, _value: tag == _DT_SONAME)


def _remove_entries(data: bytes, drop: Callable[[int, int], bool]) -> bytes:
    """``data`` with the dynamic entries ``drop`` picks taken out (DT_NULLs more at the array's end)."""
    order, bits, entries, dynamic, _loads = _entries(data)
    if dynamic is None or not any(drop(t, v) for t, v in entries):
        return data
    fmt, size = (order + "qQ", 16) if bits == 2 else (order + "iI", 8)
    kept = [(t, v) for t, v in entries if not drop(t, v)]
    kept += [(_DT_NULL, 0)] * (len(entries) - len(kept))
    out = bytearray(data)
    for n, (tag, val) in enumerate(kept):
        struct.pack_into(fmt, out, dynamic[0] + n * size, tag, val)
    return bytes(out)


def fill_runpath(data: bytes, value: str) -> bytes:
    """``data`` with the link-time RUNPATH placeholder replaced by ``value`` and NUL padding.

    An empty ``value`` takes the placeholder out of the path list (an empty entry would
    mean the current directory), and the RUNPATH out of the dynamic array when nothing is
    left of it.  Raises ValueError when ``value`` is longer than the placeholder."""
    placeholder = PLACEHOLDER.encode()
    raw = value.encode()
    if len(raw) > len(placeholder):
        raise ValueError(f"{value} is longer than the {len(placeholder)} bytes reserved for it")
    out = bytearray(data)
    at = out.find(placeholder)
    while at >= 0:
        end = out.index(b"\0", at)
        after = at + len(placeholder)
        rest = bytes(out[after + 1:end]) if out[after:after + 1] == b":" else b""
        start = at - 1 if not raw and at > 0 and out[at - 1] == ord(":") else at
        if raw:  # "A:PH:B" -> "A:VALUE:B"
            new = raw + (b":" + rest if rest else b"")
        elif start != at:  # "A:PH:B" -> "A:B", "A:PH" -> "A"
            new = b":" + rest if rest else b""
        else:  # "PH:B" -> "B", "PH" -> "" (and the entry goes)
            new = rest
        out[start:end] = new + b"\0" * (end - start - len(new))
        at = out.find(placeholder)
    edited = bytes(out)
    _order, _bits, entries, _dynamic, loads = _entries(edited)
    return _remove_entries(edited, lambda tag, value: tag in (_DT_RPATH, _DT_RUNPATH)
                           and _string(edited, entries, loads, value) == "")


def keep_runpath_entries(data: bytes, keep: Callable[[str], bool]) -> tuple[bytes, list[str]]:
    """``data`` whose RPATH and RUNPATH hold only the entries ``keep`` accepts, and the entries
    taken out (empty ones included: they mean the current directory).

    Edited in place, like ``fill_runpath``: the kept entries are written over the old string,
    NUL-padded, and the RPATH or RUNPATH entry goes from the dynamic array when nothing is left.
    ``data`` comes back as it was when every entry is kept."""
    try:
        _order, _bits, entries, _dynamic, loads = _entries(data)
        paths = sorted({value for tag, value in entries if tag in (_DT_RPATH, _DT_RUNPATH)})
        if not paths:
            return data, []
        strtab, table = _string_table(data, entries, loads)
        start = _file_offset(data, loads, strtab, len(table), "the dynamic string table")
        out = bytearray(data)
        dropped: list[str] = []
        for offset in paths:
            end = table.find(b"\0", offset)
            if end < 0:
                raise ElfEditError(f"string offset {offset} is past the end of the dynamic string table")
            raw = table[offset:end]
            parts = raw.decode("utf-8", "surrogateescape").split(":")
            kept = [p for p in parts if keep(p)]
            if kept == parts:
                continue
            dropped += [p for p in parts if not keep(p)]
            new = ":".join(kept).encode("utf-8", "surrogateescape")
            out[start + offset:start + offset + len(raw)] = new + b"\0" * (len(raw) - len(new))
    except struct.error as e:
        raise ElfEditError(f"damaged or truncated ELF file: {e}") from e
    if not dropped:
        return data, []
    edited = bytes(out)
    _order, _bits, entries, _dynamic, loads = _entries(edited)
    return _remove_entries(edited, lambda tag, value: tag in (_DT_RPATH, _DT_RUNPATH)
                           and _string(edited, entries, loads, value) == ""), dropped


def _string(data: bytes, entries: list[tuple[int, int]], loads: list[tuple[int, int, int, int]],
            offset: int) -> str | None:
    """The dynamic string table's string at ``offset`` (``entries``, ``loads``: ``_entries``' reading)."""
    strtab = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab is None:
        return None
    for vaddr, file_offset, filesz, _memsz in loads:
        if vaddr <= strtab < vaddr + filesz:
            start = file_offset + (strtab - vaddr) + offset
            return data[start:data.index(b"\0", start)].decode("utf-8", "replace")
    return None


def has_runpath_placeholder(data: bytes) -> bool:
    return PLACEHOLDER.encode() in data


def rename_needed(data: bytes, renames: Mapping[str, str], runpath: str | None) -> bytes:
    """``data`` whose ``DT_NEEDED`` entries that ``renames`` names (and the version needs that
    name the same files) name their new names, and whose RUNPATH is ``runpath`` (unless None):
    an RPATH's or RUNPATH's value is replaced, or a RUNPATH goes into a spare ``DT_NULL`` slot.

    The strings go into a copy of the dynamic string table appended to the file and mapped by
    a new PT_LOAD (see the module docstring).  ``data`` comes back as it was when nothing
    changes.  Raises ElfEditError when the file cannot be edited this way (not ELF, no dynamic
    array, no spare slot for a RUNPATH, no PT_NOTE or PT_NULL program header to map with)."""
    try:
        order, bits, entries, dynamic, loads = _entries(data)
        if dynamic is None:
            raise ElfEditError("no dynamic section (PT_DYNAMIC) to edit")
        if not entries or entries[-1][0] != _DT_NULL:
            raise ElfEditError("the dynamic array has no DT_NULL at its end")
        strtab, table = _string_table(data, entries, loads)
        renamed = {name: renames[name] for name in (_name(table, v) for t, v in entries if t == _DT_NEEDED)
                   if renames.get(name, name) != name}
        paths = [value for tag, value in entries if tag in (_DT_RPATH, _DT_RUNPATH)]
        if paths and all(_name(table, value) == runpath for value in paths):
            runpath = None  # already there
        if not renamed and runpath is None:
            return data
        fmt, size = _DYN[bits]
        if runpath is not None and not paths and len(entries) >= dynamic[1] // size:
            raise ElfEditError("no spare DT_NULL slot in the dynamic array for a RUNPATH "
                               "(remove_soname frees one in a library that had a SONAME)")
        new_table, offsets = _extended_table(table, [*renamed.values(), *([] if runpath is None else [runpath])])
        out = bytearray(data) + bytes(-len(data) % 8)  # after everything, section headers included
        table_offset = len(out)
        out += new_table
        vaddr = _add_segment(out, table_offset, len(new_table))
        needed = {old: offsets[new] for old, new in renamed.items()}
        values = {_DT_STRTAB: vaddr, _DT_STRSZ: len(new_table)}
        if runpath is not None:
            values.update({_DT_RPATH: offsets[runpath], _DT_RUNPATH: offsets[runpath]})
        edited = [(tag, needed.get(_name(table, value), value) if tag == _DT_NEEDED else values.get(tag, value))
                  for tag, value in entries]
        if runpath is not None and not paths:
            edited.insert(len(edited) - 1, (_DT_RUNPATH, offsets[runpath]))
        for n, (tag, value) in enumerate(edited):
            struct.pack_into(order + fmt, out, dynamic[0] + n * size, tag, value)
        _rename_version_needs(out, order, entries, loads, table, needed)
        _move_string_section(out, order, bits, strtab, vaddr, table_offset, len(new_table))
        return bytes(out)
    except struct.error as e:
        raise ElfEditError(f"damaged or truncated ELF file: {e}") from e


def _extended_table(table: bytes, strings: list[str]) -> tuple[bytes, dict[str, int]]:
    """``table`` followed by ``strings`` (every old offset names what it named), and their offsets."""
    new_table, offsets = bytearray(table), {}
    for string in strings:
        if "\0" in string:
            raise ElfEditError(f"{string!r} has a NUL character")
        if string not in offsets:
            offsets[string] = len(new_table)
            new_table += string.encode() + b"\0"
    return bytes(new_table), offsets


def _string_table(data: bytes, entries: list[tuple[int, int]],
                  loads: list[tuple[int, int, int, int]]) -> tuple[int, bytes]:
    """The dynamic string table's address and bytes."""
    strtab = next((v for t, v in entries if t == _DT_STRTAB), None)
    strsz = next((v for t, v in entries if t == _DT_STRSZ), None)
    if strtab is None or strsz is None:
        raise ElfEditError("the dynamic array has no DT_STRTAB or no DT_STRSZ")
    start = _file_offset(data, loads, strtab, strsz, "the dynamic string table")
    return strtab, data[start:start + strsz]


def _file_offset(data: bytes | bytearray, loads: list[tuple[int, int, int, int]], vaddr: int, size: int,
                 what: str) -> int:
    for seg_vaddr, offset, filesz, _memsz in loads:
        if seg_vaddr <= vaddr and vaddr + size <= seg_vaddr + filesz and offset + filesz <= len(data):
            return offset + vaddr - seg_vaddr
    raise ElfEditError(f"{what} ({size} bytes at {vaddr:#x}) is not in the file's loaded segments")


def _name(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    if end < 0:
        raise ElfEditError(f"string offset {offset} is past the end of the dynamic string table")
    return table[offset:end].decode("utf-8", "replace")


def _add_segment(out: bytearray, offset: int, size: int) -> int:
    """Map ``out[offset:offset + size]`` read-only, above everything else, by a new PT_LOAD
    program header (a PT_NULL or PT_NOTE one before); returns its address."""
    order, bits, phoff, phentsize, headers = _program_headers(out)
    loads = [n for n, h in enumerate(headers) if h[0] == _PT_LOAD]
    if not loads:
        raise ElfEditError("no PT_LOAD segment")
    align = max(1, *(headers[n][7] for n in loads))
    top = max(h[3] + h[6] for h in headers)
    vaddr = -(-top // align) * align + offset % align  # p_offset and p_vaddr agree modulo p_align
    slot = _spare_program_header(headers)
    # glibc wants the PT_LOADs in ascending p_vaddr order: the new one goes after the last one
    rest = headers[:slot] + headers[slot + 1:]
    at = max(slot, loads[-1])
    headers = rest[:at] + [(_PT_LOAD, _PF_R, offset, vaddr, vaddr, size, size, align)] + rest[at:]
    starts = [h[3] for h in headers if h[0] == _PT_LOAD]
    if starts != sorted(starts):
        raise ElfEditError("the PT_LOAD program headers are not in ascending address order")
    for n, (p_type, flags, p_offset, p_vaddr, paddr, filesz, memsz, p_align) in enumerate(headers):
        fields = ((p_type, flags, p_offset, p_vaddr, paddr, filesz, memsz, p_align) if bits == 2
                  else (p_type, p_offset, p_vaddr, paddr, filesz, memsz, flags, p_align))
        struct.pack_into(order + _PHDR[bits], out, phoff + n * phentsize, *fields)
    return vaddr


def _spare_program_header(headers: list[tuple[int, ...]]) -> int:
    """The index of the program header the new PT_LOAD takes: an unused PT_NULL, else a
    PT_NOTE (nothing needs one at run time) other than the GNU property note, which older
    glibc reads through its PT_NOTE; the table's last of the best kind."""
    candidates = [n for n, h in enumerate(headers) if h[0] in (_PT_NULL, _PT_NOTE)]
    if not candidates:
        raise ElfEditError("no PT_NOTE or PT_NULL program header to turn into the PT_LOAD "
                           "that maps the new dynamic string table")
    properties = {(h[2], h[5]) for h in headers if h[0] == _PT_GNU_PROPERTY}
    return max(candidates, key=lambda n: (headers[n][0] == _PT_NULL,
                                          (headers[n][2], headers[n][5]) not in properties, n))


def _rename_version_needs(out: bytearray, order: str, entries: list[tuple[int, int]],
                          loads: list[tuple[int, int, int, int]], table: bytes, offsets: dict[str, int]) -> None:
    """Point the version needs (``Elf_Verneed.vn_file``) of renamed files at their new names: the
    loader finds the library a version need names by that name, and asserts when it cannot."""
    verneed = next((v for t, v in entries if t == _DT_VERNEED), None)
    count = next((v for t, v in entries if t == _DT_VERNEEDNUM), 0)
    if verneed is None or not offsets:
        return
    at = _file_offset(out, loads, verneed, 16, "the version needs (DT_VERNEED)")
    for _ in range(count):
        _version, _count, file, _aux, following = struct.unpack_from(order + "HHIII", out, at)
        if _name(table, file) in offsets:
            struct.pack_into(order + "I", out, at + 4, offsets[_name(table, file)])
        if not following:
            break
        at += following


def _move_string_section(out: bytearray, order: str, bits: int, old_vaddr: int, vaddr: int, offset: int,
                         size: int) -> None:
    """Point the section header of ``.dynstr`` (the allocated string table at ``old_vaddr``), if
    there are section headers, at the new table, so tools reading sections read it too."""
    if bits == 2:
        shoff, shentsize, shnum = struct.unpack_from(order + "40xQ10xHH", out, 0)
    else:
        shoff, shentsize, shnum = struct.unpack_from(order + "32xI10xHH", out, 0)
    fmt = order + _SHDR[bits]
    if shoff and not shnum:  # more than 0xff00 sections: the count is section 0's sh_size
        shnum = struct.unpack_from(fmt, out, shoff)[5]
    for n in range(shnum if shoff else 0):
        fields = list(struct.unpack_from(fmt, out, shoff + n * shentsize))
        if fields[1] == _SHT_STRTAB and fields[2] & _SHF_ALLOC and fields[3] == old_vaddr:
            fields[3:6] = [vaddr, offset, size]
            struct.pack_into(fmt, out, shoff + n * shentsize, *fields)
