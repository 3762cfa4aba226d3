"""Verdicts on real compiled files: each rule of the policy, and the verdict's order."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from manywheel.check.elf import read_elf_bytes, read_elf_file
from manywheel.policy import find_policy, load_policies
from manywheel.check.verify import Verdict, judge

POLICIES = load_policies("x86_64")


def verdict_of(*paths: Path) -> Verdict:
    return judge([read_elf_file(p, p.name) for p in paths], POLICIES, "x86_64")


def test_old_symbols_only_meet_the_oldest_policy(compile_so: Callable[..., Path]) -> None:
    v = verdict_of(compile_so("#include <string.h>\nint f(char *a, char *b){ return strcmp(a, b); }"))
    assert v.name == "manylinux_2_5_x86_64"
    assert v.platform_tag == "manylinux_2_5_x86_64.manylinux1_x86_64"


def test_each_symbol_version_is_named(compile_so: Callable[..., Path]) -> None:
    so = compile_so("#include <sys/random.h>\n#include <string.h>\n"
                    "int f(char *d, char *s, unsigned long n){ memcpy(d, s, n); return (int)getrandom(d, 4, 0); }")
    v = verdict_of(so)
    assert v.name == "manylinux_2_26_x86_64"
    oldest = {c.subject: c.oldest.name if c.oldest else None for c in v.constraints}
    assert oldest["getrandom@GLIBC_2.25 (libc.so.6)"] == "manylinux_2_26"
    assert oldest["memcpy@GLIBC_2.14 (libc.so.6)"] == "manylinux_2_17"
    blocking_2_17 = [c.subject for c in v.blocking(find_policy("manylinux2014", "x86_64"))]
    assert blocking_2_17 == ["getrandom@GLIBC_2.25 (libc.so.6)"]


def test_blacklist_counts_only_non_weak_references(compile_so: Callable[..., Path]) -> None:
    decl = "extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *)"
    strong = compile_so(f"{decl};\nint f(void){{ return __cxa_thread_atexit_impl(0, 0, 0); }}")
    weak = compile_so(f"{decl} __attribute__((weak));\nint f(void){{ return __cxa_thread_atexit_impl ? 1 : 0; }}")
    strong_kinds = {c.kind for c in verdict_of(strong).constraints}
    assert "blacklist" in strong_kinds
    assert "blacklist" not in {c.kind for c in verdict_of(weak).constraints}


def test_library_outside_allow_list_unless_in_the_wheel(compile_so: Callable[..., Path], tmp_path: Path) -> None:
    lib = compile_so("int helper(void){ return 42; }", "-Wl,-soname,libmwhelper.so.1", name="libmwhelper.so")
    user = compile_so("int helper(void);\nint f(void){ return helper(); }", f"-L{lib.parent}", "-lmwhelper")
    alone = verdict_of(user)
    assert alone.policy is None
    assert any(c.subject == "NEEDED libmwhelper.so.1" for c in alone.constraints)
    bundled = judge([read_elf_file(user, "pkg/user.so"), read_elf_file(lib, "pkg.libs/libmwhelper.so.1")],
                    POLICIES, "x86_64")
    assert bundled.policy is not None


def test_unversioned_reference_blocks_everything_but_python_api_does_not(compile_so: Callable[..., Path]) -> None:
    missing = verdict_of(compile_so("extern int explicit_thing(void);\nint f(void){ return explicit_thing(); }"))
    assert missing.policy is None and missing.constraints[0].kind == "unversioned"
    python_api = verdict_of(compile_so("extern void *PyLong_FromLong(long);\nvoid *f(void){ return PyLong_FromLong(1); }"))
    assert python_api.policy is not None


def test_exec_stack_absolute_rpath_and_isa(compile_so: Callable[..., Path]) -> None:
    assert verdict_of(compile_so("int f(void){return 1;}", "-Wl,-z,execstack")).policy is None
    rpath = verdict_of(compile_so("int f(void){return 1;}", "-Wl,-rpath,/root/.pyenv/versions/3.11.7/lib"))
    assert rpath.policy is None and rpath.constraints[0].kind == "rpath"
    assert verdict_of(compile_so("int f(void){return 1;}", "-Wl,-rpath,$ORIGIN/../lib")).policy is not None
    isa = verdict_of(compile_so("double f(double *a){double s=0; for(int i=0;i<64;i++) s+=a[i]; return s;}",
                                "-march=x86-64-v3", "-mneeded"))
    assert isa.policy is None and isa.constraints[0].kind == "isa"


def test_dt_relr_needs_glibc_2_36(compile_so: Callable[..., Path]) -> None:
    v = verdict_of(compile_so("#include <unistd.h>\nstatic int x; int *p[] = {&x, &x, &x}; int f(void){return getpid();}",
                              "-Wl,-z,pack-relative-relocs"))
    assert v.name == "manylinux_2_36_x86_64"


def test_foreign_architecture_in_an_x86_64_wheel(compile_so: Callable[..., Path]) -> None:
    so = compile_so("int f(void){return 1;}")
    data = bytearray(so.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")
    v = judge([read_elf_file(so, "a.so"), read_elf_bytes(bytes(data), "b.so")], POLICIES, "x86_64")
    assert v.policy is None and any(c.kind == "arch" and c.file == "b.so" for c in v.constraints)


def test_no_files_meet_the_oldest_policy() -> None:
    assert judge([], POLICIES, "x86_64").name == "manylinux_2_5_x86_64"
