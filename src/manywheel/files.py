"""Writing a file so that it is either whole or absent: the one way manywheel writes its outputs; the
lock that makes concurrent builds fill one cache entry once; and where the caches live."""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """manywheel's cache when cache-dir is not set: $XDG_CACHE_HOME/manywheel, else ~/.cache/manywheel."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(environ.get("HOME") or tempfile.gettempdir(), ".cache")
    return Path(base) / "manywheel"


@contextlib.contextmanager
def replace_atomically(final: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file in ``final``'s directory; when the block ends normally it becomes
    ``final`` (``os.replace``, with ``mode``), and when it raises (an error, SIGTERM, Ctrl-C)
    it is removed: nobody ever sees half a file under the final name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if missing) for the block: another process asking
    for the same lock waits until this one is done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
