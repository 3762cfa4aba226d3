"""ELF facts read from tiny shared objects compiled with the real gcc."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from manywheel.check.elf import read_elf_bytes, read_elf_file
from manywheel.errors import ElfError

GETRANDOM = """
#include <sys/random.h>
int f(void *buf) { return (int)getrandom(buf, 8, 0); }
"""


def test_versioned_reference_names_symbol_version_and_library(compile_so: Callable[..., Path]) -> None:
    facts = read_elf_file(compile_so(GETRANDOM))
    refs = {(r.name, r.version, r.library, r.weak) for r in facts.versioned_refs}
    assert ("getrandom", "GLIBC_2.25", "libc.so.6", False) in refs
    assert facts.arch == "x86_64" and facts.elf_class == 64 and facts.little_endian
    assert "f" in facts.exported
    assert facts.needed == ("libc.so.6",)


def test_weak_and_unversioned_references(compile_so: Callable[..., Path]) -> None:
    so = compile_so("""
extern int maybe(void) __attribute__((weak));
extern int missing(void);
int f(void) { return (maybe ? maybe() : 0) + missing(); }
""")
    unversioned = {(r.name, r.weak) for r in read_elf_file(so).unversioned_refs}
    assert ("maybe", True) in unversioned
    assert ("missing", False) in unversioned


def test_extra_needed_and_rpath_and_runpath(compile_so: Callable[..., Path]) -> None:
    runpath = read_elf_file(compile_so("int f(void){return 1;}", "-Wl,--no-as-needed", "-lm",
                                       "-Wl,-rpath,/opt/somewhere/lib"))
    assert "libm.so.6" in runpath.needed
    assert runpath.runpath == ("/opt/somewhere/lib",) and runpath.rpath == ()
    rpath = read_elf_file(compile_so("int f(void){return 1;}", "-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/../x"))
    assert rpath.rpath == ("$ORIGIN/../x",)


def test_executable_stack_relr_and_isa_level(compile_so: Callable[..., Path]) -> None:
    plain = read_elf_file(compile_so("int f(void){return 1;}"))
    assert not plain.exec_stack and not plain.has_relr
    assert read_elf_file(compile_so("int f(void){return 1;}", "-Wl,-z,execstack")).exec_stack
    relr = read_elf_file(compile_so("#include <unistd.h>\nstatic int x; int *p[] = {&x, &x, &x}; int f(void){return getpid();}",
                                    "-Wl,-z,pack-relative-relocs"))
    assert relr.has_relr
    assert ("libc.so.6", "GLIBC_ABI_DT_RELR") in relr.version_needs
    isa = read_elf_file(compile_so("double f(double *a){double s=0; for(int i=0;i<64;i++) s+=a[i]; return s;}",
                                   "-march=x86-64-v3", "-mneeded"))
    assert isa.x86_isa_needed is not None and isa.x86_isa_needed & 0x4


def test_machine_of_a_foreign_file(compile_so: Callable[..., Path]) -> None:
    data = bytearray(compile_so("int f(void){return 1;}").read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    assert read_elf_bytes(bytes(data), "foreign.so").arch == "aarch64"


@pytest.mark.parametrize("data, message", [
    (b"", "not an ELF file"),
    (b"#!/bin/sh\necho hi\n", "not an ELF file"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 9, "malformed ELF data"),
])
def test_unreadable_input_is_an_elf_error(data: bytes, message: str) -> None:
    with pytest.raises(ElfError, match=message):
        read_elf_bytes(data, "bad.so")


def test_truncated_file_is_an_elf_error(compile_so: Callable[..., Path]) -> None:
    data = compile_so(GETRANDOM).read_bytes()
    with pytest.raises(ElfError, match="bad.so"):
        read_elf_bytes(data[: len(data) // 3], "bad.so")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ElfError, match="No such file"):
        read_elf_file(tmp_path / "nope.so")
