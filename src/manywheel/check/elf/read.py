"""The entry points: the facts of one ELF file held in memory, in a file, or in a forward stream."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Callable

from ...errors import ElfError
from .facts import ELF_MAGIC, ElfFacts
from .fast import _FastReader
from .sources import (BytesSource, ByteStream, SeekableSource, StreamSource, TruncatedData, _NotKept, _Truncated,
                      copy_stream)


def read_elf_file(path: str | Path, display_name: str | None = None) -> ElfFacts:
    """Read the facts of the ELF file at ``path``."""
    name = display_name or str(path)
    try:
        with open(path, "rb") as f:
            return read_elf_stream(f, name)
    except OSError as e:
        raise ElfError(name, e.strerror or str(e)) from e


def read_elf_bytes(data: bytes, display_name: str) -> ElfFacts:
    """Read the facts of an ELF file held in memory."""
    if data[:4] != ELF_MAGIC:
        raise ElfError(display_name, f"not an ELF file (starts with {bytes(data[:4])!r})")
    return _FastReader(BytesSource(data), display_name).facts()


def read_elf_stream(stream: IO[bytes], display_name: str) -> ElfFacts:
    """Read the facts of an ELF file from a seekable binary stream."""
    magic = stream.read(4)
    stream.seek(0)
    if magic != ELF_MAGIC:
        raise ElfError(display_name, f"not an ELF file (starts with {magic!r})")
    return _FastReader(SeekableSource(stream), display_name).facts()


def read_elf_streamed(open_stream: Callable[[], ByteStream], size: int, display_name: str,
                      keep: int = 48 << 20) -> ElfFacts:
    """Read the facts of an ELF file that is only available as a forward stream.

    ``open_stream()`` returns a :class:`ByteStream` of the file from its start; ``size``
    is the file's size. The stream is read only as far as the facts need and at most
    ``keep`` bytes of it are held in memory. When the layout needs bytes the first pass
    did not keep, the file is read again, whole, into a temporary file.
    """
    try:
        source = StreamSource(open_stream(), size, keep)
        magic = source.read(0, min(4, size))
        if magic != ELF_MAGIC:
            raise ElfError(display_name, f"not an ELF file (starts with {magic!r})")
        try:
            return _FastReader(source, display_name).facts()
        except _NotKept:
            pass
        with tempfile.TemporaryFile(prefix="manywheel-elf-") as spool:
            copy_stream(open_stream(), size, spool)
            spool.seek(0)
            return read_elf_stream(spool, display_name)
    except _Truncated as e:
        raise TruncatedData(display_name, str(e)) from e
