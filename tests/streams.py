"""A forward-only byte stream over bytes, the shape manywheel.check.elf.read_elf_streamed reads."""
from __future__ import annotations


class ChunkedStream:
    """Hands out at most ``step`` bytes per read (all that is asked for when ``step`` is None)."""

    def __init__(self, data: bytes, step: int | None = None) -> None:
        self.data, self.pos, self.step = data, 0, step

    def read(self, n: int) -> bytes:
        block = self.data[self.pos:self.pos + (n if self.step is None else min(n, self.step))]
        self.pos += len(block)
        return block

    def skip(self, n: int) -> int:
        passed = min(n, len(self.data) - self.pos)
        self.pos += passed
        return passed
