"""manywheel's reader (program headers and PT_DYNAMIC; section headers where those cannot
decide) and pyelftools (tests/elf_full.py: section by section) give the same facts.

They are compared on real files of this host: its shared libraries, the Python extension
modules of every pyenv interpreter, and small objects compiled here: relocatable objects,
each hash table style, and copies edited into the layouts only the section headers decide
(no hash table, no DT_STRTAB, extended numbering). The integration test
tests/integration/test_real_wheels.py compares them on the members of 40+ real wheels of
every architecture.
"""
from __future__ import annotations

import glob
import io
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from manywheel.check import elf
from manywheel.check.elf import ElfFacts, read_elf_bytes, read_elf_file, read_elf_streamed
from manywheel.check.scan import scan_path
from manywheel.errors import ElfError

from tests.elf_full import read_full
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
    return read_full(data, name)


def test_there_are_host_files_to_compare() -> None:
    assert len(HOST_FILES) > 50, HOST_FILES


@pytest.mark.parametrize("path", HOST_FILES, ids=[os.path.basename(p) for p in HOST_FILES])
def test_reader_and_pyelftools_agree_on_host_files(path: str) -> None:
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


SOURCE = """
#include <math.h>
#include <sys/random.h>
extern int maybe(void) __attribute__((weak));
int f(void *b){ return (int)getrandom(b, 8, 0) + (maybe ? maybe() : 0); }
double g(double x){ return exp(x); }
"""
SO_FLAGS = ("-lm", "-Wl,-soname,libq.so.1", "-Wl,-rpath,$ORIGIN/../lib")
_UNKNOWN_TAG = 0x6FFFFD00  # no meaning to either reader: an entry renamed to it is as good as absent


@pytest.fixture(scope="module")
def shared(compile_so: Callable[..., Path]) -> dict[str, bytes]:
    """The source linked with each hash table style."""
    return {style: compile_so(SOURCE, *SO_FLAGS, f"-Wl,--hash-style={style}").read_bytes()
            for style in ("gnu", "sysv", "both")}


@pytest.fixture(scope="module")
def objects(compile_so: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The source compiled with ``gcc -c``: plainly, and asking for x86-64-v3 in its GNU property note."""
    work = tmp_path_factory.mktemp("objects")
    (work / "a.c").write_text(SOURCE)
    variants: dict[str, tuple[str, ...]] = {"plain": ()}
    if _is_x86_64():
        variants["isa-note"] = ("-march=x86-64-v3", "-mneeded")
    out = {}
    for name, flags in variants.items():
        subprocess.run(["gcc", "-c", "-fPIC", "-O1", *flags, "-o", str(work / f"{name}.o"), str(work / "a.c")],
                       check=True)
        out[name] = (work / f"{name}.o").read_bytes()
    return out


def _is_x86_64() -> bool:
    return os.uname().machine == "x86_64"


def _rename_tags(data: bytes, names: set[str]) -> bytes:
    """A copy of a 64-bit little-endian file whose dynamic entries with these tags are renamed to an
    unknown tag (found with pyelftools, so the edit does not depend on the reader under test)."""
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile

    out = bytearray(data)
    dynamic = next(s for s in ELFFile(io.BytesIO(data)).iter_segments() if s["p_type"] == "PT_DYNAMIC")
    assert isinstance(dynamic, DynamicSegment)
    renamed = 0
    for i, entry in enumerate(dynamic.iter_tags()):
        if entry["d_tag"] in names:
            struct.pack_into("<q", out, dynamic["p_offset"] + 16 * i, _UNKNOWN_TAG)
            renamed += 1
    assert renamed, names
    return bytes(out)


def _extended_numbering(data: bytes, programs: bool = True) -> bytes:
    """A copy of a 64-bit little-endian file with its counts in section 0: e_shnum 0 (the count in
    sh_size), e_shstrndx SHN_XINDEX (the index in sh_link) and, with ``programs``, e_phnum PN_XNUM
    (the count in sh_info)."""
    out = bytearray(data)
    shoff = struct.unpack_from("<Q", out, 40)[0]
    phnum, _, shnum, shstrndx = struct.unpack_from("<HHHH", out, 56)
    struct.pack_into("<Q", out, shoff + 32, shnum)
    struct.pack_into("<HH", out, 60, 0, 0xFFFF)
    struct.pack_into("<I", out, shoff + 40, shstrndx)
    if programs:
        struct.pack_into("<H", out, 56, 0xFFFF)
        struct.pack_into("<I", out, shoff + 44, phnum)
    return bytes(out)


def _without_sections(data: bytes) -> bytes:
    """A copy of a 64-bit little-endian file with no section header table (e_shoff, e_shnum 0)."""
    out = bytearray(data)
    struct.pack_into("<Q", out, 40, 0)
    struct.pack_into("<HH", out, 60, 0, 0)
    return bytes(out)


def _agree(data: bytes, name: str = "x.so") -> ElfFacts:
    """manywheel's facts, after checking that pyelftools and a stream that keeps almost nothing give them too."""
    facts = fast(data, name)
    assert facts == full(data, name)
    assert read_elf_streamed(lambda: ChunkedStream(data, 4093), len(data), name, keep=64) == facts
    return facts


@pytest.mark.parametrize("style", ["gnu", "sysv", "both"])
def test_agree_on_each_hash_style(shared: dict[str, bytes], style: str) -> None:
    facts = _agree(shared[style])
    assert sorted(facts.exported) == ["f", "g"] and facts.soname == "libq.so.1" and facts.runpath + facts.rpath
    assert {(r.name, r.weak) for r in facts.unversioned_refs} >= {("maybe", True)}
    assert {r.name for r in facts.versioned_refs} >= {"getrandom", "exp"}


@pytest.mark.parametrize("style", ["gnu", "sysv", "both"])
def test_without_a_hash_table_the_section_headers_count_the_symbols(shared: dict[str, bytes], style: str) -> None:
    edited = _rename_tags(shared[style], {"DT_GNU_HASH", "DT_HASH"})
    assert _agree(edited) == fast(shared[style])
    # Without section headers nothing says how many dynamic symbols there are.
    with pytest.raises(ElfError, match=r"x\.so .*number of dynamic symbols is unknown: there is no hash table"):
        read_elf_bytes(_without_sections(edited), "x.so")


@pytest.mark.parametrize("tags", [{"DT_STRTAB"}, {"DT_STRSZ"}, {"DT_STRTAB", "DT_STRSZ"}], ids=str)
def test_without_dt_strtab_the_dynamic_sections_link_gives_the_strings(shared: dict[str, bytes], tags: set[str]) -> None:
    edited = _rename_tags(shared["gnu"], tags)
    assert _agree(edited) == fast(shared["gnu"])
    with pytest.raises(ElfError, match=r"x\.so .*no DT_STRTAB or DT_STRSZ, and no SHT_DYNAMIC section header"):
        read_elf_bytes(_without_sections(edited), "x.so")


@pytest.mark.parametrize("programs", [True, False], ids=["PN_XNUM", "sections-only"])
def test_extended_numbering(shared: dict[str, bytes], objects: dict[str, bytes], programs: bool) -> None:
    assert _agree(_extended_numbering(shared["gnu"], programs)) == fast(shared["gnu"])
    for name, data in objects.items():
        assert _agree(_extended_numbering(data, programs=False), name) == fast(data, name)
    if programs:
        with pytest.raises(ElfError, match=r"x\.so .*PN_XNUM .* no section header table"):
            read_elf_bytes(_without_sections(_extended_numbering(shared["gnu"])), "x.so")


def test_relocatable_objects(objects: dict[str, bytes]) -> None:
    for name, data in objects.items():
        facts = _agree(data, name)
        assert not facts.has_dynamic and not facts.exec_stack and facts.interpreter is None and not facts.exported
    if _is_x86_64():
        # baseline, v2 and v3, from the object's .note.gnu.property section
        assert fast(objects["isa-note"]).x86_isa_needed == 0b111
    assert fast(objects["plain"]).x86_isa_needed is None


def test_machine_and_osabi_names_are_pyelftools(shared: dict[str, bytes]) -> None:
    from elftools.elf import enums

    from manywheel.check.elf import fast as reader

    for table, enum in ((reader._MACHINES, enums.ENUM_E_MACHINE), (reader._OSABIS, enums.ENUM_EI_OSABI)):
        assert table == {v: k for k, v in enum.items() if isinstance(v, int)}
    data = bytearray(shared["gnu"])
    for machine, osabi in ((43, 9), (0x7777, 0x77)):  # EM_SPARCV9, ELFOSABI_FREEBSD; numbers without names
        struct.pack_into("<H", data, 18, machine)
        data[7] = osabi
        facts = fast(bytes(data))
        assert (facts.machine, facts.osabi) == (full(bytes(data)).machine, full(bytes(data)).osabi)
    assert (facts.machine, facts.osabi) == (str(0x7777), str(0x77))

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


def test_no_module_needs_pyelftools(shared: dict[str, bytes], objects: dict[str, bytes], tmp_path: Path) -> None:
    """Every manywheel module imports, and ELF files and object references read, where pyelftools
    cannot be imported (it is not a dependency: an isolated build environment lacks it)."""
    (tmp_path / "x.so").write_bytes(_rename_tags(shared["gnu"], {"DT_GNU_HASH"}))
    (tmp_path / "x.o").write_bytes(objects["plain"])
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['elftools'] = None  # any import of it raises ImportError\n"
        "import manywheel\n"
        "for m in pkgutil.walk_packages(manywheel.__path__, 'manywheel.'):\n"
        "    if not m.name.endswith('.__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "from manywheel.check.elf import read_elf_file, read_object_refs\n"
        f"print(sorted(read_elf_file({str(tmp_path / 'x.so')!r}).exported), read_elf_file({str(tmp_path / 'x.o')!r}).machine,"
        f" sorted(read_object_refs({str(tmp_path / 'x.o')!r})[0].undefined))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['f',", "'g']", fast(objects["plain"]).machine, "['_GLOBAL_OFFSET_TABLE_',", "'exp',",
                           "'getrandom',", "'maybe']"]


def test_object_references_are_pyelftools(objects: dict[str, bytes], tmp_path: Path) -> None:
    """read_object_refs (the .symtab of objects and archive members) against pyelftools' reading."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    from manywheel.check.elf import read_object_refs

    for name, data in objects.items():
        (tmp_path / f"{name}.o").write_bytes(data)
    subprocess.run(["ar", "rcs", str(tmp_path / "libx.a"), *(str(tmp_path / f"{n}.o") for n in objects)], check=True)
    found = read_object_refs(tmp_path / "libx.a")
    assert [r.path for r in found] == [f"{tmp_path / 'libx.a'}({n}.o)" for n in objects]
    for refs, data in zip(found, objects.values()):
        symtab = ELFFile(io.BytesIO(data)).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        symbols = list(symtab.iter_symbols())
        assert refs.source == next(s.name for s in symbols if s["st_info"]["type"] == "STT_FILE") == "a.c"
        assert refs.undefined == {s.name for s in symbols if s["st_shndx"] == "SHN_UNDEF" and s.name
                                  and s["st_info"]["bind"] != "STB_LOCAL"}
        assert {"getrandom", "exp", "maybe"} <= refs.undefined
