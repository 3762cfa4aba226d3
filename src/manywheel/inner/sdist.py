"""Make the inner backend's sdist reproducible when SOURCE_DATE_EPOCH is set.

setuptools records each file's mtime, the owner and the gzip time; two builds of the same
sources in different checkouts then differ.  The sdist is rewritten with members in name
order, every time set to SOURCE_DATE_EPOCH, owners cleared, modes normalised, and a gzip
header without a name or time.  Written to a temporary file and moved into place.
"""
from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from ..errors import WheelError
from ..files import replace_atomically


def normalize_sdist(path: Path, epoch: int) -> None:
    if not path.name.endswith(".tar.gz"):
        return  # a zip sdist or something else: leave it as the inner backend wrote it
    try:
        with tarfile.open(path, "r:gz") as src:
            members = sorted(src.getmembers(), key=lambda m: m.name)
            payload = [(m, src.extractfile(m).read() if m.isfile() else None) for m in members]  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as e:
        raise WheelError(f"cannot read the sdist {path.name} the inner backend wrote: {e}") from e
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member, data in payload:
            member.mtime = epoch
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            member.pax_headers = {}
            if member.isdir():
                member.mode = 0o755
            elif member.isfile():
                member.mode = 0o755 if member.mode & 0o111 else 0o644
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with replace_atomically(path) as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=epoch) as gz:
        gz.write(raw.getvalue())
