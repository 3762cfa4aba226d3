"""The fast reader (program headers and PT_DYNAMIC) and the full one (pyelftools, sections) agree.

They are compared on real files of this host: its shared libraries, the Python extension
modules of every pyenv interpreter, and small objects compiled here, big- and little-endian
variants included where the compiler can make them. The integration test
tests/integration/test_real_wheels.py compares them on the members of 40+ real wheels of
every architecture.
"""
from __future__ import annotations

import glob
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from manywheel.check import elf
from manywheel.check.elf import ElfFacts, read_elf_bytes, read_elf_file, read_elf_streamed
from manywheel.check.scan import scan_path

from tests.streams import ChunkedStream


def _host_files() -> list[str]:
    pattern = [f"/usr/lib/{sys.implementation._multiarch}/*.so*", f"{sys.base_prefix}/lib/python3*/lib-dynload/*.so",
               os.path.expanduser("~/.pyenv/versions/*/lib/python3*/lib-dynload/_*.so")]
    found = sorted({p for pat in pattern for p in glob.glob(pat) if os.path.isfile(p) and not os.path.islink(p)})
    files = []
    for path in found:
        with open(path, "rb") as f:
            if f.read(4) == elf.ELF_MAGIC:
                files.append(path)
    # every fourth, so that the test stays a few seconds long yet covers every kind of library
    return files[::4]


HOST_FILES = _host_files()


def fast(data: bytes, name: str = "x.so") -> ElfFacts:
    return elf._FastReader(elf.BytesSource(data), name).facts()


def full(data: bytes, name: str = "x.so") -> ElfFacts:
    return elf._read_full(io.BytesIO(data), name)


def test_there_are_host_files_to_compare() -> None:
    assert len(HOST_FILES) > 50, HOST_FILES


@pytest.mark.parametrize("path", HOST_FILES, ids=[os.path.basename(p) for p in HOST_FILES])
def test_fast_and_full_readers_agree_on_host_files(path: str) -> None:
    data = Path(path).read_bytes()
    assert fast(data, path) == full(data, path)


def test_agree_on_compiled_objects(compile_so: Callable[..., Path]) -> None:
    sources = [
        ("int f(void){return 1;}", ()),
        ("#include <sys/random.h>\nint f(void *b){ return (int)getrandom(b, 8, 0); }", ("-Wl,-z,execstack",)),
        ("extern int maybe(void) __attribute__((weak));\nint f(void){ return maybe ? maybe() : 0; }",
         ("-Wl,--hash-style=sysv",)),
        ("#include <math.h>\ndouble f(double x){ return exp(x); }", ("-lm", "-Wl,-rpath,$ORIGIN/../lib", "-Wl,-soname,libq.so.1")),
        ("double f(double *a){double s=0; for(int i=0;i<64;i++) s+=a[i]; return s;}", ("-march=x86-64-v3", "-mneeded")),
        ("#include <unistd.h>\nstatic int x; int *p[] = {&x, &x, &x}; int f(void){return getpid();}", ("-Wl,-z,pack-relative-relocs",)),
    ]
    for source, flags in sources:
        data = compile_so(source, *flags).read_bytes()
        assert fast(data) == full(data), (source, flags)


def test_without_a_hash_table_the_full_reader_decides(compile_so: Callable[..., Path]) -> None:
    data = bytearray(compile_so("int f(void){return 1;}").read_bytes())
    layout = elf._FastReader(elf.BytesSource(bytes(data)), "x")
    layout.facts()
    # rename DT_GNU_HASH to an unknown tag: no count of the symbols is left
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile
    dynamic = next(s for s in ELFFile(io.BytesIO(bytes(data))).iter_segments() if s["p_type"] == "PT_DYNAMIC")
    assert isinstance(dynamic, DynamicSegment)
    for i, entry in enumerate(dynamic.iter_tags()):
        if entry["d_tag"] == "DT_GNU_HASH":
            at = dynamic["p_offset"] + 16 * i
            data[at:at + 8] = (0x6FFFFD00).to_bytes(8, "little")
    with pytest.raises(elf._Undecided):
        fast(bytes(data))
    assert read_elf_bytes(bytes(data), "x.so").exported == ("f",)


@pytest.mark.parametrize("keep", [64, 4096, 1 << 20, 48 << 20])
def test_streamed_reading_gives_the_same_facts(keep: int) -> None:
    """However little of the stream is kept (a second pass reads it whole), the facts are the same."""
    for path in HOST_FILES[::8]:
        data = Path(path).read_bytes()
        streamed = read_elf_streamed(lambda: ChunkedStream(data, 7919), len(data), path, keep=keep)
        assert streamed == read_elf_file(path, path)


def test_a_wheel_is_read_as_streams_and_gives_the_same_facts(tmp_path: Path) -> None:
    wheel = tmp_path / "host-1.0-cp311-cp311-linux_x86_64.whl"
    chosen = HOST_FILES[::6]
    with zipfile.ZipFile(wheel, "w") as zf:
        for i, path in enumerate(chosen):
            zf.write(path, f"host/{i}/{os.path.basename(path)}",
                     compress_type=zipfile.ZIP_STORED if i % 3 == 0 else zipfile.ZIP_DEFLATED if i % 3 == 1 else zipfile.ZIP_LZMA)
    scan = scan_path(wheel)
    assert [f.path for f in scan.facts] == [f"host/{i}/{os.path.basename(p)}" for i, p in enumerate(chosen)]
    for facts, path in zip(scan.facts, chosen):
        assert facts == read_elf_file(path, facts.path)
    assert scan.members == len(chosen) and 0 < scan.read <= scan.size
