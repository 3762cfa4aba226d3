"""The words and the data of real verdicts: the verdict and why no older policy, violations of a
target (with origins and notes), hints, the summary line and the JSON of ``check --json``."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from manywheel.check.elf import read_elf_file
from manywheel.check.report import hint_for, render_verdict, render_violations, summary_line, verdict_json
from manywheel.check.scan import Scan
from manywheel.check.verify import Verdict, judge
from manywheel.errors import ComplianceError
from manywheel.policy import find_policy, load_policies
from tests.common import skip_missing

POLICIES = load_policies("x86_64")
TARGET = find_policy("manylinux2014", "x86_64")

CLEAN = "#include <string.h>\nint f(char *a, char *b){ return strcmp(a, b); }\n"
GETRANDOM = "#include <sys/random.h>\nint f(char *d){ return (int)getrandom(d, 4, 0); }\n"
# Declared here rather than taken from <ffi.h>: only libffi.so is needed, not its header.
FFI = ("extern int ffi_prep_cif(void *, int, unsigned, void *, void *);\n"
       "int f(void *cif, void *rtype){ return ffi_prep_cif(cif, 2, 0, rtype, 0); }\n")

GETRANDOM_FACT = "getrandom@GLIBC_2.25 (libc.so.6): GLIBC_2.25 is allowed only from manylinux_2_26"
EXEC_STACK_FACT = ("PT_GNU_STACK RWX: an executable stack: glibc >= 2.41 refuses to dlopen such a file; "
                   "link with -Wl,-z,noexecstack")


@pytest.fixture(scope="module")
def clean(compile_so: Callable[..., Path]) -> Path:
    """Only symbols of the oldest glibc (strcmp@GLIBC_2.2.5)."""
    return compile_so(CLEAN)


@pytest.fixture(scope="module")
def rng(compile_so: Callable[..., Path]) -> Path:
    """getrandom@GLIBC_2.25: needs manylinux_2_26."""
    return compile_so(GETRANDOM)


@pytest.fixture(scope="module")
def execstack(compile_so: Callable[..., Path]) -> Path:
    """Old symbols only, but an executable stack: no policy accepts it."""
    return compile_so(CLEAN, "-Wl,-z,execstack")


@pytest.fixture(scope="module")
def ffi(compile_so: Callable[..., Path]) -> Path:
    """NEEDED libffi.so.8, in no manylinux allow-list."""
    found = subprocess.run(["gcc", "-print-file-name=libffi.so"], capture_output=True, text=True).stdout.strip()
    if not Path(found).is_absolute():
        skip_missing("libffi.so (package libffi-dev) is not installed: cannot link -lffi")
    return compile_so(FFI, "-lffi")


def verdict_of(*files: tuple[Path, str]) -> Verdict:
    return judge([read_elf_file(path, name) for path, name in files], POLICIES, "x86_64")


def test_a_file_of_the_oldest_glibc_is_one_verdict_line(clean: Path) -> None:
    v = verdict_of((clean, "pkg/_clean.so"))
    assert render_verdict(v, "dist/pkg.whl") == "dist/pkg.whl: manylinux_2_5_x86_64"
    assert v.refs_checked > 0
    assert summary_line(v) == (f"summary: 1 ELF files read, {v.refs_checked} references checked, "
                               f"verdict manylinux_2_5_x86_64")


def test_no_elf_files_says_nothing_limits_the_platform() -> None:
    v = judge([], POLICIES, "x86_64")
    assert render_verdict(v, "pure").splitlines() == ["pure: manylinux_2_5_x86_64",
                                                      "  no ELF files: nothing limits the platform"]
    assert summary_line(v) == "summary: 0 ELF files read, 0 references checked, verdict manylinux_2_5_x86_64"


def test_each_older_policy_is_ruled_out_by_the_symbol(rng: Path) -> None:
    lines = render_verdict(verdict_of((rng, "pkg/_rng.so")), "src").splitlines()
    assert lines == [
        "src: manylinux_2_26_x86_64",
        "  why not an older policy (the nearest fact that rules each out, and how many do):",
        f"    manylinux_2_5_x86_64 .. manylinux_2_24_x86_64: pkg/_rng.so: {GETRANDOM_FACT} (1 fact)",
        "  the facts that rule out older policies (strictest first):",
        "    needs manylinux_2_26_x86_64:",
        "      pkg/_rng.so",
        f"        {GETRANDOM_FACT}",
    ]


def test_a_linux_verdict_gives_its_reason_first(rng: Path, execstack: Path) -> None:
    lines = render_verdict(verdict_of((rng, "pkg/_rng.so"), (execstack, "pkg/_exec.so")), "src").splitlines()
    assert lines[0] == "src: linux_x86_64"
    assert lines[1] == f"  why linux_x86_64: pkg/_exec.so: {EXEC_STACK_FACT}"
    assert lines[2] == ("  (1 such fact (exec-stack) in 1 file; without them the files would meet "
                        "manylinux_2_26_x86_64)")
    assert lines[3] == "  why not an older policy (the nearest fact that rules each out, and how many do):"
    # the nearest fact for each run of policies: getrandom below 2_26, the stack from there on
    assert lines[4] == f"    manylinux_2_5_x86_64 .. manylinux_2_24_x86_64: pkg/_rng.so: {GETRANDOM_FACT} (2 facts)"
    assert lines[5] == f"    manylinux_2_26_x86_64 .. manylinux_2_41_x86_64: pkg/_exec.so: {EXEC_STACK_FACT} (1 fact)"
    details = lines[lines.index("  the facts that rule out older policies (strictest first):") + 1:]
    assert details == ["    accepted by no manylinux policy:", "      pkg/_exec.so", f"        {EXEC_STACK_FACT}",
                       "    needs manylinux_2_26_x86_64:", "      pkg/_rng.so", f"        {GETRANDOM_FACT}"]


def test_a_needed_library_outside_every_allow_list_is_the_linux_reason(ffi: Path) -> None:
    v = verdict_of((ffi, "pkg/_ffi.so"))
    lines = render_verdict(v, "src").splitlines()
    assert lines[:3] == ["src: linux_x86_64",
                         "  why linux_x86_64: pkg/_ffi.so: NEEDED libffi.so.8: not in any manylinux allow-list",
                         "  (1 such fact (library) in 1 file; without them the files would meet manylinux_2_5_x86_64)"]
    assert render_violations(v, TARGET).splitlines() == [
        "1 violation of manylinux_2_17_x86_64 in 1 file; the files meet linux_x86_64",
        "  pkg/_ffi.so:",
        "    NEEDED libffi.so.8: not in any manylinux allow-list (accepted by no policy)",
    ]
    assert hint_for(v, TARGET) == ("link the libraries named statically, or bundle them, "
                                   "or choose a target whose allow-list has them")
    data = verdict_json(v, TARGET)
    assert data["why_linux"]["kind"] == "library" and data["why_linux"]["library"] == "libffi.so.8"


def test_long_lists_are_cut_unless_every_fact_is_asked_for(compile_so: Callable[..., Path]) -> None:
    so = compile_so("int f(void){ return 1; }", *[f"-Wl,-rpath,/opt/build{i}/lib" for i in range(8)])
    v = verdict_of((so, "pkg/_paths.so"))
    short = render_verdict(v, "src", every=False).splitlines()
    assert "        ... and 3 more (--all lists every one)" in short
    assert "        RPATH /opt/build7/lib: points outside the wheel, at a directory of the build host" not in short
    full = render_verdict(v, "src").splitlines()
    assert "        RPATH /opt/build7/lib: points outside the wheel, at a directory of the build host" in full
    assert not any("more (--all" in line for line in full)


def test_violations_are_one_line_each_under_their_file(clean: Path, rng: Path, execstack: Path) -> None:
    v = verdict_of((clean, "pkg/_clean.so"), (rng, "pkg/_rng.so"), (execstack, "pkg/_exec.so"))
    assert render_violations(v, TARGET).splitlines() == [
        "2 violations of manylinux_2_17_x86_64 in 2 files; the files meet linux_x86_64",
        "  pkg/_rng.so:",
        f"    {GETRANDOM_FACT} (accepted by manylinux_2_26)",
        "  pkg/_exec.so:",
        f"    {EXEC_STACK_FACT} (accepted by no policy)",
    ]



def test_the_error_alone_writes_the_lead_and_the_hint_lines(rng: Path, execstack: Path) -> None:
    """The report is the bare message: a ComplianceError's render puts "manywheel: error:" (or
    check's "does not meet:") before it and the hint lines after, once."""
    v = verdict_of((rng, "pkg/_rng.so"), (execstack, "pkg/_exec.so"))
    report = render_violations(v, TARGET)
    assert "manywheel: error" not in report and "hint:" not in report
    error = ComplianceError(report, hint=hint_for(v, TARGET))
    rendered = error.render().splitlines()
    assert rendered[0] == "manywheel: error: " + report.splitlines()[0]
    assert rendered[1:] == report.splitlines()[1:] + [f"  hint: {h}" for h in hint_for(v, TARGET).splitlines()]
    assert error.render(lead="  does not meet: ").splitlines()[0] == "  does not meet: " + report.splitlines()[0]

def test_violations_show_origins_and_notes_when_given(rng: Path) -> None:
    v = verdict_of((rng, "pkg/_rng.so"))
    objects = [f"rng{i}.c (build/temp/rng{i}.o)" for i in range(7)]
    origins = {("pkg/_rng.so", "getrandom"): objects, ("pkg/_other.so", "getrandom"): ["other.c (other.o)"]}
    lines = render_violations(v, TARGET, origins).splitlines()
    assert lines[2] == f"    {GETRANDOM_FACT} (accepted by manylinux_2_26)"
    assert lines[3:] == [f"        referenced from {where}" for where in objects[:5]]  # the first five only
    note = "no version <= GLIBC_2.17 exists and no shim covers it"
    noted = render_violations(v, TARGET, origins, {"getrandom": note}).splitlines()
    assert noted[2] == f"    getrandom@GLIBC_2.25 (libc.so.6): {note}"
    assert noted[3] == "        referenced from rng0.c (build/temp/rng0.o)"


def test_hints_follow_the_kinds_of_violation(clean: Path, rng: Path, execstack: Path) -> None:
    assert hint_for(verdict_of((rng, "pkg/_rng.so")), TARGET).splitlines() == [
        "keep [tool.manywheel] pin = true (the default) so every reference is pinned to the target, "
        "avoid the functions named, or choose a newer target",
        'set [tool.manywheel] target = "manylinux_2_26" (or "auto") to accept what the files meet',
    ]
    # no policy to suggest for a linux verdict: only the fix for the stack
    assert hint_for(verdict_of((execstack, "pkg/_exec.so")), TARGET) == (
        "link with -Wl,-z,noexecstack and fix assembly sources lacking .note.GNU-stack")
    assert hint_for(verdict_of((clean, "pkg/_clean.so")), TARGET) == (
        'set [tool.manywheel] target = "manylinux_2_5" (or "auto") to accept what the files meet')


def test_json_of_a_policy_verdict_against_a_target(rng: Path) -> None:
    v = verdict_of((rng, "pkg/_rng.so"))
    data = verdict_json(v, TARGET)
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    assert (data["verdict"], data["policy"], data["arch"], data["family"]) == (
        "manylinux_2_26_x86_64", "manylinux_2_26", "x86_64", "manylinux")
    assert data["files"] == ["pkg/_rng.so"] and data["references_checked"] == v.refs_checked
    assert data["why_linux"] is None and data["without_unaccepted"] == "manylinux_2_26_x86_64"
    assert [r["policy"] for r in data["ruled_out"]] == [
        "manylinux_2_5_x86_64", "manylinux_2_12_x86_64", "manylinux_2_17_x86_64", "manylinux_2_24_x86_64"]
    assert {(r["first"]["symbol"], r["count"]) for r in data["ruled_out"]} == {("getrandom", 1)}
    getrandom = {"kind": "symbol-version", "file": "pkg/_rng.so", "subject": "getrandom@GLIBC_2.25 (libc.so.6)",
                 "reason": "GLIBC_2.25 is allowed only from manylinux_2_26", "oldest_policy": "manylinux_2_26",
                 "symbol": "getrandom", "version": "GLIBC_2.25", "library": "libc.so.6"}
    assert data["constraints"] == [getrandom]
    assert data["target"] == {"name": "manylinux_2_17_x86_64", "meets": False, "blocking": [getrandom]}
    assert data["summary"]["line"] == summary_line(v)
    assert data["summary"]["files_looked_at"] == 1 and data["summary"]["bytes"] is None


def test_json_of_a_linux_verdict_names_its_reason(rng: Path, execstack: Path) -> None:
    data = verdict_json(verdict_of((rng, "pkg/_rng.so"), (execstack, "pkg/_exec.so")))
    assert data["verdict"] == "linux_x86_64" and data["policy"] is None
    assert data["why_linux"]["kind"] == "exec-stack" and data["why_linux"]["file"] == "pkg/_exec.so"
    assert data["why_linux"]["oldest_policy"] is None
    assert data["without_unaccepted"] == "manylinux_2_26_x86_64"
    assert "target" not in data


def test_summary_says_how_much_of_a_wheel_was_read(rng: Path) -> None:
    facts = [read_elf_file(rng, "pkg/_rng.so")]
    v = judge(facts, POLICIES, "x86_64")
    scan = Scan(facts, members=3, size=12_345, read=2_000)
    line = summary_line(v, scan)
    assert line == (f"summary: 1 ELF files read (of 3 files; 2.0 kB of their 12.3 kB read), "
                    f"{v.refs_checked} references checked, verdict manylinux_2_26_x86_64")
    assert summary_line(v, Scan(facts, members=1, size=500, read=500)) == summary_line(v)
    assert "(of 2 files; 999 bytes of their 3.5 MB read)" in summary_line(v, Scan(facts, 2, 3_500_000, 999))
    data = verdict_json(v, scan=scan)["summary"]
    assert (data["files_looked_at"], data["bytes"], data["bytes_read"], data["line"]) == (3, 12_345, 2_000, line)
