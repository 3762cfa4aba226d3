"""The compiler wrappers, run for real: flags added, -march=native replaced, RPATHs kept for the repair step."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel.check.elf import read_elf_file
from manywheel.toolchain.wrappers import make_toolchain


def test_wrappers_replace_native_isa_and_keep_rpaths(tmp_path: Path) -> None:
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=True)
    src = tmp_path / "m.c"
    src.write_text("double f(double *a){double s=0; for(int i=0;i<256;i++) s+=a[i]*a[i]; return s;}\n")
    env = dict(os.environ, **chain.env)
    cmd = [chain.env["CC"], "-shared", "-fPIC", "-O3", "-march=native", "-mtune=native", str(src),
           "-Wl,-rpath,/root/.pyenv/versions/3.11.7/lib", "-Wl,-rpath,$ORIGIN/../lib", "-o", str(tmp_path / "m.so")]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "warning: replaced -march=native with -march=x86-64" in first.stderr
    assert "manywheel: $ " in first.stderr and "-march=native" not in first.stderr.split("manywheel: $ ", 1)[1]
    facts = read_elf_file(tmp_path / "m.so")
    # Kept at link time (CMake's install step rewrites it in place); the wheel's copy loses it (repair.runpath).
    assert facts.runpath + facts.rpath == ("/root/.pyenv/versions/3.11.7/lib", "$ORIGIN/../lib")
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "warning" not in second.stderr  # each warning once per build
    # gcc found through PATH is the wrapper too (for build systems that call gcc directly).
    which = subprocess.run(["sh", "-c", "command -v gcc"], env=env, capture_output=True, text=True).stdout.strip()
    assert which == str(tmp_path / "tc" / "bin" / "gcc")


def test_failed_compile_shows_command_and_exit_code(tmp_path: Path) -> None:
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=False)
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { return undeclared_thing; }\n")
    proc = subprocess.run([chain.env["CC"], "-c", str(bad), "-o", str(tmp_path / "bad.o")],
                          env=dict(os.environ, **chain.env), capture_output=True, text=True)
    assert proc.returncode != 0
    assert "undeclared_thing" in proc.stderr
    assert "manywheel: error: the compiler exited with code 1:" in proc.stderr


def test_missing_compiler_is_a_clear_error(tmp_path: Path) -> None:
    from manywheel.errors import ToolchainError
    import pytest
    with pytest.raises(ToolchainError, match="the compiler 'no-such-cc' .* is not on PATH"):
        make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ, CC="no-such-cc")), None, project=tmp_path,
                       verbose=False)
