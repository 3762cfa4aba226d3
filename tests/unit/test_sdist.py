"""A reproducible sdist: normalize_sdist rewrites a .tar.gz with fixed times, owners and modes."""
from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
from pathlib import Path

import pytest

from manywheel.errors import WheelError
from manywheel.inner.sdist import normalize_sdist

EPOCH = 1_700_000_000

# name -> (mode, content); None content: a directory
ENTRIES: dict[str, tuple[int, bytes | None]] = {
    "demo-1.0": (0o700, None),
    "demo-1.0/src": (0o775, None),
    "demo-1.0/PKG-INFO": (0o444, b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
    "demo-1.0/setup.py": (0o600, b"from setuptools import setup\nsetup()\n"),
    "demo-1.0/build.sh": (0o750, b"#!/bin/sh\necho built\n"),
    "demo-1.0/src/core.c": (0o664, b"int core(void) { return 42; }\n"),
    "demo-1.0/tools/run": (0o4711, b"\x7fELF binary bytes \x00\xff"),
}


def write_sdist(path: Path, *, mtime: float, uid: int, user: str, reverse: bool = False) -> None:
    """A .tar.gz as a backend might write it: the times, owner and member order given, and a gzip
    header that records a file name and ``mtime``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(ENTRIES, reverse=reverse):
            mode, content = ENTRIES[name]
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, mtime  # a fractional mtime becomes a PAX header
            info.uid, info.gid, info.uname, info.gname = uid, uid + 1, user, user
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    with open(path, "wb") as f, gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=f, mtime=int(mtime)) as gz:
        gz.write(raw.getvalue())


def members(path: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(path, "r:gz") as tar:
        found = []
        for m in tar.getmembers():
            data = tar.extractfile(m) if m.isfile() else None
            found.append((m, data.read() if data is not None else None))
        return found


def test_times_owners_and_modes_are_normalized_and_contents_kept(tmp_path: Path) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    write_sdist(sdist, mtime=1_234_567_890.5, uid=1000, user="alice", reverse=True)
    assert all("mtime" in m.pax_headers for m, _ in members(sdist))
    normalize_sdist(sdist, EPOCH)
    got = members(sdist)
    assert [m.name for m, _ in got] == sorted(ENTRIES)  # name order, whatever the input's
    for m, data in got:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (EPOCH, 0, 0, "", ""), m.name
        assert m.pax_headers == {}, m.name
        assert data == ENTRIES[m.name][1], m.name
    modes = {m.name: m.mode for m, _ in got}
    assert modes == {"demo-1.0": 0o755, "demo-1.0/src": 0o755, "demo-1.0/PKG-INFO": 0o644,
                     "demo-1.0/setup.py": 0o644, "demo-1.0/build.sh": 0o755, "demo-1.0/src/core.c": 0o644,
                     "demo-1.0/tools/run": 0o755}


def test_the_gzip_header_carries_the_epoch_and_no_name(tmp_path: Path) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    write_sdist(sdist, mtime=1_000, uid=0, user="root")
    assert sdist.read_bytes()[3] & 0x08  # FNAME: the input records a name
    normalize_sdist(sdist, EPOCH)
    header = sdist.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # no FNAME, no comment, no extra field
    assert struct.unpack("<I", header[4:8])[0] == EPOCH


def test_different_times_owners_and_orders_give_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "demo-1.0.tar.gz", tmp_path / "b" / "demo-1.0.tar.gz"
    first.parent.mkdir()
    second.parent.mkdir()
    write_sdist(first, mtime=1_000, uid=1000, user="alice")
    write_sdist(second, mtime=1_600_000_000.25, uid=501, user="bob", reverse=True)
    assert first.read_bytes() != second.read_bytes()
    normalize_sdist(first, EPOCH)
    normalize_sdist(second, EPOCH)
    assert first.read_bytes() == second.read_bytes()
    normalize_sdist(second, EPOCH + 1)  # the epoch is what the bytes depend on
    assert first.read_bytes() != second.read_bytes()


def test_a_normalized_sdist_is_normalized_again_unchanged(tmp_path: Path) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    write_sdist(sdist, mtime=42, uid=7, user="ci")
    normalize_sdist(sdist, EPOCH)
    once = sdist.read_bytes()
    normalize_sdist(sdist, EPOCH)
    assert sdist.read_bytes() == once


@pytest.mark.parametrize("damage", ["truncated", "not gzip"])
def test_an_unreadable_sdist_is_an_error_and_left_as_it_was(tmp_path: Path, damage: str) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    write_sdist(sdist, mtime=1_000, uid=1000, user="alice")
    data = sdist.read_bytes()
    sdist.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"PK\x03\x04 a zip, not a tarball")
    before = sdist.read_bytes()
    with pytest.raises(WheelError) as err:
        normalize_sdist(sdist, EPOCH)
    assert "cannot read the sdist demo-1.0.tar.gz" in err.value.render()
    assert sdist.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["demo-1.0.tar.gz"]  # no temporary file left behind


def test_an_sdist_that_is_not_a_tar_gz_is_left_alone(tmp_path: Path) -> None:
    sdist = tmp_path / "demo-1.0.zip"
    sdist.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    os.utime(sdist, (1_000, 1_000))
    normalize_sdist(sdist, EPOCH)
    assert sdist.read_bytes() == b"PK\x05\x06" + b"\x00" * 18
    assert sdist.stat().st_mtime == 1_000
    assert sorted(os.listdir(tmp_path)) == ["demo-1.0.zip"]
