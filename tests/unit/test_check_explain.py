"""Every verdict explained: each older policy's nearest ruling fact, why linux, the summary; JSON the same.

Also the rules `check` needs for wheels it did not build: libraries bundled but out of the
file's search path, unversioned references judged by the glibc that first had the symbol,
musl files, DT_RELR under musl.
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

from manywheel.check.elf import read_elf_file
from manywheel.policy import load_policies
from manywheel.check.verify import Verdict, judge
from tests.common import run

POLICIES = load_policies("x86_64")
NEW_SYMBOLS = """
#include <sys/random.h>
#include <string.h>
int f(char *d, char *s, unsigned long n){ memcpy(d, s, n); return (int)getrandom(d, 4, 0); }
"""


def check(*args: str) -> Any:
    return run([sys.executable, "-m", "manywheel", "check", *args], check=False)


def verdict_of(*files: tuple[Path, str]) -> Verdict:
    return judge([read_elf_file(path, name) for path, name in files], POLICIES, "x86_64")


def test_each_older_policy_is_ruled_out_by_its_nearest_fact(compile_so: Callable[..., Path]) -> None:
    so = compile_so(NEW_SYMBOLS)
    v = verdict_of((so, "a.so"))
    assert v.name == "manylinux_2_26_x86_64"
    ruled = {p.name: (c.subject, n) for p, c, n in v.ruled_out()}
    assert ruled["manylinux_2_5"] == ("memcpy@GLIBC_2.14 (libc.so.6)", 2)
    assert ruled["manylinux_2_12"] == ("memcpy@GLIBC_2.14 (libc.so.6)", 2)
    assert ruled["manylinux_2_17"] == ("getrandom@GLIBC_2.25 (libc.so.6)", 1)
    assert ruled["manylinux_2_24"] == ("getrandom@GLIBC_2.25 (libc.so.6)", 1)
    assert "manylinux_2_26" not in ruled
    out = check(str(so)).stdout
    assert ("manylinux_2_5_x86_64 .. manylinux_2_12_x86_64: " in out and
            "memcpy@GLIBC_2.14 (libc.so.6): GLIBC_2.14 is allowed only from manylinux_2_17 (2 facts)" in out)
    assert "manylinux_2_17_x86_64 .. manylinux_2_24_x86_64: " in out
    assert out.rstrip().splitlines()[-1].startswith("  summary: 1 ELF files read, ")
    assert "verdict manylinux_2_26_x86_64" in out


def test_linux_verdict_says_why_in_one_line_first_and_what_it_would_be(compile_so: Callable[..., Path]) -> None:
    so = compile_so(NEW_SYMBOLS, "-Wl,-z,execstack")
    lines = check(str(so)).stdout.splitlines()
    assert lines[0].endswith(": linux_x86_64")
    assert lines[1].startswith("  why linux_x86_64: ") and "PT_GNU_STACK RWX" in lines[1]
    assert "without them the files would meet manylinux_2_26_x86_64" in lines[2]
    data = json.loads(check("--json", str(so)).stdout)[0]
    assert data["why_linux"]["kind"] == "exec-stack"
    assert data["without_unaccepted"] == "manylinux_2_26_x86_64"
    assert {r["policy"] for r in data["ruled_out"]} == {p.display_name for p in POLICIES if p.family == "manylinux"}
    assert data["summary"]["verdict"] == "linux_x86_64" and data["summary"]["elf_files"] == 1
    assert data["summary"]["line"].startswith("summary: 1 ELF files read")


def test_json_carries_the_ruled_out_policies(compile_so: Callable[..., Path]) -> None:
    data = json.loads(check("--json", str(compile_so(NEW_SYMBOLS))).stdout)[0]
    first = {r["policy"]: r["first"]["subject"] for r in data["ruled_out"]}
    assert first["manylinux_2_17_x86_64"] == "getrandom@GLIBC_2.25 (libc.so.6)"
    assert data["why_linux"] is None and data["without_unaccepted"] == "manylinux_2_26_x86_64"


def test_long_lists_are_cut_unless_all(compile_so: Callable[..., Path]) -> None:
    flags = [f"-Wl,-rpath,/opt/build{i}/lib" for i in range(8)]
    so = compile_so("int f(void){return 1;}", *flags)
    short = check(str(so)).stdout
    assert "... and 3 more (--all lists every one)" in short and "/opt/build7/lib" not in short.split("the facts")[1]
    assert "RPATH /opt/build7/lib" in check("--all", str(so)).stdout


def test_wheel_summary_says_how_much_was_read(compile_so: Callable[..., Path], tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(compile_so(NEW_SYMBOLS), "pkg/_a.so")
        zf.writestr("pkg/__init__.py", "x = 1\n" * 1000)
        zf.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    proc = check(str(wheel))
    assert proc.returncode == 1  # the wheel claims manylinux_2_17; getrandom needs 2_26
    summary = [line for line in proc.stdout.splitlines() if "summary:" in line][0]
    assert "summary: 1 ELF files read (of 3 files;" in summary and "verdict manylinux_2_26_x86_64" in summary


def test_bundled_library_must_be_on_the_search_path(compile_so: Callable[..., Path]) -> None:
    lib = compile_so("int helper(void){ return 42; }", "-Wl,-soname,libmwbundled.so.1", name="libmwbundled.so.1")
    source = "int helper(void);\nint f(void){ return helper(); }"
    good = compile_so(source, f"-L{lib.parent}", f"-l:{lib.name}", "-Wl,-rpath,$ORIGIN/../pkg.libs")
    bad = compile_so(source, f"-L{lib.parent}", f"-l:{lib.name}", "-Wl,-rpath,$ORIGIN")
    bundled = (lib, "pkg.libs/libmwbundled.so.1")
    assert verdict_of((good, "pkg/good.so"), bundled).policy is not None
    v = verdict_of((bad, "pkg/bad.so"), bundled)
    assert v.policy is None
    c = next(c for c in v.constraints if c.kind == "library")
    assert c.subject == "NEEDED libmwbundled.so.1" and "bundled at pkg.libs/libmwbundled.so.1" in c.reason
    assert "RUNPATH ($ORIGIN) does not lead there" in c.reason
    assert v.policy_ignoring({"library"}) is not None


def test_unversioned_references_are_dated_by_the_glibc_abi(compile_so: Callable[..., Path]) -> None:
    # -nostdlib: nothing resolves the references at link time, so none gets a version
    so = compile_so("""
extern int getentropy(void *, unsigned long);
extern int pthread_create(void *, void *, void *, void *);
int f(void *b){ return getentropy(b, 8) + pthread_create(0, 0, 0, 0); }
""", "-nostdlib")
    v = verdict_of((so, "a.so"))
    assert v.name == "manylinux_2_26_x86_64"
    c = next(c for c in v.constraints if c.symbol == "getentropy")
    assert c.kind == "unversioned" and c.version == "GLIBC_2.25" and c.oldest is not None
    assert not [c for c in v.constraints if c.symbol == "pthread_create"]  # in every policy's glibc
    missing = verdict_of((compile_so("extern int not_in_glibc(void);\nint f(void){ return not_in_glibc(); }",
                                     "-nostdlib"), "b.so"))
    assert missing.policy is None and "no glibc defines it" in missing.constraints[0].reason


def test_musl_files_get_the_newest_musllinux_policy_and_relr_needs_musl_1_2_4(compile_so: Callable[..., Path]) -> None:
    musl = compile_so("int puts(const char *s){ return 0; }", "-nostdlib", "-Wl,-soname,libc.musl-x86_64.so.1",
                      name="libc.musl-x86_64.so.1")
    source = "int puts(const char *);\nstatic int x; int *p[] = {&x, &x, &x};\nint f(void){ return puts(\"hi\"); }"
    plain = compile_so(source, "-nostdlib", f"-L{musl.parent}", f"-l:{musl.name}")
    v = verdict_of((plain, "m.so"))
    assert v.family == "musllinux" and v.name == "musllinux_1_2_x86_64"
    assert any(c.kind == "musl" for c in v.constraints)
    relr = compile_so(source, "-nostdlib", f"-L{musl.parent}", f"-l:{musl.name}", "-Wl,-z,pack-relative-relocs")
    if not read_elf_file(relr).has_relr:
        return  # the linker packed nothing here
    v = verdict_of((relr, "r.so"))
    assert v.policy is None
    assert "musl >= 1.2.4" in next(c.reason for c in v.constraints if c.kind == "relr")
