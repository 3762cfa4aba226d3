"""Compiler launchers through manywheel's wrappers, for real: ccache in CC, ccache's masquerading
directory first on PATH, a launcher that looks the compiler up on PATH; and preprocessor runs."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel.toolchain.wrappers import make_toolchain, without_forced_includes, write_toolchain_config

from tests.common import skip_missing
from tests.launchers import ccache_hits, ccache_misses, ccache_stats, require_ccache

if TYPE_CHECKING:
    from manywheel._wrapper.config import WrapperConfig


@dataclass
class PinOnly:
    """A baseline that only forces a header into every compile (enough to see where it goes)."""

    compile_flags: list[str]
    directory: Path = Path("/nonexistent/baseline")  # the cache entry: make_toolchain reads none of it
    link_flags: list[str] = field(default_factory=list)
    link_flags_after: list[str] = field(default_factory=list)
    export_map: str = ""
    static_cxx: bool = False
    no_relr: bool = False
    summary: str = "test pins"


def run(cmd: list[str], env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_ccache_in_cc_is_kept_and_serves_the_second_compile(tmp_path: Path) -> None:
    ccache = require_ccache()
    env = dict(os.environ, CC="ccache gcc", CCACHE_DIR=str(tmp_path / "ccache"))
    assert Compiler.find(env, "CC", "CC").command == [ccache, shutil.which("gcc")]
    chain = make_toolchain(tmp_path / "tc", Compilers.find(env), None, project=tmp_path, verbose=False)
    src = tmp_path / "m.c"
    src.write_text("int twice(int x) { return 2 * x; }\n")
    run_env = dict(env, **chain.env)
    for _ in range(2):
        proc = run([chain.env["CC"], "-O2", "-fPIC", "-c", str(src), "-o", str(tmp_path / "m.o")], run_env)
        assert proc.returncode == 0, proc.stderr
    stats = ccache_stats(tmp_path / "ccache")
    assert (ccache_misses(stats), ccache_hits(stats)) == (1, 1), stats


def test_ccache_masquerading_directory_first_on_path_does_not_loop(tmp_path: Path) -> None:
    ccache = require_ccache()
    masquerade = Path("/usr/lib/ccache")
    if not (masquerade / "gcc").exists():
        skip_missing("Debian's ccache masquerading directory /usr/lib/ccache is missing (Debian: ccache)")
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX")}
    env.update(PATH=f"{masquerade}:{os.environ['PATH']}", CC="gcc", CCACHE_DIR=str(tmp_path / "ccache"))
    # The symlink is named as what it is: the launcher, then the real compiler.
    assert Compiler.find(env, "CC", "CC").command == [os.path.realpath(ccache), shutil.which("gcc")]
    chain = make_toolchain(tmp_path / "tc", Compilers.find(env), None, project=tmp_path, verbose=False)
    src = tmp_path / "m.c"
    src.write_text("int f(void) { return 1; }\n")
    proc = run([chain.env["CC"], "-c", str(src), "-o", str(tmp_path / "m.o")], dict(env, **chain.env), timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_a_launcher_that_finds_the_compiler_on_path_gets_the_real_one(tmp_path: Path) -> None:
    # Like ccache's or sccache's masquerading links, this launcher runs "gcc" from PATH, where
    # manywheel's gcc wrapper comes first during a build: it must not find the wrapper again.
    launcher = tmp_path / "launch"
    launcher.write_text('#!/bin/sh\necho "launched" >> "$LAUNCH_LOG"\nexec gcc "$@"\n')
    launcher.chmod(0o755)
    env = dict(os.environ, CC=str(launcher), LAUNCH_LOG=str(tmp_path / "launch.log"))
    chain = make_toolchain(tmp_path / "tc", Compilers.find(env), None, project=tmp_path, verbose=False)
    src = tmp_path / "m.c"
    src.write_text("int f(void) { return 1; }\n")
    proc = run([chain.env["CC"], "-c", str(src), "-o", str(tmp_path / "m.o")], dict(env, **chain.env), timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "launch.log").read_text().count("launched") == 2  # -dumpmachine check, then the compile


def test_preprocessor_output_has_no_pin_header_but_compiles_do(tmp_path: Path) -> None:
    # cffi projects (zstandard's make_cffi.py) parse `cc -E` output: asm pin lines would break them.
    pins = tmp_path / "pins.h"
    pins.write_text('#define MW_PINNED 1\n__asm__(".symver memcpy,memcpy@GLIBC_2.2.5");\n')
    assert without_forced_includes(["-include", str(pins), "-DX", f"-include{pins}"]) == ["-DX"]
    env = dict(os.environ)
    chain = make_toolchain(tmp_path / "tc", Compilers.find(env), PinOnly(["-include", str(pins)]), project=tmp_path,
                           verbose=False)
    src = tmp_path / "h.c"
    src.write_text("int declared_here(int);\n#ifndef MW_PINNED\n#error the pin header is missing\n#endif\n")
    run_env = dict(env, **chain.env)
    pre = run([chain.env["CC"], "-E", "-x", "c", "-"], run_env)
    assert pre.returncode == 0 and ".symver" not in pre.stdout, pre.stderr
    pre = run([chain.env["CC"], "-E", str(src)], run_env)
    assert pre.returncode != 0 and "the pin header is missing" in pre.stderr
    obj = run([chain.env["CC"], "-c", str(src), "-o", str(tmp_path / "h.o")], run_env)
    assert obj.returncode == 0, obj.stderr


def test_the_build_environment_is_mapped_only_when_a_compile_uses_it(tmp_path: Path) -> None:
    # An isolated build environment has a new path every build: naming it in every command
    # would defeat sccache, so only compiles that use something under it get the map.
    import json
    env_prefix = tmp_path / "build-env-x1y2"
    headers = env_prefix / "lib" / "site-packages" / "pkg" / "include"
    headers.mkdir(parents=True)
    (headers / "pkg.h").write_text("#define PKG 1\n")
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), None, project=tmp_path, verbose=True)
    config = tmp_path / "tc" / "toolchain.json"
    written: WrapperConfig = json.loads(config.read_text())
    written["env_prefix"] = str(env_prefix)
    write_toolchain_config(tmp_path / "tc", written)
    src = tmp_path / "m.c"
    src.write_text("int f(void) { return 1; }\n")
    run_env = dict(os.environ, **chain.env)
    mapping = f"-ffile-prefix-map={env_prefix}=/python"

    def command(*include: str) -> str:
        proc = run([chain.env["CC"], *include, "-c", str(src), "-o", str(tmp_path / "m.o")], run_env)
        assert proc.returncode == 0, proc.stderr
        return proc.stderr.split("manywheel: $ ", 1)[1]

    assert mapping not in command(f"-I{env_prefix}/include")  # setuptools adds it for every venv; empty
    assert mapping in command(f"-I{headers}")
    assert f"-ffile-prefix-map={tmp_path}={tmp_path.name}" in command()


@pytest.mark.parametrize("backend, cached", [("mesonpy", True), ("setuptools.build_meta", False),
                                             ("scikit_build_core.build", False)])
def test_a_meson_python_build_keeps_the_compiler_cache_meson_would_have_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, cached: bool) -> None:
    """meson puts ccache (sccache first) found on PATH in front of a compiler it finds itself; manywheel's
    CC and CXX would hide that, so the wrappers run the cache in front of the real compiler instead."""
    from manywheel.build import Context, find_compilers
    from manywheel.inner.hooks import compiler_cache

    ccache = require_ccache()
    bindir = tmp_path / "bin"  # ccache (and the compilers) only, so that no sccache on this PATH wins
    bindir.mkdir()
    for tool in ("ccache", "gcc", "g++", "cc", "c++"):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    base = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX")}
    env = dict(base, PATH=str(bindir))
    assert compiler_cache(backend, env) == (str(bindir / "ccache") if cached else None)
    assert compiler_cache(backend, dict(base, PATH=str(tmp_path))) is None  # none on PATH

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.manywheel]\ninner-backend = "{backend}"\n')
    monkeypatch.chdir(project)
    ctx = Context.load(None)
    for given, expect_cc in (({}, cached), ({"CC": "gcc"}, False)):  # a CC of the user's own: meson takes it as it is
        compilers = find_compilers(Context(project, ctx.settings, dict(env, **given), ctx.arch, ctx.target, None))
        assert (Path(compilers.cc.command[0]).name == "ccache") == expect_cc, compilers.cc.command
        assert (Path(compilers.cxx.command[0]).name == "ccache") == cached, compilers.cxx.command
        assert sum(Path(w).name == "ccache" for w in compilers.cc.command) == expect_cc  # no second cache


def test_a_launcher_in_front_of_the_compiler_makes_no_other_baseline() -> None:
    from manywheel.policy import LibcVersion
    from manywheel.toolchain.baseline import _cache_key

    ccache, gcc = require_ccache(), shutil.which("gcc")
    if gcc is None:
        skip_missing("gcc is not installed", "gcc")
    plain, launched = Compiler([gcc], os.environ), Compiler([ccache, gcc], os.environ)
    assert launched.without_launcher == plain.without_launcher == [gcc]
    assert _cache_key(launched, LibcVersion(2, 17), "x86_64") == _cache_key(plain, LibcVersion(2, 17), "x86_64")
