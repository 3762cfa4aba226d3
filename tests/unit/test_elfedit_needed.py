"""elfedit.rename_needed: a bundled copy names its bundled dependencies by their unique names and
finds them through RUNPATH $ORIGIN.  Real libraries from the real gcc, read back by readelf and
pyelftools, and loaded by the real loader through the renamed DT_NEEDED."""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from manywheel._wrapper.elfedit import ElfEditError, read_soname, remove_soname, rename_needed
from tests.common import run, skip_missing

UNIQUE = "libdep-1a2b3c4d.so.1"
RENAMES = {"libdep.so.1": UNIQUE}
DEP = "int dep_value(int x) { return x * 7 + 1; }\n"
# getpid: a NEEDED libc.so.6 that stays as it is (declared: a 32-bit build may have no 32-bit headers)
TOP = ("int getpid(void);\nint dep_value(int);\n"
       "int top_value(int x) { return dep_value(x) + (getpid() > 0 ? 1000 : 0); }\n")
MAIN = '#include <stdio.h>\nint top_value(int);\nint main(void) { printf("%d\\n", top_value(6)); return 0; }\n'
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_NOTE = 0, 1, 2, 4


class Built:
    """libdep.so.1 (its symbol versioned DEP_1.0, so libtop has a version need naming the file),
    libtop variants linked against it, and ``main`` linked against libtop.so.1."""

    def __init__(self, root: Path, compiler: list[str]) -> None:
        self.root, self.compiler = root, compiler
        (root / "dep.map").write_text("DEP_1.0 { global: dep_value; local: *; };\n")
        self.dep = self.lib("libdep.so.1", DEP, "-Wl,-soname,libdep.so.1", f"-Wl,--version-script,{root / 'dep.map'}")

    def lib(self, name: str, source: str, *flags: str) -> Path:
        src = self.root / (name + ".c")
        src.write_text(source)
        out = self.root / name
        run([*self.compiler, "-shared", "-fPIC", "-O1", "-o", out, src, *flags])
        return out

    def top(self, name: str, *flags: str) -> Path:
        return self.lib(name, TOP, str(self.dep), *flags)


def _built(root: Path, compiler: list[str], *probe_flags: str) -> Built:
    try:
        return Built(root, [*compiler, *probe_flags])
    except AssertionError as e:
        skip_missing(f"{' '.join(compiler)} cannot build a shared library here: {str(e).splitlines()[0]}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    if shutil.which("gcc") is None or shutil.which("readelf") is None:
        skip_missing("gcc or readelf (binutils) is not installed")
    built = Built(tmp_path_factory.mktemp("needed"), ["gcc"])
    built.top("libtop.so.1", "-Wl,-soname,libtop.so.1")
    main_c = built.root / "main.c"
    main_c.write_text(MAIN)
    run(["gcc", "-o", built.root / "main", main_c, built.root / "libtop.so.1", f"-Wl,-rpath-link,{built.root}"])
    return built


def _edited(top: Path, runpath: str | None = "$ORIGIN") -> bytes:
    return rename_needed(remove_soname(top.read_bytes()), RENAMES, runpath)


def _run_main(built: Built, where: Path, top: bytes) -> subprocess.CompletedProcess[str]:
    """``main`` with only ``where`` on LD_LIBRARY_PATH, holding ``top`` as libtop.so.1 and
    libdep under its unique name only."""
    where.mkdir()
    (where / "libtop.so.1").write_bytes(top)
    shutil.copy(built.dep, where / UNIQUE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
    return run([built.root / "main"], env=dict(env, LD_LIBRARY_PATH=str(where)), check=False)


def _readelf(path: Path, *options: str) -> str:
    """readelf's output; it must not warn (a warning means the file reads inconsistently)."""
    proc = run(["readelf", "-W", *options, path])
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def _dynamic(path: Path) -> list[tuple[str, str]]:
    """readelf -d as (type, name or value) pairs: ("NEEDED", "libdep.so.1"), ("RUNPATH", "$ORIGIN")."""
    rows = re.findall(r"^\s*0x[0-9a-f]+ \((\w+)\)\s+(.*)$", _readelf(path, "-d"), re.M)
    return [(kind, value.partition("[")[2].rstrip("]") if "[" in value else value) for kind, value in rows]


def _load_order(path: Path) -> list[int]:
    """The PT_LOAD segments' addresses in program header table order."""
    return [int(v, 16) for v in re.findall(r"^\s*LOAD\s+0x[0-9a-f]+ (0x[0-9a-f]+)", _readelf(path, "-l"), re.M)]


def _pyelftools(path: Path) -> dict[str, list[str]]:
    """What pyelftools reads: the dynamic array through the section (and .dynstr's section header)
    and through the PT_DYNAMIC segment (DT_STRTAB), and the version needs' file names."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        section = elf.get_section_by_name(".dynamic")
        segment = next(s for s in elf.iter_segments() if s["p_type"] == "PT_DYNAMIC")
        assert isinstance(section, DynamicSection) and isinstance(segment, DynamicSegment)
        seen: dict[str, list[str]] = {}
        for tag in section.iter_tags():
            for kind in ("needed", "soname", "runpath", "rpath"):
                if tag.entry.d_tag == "DT_" + kind.upper():
                    seen.setdefault(kind, []).append(getattr(tag, kind))
        seen["segment needed"] = [getattr(t, "needed") for t in segment.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
        verneed = elf.get_section_by_name(".gnu.version_r")
        assert verneed is None or isinstance(verneed, GNUVerNeedSection)
        seen["version files"] = [str(v.name) for v, _aux in verneed.iter_versions()] if verneed else []
        dynstr = elf.get_section_by_name(".dynstr")
        assert dynstr is not None
        strtab = next(t.entry.d_val for t in section.iter_tags() if t.entry.d_tag == "DT_STRTAB")
        assert dynstr["sh_addr"] == strtab
    return seen


def _set_program_header(data: bytes, index: int, p_type: int) -> bytes:
    """``data`` (ELF64, little-endian) with program header ``index``'s type set to ``p_type``."""
    out = bytearray(data)
    phoff, = struct.unpack_from("<Q", data, 32)
    struct.pack_into("<I", out, phoff + index * 56, p_type)
    return bytes(out)


def _program_header_types(data: bytes) -> list[int]:
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    return [struct.unpack_from("<I", data, phoff + n * 56)[0] for n in range(phnum)]


def test_the_loader_finds_the_renamed_dependency_through_origin(built: Built, tmp_path: Path) -> None:
    top = built.root / "libtop.so.1"
    before = _run_main(built, tmp_path / "unedited", top.read_bytes())
    assert before.returncode != 0 and "libdep.so.1" in before.stderr  # only the unique name is there
    data = _edited(top)
    after = _run_main(built, tmp_path / "edited", data)
    assert (after.returncode, after.stdout) == (0, "1043\n"), after.stderr
    copy = tmp_path / "edited" / "libtop.so.1"
    dynamic = _dynamic(copy)
    assert ("NEEDED", UNIQUE) in dynamic and ("NEEDED", "libc.so.6") in dynamic
    assert ("RUNPATH", "$ORIGIN") in dynamic and not any(kind == "SONAME" for kind, _v in dynamic)
    assert f"File: {UNIQUE}" in _readelf(copy, "-V")
    _readelf(copy, "-a")  # every table reads without a warning
    assert _load_order(copy) == sorted(_load_order(copy))
    # the PT_NOTE after the PT_LOADs became the new PT_LOAD where it was
    types = _program_header_types(top.read_bytes())
    assert _program_header_types(data) == [PT_LOAD if t == PT_NOTE else t for t in types]
    seen = _pyelftools(copy)
    assert seen["needed"] == seen["segment needed"] == [UNIQUE, "libc.so.6"]
    assert seen["runpath"] == ["$ORIGIN"] and "soname" not in seen and UNIQUE in seen["version files"]
    assert read_soname(data) is None


def test_an_edited_copy_is_left_alone_and_so_is_a_library_with_nothing_to_rename(built: Built) -> None:
    data = _edited(built.root / "libtop.so.1")
    assert rename_needed(data, RENAMES, "$ORIGIN") is data
    plain = built.dep.read_bytes()
    assert rename_needed(plain, {"libother.so.2": "libother-00000000.so.2"}, None) is plain


@pytest.mark.parametrize(("dtags", "kind"), [("--enable-new-dtags", "RUNPATH"), ("--disable-new-dtags", "RPATH")])
def test_an_existing_rpath_or_runpath_gets_the_new_value(built: Built, tmp_path: Path, dtags: str, kind: str) -> None:
    top = built.top(f"libtop-{kind}.so.1", f"-Wl,{dtags}", "-Wl,-rpath,/build/tree/lib")
    assert (kind, "/build/tree/lib") in _dynamic(top)
    data = rename_needed(top.read_bytes(), RENAMES, "$ORIGIN")
    assert _run_main(built, tmp_path / "run", data).stdout == "1043\n"
    dynamic = _dynamic(tmp_path / "run" / "libtop.so.1")
    assert [row for row in dynamic if row[0] in ("RPATH", "RUNPATH")] == [(kind, "$ORIGIN")]
    assert len(dynamic) == len(_dynamic(top))  # the value replaced, no entry added


def _without_spare_slots(data: bytes) -> bytes:
    """``data`` (ELF64, little-endian) with the spare DT_NULLs after the dynamic array's end (GNU
    ld leaves some) taken by DT_DEBUG entries, which a library may have and the loader ignores."""
    out = bytearray(data)
    phoff, = struct.unpack_from("<Q", data, 32)
    dynamic = _program_header_types(data).index(PT_DYNAMIC)
    offset, _vaddr, _paddr, size = struct.unpack_from("<QQQQ", data, phoff + dynamic * 56 + 8)
    tags = [struct.unpack_from("<q", data, at)[0] for at in range(offset, offset + size, 16)]
    for n in range(tags.index(0), len(tags) - 1):
        struct.pack_into("<qQ", out, offset + n * 16, 21, 0)
    return bytes(out)


def test_without_a_spare_slot_a_runpath_cannot_be_added(built: Built, tmp_path: Path) -> None:
    full = tmp_path / "full.so"
    full.write_bytes(_without_spare_slots(built.top("libtop-nosoname.so.1").read_bytes()))  # no SONAME either
    assert _dynamic(full)[-1] == ("NULL", "0x0") and ("DEBUG", "0x0") in _dynamic(full)
    with pytest.raises(ElfEditError, match="no spare DT_NULL slot in the dynamic array for a RUNPATH"):
        rename_needed(full.read_bytes(), RENAMES, "$ORIGIN")
    renamed = tmp_path / "renamed-only.so"
    renamed.write_bytes(rename_needed(full.read_bytes(), RENAMES, None))  # a rename needs no slot
    assert ("NEEDED", UNIQUE) in _dynamic(renamed) and not any(k == "RUNPATH" for k, _v in _dynamic(renamed))


def test_a_pt_null_header_is_used_and_without_note_or_null_nothing_maps_the_table(built: Built, tmp_path: Path) -> None:
    data = remove_soname((built.root / "libtop.so.1").read_bytes())
    note = _program_header_types(data).index(PT_NOTE)
    unused = _set_program_header(data, note, PT_NULL)
    assert _run_main(built, tmp_path / "run", rename_needed(unused, RENAMES, "$ORIGIN")).stdout == "1043\n"
    with pytest.raises(ElfEditError, match="no PT_NOTE or PT_NULL program header"):
        rename_needed(_set_program_header(data, note, 0x6474E550), RENAMES, "$ORIGIN")  # a PT_GNU_EH_FRAME more


def test_a_note_before_the_loads_moves_after_them(built: Built, tmp_path: Path) -> None:
    data = remove_soname((built.root / "libtop.so.1").read_bytes())
    phoff, = struct.unpack_from("<Q", data, 32)
    types = _program_header_types(data)
    note, first_load = types.index(PT_NOTE), types.index(PT_LOAD)
    headers = [data[phoff + n * 56:phoff + (n + 1) * 56] for n in range(len(types))]
    headers.insert(first_load, headers.pop(note))  # a valid table: the loader does not mind
    moved = data[:phoff] + b"".join(headers) + data[phoff + len(headers) * 56:]
    assert _program_header_types(moved)[first_load] == PT_NOTE
    edited = rename_needed(moved, RENAMES, "$ORIGIN")
    assert _run_main(built, tmp_path / "run", edited).stdout == "1043\n"
    copy = tmp_path / "run" / "libtop.so.1"
    assert _load_order(copy) == sorted(_load_order(copy))
    expected = [t for t in types if t != PT_NOTE]
    expected.insert(max(n for n, t in enumerate(expected) if t == PT_LOAD) + 1, PT_LOAD)
    assert _program_header_types(edited) == expected  # the rest keep their order


def _compiler_32() -> list[str] | None:
    for compiler in (["gcc", "-m32"], ["i686-linux-gnu-gcc"]):
        if shutil.which(compiler[0]):
            probe = subprocess.run([*compiler, "-shared", "-nostdlib", "-x", "c", "-o", os.devnull, "-"],
                                   input="int f(void) { return 1; }\n", capture_output=True, text=True)
            if probe.returncode == 0:
                return compiler
    return None


def test_a_32_bit_library(tmp_path: Path) -> None:
    compiler = _compiler_32()
    if compiler is None or shutil.which("readelf") is None:
        skip_missing("neither gcc -m32 nor i686-linux-gnu-gcc builds a 32-bit shared object here (or no readelf)",
                     "tools/test.sh installs gcc-i686-linux-gnu")
    # -nostdlib: a 32-bit libc need not be installed; the loader is not run, the tools read it
    built = _built(tmp_path, compiler, "-nostdlib")
    top = built.top("libtop.so.1", "-Wl,-soname,libtop.so.1")
    copy = tmp_path / "copy.so"
    copy.write_bytes(_edited(top))
    assert "ELF32" in _readelf(copy, "-h")
    dynamic = _dynamic(copy)
    assert ("NEEDED", UNIQUE) in dynamic and ("RUNPATH", "$ORIGIN") in dynamic
    assert not any(kind == "SONAME" for kind, _v in dynamic)
    assert f"File: {UNIQUE}" in _readelf(copy, "-V")
    _readelf(copy, "-a")
    assert _load_order(copy) == sorted(_load_order(copy))
    seen = _pyelftools(copy)
    assert seen["needed"] == seen["segment needed"] == [UNIQUE] and seen["runpath"] == ["$ORIGIN"]


def _big_endian(data: bytes) -> bytes:
    """The byte-swapped (ELFDATA2MSB) twin of a little-endian ELF64 library: its headers and
    what readelf -d -l -V and pyelftools read (dynamic array, symbols, their hash, versions).  No
    machine here runs it; it shows the edit reads and writes in the file's byte order."""
    out = bytearray(data)
    out[5] = 2

    def swap(fmt: str, at: int, count: int = 1) -> None:
        size = struct.calcsize("<" + fmt)
        for n in range(count):
            struct.pack_into(">" + fmt, out, at + n * size, *struct.unpack_from("<" + fmt, data, at + n * size))

    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phnum, _shentsize, shnum = struct.unpack_from("<HHH", data, 56)
    swap("HHIQQQIHHHHHH", 16)
    swap("IIQQQQQQ", phoff, phnum)
    swap("IIQQQQIIQQ", shoff, shnum)
    for n in range(shnum):
        _name, sh_type, _flags, _addr, offset, size, _link, info, _align, _entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + n * 64)
        if sh_type == 6:  # SHT_DYNAMIC
            swap("qQ", offset, size // 16)
        elif sh_type == 11:  # SHT_DYNSYM
            swap("IBBHQQ", offset, size // 24)
        elif sh_type == 0x6FFFFFF6:  # SHT_GNU_HASH: 4 words, the Bloom filter's 64-bit words, then words
            bloom = struct.unpack_from("<I", data, offset + 8)[0]
            swap("IIII", offset)
            swap("Q", offset + 16, bloom)
            swap("I", offset + 16 + 8 * bloom, (size - 16 - 8 * bloom) // 4)
        elif sh_type == 0x6FFFFFFF:  # SHT_GNU_versym
            swap("H", offset, size // 2)
        elif sh_type == 0x6FFFFFFE:  # SHT_GNU_verneed: entries, each with its chain of aux entries
            at = offset
            for _ in range(info):
                swap("HHIII", at)
                _version, count, _file, aux, following = struct.unpack_from("<HHIII", data, at)
                for _ in range(count):
                    swap("IHHII", at + aux)
                    aux += struct.unpack_from("<IHHII", data, at + aux)[4]
                at += following
    return bytes(out)


def test_a_big_endian_library(built: Built, tmp_path: Path) -> None:
    top = built.root / "libtop.so.1"
    big = tmp_path / "big.so"
    big.write_bytes(_big_endian(top.read_bytes()))
    assert "big endian" in _readelf(big, "-h")
    assert _dynamic(big) == _dynamic(top)  # the twin reads as the original does
    copy = tmp_path / "copy.so"
    copy.write_bytes(rename_needed(remove_soname(big.read_bytes()), RENAMES, "$ORIGIN"))
    little = tmp_path / "little.so"
    little.write_bytes(_edited(top))
    assert _dynamic(copy) == _dynamic(little)
    assert ("NEEDED", UNIQUE) in _dynamic(copy) and ("RUNPATH", "$ORIGIN") in _dynamic(copy)
    assert f"File: {UNIQUE}" in _readelf(copy, "-V")
    assert _load_order(copy) == _load_order(little) == sorted(_load_order(copy))
    assert _pyelftools(copy) == _pyelftools(little)


@pytest.mark.parametrize(("what", "message"), [
    ("a script", "not an ELF file"),
    ("class 3", "unknown ELF class 3"),
    ("the first 80 bytes of a library", "truncated ELF file"),
    ("an object file", r"no dynamic section \(PT_DYNAMIC\)")])
def test_what_is_not_an_editable_elf_file_is_refused(built: Built, tmp_path: Path, what: str, message: str) -> None:
    if what == "an object file":
        (tmp_path / "obj.c").write_text("int f(void) { return 1; }\n")
        run(["gcc", "-c", "-o", tmp_path / "obj.o", tmp_path / "obj.c"])
    data = {"a script": lambda: b"#!/bin/sh\necho not a library\n",
            "class 3": lambda: b"\x7fELF\x03\x01" + bytes(58),
            "the first 80 bytes of a library": lambda: (built.root / "libtop.so.1").read_bytes()[:80],
            "an object file": lambda: (tmp_path / "obj.o").read_bytes()}[what]()
    with pytest.raises(ElfEditError, match=message):
        rename_needed(data, RENAMES, "$ORIGIN")
