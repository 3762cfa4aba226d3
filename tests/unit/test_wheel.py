"""Wheel rewriting: tags, RECORD, reproducibility, atomic output, hostile members."""
from __future__ import annotations

import base64
import hashlib
import stat
import zipfile
from pathlib import Path

import pytest

from manywheel.errors import WheelError
from manywheel.wheel import read_wheel, retag_filename, retag_wheel_metadata, source_date_epoch, write_wheel

WHEEL_META = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n"
TAGS = ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def make_wheel(path: Path, extra: list[tuple[str, bytes, int]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in [("pkg/__init__.py", b"x = 1\n", 0o644), ("pkg/_mod.so", b"\x7fELF...", 0o755),
                                 ("pkg-1.0.dist-info/METADATA", b"Name: pkg\nVersion: 1.0\n", 0o644),
                                 ("pkg-1.0.dist-info/WHEEL", WHEEL_META.encode(), 0o644),
                                 ("pkg-1.0.dist-info/RECORD", b"", 0o644)] + (extra or []):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_retag_filename_keeps_python_and_abi() -> None:
    assert retag_filename("pkg-1.0-cp39-abi3-linux_x86_64.whl", ".".join(TAGS)) == \
        "pkg-1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert retag_filename("pkg-1.0-1build-cp311-cp311-linux_x86_64.whl", "manylinux_2_28_x86_64") == \
        "pkg-1.0-1build-cp311-cp311-manylinux_2_28_x86_64.whl"
    with pytest.raises(WheelError):
        retag_filename("nonsense.whl", "x")


def test_wheel_metadata_gets_one_tag_line_per_platform() -> None:
    text = retag_wheel_metadata(WHEEL_META.replace("false", "true"), TAGS)
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64\n" in text
    assert "Root-Is-Purelib: false" in text and "linux_x86_64\n" not in text.replace("manylinux", "")


def test_write_wheel_record_hashes_and_modes(tmp_path: Path) -> None:
    contents = read_wheel(make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"))
    out = write_wheel(contents, tmp_path / "out", TAGS, None)
    assert out.name == "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names[-1] == "pkg-1.0.dist-info/RECORD"
        record = zf.read("pkg-1.0.dist-info/RECORD").decode().splitlines()
        for line in record[:-1]:
            name, digest, size = line.rsplit(",", 2)
            data = zf.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
        assert stat.S_IMODE(zf.getinfo("pkg/_mod.so").external_attr >> 16) == 0o755
        assert stat.S_IMODE(zf.getinfo("pkg/__init__.py").external_attr >> 16) == 0o644
    assert list((tmp_path / "out").iterdir()) == [out]  # no temporary file left behind


def test_source_date_epoch_gives_identical_bytes(tmp_path: Path) -> None:
    contents = read_wheel(make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"))
    a = write_wheel(contents, tmp_path / "a", TAGS, 1700000000).read_bytes()
    b = write_wheel(contents, tmp_path / "b", TAGS, 1700000000).read_bytes()
    c = write_wheel(contents, tmp_path / "c", TAGS, 1700000002).read_bytes()
    assert a == b and a != c


def test_source_date_epoch_must_be_a_number() -> None:
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "5"}) == 315532800  # zip cannot hold times before 1980
    with pytest.raises(WheelError, match="SOURCE_DATE_EPOCH='yesterday' is not an integer"):
        source_date_epoch({"SOURCE_DATE_EPOCH": "yesterday"})


@pytest.mark.parametrize("name, mode, message", [
    ("/etc/passwd", 0o644, "absolute path"),
    ("pkg/../../evil.py", 0o644, "'..' component"),
    ("pkg/link", stat.S_IFLNK | 0o777, "symbolic link"),
    ("pkg/__init__.py", 0o644, "duplicate name"),
])
def test_hostile_members_are_refused(tmp_path: Path, name: str, mode: int, message: str) -> None:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we write on purpose
        wheel = make_wheel(tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl", [(name, b"x", mode)])
    with pytest.raises(WheelError, match=message):
        read_wheel(wheel)


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "pkg-1.0-cp311-cp311-linux_x86_64.whl"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(WheelError, match="cannot read the wheel"):
        read_wheel(bad)
