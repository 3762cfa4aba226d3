"""Files of every architecture the policies cover, whatever this host is: 32- and 64-bit, big- and
little-endian, DT_HASH (with s390x's 8-byte words) and DT_GNU_HASH, read the same way.

The files are written here by a small recipe (a loadable segment, PT_DYNAMIC and its tables,
no section headers, as the loader sees a file); real wheels of each architecture are read
in tests/integration/test_real_wheels.py.
"""
from __future__ import annotations

import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from manywheel.check.elf import read_elf_bytes
from tests.common import run

EM = {"x86_64": 62, "i686": 3, "aarch64": 183, "armv7l": 40, "ppc64le": 21, "ppc64": 21, "s390x": 22, "riscv64": 243}
LAYOUT = {  # arch -> (bits, little-endian)
    "x86_64": (64, True), "i686": (32, True), "aarch64": (64, True), "armv7l": (32, True),
    "ppc64le": (64, True), "ppc64": (64, False), "s390x": (64, False), "riscv64": (64, True),
}
BASE = 0x1000  # vaddr = offset + BASE, so that address and offset differ


# riscv64's glibc begins at 2.27
VERSION = {arch: "GLIBC_2.27" if arch == "riscv64" else "GLIBC_2.17" for arch in LAYOUT}


def make_elf(arch: str, hash_style: str = "gnu") -> bytes:
    """A shared object needing libc.so.6, referencing puts@GLIBC_2.17 (2.27 on riscv64) and a weak
    __gmon_start__, exporting f."""
    bits, little = LAYOUT[arch]
    version = VERSION[arch]
    e = "<" if little else ">"
    w = "Q" if bits == 64 else "I"
    strtab = b"\0libc.so.6\0libx.so.1\0puts\0f\0" + version.encode() + b"\0__gmon_start__\0"
    off = {s: strtab.index(s.encode() + b"\0") for s in ("libc.so.6", "libx.so.1", "puts", "f", version, "__gmon_start__")}

    def sym(name: int, info: int, shndx: int) -> bytes:
        if bits == 64:
            return struct.pack(e + "IBBHQQ", name, info, 0, shndx, 0, 0)
        return struct.pack(e + "IIIBBH", name, 0, 0, info, 0, shndx)
    # null, puts (global func, undefined), __gmon_start__ (weak, undefined), f (global, defined)
    symtab = sym(0, 0, 0) + sym(off["puts"], 0x12, 0) + sym(off["__gmon_start__"], 0x20, 0) + sym(off["f"], 0x12, 7)
    versym = struct.pack(e + "4H", 0, 2, 0, 1)
    verneed = struct.pack(e + "HHIII", 1, 1, off["libc.so.6"], 16, 0) + struct.pack(e + "IHHII", 0x0D696917, 0, 2, off[version], 0)
    if hash_style == "gnu":  # one bucket holding the one defined symbol, index 3
        hashtab = struct.pack(e + "4I", 1, 3, 1, 6) + struct.pack(e + w, 0) + struct.pack(e + "I", 3) + struct.pack(e + "I", 1)
        hash_tag = 0x6FFFFEF5
    else:
        h = "Q" if arch == "s390x" else "I"
        hashtab = struct.pack(e + h * 6, 1, 4, 3, 0, 0, 0)
        hash_tag = 4
    ehsize, phentsize = (64, 56) if bits == 64 else (52, 32)
    phnum = 3
    body_at = ehsize + phnum * phentsize
    parts = [("strtab", strtab), ("symtab", symtab), ("versym", versym), ("verneed", verneed), ("hash", hashtab)]
    offsets: dict[str, int] = {}
    body = b""
    for name, data in parts:
        body += b"\0" * (-(body_at + len(body)) % 8)
        offsets[name] = body_at + len(body)
        body += data
    body += b"\0" * (-(body_at + len(body)) % 8)
    dyn_at = body_at + len(body)
    tags = [(1, off["libc.so.6"]), (14, off["libx.so.1"]), (5, offsets["strtab"] + BASE), (10, len(strtab)),
            (6, offsets["symtab"] + BASE), (11, 24 if bits == 64 else 16), (hash_tag, offsets["hash"] + BASE),
            (0x6FFFFFF0, offsets["versym"] + BASE), (0x6FFFFFFE, offsets["verneed"] + BASE), (0x6FFFFFFF, 1), (0, 0)]
    dynamic = b"".join(struct.pack(e + ("qQ" if bits == 64 else "iI"), t, v) for t, v in tags)
    size = dyn_at + len(dynamic)
    flags = 0x400 | 0x05000000 if arch == "armv7l" else 2 if arch.startswith("ppc64") and bits == 64 else 0

    def ph(p_type: int, p_flags: int, offset: int, filesz: int) -> bytes:
        if bits == 64:
            return struct.pack(e + "IIQQQQQQ", p_type, p_flags, offset, offset + BASE, offset + BASE, filesz, filesz, 8)
        return struct.pack(e + "8I", p_type, offset, offset + BASE, offset + BASE, filesz, filesz, p_flags, 8)
    phdrs = ph(1, 5, 0, size) + ph(2, 6, dyn_at, len(dynamic)) + ph(0x6474E551, 6, 0, 0)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1, 0]) + b"\0" * 8
    header = ident + struct.pack(e + "HHI" + w * 3 + "IHHHHHH", 3, EM[arch], 1, 0, ehsize, 0, flags,
                                 ehsize, phentsize, phnum, 0, 0, 0)
    return header + phdrs + body + dynamic


@pytest.mark.parametrize("hash_style", ["gnu", "sysv"])
@pytest.mark.parametrize("arch", list(LAYOUT))
def test_every_architecture_reads_alike(arch: str, hash_style: str) -> None:
    facts = read_elf_bytes(make_elf(arch, hash_style), f"x-{arch}.so")
    assert facts.arch == arch
    assert (facts.elf_class, facts.little_endian) == LAYOUT[arch]
    assert facts.needed == ("libc.so.6",) and facts.soname == "libx.so.1"
    assert [(r.name, r.version, r.library, r.weak) for r in facts.versioned_refs] == [("puts", VERSION[arch], "libc.so.6", False)]
    assert [(r.name, r.weak) for r in facts.unversioned_refs] == [("__gmon_start__", True)]
    assert facts.exported == ("f",) and facts.version_needs == (("libc.so.6", VERSION[arch]),)
    assert not facts.exec_stack


@pytest.mark.parametrize("arch", list(LAYOUT))
def test_check_judges_a_foreign_wheel_by_its_files(arch: str, tmp_path: Path) -> None:
    oldest = "manylinux_2_31" if arch == "riscv64" else "manylinux_2_17"
    wheel = tmp_path / f"x-1.0-cp312-cp312-{oldest}_{arch}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x/_x.so", make_elf(arch))
    proc = run([sys.executable, "-m", "manywheel", "check", "--json", str(wheel)], check=False)
    data: Any = __import__("json").loads(proc.stdout)[0]
    assert proc.returncode == 0, proc.stdout
    assert data["arch"] == arch and data["verdict"].startswith(f"{oldest}_{arch}")
