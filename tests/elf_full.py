"""The tests' independent judge: ELF facts as pyelftools reads them, section by section.

manywheel's own reader (manywheel.check.elf) is compared with this one on the same bytes
(tests/unit/test_check_readers.py, tests/integration/test_real_wheels.py). It was manywheel's
"full reader" until manywheel read the section headers itself; pyelftools is a test requirement
only (tests/requirements.txt). Its objects never leave this module.
"""
from __future__ import annotations

import io
import os
import struct
from typing import IO, TYPE_CHECKING, Any, Iterator, cast

from manywheel.check.elf.facts import (_EXEC_STACK_BY_DEFAULT, _PF_X, _X86_ISA_NEEDED_RAW, ElfFacts, UnversionedRef,
                                       VersionedRef, _float_abi, _split_paths)
from manywheel.errors import ElfError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

_X86_ISA_NEEDED = "GNU_PROPERTY_X86_ISA_1_NEEDED"


def _parse_errors() -> tuple[type[BaseException], ...]:
    """What pyelftools raises for malformed input; each means "not a readable ELF file"."""
    from elftools.common.exceptions import ELFError, ELFParseError

    # OSError: a seek to an absurd offset of a real file (EINVAL) while following a corrupt field.
    errors: tuple[type[BaseException], ...] = (
        ELFError, ELFParseError, struct.error, ValueError, IndexError, KeyError, TypeError, AttributeError,
        UnicodeDecodeError, AssertionError, OverflowError, RecursionError, MemoryError, EOFError, OSError)
    try:  # construct's own error base, raised by pyelftools' struct parsing
        from elftools.construct.core import ConstructError
        errors += (ConstructError,)
    except ImportError:  # pragma: no cover - depends on the pyelftools version
        pass
    return errors


class _PastEndReadsEmpty:
    """A seekable stream as pyelftools should see it: any position past the end reads as empty.

    pyelftools follows corrupt offsets and sizes as they are. On ``io.BytesIO`` a seek anywhere
    succeeds and a read of any length returns what is left; on a real file a seek beyond the
    largest size its file system allows fails (EINVAL: 2**44 bytes on ext4, not on tmpfs) and
    a read of a huge length allocates that length first (MemoryError). The same bytes must be
    decided alike whether they are held in memory or spooled to a temporary file, so the full
    reader never hands such a seek or read to the stream it was given.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._size = self._at = stream.seek(0, os.SEEK_END)  # _at: where ``stream`` is
        self._pos = 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self._size
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._pos = offset
        return offset

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._size - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        if self._at != self._pos:
            self._stream.seek(self._pos)
        data = self._stream.read(size)
        self._pos = self._at = self._pos + len(data)
        return data


def read_full(data: bytes | IO[bytes], display_name: str) -> ElfFacts:
    """The facts pyelftools reads from ``data`` (bytes, or a seekable binary stream)."""
    from elftools.elf.elffile import ELFFile

    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        # pyelftools only seeks, tells and reads its stream
        return _read(ELFFile(cast("IO[bytes]", _PastEndReadsEmpty(stream))), display_name)
    except ElfError:
        raise
    except _parse_errors() as e:
        raise ElfError(display_name, f"malformed ELF data ({type(e).__name__}: {e})") from e


def _read(elf: ELFFile, name: str) -> ElfFacts:
    header = elf.header
    e_flags = int(header["e_flags"])
    machine = str(header["e_machine"])
    dynamic = _dynamic_tags(elf)
    needs = _version_needs(elf)
    versioned, unversioned, exported = _symbols(elf, needs)
    return ElfFacts(
        path=name,
        machine=machine,
        elf_class=int(elf.elfclass),
        little_endian=bool(elf.little_endian),
        osabi=str(header["e_ident"]["EI_OSABI"]),
        arm_float_abi=_float_abi(machine, e_flags),
        e_flags=e_flags,
        interpreter=_interpreter(elf),
        needed=tuple(dynamic.get("DT_NEEDED", ())),
        soname=next(iter(dynamic.get("DT_SONAME", [])), None),
        rpath=_split_paths(dynamic.get("DT_RPATH", [])),
        runpath=_split_paths(dynamic.get("DT_RUNPATH", [])),
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
    from elftools.elf.dynamic import DynamicSection

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
            elif kind in ("DT_RELR", "DT_RELRSZ", "35", "36"):
                tags.setdefault("DT_RELR", []).append("")
        break
    return tags


def _version_needs(elf: ELFFile) -> dict[int, tuple[str, str]]:
    """Map a version index to (version name, library) from ..gnu.version_r."""
    from elftools.elf.gnuversions import GNUVerNeedSection

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
    from elftools.elf.gnuversions import GNUVerSymSection
    from elftools.elf.sections import SymbolTableSection

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
        ndx = versym.get_symbol(index)["ndx"] if versym is not None else 1
        ndx = int(ndx) & 0x7FFF if isinstance(ndx, int) else 1
        if ndx in needs:
            version, library = needs[ndx]
            versioned.append(VersionedRef(str(sym.name), version, library, weak))
        else:
            unversioned.append(UnversionedRef(str(sym.name), weak))
    return tuple(versioned), tuple(unversioned), tuple(exported)


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_INTERP":
            return str(getattr(segment, "get_interp_name")())
    return None


def _exec_stack(elf: ELFFile) -> bool:
    """True when the stack would be executable: PT_GNU_STACK with PF_X."""
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_GNU_STACK":
            return bool(int(segment["p_flags"]) & _PF_X)
    return elf.num_segments() > 0 and elf.header["e_machine"] in _EXEC_STACK_BY_DEFAULT


def _iter_properties(elf: ELFFile) -> Iterator[Any]:
    from elftools.elf.sections import NoteSection

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

