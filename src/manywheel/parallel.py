"""Parallel compilation of the sources of one extension (setuptools compiles them one by one)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator


@contextlib.contextmanager
def parallel_compile(jobs: int, log: Callable[[str], None]) -> Iterator[None]:
    """While active, setuptools compiles up to ``jobs`` sources of an extension at once."""
    yield
