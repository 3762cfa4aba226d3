"""Where a reader's bytes come from: random access to a file's bytes, or a forward-only stream.

A :class:`Source` gives the fast reader the bytes at an offset: :class:`BytesSource` (held in
memory), :class:`SeekableSource` (a file), :class:`StreamSource` (a :class:`ByteStream`, e.g. a
zip member decompressed only as far as needed, keeping a prefix).
"""
from __future__ import annotations

import os
from typing import IO, Protocol

from ...errors import ElfError


class ByteStream(Protocol):
    """A file read from its start, e.g. a zip member being decompressed."""

    def read(self, n: int) -> bytes:
        """The next bytes: up to ``n``, fewer only at the end."""
        ...

    def skip(self, n: int) -> int:
        """Pass over up to ``n`` bytes without keeping them; how many were passed (fewer only at the end)."""
        ...


class Source(Protocol):
    """Bytes of one file at given offsets; ``size`` is the file's size."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def cheap(self, offset: int) -> bool:
        """Whether reading at ``offset`` costs little (random access, or the stream is nearly there)."""
        ...


class BytesSource:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self._data[offset:offset + length])

    def cheap(self, offset: int) -> bool:
        return True


class SeekableSource:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        stream.seek(0, os.SEEK_END)
        self.size = stream.tell()

    def read(self, offset: int, length: int) -> bytes:
        self._stream.seek(offset)
        return self._stream.read(length)

    def cheap(self, offset: int) -> bool:
        return True


class _NotKept(Exception):
    """A stream was asked for bytes it has passed without keeping them."""


class TruncatedData(ElfError):
    """A stream (a zip member) ended before the size it declared."""


class _Truncated(Exception):
    """A stream ended before the size it declared."""

    def __init__(self, got: int, size: int) -> None:
        super().__init__(f"the data ends after {got} of its {size} bytes")


class StreamSource:
    """A forward-only stream of a file: keeps its first ``keep`` bytes, then only what is asked."""

    _BLOCK = 8 << 20
    _CHEAP = 512 << 10

    def __init__(self, stream: ByteStream, size: int, keep: int) -> None:
        self._stream = stream
        self.size = size
        self._keep = min(keep, size)
        self._kept = bytearray()
        self._pos = 0  # how many bytes of the stream have been produced
        self._last = (0, b"")  # the last range read beyond the kept prefix

    def keep_at_most(self, end: int) -> None:
        """Keep no more than the first ``end`` bytes (the reader knows nothing it needs lies further)."""
        self._keep = max(min(self._keep, end), len(self._kept))

    def cheap(self, offset: int) -> bool:
        return offset <= len(self._kept) or offset - self._pos <= self._CHEAP

    def read(self, offset: int, length: int) -> bytes:
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        if end <= self._keep:
            self._fill(end)
            return bytes(self._kept[offset:end])
        start, data = self._last
        if start <= offset and end <= start + len(data):
            return data[offset - start:end - start]
        self._fill(self._keep)  # the prefix is kept, whatever is read after it
        head = b""
        if offset < self._keep:
            if self._pos > self._keep:
                raise _NotKept(offset)
            head, offset = bytes(self._kept[offset:]), self._keep
        elif offset < self._pos:
            raise _NotKept(offset)
        if self._pos < offset:
            passed = self._stream.skip(offset - self._pos)
            self._pos += passed
            if self._pos < offset:
                raise _Truncated(self._pos, self.size)
        parts = [head]
        while self._pos < end:
            parts.append(self._next(end - self._pos))
        data = b"".join(parts)
        self._last = (end - len(data), data)
        return data

    def _fill(self, end: int) -> None:
        while self._pos < end:
            self._kept += self._next(min(end - self._pos, self._BLOCK))

    def _next(self, n: int) -> bytes:
        block = self._stream.read(n)
        if not block:
            raise _Truncated(self._pos, self.size)
        self._pos += len(block)
        return block


def copy_stream(stream: ByteStream, size: int, out: IO[bytes]) -> None:
    """Copy the ``size`` bytes of a stream into ``out``."""
    done = 0
    while done < size:
        block = stream.read(min(size - done, 1 << 20))
        if not block:
            raise _Truncated(done, size)
        out.write(block)
        done += len(block)
