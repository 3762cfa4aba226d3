"""The pinned baseline: stubs in the right libraries, cache validity, concurrency, enforced links."""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from manywheel.toolchain.compiler import Compiler, Compilers
from manywheel.toolchain.baseline import Baseline, prepare_baseline
from manywheel.check.elf import read_elf_file
from manywheel.policy import find_policy
from manywheel.settings import read_settings
from manywheel.toolchain.wrappers import make_toolchain

TARGET = find_policy("manylinux_2_17", "x86_64")


def baseline(cache: Path, work: Path) -> Baseline:
    settings = read_settings(Path("."), {"manywheel.cache-dir": str(cache)}, {}, {})
    result = prepare_baseline(TARGET, Compilers.find(dict(os.environ)), settings, work, lambda message: None)
    assert result is not None
    return result


def _in_process(cache: str, work: str) -> str:
    return str(baseline(Path(cache), Path(work)).directory)


def versioned_definitions(lib: Path) -> set[str]:
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(lib)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if "@" in line and " UND " not in line}


def test_moved_symbols_live_in_their_old_library(tmp_path: Path) -> None:
    stubs = baseline(tmp_path / "cache", tmp_path / "w").directory / "lib"
    pthread = versioned_definitions(stubs / "libpthread.so.0")
    libc = versioned_definitions(stubs / "libc.so.6")
    assert "pthread_create@@GLIBC_2.2.5" in pthread and not any(s.startswith("pthread_create@") for s in libc)
    assert "memcpy@@GLIBC_2.14" in libc and "memcpy@GLIBC_2.2.5" in libc
    assert "dlopen@@GLIBC_2.2.5" in versioned_definitions(stubs / "libdl.so.2")
    assert not any(s.startswith("getrandom@") for s in libc)  # 2.25: left to the shim


def test_a_link_through_the_baseline_meets_the_target(tmp_path: Path) -> None:
    base = baseline(tmp_path / "cache", tmp_path / "w")
    chain = make_toolchain(tmp_path / "tc", Compilers.find(dict(os.environ)), base, project=tmp_path, verbose=False)
    src = tmp_path / "m.c"
    src.write_text("#include <pthread.h>\n#include <sys/random.h>\n#include <string.h>\n"
                   "static void *run(void *p) { return p; }\n"
                   "int PyInit_m(void *b, unsigned long n) { pthread_t t; pthread_create(&t, 0, run, 0);\n"
                   "  pthread_join(t, 0); memcpy(b, b + 1, n); return (int)getrandom(b, 4, 0); }\n"
                   "int helper(void) { return 3; }\n")
    subprocess.run([chain.env["CC"], "-shared", "-fPIC", "-O2", str(src), "-Wl,-z,execstack",
                    "-Wl,-z,pack-relative-relocs", "-o", str(tmp_path / "m.so")],
                   env=dict(os.environ, **chain.env), check=True, capture_output=True)
    facts = read_elf_file(tmp_path / "m.so")
    versions = {(r.name, r.version, r.library) for r in facts.versioned_refs}
    assert ("pthread_create", "GLIBC_2.2.5", "libpthread.so.0") in versions
    assert ("memcpy", "GLIBC_2.14", "libc.so.6") in versions
    assert not any(r.name == "getrandom" for r in facts.versioned_refs + facts.unversioned_refs)  # shimmed
    assert "helper" not in facts.exported and "PyInit_m" in facts.exported  # export map
    assert not facts.exec_stack and not facts.has_relr


def test_a_corrupt_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    first = baseline(tmp_path / "cache", tmp_path / "w").directory
    (first / "lib" / "libc.so.6").write_bytes(b"truncated")
    again = baseline(tmp_path / "cache", tmp_path / "w2").directory
    assert again == first and (again / "lib" / "libc.so.6").stat().st_size > 1000


def test_concurrent_generation_into_an_empty_cache(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=3) as pool:
        dirs = list(pool.map(_in_process, [str(tmp_path / "cache")] * 3, [str(tmp_path / f"w{i}") for i in range(3)]))
    assert len(set(dirs)) == 1
    leftovers = [p.name for p in (tmp_path / "cache" / "baselines").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_unwritable_cache_falls_back_to_the_build_directory(tmp_path: Path) -> None:
    cache = tmp_path / "not-a-directory"
    cache.write_text("a file where the cache should be: mkdir fails even for root")
    messages: list[str] = []
    settings = read_settings(Path("."), {"manywheel.cache-dir": str(cache)}, {}, {})
    result = prepare_baseline(TARGET, Compilers.find(dict(os.environ)), settings, tmp_path / "w", messages.append)
    assert result is not None and result.directory.is_relative_to(tmp_path / "w")
    assert any("warning: cannot write the cache" in m for m in messages)
