"""`manywheel check` as a user runs it: exit codes, text, JSON, bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

from tests.common import run

GETRANDOM = "#include <sys/random.h>\nint f(void *b){ return (int)getrandom(b, 8, 0); }\n"


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "manywheel", "check", *args], check=False)


def test_verdict_names_the_symbol_and_exit_codes(compile_so: Callable[..., Path]) -> None:
    so = compile_so(GETRANDOM)
    meets = check(str(so))
    assert meets.returncode == 0
    assert "manylinux_2_26_x86_64" in meets.stdout and "getrandom@GLIBC_2.25 (libc.so.6)" in meets.stdout
    assert "summary: 1 ELF files read" in meets.stdout
    fails = check("--target", "manylinux2014", str(so))
    assert fails.returncode == 1 and "getrandom@GLIBC_2.25" in fails.stdout
    lines = fails.stdout.splitlines()
    report = lines.index("  does not meet: 1 violation of manylinux_2_17_x86_64 in 1 file; "
                         "the files meet manylinux_2_26_x86_64")
    assert lines[report + 3:report + 5] == [
        "  hint: keep [tool.manywheel] pin = true (the default) so every reference is pinned to the target, "
        "avoid the functions named, or choose a newer target",
        '  hint: set [tool.manywheel] target = "manylinux_2_26" (or "auto") to accept what the files meet']
    assert "manywheel: error" not in fails.stdout
    assert check("--target", "manylinux_2_28", str(so)).returncode == 0


def test_json_carries_the_same(compile_so: Callable[..., Path]) -> None:
    proc = check("--json", "--target", "manylinux_2_17", str(compile_so(GETRANDOM)))
    data = json.loads(proc.stdout)[0]
    assert data["verdict"] == "manylinux_2_26_x86_64" and data["target"]["meets"] is False
    assert [c["symbol"] for c in data["target"]["blocking"]] == ["getrandom"]


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    fake = tmp_path / "fake.so"
    fake.write_text("not elf")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {str(fake): "not an ELF file", str(empty): "no ELF files", str(tmp_path / "missing.whl"): "no such file"}
    for path, message in cases.items():
        proc = check(path)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
    assert check("--target", "manylinux_9_9", str(fake)).returncode == 2
    bad = check("--provided-by", "libfoo.so.1", str(fake))
    assert bad.returncode == 2 and bad.stderr == (
        "manywheel: error: --provided-by 'libfoo.so.1': expected LIB=DIST, like libcudart.so.13=nvidia-cuda-runtime\n"
        "  hint: give the library and the distribution that ships it\n")


def test_targets_lists_policies_with_pip_distributions_and_sources() -> None:
    proc = run([sys.executable, "-m", "manywheel", "targets"])
    assert "manylinux_2_17_x86_64 (alias manylinux2014): glibc >= 2.17, pip >= 19.3" in proc.stdout
    assert "manylinux_2_5_x86_64 (alias manylinux1): glibc >= 2.5, pip >= 8.1" in proc.stdout
    assert "manylinux_2_28_x86_64: glibc >= 2.28, pip >= 20.3" in proc.stdout
    assert "reference: CentOS 7 / RHEL 7, end of life 2024-06-30" in proc.stdout
    assert "musllinux_1_2_x86_64: musl >= 1.2, pip >= 21.2" in proc.stdout
    assert "sources: " in proc.stdout and "PEP 599" in proc.stdout


def test_check_says_who_can_install(compile_so: Callable[..., Path]) -> None:
    proc = check(str(compile_so(GETRANDOM)))
    assert "installable by pip >= 20.3 on glibc >= 2.26: Amazon Linux 2, Ubuntu 18.04 (bionic)" in proc.stdout
    data = json.loads(check("--json", str(compile_so(GETRANDOM))).stdout)[0]
    assert data["installable_by"]["pip"] == "20.3" and "Debian 12 (bookworm)" in data["installable_by"]["distributions"]
