"""Writing a file so that it is either whole or absent: the one way manywheel writes its outputs."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator


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
