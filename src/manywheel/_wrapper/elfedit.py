"""The one place that edits ELF files, in place and without patchelf.

Two edits, both keeping every offset in the file as it was:
- ``remove_soname``: a bundled library's copy loses its ``DT_SONAME`` (the dynamic array's
  entries move up one, a ``DT_NULL`` more at its end), so a system copy of the same
  library loaded by something else is never mistaken for it;
- ``fill_runpath``: the ``RUNPATH`` placeholder reserved at link time is overwritten with the
  real ``$ORIGIN``-relative paths, NUL-padded, once the wheel's layout is known (or taken out,
  with the RUNPATH entry itself when nothing else is in it).

Reading ELF files is ``manywheel.check.elf``'s job; the little reading here (program
headers, the dynamic array, a SONAME) only finds what to edit.  Standard library only:
the wrapper imports it.
"""
from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

# The RUNPATH reserved in a module that needs a bundled library, long enough for any
# ``$ORIGIN/<...>/<dist>.libs``.
PLACEHOLDER = "$ORIGIN/.manywheel-bundled-libraries" + "-" * 200
_DT_NULL, _DT_STRTAB, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 5, 14, 15, 29
_PT_LOAD, _PT_DYNAMIC = 1, 2


class ElfEditError(Exception):
    """The bytes are not an ELF file this module can edit."""


def _layout(data: bytes) -> tuple[str, int, list[tuple[int, int, int, int]], tuple[int, int] | None]:
    """(byte order, class, PT_LOAD (vaddr, offset, filesz, memsz) list, PT_DYNAMIC (offset, size))."""
    if data[:4] != b"\x7fELF":
        raise ElfEditError("not an ELF file")
    bits, order = data[4], "<" if data[5] == 1 else ">"
    if bits == 2:
        phoff, phentsize, phnum = struct.unpack_from(order + "32xQ14xHH", data, 0)
        fmt = order + "IIQQQQQQ"
    else:
        phoff, phentsize, phnum = struct.unpack_from(order + "28xI10xHH", data, 0)
        fmt = order + "IIIIIIII"
    loads, dynamic = [], None
    for n in range(phnum):
        fields = struct.unpack_from(fmt, data, phoff + n * phentsize)
        if bits == 2:
            p_type, _flags, offset, vaddr, _paddr, filesz, memsz, _align = fields
        else:
            p_type, offset, vaddr, _paddr, filesz, memsz, _flags, _align = fields
        if p_type == _PT_LOAD:
            loads.append((vaddr, offset, filesz, memsz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (offset, filesz)
    return order, bits, loads, dynamic


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
