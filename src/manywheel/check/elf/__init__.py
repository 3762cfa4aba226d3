"""Reading ELF files into the facts that ``manywheel check`` and the build's verification judge.

Returns plain frozen dataclasses (:mod:`.facts`). Anything the reader cannot make sense of becomes an :class:`ElfError` naming the file and the
precise reason.

The reader (:mod:`.fast`) reads what the dynamic loader reads, through a :class:`Source`
(:mod:`.sources`), which may be a forward-only stream (a zip member decompressed only as far as
needed); where the program headers cannot decide (relocatable objects, extended numbering, no
hash table or no string table in the dynamic array) it reads the section headers
(:mod:`.sections`). The entry points are in :mod:`.read`. :mod:`.refs` reads the undefined
symbols of objects and archives, for ``manywheel explain``. It is standard library only; the
tests compare its facts with pyelftools' on the same bytes (``tests/elf_full.py``).

This is not the only code that reads ELF: ``manywheel._wrapper.elfedit`` edits ELF files for
the compiler wrapper and repair (standard library only) and reads the little it needs for that
(program headers, the dynamic array, ``DT_NEEDED``, ``DT_SONAME``). Facts for a verdict come
from here.
"""
from __future__ import annotations

from .facts import ELF_MAGIC, ElfFacts, UnversionedRef, VersionedRef, arch_of, is_elf
from .fast import _FastReader as _FastReader
from .read import read_elf_bytes, read_elf_file, read_elf_stream, read_elf_streamed
from .refs import ObjectRefs, read_object_refs
from .sources import ByteStream, BytesSource, SeekableSource, Source, StreamSource, TruncatedData, copy_stream

# _FastReader: the tests compare its facts with pyelftools' on the same bytes.
__all__ = [
    "ELF_MAGIC", "ByteStream", "BytesSource", "ElfFacts", "ObjectRefs", "SeekableSource", "Source", "StreamSource",
    "TruncatedData", "UnversionedRef", "VersionedRef", "arch_of", "copy_stream", "is_elf", "read_elf_bytes",
    "read_elf_file", "read_elf_stream", "read_elf_streamed", "read_object_refs",
]
