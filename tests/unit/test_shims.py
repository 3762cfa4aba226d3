"""The glibc shims: the table, the archive, and the shims at work.

The archive is built with the host's gcc; a C library that calls every shim and a C++
library linked like manywheel links extensions (static libstdc++/libgcc, the archive in
front of libc) are run on this host, and in the Debian bullseye root (glibc 2.31) when
tools/oldroot.sh has made it. The check programs live in tests/shimcheck.py;
test_shims_cross.py builds them for the other architectures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from manywheel.errors import BaselineError
from manywheel.glibc import shims
from manywheel.glibc.abi import load_abi
from manywheel.glibc.shims import SHIMS, ShimBuildError, build_shim_archive, shims_for
from manywheel.policy import load_policies

from tests import oldroot
from tests.common import needs, skip_missing
from tests.shimcheck import (
    CHECK_NAMES, CXX_CHECK_NAMES, HOST, RUNNER, TARGET, Report, archive_members,
    check_every_shim_library, check_member_references, check_members_hidden,
    compile_thread_atexit_fallback, dynamic_needed, glibc_version, link_c_checks,
    link_cxx_checks, link_every_shim, needed_versions, run, run_report, symbols, too_new,
)  # fmt: skip

HOST_LIBDIR = Path("/lib/x86_64-linux-gnu")
HOST_GLIBC_LIBS = (
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
    "libutil.so.1", "libanl.so.1", "libresolv.so.2", "ld-linux-x86-64.so.2",
)  # fmt: skip

# Another host architecture is a plain skip; a missing gcc, under CI, a failure.
needs_x86_64_gcc = (
    needs(shutil.which("gcc"), "needs gcc") if os.uname().machine == "x86_64"
    else pytest.mark.skipif(True, reason="needs an x86_64 host")
)


# --------------------------------------------------------------------------- helpers


_host_versions: dict[str, set[tuple[int, ...]]] = {}


def host_glibc_versions() -> dict[str, set[tuple[int, ...]]]:
    """Every GLIBC_x.y version of every symbol the host's glibc libraries define."""
    if not _host_versions:
        for lib in HOST_GLIBC_LIBS:
            path = HOST_LIBDIR / lib
            if not path.exists():
                continue
            for name, version, _, _, defined in symbols(path, ".dynsym"):
                v = glibc_version(version)
                if defined and v is not None:
                    _host_versions.setdefault(name, set()).add(v)
    return _host_versions


# ------------------------------------------------------------------------- the table


def test_table_sources_exist_and_symbols_are_unique() -> None:
    seen: dict[str, str] = {}
    for shim in SHIMS:
        assert (shims.SOURCE_DIR / shim.source).is_file(), shim.source
        assert shim.symbols, shim
        for sym in shim.symbols:
            assert sym not in seen, f"{sym} defined by {seen[sym]} and {shim.source}"
            seen[sym] = shim.source
    assert len({s.source for s in SHIMS}) == len(SHIMS)
    listed = {s.source for s in SHIMS}
    on_disk = {p.name for p in shims.SOURCE_DIR.glob("*.c")}
    assert on_disk == listed


@pytest.mark.parametrize(
    ("target", "present", "absent"),
    [
        ((2, 5), {"__cxa_thread_atexit_impl", "stat64", "__isoc23_strtol"}, set()),
        ((2, 17), {"__cxa_thread_atexit_impl", "fcntl64", "_dl_find_object"}, set()),
        ((2, 18), {"getrandom", "stat"}, {"__cxa_thread_atexit_impl"}),
        ((2, 28), {"pthread_cond_clockwait", "fstatat64"}, {"fcntl64", "memfd_create"}),
        ((2, 31), {"__libc_single_threaded", "__wrap_sysconf"}, {"pthread_mutex_clocklock"}),
        ((2, 34), {"_dl_find_object", "arc4random"}, {"stat", "__wrap_sysconf"}),
        ((2, 35, 0), {"arc4random_uniform", "__isoc23_sscanf"}, {"_dl_find_object"}),
        ((2, 36), {"__isoc23_wcstoumax"}, {"arc4random"}),
    ],
)
def test_shims_for_target(
    target: tuple[int, ...], present: set[str], absent: set[str]
) -> None:
    syms = shims.shimmed_symbols(target)
    assert present <= syms
    assert not absent & syms
    assert {s for shim in shims_for(target, "x86_64") for s in shim.symbols} == syms


def test_no_shims_from_2_38() -> None:
    assert shims_for((2, 38), "x86_64") == []
    assert shims.shimmed_symbols((2, 39)) == frozenset()


def test_wrapped_symbols() -> None:
    assert shims.wrapped_symbols(TARGET) == ("sysconf",)
    assert shims.wrapped_symbols((2, 34)) == ()


@pytest.mark.parametrize("arch", ["loongarch64", "x86-64", "armv6l", "mips64"])
def test_other_arches_are_refused(arch: str) -> None:
    with pytest.raises(BaselineError, match=re.escape(repr(arch))) as info:
        shims_for(TARGET, arch)
    assert "aarch64" in (info.value.hint or "")  # names the ones that work
    with pytest.raises(BaselineError, match=re.escape(repr(arch))):
        build_shim_archive(["gcc"], "ar", Path("/nonexistent"), (2, 38), arch, [])


def test_supported_arches_have_policies_and_records() -> None:
    for arch in shims.SUPPORTED_ARCHES:
        assert load_policies(arch), arch
        assert load_abi(arch).arch == arch
    assert set(shims.LP64_ARCHES) <= set(shims.SUPPORTED_ARCHES)


def test_fts64_only_on_64_bit_arches() -> None:
    """FTSENT64 and FTSENT differ on 32-bit arches: there is no old function to call."""
    for arch in shims.SUPPORTED_ARCHES:
        has = "fts64_open" in shims.shimmed_symbols(TARGET, arch)
        assert has == (arch in shims.LP64_ARCHES), arch
    assert shims.shimmed_symbols(TARGET, "i686") == shims.shimmed_symbols(TARGET, "x86_64") - {
        "fts64_open", "fts64_read", "fts64_children", "fts64_set", "fts64_close"}


@pytest.mark.parametrize("arch", shims.SUPPORTED_ARCHES)
def test_introduced_matches_the_abi_record(arch: str) -> None:
    """Each shimmed symbol first appeared in its `introduced` release on every arch, or in
    the arch's first glibc if that is newer (its oldest target is newer still)."""
    abi = load_abi(arch)
    base = glibc_version(abi.versions()[0])
    assert base is not None and base[:2] <= tuple(shims.oldest_target(arch))[:2]
    wrong = []
    for shim in SHIMS:
        if arch not in shim.arches:
            continue
        for sym in shim.symbols:
            if shim.wrap and sym.startswith("__wrap_"):
                continue  # not a glibc symbol
            oldest = abi.oldest(sym)
            expected = max(shim.introduced, base[:2])
            if oldest is None or tuple(oldest.glibc_version)[:2] != expected:
                wrong.append(f"{sym}: {oldest and oldest.version} != {expected}")
    assert wrong == []


@pytest.mark.parametrize("arch", shims.SUPPORTED_ARCHES)
def test_pinned_versions_are_every_served_targets_default(arch: str) -> None:
    """What a shim pins is what a build for each target it serves would bind: never a
    compatibility-only version (i686's __xstat64@GLIBC_2.1 fills another structure)."""
    abi = load_abi(arch)
    targets = [p.libc_version for p in load_policies(arch) if p.family == "manylinux"]
    oldest = shims.oldest_target(arch)
    assert oldest == min(targets)
    seen = 0
    for shim in SHIMS:
        if arch not in shim.arches:
            continue
        pins = shims.pinned_versions(shim.source, arch)
        for name, version in pins.items():
            seen += 1
            v = glibc_version(version)
            assert v is not None and v[:2] <= max(TARGET, (oldest.major, oldest.minor)), (name, version)
            for target in targets:
                if shim.needed_for(target):
                    found = abi.default_version(name, target)
                    assert found is not None and found.version == version, (shim.source, name, target)
        flags = shims.shim_cflags(shim.source, arch)
        assert flags[0] == f"-DMW_ARCH_{arch}"
        assert flags[1:] == [f'-DMW_VERSION_{n}="{pins[n]}"' for n in sorted(pins)]
    assert seen >= 20


def test_pinned_versions_of_i686_are_its_newer_abi() -> None:
    pins = {n: v for shim in SHIMS for n, v in shims.pinned_versions(shim.source, "i686").items()}
    assert pins["__xstat64"] == "GLIBC_2.2"  # GLIBC_2.1 is the old struct stat64
    assert pins["dlopen"] == "GLIBC_2.1"  # GLIBC_2.0 is the old dlopen
    assert pins["fcntl"] == "GLIBC_2.0"  # GLIBC_2.28 converts OFD locks' struct flock
    assert pins["pthread_mutex_timedlock"] == "GLIBC_2.2"
    assert shims.pinned_versions("stat.c", "x86_64") == {
        "__xstat64": "GLIBC_2.2.5", "__xstat": "GLIBC_2.2.5"}
    assert shims.pinned_versions("fstatat.c", "aarch64") == {
        "__fxstatat64": "GLIBC_2.17", "__fxstatat": "GLIBC_2.17"}


def test_a_pin_the_record_lacks_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.c").write_text('#include "shim.h"\nMW_PIN(dlsym);\nMW_PIN(no_such_function);\n')
    monkeypatch.setattr(shims, "SOURCE_DIR", tmp_path)
    with pytest.raises(BaselineError, match="bad.c pins no_such_function, which glibc 2.17 on aarch64"):
        shims.pinned_versions("bad.c", "aarch64")


@pytest.mark.skipif(not (HOST_LIBDIR / "libc.so.6").exists(), reason="needs the host glibc")
def test_introduced_matches_host_glibc() -> None:
    """Where the host's glibc has a shimmed symbol, its oldest version is `introduced`."""
    host = host_glibc_versions()
    checked, wrong = 0, []
    for shim in SHIMS:
        for sym in shim.symbols:
            if sym in host:
                checked += 1
                if min(host[sym])[:2] != shim.introduced:
                    wrong.append(f"{sym}: {min(host[sym])} != {shim.introduced}")
    assert wrong == []
    assert checked >= 30  # glibc 2.36 has all but __wrap_sysconf and the __isoc23_* ones


# ----------------------------------------------------------------------- the archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.uname().machine != "x86_64":
        pytest.skip("needs an x86_64 host")
    if shutil.which("gcc") is None:
        skip_missing("needs gcc")
    return build_shim_archive(
        ["gcc"], "ar", tmp_path_factory.mktemp("shims"), TARGET, "x86_64", ["-g0"]
    )


def _members(archive: Path, into: Path) -> dict[str, Path]:
    return archive_members(archive, into, HOST)


@needs_x86_64_gcc
def test_archive_members_define_their_symbols_hidden(archive: Path, tmp_path: Path) -> None:
    assert check_members_hidden(archive, tmp_path / "x", HOST) == []


@needs_x86_64_gcc
def test_archive_references_no_new_glibc_version(archive: Path, tmp_path: Path) -> None:
    assert check_member_references(archive, tmp_path / "x", HOST) == []


@needs_x86_64_gcc
def test_archive_for_new_target_is_empty_and_linkable(tmp_path: Path) -> None:
    a = build_shim_archive(["gcc"], "ar", tmp_path, (2, 38), "x86_64", [])
    assert a.read_bytes() == b"!<arch>\n"
    (tmp_path / "m.c").write_text("int main(void) { return 0; }\n")
    run(["gcc", str(tmp_path / "m.c"), str(a), "-o", str(tmp_path / "m")])
    run([str(tmp_path / "m")])


@needs_x86_64_gcc
def test_archive_is_reproducible(tmp_path: Path) -> None:
    a = build_shim_archive(["gcc"], "ar", tmp_path / "a", (2, 36), "x86_64", [])
    b = build_shim_archive(["gcc"], "ar", tmp_path / "b", (2, 36), "x86_64", [])
    assert a.read_bytes() == b.read_bytes()
    assert a.name == shims.ARCHIVE_NAME


@needs_x86_64_gcc
def test_hostile_cflags_are_overridden(archive: Path, tmp_path: Path) -> None:
    """A project's flags must not rename what the shims define or call."""
    hostile = ["-D_FILE_OFFSET_BITS=64", "-D_FORTIFY_SOURCE=2", "-D_GNU_SOURCE", "-flto",
               "-std=c2x", "-D_TIME_BITS=64", "-Wall", "-Werror"]  # fmt: skip
    built = build_shim_archive(["gcc"], "ar", tmp_path / "h", TARGET, "x86_64", hostile)

    def names(a: Path, d: str) -> set[tuple[str, str, bool]]:
        return {
            (sym, version, defined)
            for obj in _members(a, tmp_path / d).values()
            for sym, version, _, _, defined in symbols(obj, ".symtab")
            if not sym.startswith((".", "mw_")) and "." not in sym
        }

    assert names(built, "hx") == names(archive, "nx")


@needs_x86_64_gcc
def test_build_failure_reports_command_and_output(archive: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    build_shim_archive(["gcc"], "ar", workdir, (2, 36), "x86_64", [])
    before = (workdir / shims.ARCHIVE_NAME).read_bytes()
    with pytest.raises(ShimBuildError) as info:
        build_shim_archive(
            ["gcc"], "ar", workdir, TARGET, "x86_64", ["-include", "/nonexistent/mw.h"]
        )
    err = info.value
    assert err.returncode not in (0, -1)
    assert err.command[0] == "gcc" and "/nonexistent/mw.h" in err.command
    assert "/nonexistent/mw.h" in err.output
    assert "compiling shim" in err.message and "exited with" in err.message
    assert err.hint
    # The old archive is untouched and nothing half-made is left behind.
    assert (workdir / shims.ARCHIVE_NAME).read_bytes() == before
    assert sorted(p.name for p in workdir.iterdir()) == [shims.ARCHIVE_NAME]


@needs_x86_64_gcc
def test_a_compiler_for_another_arch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ShimBuildError, match="this compiler builds for x86_64, not for") as info:
        build_shim_archive(["gcc"], "ar", tmp_path, TARGET, "aarch64", [])
    assert "-DMW_ARCH_aarch64" in info.value.command
    assert list(tmp_path.iterdir()) == []


def test_missing_compiler_is_a_shim_build_error(tmp_path: Path) -> None:
    with pytest.raises(ShimBuildError) as info:
        build_shim_archive(["/nonexistent/cc"], "ar", tmp_path, TARGET, "x86_64", [])
    assert info.value.returncode == -1
    assert "/nonexistent/cc" in info.value.message


# ------------------------------------------------------------ the shims at work (C)


@pytest.fixture(scope="module")
def c_checks(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_c_checks(archive, tmp_path_factory.mktemp("c") / "libshimcheck.so", HOST)


@pytest.fixture(scope="module")
def c_report(c_checks: Path) -> Report:
    return run_report(c_checks, "run_checks")


@needs_x86_64_gcc
@pytest.mark.parametrize("name", CHECK_NAMES)
def test_shim_behaviour_on_host(c_report: Report, name: str) -> None:
    c_report.check(name)


@needs_x86_64_gcc
def test_every_check_reported(c_report: Report) -> None:
    assert c_report.ok | set(c_report.failed) == set(CHECK_NAMES), c_report.text


@needs_x86_64_gcc
def test_dl_find_object_agrees_with_glibc(c_report: Report) -> None:
    if not host_glibc_versions().get("_dl_find_object"):
        pytest.skip("the host glibc has no _dl_find_object to compare with")
    assert int(c_report.info["dl_find_object_compared"]) >= 4, c_report.text


@needs_x86_64_gcc
def test_sysconf_wrapper_passes_host_answers_through(c_report: Report) -> None:
    assert int(c_report.info["sigstksz"]) == int(c_report.info["real_sigstksz"])
    assert int(c_report.info["sigstksz"]) == os.sysconf(250)  # _SC_SIGSTKSZ


@needs_x86_64_gcc
def test_main_thread_tls_destructor_runs_at_exit(c_report: Report) -> None:
    assert "main-thread-dtor-ran" in c_report.text


@needs_x86_64_gcc
def test_explicit_bzero_chk_aborts_on_overflow(c_checks: Path) -> None:
    code = f"import ctypes; ctypes.CDLL({str(c_checks)!r}).overflow_explicit_bzero_chk()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -6, proc.stderr  # SIGABRT from __chk_fail
    assert "buffer overflow detected" in proc.stderr


@needs_x86_64_gcc
def test_linked_library_uses_the_shims(c_checks: Path) -> None:
    """Every shim call bound inside the library; nothing it needs is newer than 2.17."""
    dyn = symbols(c_checks, ".dynsym")
    shimmed = shims.shimmed_symbols(TARGET)
    assert not [s for s in dyn if s[0] in shimmed], "shim symbols in .dynsym"
    assert too_new(needed_versions(c_checks)) == []
    assert "libgcc_s.so.1" not in dynamic_needed(c_checks)  # libgcc_eh's unwinder


@pytest.fixture(scope="module")
def every_shim_library(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return link_every_shim(archive, tmp_path_factory.mktemp("all"), HOST)


@needs_x86_64_gcc
def test_every_shim_links_with_old_versions_only(every_shim_library: Path) -> None:
    assert check_every_shim_library(every_shim_library, HOST) == []


@pytest.fixture(scope="module")
def c_fallback_checks(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C checks with the glibc 2.17 path of __cxa_thread_atexit_impl forced."""
    d = tmp_path_factory.mktemp("fallback")
    obj = compile_thread_atexit_fallback(d / "cxa_fallback.o", HOST)
    return link_c_checks(archive, d / "libshimcheck_fallback.so", HOST, obj)


@needs_x86_64_gcc
def test_thread_atexit_fallback_without_glibc_2_18(c_fallback_checks: Path) -> None:
    report = run_report(c_fallback_checks, "run_checks", "only=cxa_thread_atexit_impl", "dlclose")
    report.check("cxa_thread_atexit_impl")
    assert "main-thread-dtor-ran" in report.text
    # Threads' destructor lists point into the library: it must stay loaded.
    assert report.info["still_loaded_after_dlclose"] == "1", report.text


# ---------------------------------------------------------- the shims at work (C++)



@pytest.fixture(scope="module")
def cxx_checks(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("g++") is None:
        skip_missing("needs g++")
    return link_cxx_checks(archive, tmp_path_factory.mktemp("cxx"), HOST)


@pytest.fixture(scope="module")
def cxx_report(cxx_checks: Path) -> Report:
    return run_report(cxx_checks, "cxx_checks")


@needs_x86_64_gcc
@pytest.mark.parametrize("name", CXX_CHECK_NAMES)
def test_cxx_on_host(cxx_report: Report, name: str) -> None:
    cxx_report.check(name)


@needs_x86_64_gcc
def test_cxx_needs_only_symbols_with_old_versions(cxx_checks: Path) -> None:
    """What static libstdc++/libgcc need above 2.17 either has an older version (the stub
    libraries pin it) or was bound to a shim."""
    shimmed = shims.shimmed_symbols(TARGET)
    host = host_glibc_versions()
    unresolved = []
    for name, version, binding, _, defined in symbols(cxx_checks, ".dynsym"):
        if defined:
            continue
        assert name not in shimmed, f"{name}@{version} was not bound to its shim"
        v = glibc_version(version)
        if v is not None and v[:2] > TARGET and min(host.get(name, {v}))[:2] > TARGET:
            unresolved.append(f"{name}@{version}")
    assert unresolved == []


# ------------------------------------------------------- on an older glibc (2.31)


@pytest.fixture(scope="module")
def old_root() -> Path:
    reason = oldroot.missing_reason()
    if reason is not None:
        skip_missing(reason, "tools/test.sh runs tools/oldroot.sh")
    root: Path | None = oldroot.find_root()
    assert root is not None
    return root


def run_in_old_root(root: Path, lib: Path, entry: str, *extra: str) -> Report:
    proc = oldroot.run_in_root(
        root,
        [oldroot.PYTHON39, "-c", RUNNER, lib.name, entry, *extra],
        copy_in={lib: lib.name},
        timeout=300,
    )
    return Report(proc.stdout, proc.stderr, proc.returncode)


@pytest.mark.oldglibc
@needs_x86_64_gcc
def test_shims_work_on_glibc_2_31(old_root: Path, c_checks: Path) -> None:
    report = run_in_old_root(old_root, c_checks, "run_checks")
    assert report.returncode == 0, report.text
    assert report.failed == {} and report.ok == set(CHECK_NAMES), report.text
    assert "main-thread-dtor-ran" in report.text
    # glibc 2.31 has no _SC_SIGSTKSZ: the wrapper answered instead, like glibc 2.34 would.
    assert report.info["real_sigstksz"] == "-1"
    assert int(report.info["sigstksz"]) >= 8192
    assert int(report.info["unwound_frames"]) >= 8
    assert report.info["dl_find_object_compared"] == "0"  # no glibc one to compare with


@pytest.mark.oldglibc
@needs_x86_64_gcc
def test_thread_atexit_fallback_on_glibc_2_31(old_root: Path, c_fallback_checks: Path) -> None:
    report = run_in_old_root(
        old_root, c_fallback_checks, "run_checks", "only=cxa_thread_atexit_impl", "dlclose"
    )
    assert report.returncode == 0, report.text
    assert "cxa_thread_atexit_impl" in report.ok, report.text
    assert "main-thread-dtor-ran" in report.text
    assert report.info["still_loaded_after_dlclose"] == "1"


@pytest.mark.oldglibc
@needs_x86_64_gcc
def test_cxx_on_glibc_2_31(old_root: Path, cxx_checks: Path) -> None:
    """Exceptions (libgcc_eh through _dl_find_object), thread_local, random_device,
    filesystem and timed waits of a statically linked libstdc++ on glibc 2.31."""
    report = run_in_old_root(old_root, cxx_checks, "cxx_checks")
    assert report.returncode == 0, report.text
    assert report.failed == {} and report.ok == set(CXX_CHECK_NAMES), report.text
