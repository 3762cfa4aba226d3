"""`manywheel check` on bad input: one clear message, exit 2, no traceback.

The corrupt files are made here from a real shared object by a recipe: each patches one
field that pyelftools locates (the test reads with pyelftools, manywheel with its own reader).
"""
from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from tests.common import run

SOURCE = "#include <sys/random.h>\nint f(void *b){ return (int)getrandom(b, 8, 0); }\n"


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "manywheel", "check", *args], check=False)


def assert_one_clear_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("manywheel: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def _section(data: bytes, name: str) -> tuple[int, int, int]:
    """(section header offset, sh_offset, sh_size) of a section of a 64-bit little-endian file."""
    elf = ELFFile(io.BytesIO(data))
    for index, section in enumerate(elf.iter_sections()):
        if section.name == name:
            return elf.header["e_shoff"] + index * elf.header["e_shentsize"], section["sh_offset"], section["sh_size"]
    raise KeyError(name)


def _dynamic_value_at(data: bytes, tag: str) -> int:
    """The file offset of the d_val of the first dynamic entry ``tag``."""
    elf = ELFFile(io.BytesIO(data))
    dynamic = next(s for s in elf.iter_segments() if s["p_type"] == "PT_DYNAMIC")
    assert isinstance(dynamic, DynamicSegment)
    for i, entry in enumerate(dynamic.iter_tags()):
        if entry["d_tag"] == tag:
            return int(dynamic["p_offset"]) + 16 * i + 8
    raise KeyError(tag)


def _put64(data: bytearray, offset: int, value: int) -> None:
    data[offset:offset + 8] = struct.pack("<Q", value)


def truncated(data: bytearray) -> None:
    del data[len(data) // 2:]


def bad_section_table(data: bytearray) -> None:
    _put64(data, 0x28, len(data) + 4096)  # e_shoff past the end


def bad_section_offset(data: bytearray) -> None:
    header, _, _ = _section(bytes(data), ".comment")
    _put64(data, header + 24, len(data) + 100)  # sh_offset


def string_table_past_end(data: bytearray) -> None:
    _put64(data, _dynamic_value_at(bytes(data), "DT_STRSZ"), len(data) * 4)


def string_past_string_table(data: bytearray) -> None:
    _put64(data, _dynamic_value_at(bytes(data), "DT_NEEDED"), 0x7FFFFF)


def version_table_wrong_size(data: bytearray) -> None:
    header, _, size = _section(bytes(data), ".gnu.version")
    _put64(data, header + 32, size - 2)  # sh_size one entry short


def version_needs_wrong_count(data: bytearray) -> None:
    _put64(data, _dynamic_value_at(bytes(data), "DT_VERNEEDNUM"), 5)


def program_headers_past_end(data: bytearray) -> None:
    _put64(data, 0x20, len(data) - 8)  # e_phoff


CORRUPTIONS: list[tuple[Callable[[bytearray], None], str]] = [
    (truncated, "runs past the end of the file"),
    (bad_section_table, "the section header table at"),
    (bad_section_offset, "runs past the end of the file"),
    (string_table_past_end, "the dynamic string table (DT_STRTAB)"),
    (string_past_string_table, "a DT_NEEDED name at offset 0x7fffff lies past the end of the dynamic string table"),
    (version_table_wrong_size, "the symbol version table (section"),
    (version_needs_wrong_count, "DT_VERNEEDNUM says 5"),
    (program_headers_past_end, "the program header table at"),
]


@pytest.mark.parametrize("corrupt, message", CORRUPTIONS, ids=[c.__name__ for c, _ in CORRUPTIONS])
def test_corrupt_elf_file(corrupt: Callable[[bytearray], None], message: str,
                          compile_so: Callable[..., Path], tmp_path: Path) -> None:
    data = bytearray(compile_so(SOURCE).read_bytes())
    corrupt(data)
    bad = tmp_path / "bad.so"
    bad.write_bytes(bytes(data))
    assert_one_clear_error(check(str(bad)), "bad.so", "malformed ELF data", message)


# In a wheel, the section headers' entries are checked only when the member is small (below).
STREAMED = [c for c in CORRUPTIONS if c[0] not in (bad_section_offset, version_table_wrong_size)]


@pytest.mark.parametrize("corrupt, message", STREAMED, ids=[c.__name__ for c, _ in STREAMED])
def test_corrupt_elf_member_of_a_wheel(corrupt: Callable[[bytearray], None], message: str,
                                       compile_so: Callable[..., Path], tmp_path: Path) -> None:
    """The same corruptions found inside a wheel, where each member is read as a stream."""
    data = bytearray(compile_so(SOURCE).read_bytes())
    corrupt(data)
    wheel = _wheel(tmp_path, {"pkg/_bad.cpython-311-x86_64-linux-gnu.so": bytes(data)})
    assert_one_clear_error(check(str(wheel)), "pkg/_bad.cpython-311-x86_64-linux-gnu.so", message)


def test_section_entries_are_checked_in_small_wheel_members(compile_so: Callable[..., Path], tmp_path: Path) -> None:
    # The section headers sit at a file's end: a small member is read that far anyway.
    for corrupt in (bad_section_offset, version_table_wrong_size):
        data = bytearray(compile_so(SOURCE).read_bytes())
        corrupt(data)
        wheel = _wheel(tmp_path, {"pkg/_bad.so": bytes(data)})
        assert_one_clear_error(check(str(wheel)), "pkg/_bad.so", "malformed ELF data")


def _wheel(tmp_path: Path, members: dict[str, bytes], name: str = "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
        zf.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n")
    return path


def test_truncated_wheel(compile_so: Callable[..., Path], tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"pkg/_a.so": compile_so(SOURCE).read_bytes()})
    data = wheel.read_bytes()
    wheel.write_bytes(data[: len(data) * 2 // 3])
    assert_one_clear_error(check(str(wheel)), "cannot read", "as a wheel")


def test_wheel_with_a_corrupt_deflate_stream(compile_so: Callable[..., Path], tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"pkg/_a.so": compile_so(SOURCE).read_bytes()})
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo("pkg/_a.so")
    start = info.header_offset + 30 + len(info.filename) + 40
    data[start:start + 64] = bytes(64)  # zeros in the middle of the compressed data
    wheel.write_bytes(bytes(data))
    assert_one_clear_error(check(str(wheel)), str(wheel))


def test_member_named_so_that_is_not_elf(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, {"pkg/_fake.cpython-311-x86_64-linux-gnu.so": b"INPUT(-lfoo)\n"})
    assert_one_clear_error(check(str(wheel)), "pkg/_fake.cpython-311-x86_64-linux-gnu.so",
                           "named like a shared object, but not an ELF file")


def test_empty_file_and_empty_wheel_member(tmp_path: Path) -> None:
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    assert_one_clear_error(check(str(empty)), "empty.so", "an empty file")
    wheel = _wheel(tmp_path, {"pkg/_empty.so": b""})
    assert_one_clear_error(check(str(wheel)), "pkg/_empty.so", "empty")


def test_directory_without_elf_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    assert_one_clear_error(check(str(tmp_path / "pkg")), "no ELF files in this directory")


def test_a_file_that_is_not_elf_nor_zip(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert_one_clear_error(check(str(text)), "notes.txt", "not an ELF file")
