"""The glibc shims' check programs and the ELF helpers that judge them.

Shared by tests/unit/test_shims.py (the host's gcc), tests/unit/test_shims_cross.py (each
cross compiler, compile and link only) and tests/integration/test_shims_cross.py (the
cross-built checks run under qemu-user). A check library is linked like manywheel links
extensions (the shim archive in front of libc, static libgcc); references whose default
version is newer than the target are then bound to their target version by small pin
stubs made from the glibc ABI record (see write_pin_stubs), as manywheel's stub libraries
would bind them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

from manywheel.arches import BY_NAME as ARCH_INFO
from manywheel.glibc import shims
from manywheel.glibc.abi import load_abi
from manywheel.policy import LibcVersion

TARGET = (2, 17)
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")


# ------------------------------------------------------------------------ toolchains


@dataclass(frozen=True)
class Toolchain:
    """The programs that build for one architecture: the host's gcc or a cross gcc."""

    arch: str
    cc: str
    cxx: str
    ar: str

    @property
    def target(self) -> tuple[int, int]:
        """The glibc the checks are built for: 2.17, or the arch's oldest target if newer."""
        oldest = shims.oldest_target(self.arch)
        return max(TARGET, (oldest.major, oldest.minor))

    @property
    def lp64(self) -> bool:
        return self.arch in shims.LP64_ARCHES

    @property
    def ldflags(self) -> list[str]:
        """What every link adds. PowerPC64 ld calls __tls_get_addr_opt (GLIBC_2.22) when the
        libraries it links against define it; manywheel's stubs for 2.17 do not."""
        return ["-Wl,--no-tls-get-addr-optimize"] if self.arch in ("ppc64le", "ppc64") else []

    @property
    def known_gaps(self) -> frozenset[str]:
        """glibc symbols with no version at the target and no shim that the C++ checks need
        on this arch (see KNOWN_GAPS)."""
        return KNOWN_GAPS.get(self.arch, frozenset())

    def missing(self) -> str | None:
        """Why this toolchain cannot be used here (for pytest.skip), or None."""
        absent = [p for p in (self.cc, self.cxx, self.ar) if shutil.which(p) is None]
        if absent:
            return f"needs {', '.join(absent)} (Debian: apt-get install {ARCH_INFO[self.arch].cross_packages})"
        return None


HOST = Toolchain("x86_64", "gcc", "g++", "ar")

# What Debian's gcc 12 static libstdc++/libgcc need on PowerPC64 that glibc 2.17 lacks and
# no shim provides: __builtin_cpu_supports (random_device's "darn", libgcc's float128
# ifunc resolvers) references __parse_hwcap_and_convert_at_platform (2.23), a marker that
# glibc stores the hwcaps in the thread control block, where GCC's inline code reads them;
# on ppc64le the IEEE128 long double compatibility facets (compatibility-ldbl-alt128.o,
# pulled in by the locale) call glibc 2.32's IEEE128 printf, strtold and frexpl.
KNOWN_GAPS: dict[str, frozenset[str]] = {
    "ppc64le": frozenset({"__parse_hwcap_and_convert_at_platform", "__strtoieee128_l", "__vsnprintfieee128",
                          "__frexpieee128"}),
    "ppc64": frozenset({"__parse_hwcap_and_convert_at_platform"}),
}


def cross_toolchain(arch: str) -> Toolchain:
    """Debian's cross compilers for ``arch`` (``aarch64-linux-gnu-gcc``...)."""
    triplet = ARCH_INFO[arch].gnu
    return Toolchain(arch, f"{triplet}-gcc", f"{triplet}-g++", f"{triplet}-gcc-ar")


# --------------------------------------------------------------------------- ELF files


def glibc_version(node: str) -> tuple[int, ...] | None:
    m = _GLIBC_VERSION.match(node)
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}{proc.stderr}", pytrace=False)
    return proc


def symbols(path: Path, table: str) -> list[tuple[str, str, str, str, bool]]:
    """(name, version or '', binding, visibility, defined) of a symbol table."""
    out = []
    with path.open("rb") as f:
        elf = ELFFile(f)
        section = elf.get_section_by_name(table)
        if not isinstance(section, SymbolTableSection):
            return []
        versions = _symbol_versions(elf)
        for i, sym in enumerate(section.iter_symbols()):
            if not sym.name:
                continue
            name, _, version = sym.name.partition("@")
            version = version.lstrip("@") or versions.get(i, "")
            out.append(
                (
                    name,
                    version,
                    sym["st_info"]["bind"],
                    sym["st_other"]["visibility"],
                    sym["st_shndx"] != "SHN_UNDEF",
                )
            )
    return out


def _symbol_versions(elf: ELFFile) -> dict[int, str]:
    versym = elf.get_section_by_name(".gnu.version")
    if not isinstance(versym, GNUVerSymSection):
        return {}
    names: dict[int, str] = {}
    verneed = elf.get_section_by_name(".gnu.version_r")
    if isinstance(verneed, GNUVerNeedSection):
        names.update(
            (aux["vna_other"], aux.name) for _, auxes in verneed.iter_versions() for aux in auxes
        )
    verdef = elf.get_section_by_name(".gnu.version_d")
    if isinstance(verdef, GNUVerDefSection):
        for vd, auxes in verdef.iter_versions():
            names[vd["vd_ndx"]] = next(iter(auxes)).name
    out = {}
    for i, sym in enumerate(versym.iter_symbols()):
        index = sym["ndx"]
        if isinstance(index, int) and index & 0x7FFF in names:  # 0x8000: hidden
            out[i] = names[index & 0x7FFF]
    return out


def needed_versions(path: Path) -> dict[str, set[str]]:
    """Version nodes an ELF file needs, per library."""
    with path.open("rb") as f:
        section = ELFFile(f).get_section_by_name(".gnu.version_r")
        if not isinstance(section, GNUVerNeedSection):
            return {}
        return {
            str(verneed.name): {aux.name for aux in auxes}
            for verneed, auxes in section.iter_versions()
        }


def dynamic_needed(path: Path) -> list[str]:
    with path.open("rb") as f:
        dynamic = ELFFile(f).get_section_by_name(".dynamic")
        assert isinstance(dynamic, DynamicSection)
        return [str(tag.needed) for tag in dynamic.iter_tags("DT_NEEDED")]  # type: ignore[attr-defined]


def too_new(versions: dict[str, set[str]], limit: tuple[int, int] = TARGET) -> list[str]:
    found = []
    for lib, nodes in versions.items():
        for node in nodes:
            v = glibc_version(node)
            if v is not None and v[:2] > limit:
                found.append(f"{node} ({lib})")
    return sorted(found)




# ------------------------------------------------------------------------- the archive

# What a compiler adds to a member besides the shim: i386's PIC thunks (hidden, COMDAT).
_COMPILER_SYMBOLS = re.compile(r"__x86\.get_pc_thunk\.\w+")


def archive_members(archive: Path, into: Path, tools: Toolchain) -> dict[str, Path]:
    into.mkdir()
    run([tools.ar, "x", str(archive.resolve())], cwd=into)
    return {p.name: p for p in into.iterdir()}


def check_members_hidden(archive: Path, into: Path, tools: Toolchain) -> list[str]:
    """Problems with ``archive``'s members: each must be one shim the target needs on the
    toolchain's arch, defining exactly the shim's symbols, all hidden."""
    members = archive_members(archive, into, tools)
    wanted = shims.shims_for(tools.target, tools.arch)
    problems = []
    if set(members) != {Path(s.source).stem + ".o" for s in wanted}:
        problems.append(f"members {sorted(members)}")
    for shim in wanted:
        obj = members.get(Path(shim.source).stem + ".o")
        if obj is None:
            continue
        defined = {s[0]: s for s in symbols(obj, ".symtab") if s[4] and s[2] in ("STB_GLOBAL", "STB_WEAK")
                   and not _COMPILER_SYMBOLS.fullmatch(s[0])}  # fmt: skip
        if set(defined) != set(shim.symbols):
            problems.append(f"{shim.source} defines {sorted(defined)}")
        problems += [f"{name} in {shim.source} is {visibility}"
                     for name, _, _, visibility, _ in defined.values() if visibility != "STV_HIDDEN"]  # fmt: skip
    return problems


def check_member_references(archive: Path, into: Path, tools: Toolchain) -> list[str]:
    """Problems with what ``archive``'s members reference: no glibc version newer than the
    target, never a shimmed symbol, and getauxval (2.16) only weakly."""
    every_shim_symbol = shims.shimmed_symbols((2, 0), tools.arch)
    problems = []
    for name, obj in sorted(archive_members(archive, into, tools).items()):
        for sym, version, binding, _, defined in symbols(obj, ".symtab"):
            if defined:
                continue
            v = glibc_version(version)
            if v is not None and v[:2] > tools.target:
                problems.append(f"{name}: {sym}@{version}")
            # The policies blacklist a non-weak __cxa_thread_atexit_impl below 2.18.
            if sym in every_shim_symbol:
                problems.append(f"{name} references {sym}")
            if sym == "getauxval" and binding != "STB_WEAK":
                problems.append(f"{name}: getauxval is {binding}, must stay optional for old targets")
    return problems


def link_every_shim(archive: Path, into: Path, tools: Toolchain) -> Path:
    """A library that references every shimmed symbol and nothing else, linked against
    the toolchain's own glibc."""
    names = sorted(shims.shimmed_symbols(tools.target, tools.arch) - {"__wrap_sysconf"}) + ["sysconf"]
    src = into / "all.c"
    src.write_text("".join(f"extern char {n}[];\n" for n in names)
                   + "void *const every_shim[] = {" + ", ".join(names) + "};\n")  # fmt: skip
    out = into / "liball.so"
    wraps = [f"-Wl,--wrap={n}" for n in shims.wrapped_symbols(tools.target, tools.arch)]
    run([tools.cc, "-shared", "-fPIC", "-o", str(out), str(src), str(archive), "-Wl,--as-needed", *wraps])
    return out


def check_every_shim_library(lib: Path, tools: Toolchain) -> list[str]:
    """Problems with a library from link_every_shim: a shim exported, a glibc version newer
    than the target needed, or a library other than libc and the dynamic linker (whose
    _r_debug _dl_find_object reads) needed."""
    shimmed = shims.shimmed_symbols(tools.target, tools.arch)
    problems = [f"{s[0]} in .dynsym" for s in symbols(lib, ".dynsym") if s[0] in shimmed]
    problems += too_new(needed_versions(lib), tools.target)
    loader = {name for name in load_abi(tools.arch).libraries if name.startswith("ld")}
    problems += [f"needs {n}" for n in dynamic_needed(lib) if n not in {"libc.so.6", *loader}]
    return problems


# --------------------------------------------------------------------------- linking


def write_pin_stubs(lib: Path, into: Path, tools: Toolchain, keep: frozenset[str] = frozenset()) -> list[Path]:
    """Stand-ins for manywheel's generated stub libraries, to link against the toolchain's
    own glibc (2.36 here).

    The checks and static libgcc/libstdc++ reference pthread_once, dlsym, ... whose default
    versions there are GLIBC_2.34; the stubs would bind them to their target versions. For
    every reference of ``lib`` newer than the target this defines the symbol at its default
    version at the target (from the glibc ABI record), in a library named like the one that
    held it then (libdl.so.2, libpthread.so.0...), to link in front of the real libc; the
    link records that library as needed, as a build against the stubs would. What libc.so.6
    held goes into the libpthread.so.0 stand-in (ld ignores a second library of that name;
    the dynamic linker finds a versioned symbol in whichever loaded library defines it). A
    reference with no version at or below the target (one a shim should have covered) fails
    the test, unless it is one of ``keep`` (left bound to its new version).
    """
    abi = load_abi(tools.arch)
    target = LibcVersion(*tools.target)
    homes: dict[str, dict[str, list[str]]] = {}
    definitions: dict[str, str] = {}
    unpinnable = []
    for name, version, _, _, defined in symbols(lib, ".dynsym"):
        v = glibc_version(version)
        if defined or v is None or v[:2] <= tools.target:
            continue
        old = abi.default_version(name, target)
        if old is None:
            if name not in keep:
                unpinnable.append(f"{name}@{version}")
            continue
        home = "libpthread.so.0" if old.library == "libc.so.6" else old.library
        homes.setdefault(home, {}).setdefault(old.version, []).append(name)
        definitions[name] = f"void {name}(void) {{}}\n" if old.is_function else f"char {name}[{max(old.size, 1)}];\n"
    assert unpinnable == [], f"{lib.name} needs symbols with no version <= {tools.target}: {unpinnable}"
    into.mkdir(parents=True, exist_ok=True)
    stubs = []
    for soname, nodes in sorted(homes.items()):
        stem = soname.split(".so")[0]
        src, script, stub = into / f"{stem}.c", into / f"{stem}.map", into / soname
        src.write_text("".join(definitions[n] for names in nodes.values() for n in sorted(names)))
        script.write_text("".join(f"{node} {{ global: {'; '.join(sorted(names))}; }};\n"
                                  for node, names in sorted(nodes.items())))  # fmt: skip
        run([tools.cc, "-shared", "-nostdlib", "-fPIC", "-o", str(stub), str(src),
             f"-Wl,--version-script={script}", f"-Wl,-soname,{soname}"])  # fmt: skip
        stubs.append(stub)
    (into / "pinned.txt").write_text("".join(
        f"{n}@{node} ({soname})\n" for soname, nodes in sorted(homes.items())
        for node, names in sorted(nodes.items()) for n in sorted(names)
    ))  # fmt: skip
    return stubs


def link_pinned(command: list[str], out: Path, tools: Toolchain, keep: frozenset[str] = frozenset()) -> Path:
    """Run a link command that writes ``out``; if it needs glibc versions above the target
    that older versions can stand for, link again with pin stubs (see write_pin_stubs)."""
    command = [*command, *tools.ldflags]
    run(command)
    stubs = write_pin_stubs(out, out.parent / (out.name + ".pins"), tools, keep)
    if stubs:
        run([*command, *map(str, stubs)])
    return out


def link_c_checks(archive: Path, out: Path, tools: Toolchain, *extra_objects: Path) -> Path:
    """The C checks as a shared library, linked with ``archive`` (the shims)."""
    src = out.with_suffix(".c")
    src.write_text(CHECK_C)
    wraps = [f"-Wl,--wrap={name}" for name in shims.wrapped_symbols(tools.target, tools.arch)]
    # -funwind-tables: the unwind check walks C frames, which have no tables by default on
    # armv7l and riscv64.
    return link_pinned(
        [tools.cc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-Wno-unused-result", "-funwind-tables",
         "-o", str(out), str(src), *map(str, extra_objects), str(archive),
         "-static-libgcc", "-Wl,--as-needed", *wraps],  # fmt: skip
        out,
        tools,
    )


def compile_thread_atexit_fallback(out: Path, tools: Toolchain) -> Path:
    """The shim of __cxa_thread_atexit_impl with its glibc 2.17 path forced (no dlsym)."""
    source = "cxa_thread_atexit_impl.c"
    run([tools.cc, "-c", "-O2", "-fPIC", "-fvisibility=hidden", "-DMANYWHEEL_SHIM_TEST_FALLBACK",
         *shims.shim_cflags(source, tools.arch), str(shims.SOURCE_DIR / source), "-o", str(out)])  # fmt: skip
    assert "dlsym" not in {s[0] for s in symbols(out, ".symtab")}
    return out


def libc_script_with_shims(archive: Path, into: Path, tools: Toolchain) -> Path:
    """A libc.so linker script like the pipeline's: the toolchain's, with the shims first."""
    proc = run([tools.cc, "-print-file-name=libc.so"])
    script = Path(proc.stdout.strip()).read_text()
    assert "GROUP ( " in script, script
    into.mkdir(parents=True, exist_ok=True)
    (into / "libc.so").write_text(script.replace("GROUP ( ", f"GROUP ( {archive} ", 1))
    return into


def link_cxx_checks(archive: Path, into: Path, tools: Toolchain) -> Path:
    """The C++ checks as a shared library, linked like manywheel links C++ extensions."""
    into.mkdir(parents=True, exist_ok=True)
    src = into / "check.cpp"
    src.write_text(CHECK_CXX)
    out = into / "libcxxcheck.so"
    scripts = libc_script_with_shims(archive, into / "lib", tools)
    wraps = [f"-Wl,--wrap={n}" for n in shims.wrapped_symbols(tools.target, tools.arch)]
    return link_pinned(
        [tools.cxx, "-std=c++17", "-shared", "-fPIC", "-O2", "-o", str(out), str(src),
         f"-L{scripts}", "-static-libstdc++", "-static-libgcc", "-Wl,--as-needed",
         "-pthread", *wraps],  # fmt: skip
        out,
        tools,
        tools.known_gaps,
    )



# ----------------------------------------------------------------------- the checks (C)

CHECK_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <unwind.h>
#include <wchar.h>

/* The test's own references whose host default is newer than 2.17, pinned so that
   the library also loads on an old glibc (elsewhere the pin stubs bind them). */
#if defined(__x86_64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dladdr1,dladdr1@GLIBC_2.3.3");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_init,pthread_rwlock_init@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_destroy,pthread_rwlock_destroy@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_rdlock,pthread_rwlock_rdlock@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_wrlock,pthread_rwlock_wrlock@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_unlock,pthread_rwlock_unlock@GLIBC_2.2.5");
#endif

extern void __explicit_bzero_chk(void *, size_t, size_t);
extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);
extern void *__dso_handle __attribute__((visibility("hidden")));
extern long __real_sysconf(int);
long __isoc23_strtol(const char *, char **, int);
unsigned long __isoc23_strtoul(const char *, char **, int);
long long __isoc23_strtoll(const char *, char **, int);
unsigned long long __isoc23_strtoull(const char *, char **, int);
intmax_t __isoc23_strtoimax(const char *, char **, int);
uintmax_t __isoc23_strtoumax(const char *, char **, int);
long __isoc23_wcstol(const wchar_t *, wchar_t **, int);
unsigned long __isoc23_wcstoul(const wchar_t *, wchar_t **, int);
long long __isoc23_wcstoll(const wchar_t *, wchar_t **, int);
unsigned long long __isoc23_wcstoull(const wchar_t *, wchar_t **, int);
intmax_t __isoc23_wcstoimax(const wchar_t *, wchar_t **, int);
uintmax_t __isoc23_wcstoumax(const wchar_t *, wchar_t **, int);
int __isoc23_sscanf(const char *, const char *, ...);
int __isoc23_vsscanf(const char *, const char *, va_list);
int __isoc23_fscanf(FILE *, const char *, ...);
int __isoc23_swscanf(const wchar_t *, const wchar_t *, ...);

static int failures;
static const char *current;

static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = sizeof buf - 1;
    if (n > 0 && write(1, buf, (size_t)n) < 0)
        abort();
}

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            say("FAIL %s: line %d: %s: ", current, __LINE__, #cond);       \
            say(__VA_ARGS__);                                              \
            say("\n");                                                     \
            failures++;                                                    \
            return;                                                        \
        }                                                                  \
    } while (0)

static char path_buf[4][4096];
static const char *in_dir(int slot, const char *dir, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct timespec deadline_in(clockid_t clock, long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_nsec -= 1000000000L;
        t.tv_sec += 1;
    }
    return t;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

/* ---------------------------------------------------------------- files */

static void check_fcntl64(const char *dir)
{
    int fd = open(in_dir(0, dir, "data"), O_RDWR | O_APPEND);
    CHECK(fd >= 0, "open: %s", strerror(errno));
    int fl = fcntl64(fd, F_GETFL);
    CHECK((fl & (O_ACCMODE | O_APPEND)) == (O_RDWR | O_APPEND), "F_GETFL gave %#x", fl);
    CHECK(fcntl64(fd, F_SETFD, FD_CLOEXEC) == 0, "F_SETFD: %s", strerror(errno));
    CHECK(fcntl64(fd, F_GETFD) == FD_CLOEXEC, "F_GETFD");
    int dup = fcntl64(fd, F_DUPFD_CLOEXEC, 200);
    CHECK(dup >= 200, "F_DUPFD_CLOEXEC gave %d", dup);
    close(dup);
    /* What <fcntl.h> passes under -D_FILE_OFFSET_BITS=64 (F_SETLK itself on LP64). */
    struct flock64 lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl64(fd, F_SETLK64, &lock) == 0, "F_SETLK64: %s", strerror(errno));
    struct flock64 query = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl64(fd, F_GETLK64, &query) == 0 && query.l_type == F_UNLCK, "F_GETLK64 type %d",
          query.l_type);
    /* Open file description locks always take a struct flock64: the fcntl of 32-bit
       glibc >= 2.28 would read it as a struct flock. */
    struct flock64 ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 10};
    CHECK(fcntl64(fd, F_OFD_SETLK, &ofd) == 0, "F_OFD_SETLK: %s", strerror(errno));
    int other = open(in_dir(0, dir, "data"), O_RDWR);
    CHECK(other >= 0, "open: %s", strerror(errno));
    struct flock64 probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 105, .l_len = 1};
    int got = fcntl64(other, F_OFD_GETLK, &probe);
    close(other);
    CHECK(got == 0 && probe.l_type == F_WRLCK && probe.l_start == 100 && probe.l_len == 10
              && probe.l_pid == -1,
          "F_OFD_GETLK: %d type %d start %lld len %lld pid %d", got, probe.l_type,
          (long long)probe.l_start, (long long)probe.l_len, (int)probe.l_pid);
    close(fd);
}

static void check_stat(const char *dir)
{
    const char *data = in_dir(0, dir, "data"), *link = in_dir(1, dir, "link");
    struct stat st, st2;
    struct stat64 st64;
    CHECK(stat(data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12345, "stat");
    CHECK(stat64(data, &st64) == 0 && st64.st_size == 12345 && st64.st_ino == st.st_ino,
          "stat64");
    CHECK(stat(link, &st2) == 0 && S_ISREG(st2.st_mode) && st2.st_ino == st.st_ino,
          "stat follows the link");
    CHECK(lstat(link, &st2) == 0 && S_ISLNK(st2.st_mode) && st2.st_size == 4, "lstat");
    CHECK(lstat64(link, &st64) == 0 && S_ISLNK(st64.st_mode), "lstat64");
    int fd = open(data, O_RDONLY);
    CHECK(fd >= 0, "open");
    CHECK(fstat(fd, &st2) == 0 && st2.st_size == 12345 && st2.st_ino == st.st_ino, "fstat");
    CHECK(fstat64(fd, &st64) == 0 && st64.st_size == 12345, "fstat64");
    close(fd);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open dir");
    CHECK(fstatat(dfd, "link", &st2, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st2.st_mode),
          "fstatat nofollow");
    CHECK(fstatat64(dfd, "link", &st64, 0) == 0 && st64.st_size == 12345, "fstatat64");
    CHECK(fstatat(AT_FDCWD, data, &st2, 0) == 0 && st2.st_size == 12345, "fstatat cwd");
    close(dfd);
    errno = 0;
    CHECK(stat(in_dir(2, dir, "missing"), &st2) == -1 && errno == ENOENT, "errno %d", errno);
}

static void check_mknod(const char *dir)
{
    struct stat st;
    const char *fifo = in_dir(0, dir, "fifo");
    CHECK(mknod(fifo, S_IFIFO | 0600, 0) == 0, "mknod: %s", strerror(errno));
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "not a fifo");
    errno = 0;
    CHECK(mknod(fifo, S_IFIFO | 0600, 0) == -1 && errno == EEXIST, "errno %d", errno);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(mknodat(dfd, "fifo2", S_IFIFO | 0600, 0) == 0, "mknodat: %s", strerror(errno));
    CHECK(fstatat(dfd, "fifo2", &st, 0) == 0 && S_ISFIFO(st.st_mode), "not a fifo");
    close(dfd);
}

#if __SIZEOF_POINTER__ == 8 /* the fts64 shims exist on 64-bit arches only */
static void check_fts64(const char *dir)
{
    char *paths[] = {(char *)dir, NULL};
    FTS64 *fts = fts64_open(paths, FTS_PHYSICAL, NULL);
    CHECK(fts != NULL, "fts64_open: %s", strerror(errno));
    FTSENT64 *top = fts64_read(fts);
    CHECK(top != NULL && top->fts_info == FTS_D, "first entry");
    int children = 0;
    for (FTSENT64 *e = fts64_children(fts, 0); e != NULL; e = e->fts_link)
        children++;
    CHECK(children >= 2, "%d children", children);
    long size = -1;
    FTSENT64 *e;
    while ((e = fts64_read(fts)) != NULL) {
        if (strcmp(e->fts_name, "data") == 0 && e->fts_info == FTS_F)
            size = (long)e->fts_statp->st_size;
        if (e->fts_info == FTS_D)
            fts64_set(fts, e, FTS_SKIP);
    }
    CHECK(size == 12345, "size %ld", size);
    CHECK(fts64_close(fts) == 0, "fts64_close");
}
#endif

/* ---------------------------------------------------------------- memory, random */

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void check_getrandom(const char *dir)
{
    (void)dir;
    unsigned char a[64] = {0}, b[64] = {0};
    CHECK(getrandom(a, sizeof a, 0) == 64, "getrandom");
    CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == 64, "nonblocking");
    CHECK(memcmp(a, b, sizeof a) != 0 && !all_zero(a, sizeof a), "not random");
    errno = 0;
    CHECK(getrandom(a, 8, 0x4000) == -1 && errno == EINVAL, "bad flags: errno %d", errno);
}

static void check_getentropy(const char *dir)
{
    (void)dir;
    unsigned char buf[300] = {0};
    CHECK(getentropy(buf, 256) == 0, "getentropy: %s", strerror(errno));
    CHECK(!all_zero(buf, 256) && all_zero(buf + 256, 44), "filled wrongly");
    CHECK(getentropy(buf, 0) == 0, "empty");
    errno = 0;
    CHECK(getentropy(buf, 257) == -1 && errno == EIO, "257 bytes: errno %d", errno);
}

static void check_explicit_bzero(const char *dir)
{
    (void)dir;
    unsigned char buf[64];
    memset(buf, 0xAA, sizeof buf);
    explicit_bzero(buf, 48);
    CHECK(all_zero(buf, 48) && buf[48] == 0xAA && buf[63] == 0xAA, "explicit_bzero");
    memset(buf, 0xAA, sizeof buf);
    __explicit_bzero_chk(buf, 16, sizeof buf);
    CHECK(all_zero(buf, 16) && buf[16] == 0xAA, "__explicit_bzero_chk");
}

static void check_reallocarray(const char *dir)
{
    (void)dir;
    int *p = reallocarray(NULL, 100, sizeof(int));
    CHECK(p != NULL, "reallocarray");
    p[99] = 7;
    p = reallocarray(p, 100000, sizeof(int));
    CHECK(p != NULL && p[99] == 7, "grow");
    volatile size_t half = SIZE_MAX / 2 + 1; /* hidden from the compiler's size checks */
    errno = 0;
    CHECK(reallocarray(p, half, 2) == NULL && errno == ENOMEM, "overflow");
    CHECK(p[99] == 7, "untouched after overflow");
    free(p);
}

static void check_memfd_create(const char *dir)
{
    (void)dir;
    int fd = memfd_create("manywheel", MFD_CLOEXEC);
    CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
    CHECK(write(fd, "hello", 5) == 5, "write");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5, "size");
    CHECK(fcntl64(fd, F_GETFD) == FD_CLOEXEC, "cloexec");
    close(fd);
    errno = 0;
    CHECK(memfd_create("x", ~0u) == -1 && errno == EINVAL, "bad flags: errno %d", errno);
}

static void check_single_threaded(const char *dir)
{
    (void)dir;
    CHECK(__libc_single_threaded == 0, "%d", __libc_single_threaded);
}

static void check_arc4random(const char *dir)
{
    (void)dir;
    int seen[10] = {0};
    for (int i = 0; i < 2000; i++) {
        uint32_t v = arc4random_uniform(10);
        CHECK(v < 10, "arc4random_uniform(10) gave %u", v);
        seen[v]++;
    }
    for (int i = 0; i < 10; i++)
        CHECK(seen[i] > 0, "never drew %d", i);
    CHECK(arc4random_uniform(0) == 0 && arc4random_uniform(1) == 0, "degenerate bounds");
    CHECK(arc4random_uniform(0x80000001u) < 0x80000001u, "large bound");
    uint32_t a = arc4random(), b = arc4random(), c = arc4random();
    CHECK(!(a == b && b == c), "arc4random repeats %u", a);
    unsigned char buf1[100] = {0}, buf2[100] = {0};
    arc4random_buf(buf1, sizeof buf1);
    arc4random_buf(buf2, sizeof buf2);
    CHECK(memcmp(buf1, buf2, sizeof buf1) != 0 && !all_zero(buf1, sizeof buf1), "buf");
}

/* ---------------------------------------------------------------- sysconf */

static void check_sysconf(const char *dir)
{
    (void)dir;
    /* With _GNU_SOURCE and glibc >= 2.34 headers, SIGSTKSZ is sysconf(_SC_SIGSTKSZ). */
    long min = sysconf(_SC_MINSIGSTKSZ), sig = SIGSTKSZ;
    say("info minsigstksz %ld\ninfo sigstksz %ld\n", min, sig);
    say("info real_minsigstksz %ld\n", __real_sysconf(_SC_MINSIGSTKSZ));
    say("info real_sigstksz %ld\n", __real_sysconf(_SC_SIGSTKSZ));
    CHECK(min >= 2048, "MINSIGSTKSZ %ld", min);
    CHECK(sig >= 8192 && sig >= 4 * min, "SIGSTKSZ %ld", sig);
    CHECK(sysconf(_SC_PAGESIZE) == getpagesize(), "page size");
    errno = 0;
    CHECK(sysconf(-7) == -1 && errno == EINVAL, "errno %d", errno);
}

/* ---------------------------------------------------------------- threads */

static int dtor_log[8];
static int dtor_count;

static void record(void *p) { dtor_log[dtor_count++] = (int)(intptr_t)p; }

static void chain(void *p)
{
    record(p);
    __cxa_thread_atexit_impl(record, (void *)3, &__dso_handle);
}

static void *register_dtors(void *arg)
{
    (void)arg;
    __cxa_thread_atexit_impl(record, (void *)1, &__dso_handle);
    __cxa_thread_atexit_impl(chain, (void *)2, &__dso_handle);
    return NULL;
}

static void check_cxa_thread_atexit_impl(const char *dir)
{
    (void)dir;
    dtor_count = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, register_dtors, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(dtor_count == 3 && dtor_log[0] == 2 && dtor_log[1] == 3 && dtor_log[2] == 1,
          "%d ran: %d %d %d", dtor_count, dtor_log[0], dtor_log[1], dtor_log[2]);
}

static void exit_marker(void *p)
{
    (void)p;
    say("main-thread-dtor-ran\n");
}

void register_exit_marker(void)
{
    __cxa_thread_atexit_impl(exit_marker, NULL, &__dso_handle);
}

struct holder {
    pthread_mutex_t *mutex;
    pthread_rwlock_t *rwlock;
    pthread_mutex_t *cond_mutex;
    pthread_cond_t *cond;
    int mode; /* 0 mutex, 1 write lock, 2 read lock, 3 signal */
    long hold_ms;
    int locked, flag;
};

static void *hold(void *arg)
{
    struct holder *h = arg;
    if (h->mode == 0)
        pthread_mutex_lock(h->mutex);
    else if (h->mode == 1)
        pthread_rwlock_wrlock(h->rwlock);
    else if (h->mode == 2)
        pthread_rwlock_rdlock(h->rwlock);
    __atomic_store_n(&h->locked, 1, __ATOMIC_SEQ_CST);
    sleep_ms(h->hold_ms);
    if (h->mode == 0)
        pthread_mutex_unlock(h->mutex);
    else if (h->mode == 3) {
        pthread_mutex_lock(h->cond_mutex);
        h->flag = 1;
        pthread_cond_signal(h->cond);
        pthread_mutex_unlock(h->cond_mutex);
    } else
        pthread_rwlock_unlock(h->rwlock);
    return NULL;
}

static pthread_t start_holder(struct holder *h)
{
    pthread_t t;
    if (pthread_create(&t, NULL, hold, h) != 0)
        abort();
    while (!__atomic_load_n(&h->locked, __ATOMIC_SEQ_CST))
        sleep_ms(1);
    return t;
}

static void check_cond_clockwait(const char *dir)
{
    (void)dir;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_lock(&m);
    struct timespec d = deadline_in(CLOCK_MONOTONIC, 200);
    double t0 = now_mono();
    int err;
    do /* 0 is a spurious wakeup */
        err = pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &d);
    while (err == 0);
    double waited = now_mono() - t0;
    CHECK(err == ETIMEDOUT, "monotonic: %d", err);
    CHECK(waited >= 0.199 && waited < 2.0, "monotonic: waited %.3f s", waited);
    say("info cond_clockwait_200ms %.3f\n", waited);
    d = deadline_in(CLOCK_REALTIME, 50);
    t0 = now_mono();
    do
        err = pthread_cond_clockwait(&c, &m, CLOCK_REALTIME, &d);
    while (err == 0);
    waited = now_mono() - t0;
    CHECK(err == ETIMEDOUT && waited >= 0.045, "realtime: %d after %.3f s", err, waited);
    CHECK(pthread_cond_clockwait(&c, &m, CLOCK_PROCESS_CPUTIME_ID, &d) == EINVAL, "clock");
    struct timespec bad = {d.tv_sec, 2000000000L};
    CHECK(pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &bad) == EINVAL, "bad nsec");
    pthread_mutex_unlock(&m);

    struct holder h = {.cond_mutex = &m, .cond = &c, .mode = 3, .hold_ms = 50};
    pthread_mutex_lock(&m);
    pthread_t t = start_holder(&h);
    d = deadline_in(CLOCK_MONOTONIC, 10000);
    t0 = now_mono();
    err = 0;
    while (!h.flag && err == 0)
        err = pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &d);
    waited = now_mono() - t0;
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
    CHECK(err == 0 && h.flag && waited < 5.0, "signalled: %d after %.3f s", err, waited);
}

static void check_mutex_clocklock(const char *dir)
{
    (void)dir;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    struct timespec d = deadline_in(CLOCK_MONOTONIC, 1000);
    CHECK(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &d) == 0, "free mutex");
    pthread_mutex_unlock(&m);
    CHECK(pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &d) == EINVAL, "clock");

    struct holder h = {.mutex = &m, .mode = 0, .hold_ms = 800};
    pthread_t t = start_holder(&h);
    d = deadline_in(CLOCK_MONOTONIC, 150);
    double t0 = now_mono();
    int err = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &d);
    double waited = now_mono() - t0;
    CHECK(err == ETIMEDOUT && waited >= 0.149 && waited < 0.75, "%d after %.3f s", err, waited);
    d = deadline_in(CLOCK_MONOTONIC, 10000);
    err = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &d);
    CHECK(err == 0, "after release: %d", err);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

static void check_rwlock_clocklock(const char *dir)
{
    (void)dir;
    pthread_rwlock_t rw;
    pthread_rwlock_init(&rw, NULL);
    struct holder h = {.rwlock = &rw, .mode = 1, .hold_ms = 800};
    pthread_t t = start_holder(&h);
    struct timespec d = deadline_in(CLOCK_MONOTONIC, 150);
    double t0 = now_mono();
    int err = pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &d);
    double waited = now_mono() - t0;
    CHECK(err == ETIMEDOUT && waited >= 0.149, "rd vs writer: %d after %.3f s", err, waited);
    d = deadline_in(CLOCK_MONOTONIC, 100);
    err = pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &d);
    CHECK(err == ETIMEDOUT, "wr vs writer: %d", err);
    d = deadline_in(CLOCK_MONOTONIC, 10000);
    err = pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &d);
    CHECK(err == 0, "rd after release: %d", err);
    pthread_rwlock_unlock(&rw);
    pthread_join(t, NULL);

    struct holder r = {.rwlock = &rw, .mode = 2, .hold_ms = 500};
    t = start_holder(&r);
    d = deadline_in(CLOCK_MONOTONIC, 100);
    CHECK(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &d) == 0, "rd vs reader");
    pthread_rwlock_unlock(&rw);
    d = deadline_in(CLOCK_MONOTONIC, 100);
    CHECK(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &d) == ETIMEDOUT, "wr vs reader");
    CHECK(pthread_rwlock_clockwrlock(&rw, CLOCK_TAI + 100, &d) == EINVAL, "clock");
    d = deadline_in(CLOCK_MONOTONIC, 10000);
    CHECK(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &d) == 0, "wr after release");
    pthread_rwlock_unlock(&rw);
    pthread_join(t, NULL);
    pthread_rwlock_destroy(&rw);
}

/* ---------------------------------------------------------------- loader */

struct objects {
    int count;
    void *pc[64];
};

static int collect_pcs(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct objects *o = data;
    for (int i = 0; i < info->dlpi_phnum && o->count < 64; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            o->pc[o->count++] = (void *)(info->dlpi_addr + ph->p_vaddr + ph->p_memsz / 2);
            break;
        }
    }
    return 0;
}

#if DLFO_STRUCT_HAS_EH_DBASE
static void *info_base(void *pc)
{
    Dl_info info;
    return dladdr(pc, &info) ? info.dli_fbase : NULL;
}
#endif

static void check_dl_find_object(const char *dir)
{
    (void)dir;
    struct dl_find_object r;
    void *pc = (void *)check_dl_find_object;
    memset(&r, 0x55, sizeof r);
    CHECK(_dl_find_object(pc, &r) == 0, "own pc not found");
    CHECK((char *)r.dlfo_map_start <= (char *)pc && (char *)pc < (char *)r.dlfo_map_end,
          "bounds %p..%p", r.dlfo_map_start, r.dlfo_map_end);
#if DLFO_STRUCT_HAS_EH_COUNT /* ARM: the .ARM.exidx table and its entries */
    CHECK(r.dlfo_eh_frame != NULL && r.dlfo_eh_count > 0, "no .ARM.exidx: %d", r.dlfo_eh_count);
#else
    CHECK(r.dlfo_eh_frame != NULL && *(unsigned char *)r.dlfo_eh_frame == 1,
          "not an .eh_frame_hdr");
#endif
#if DLFO_STRUCT_HAS_EH_DBASE /* i386: the test compares it with the file's DT_PLTGOT */
    say("info eh_dbase_offset %ld\n", (long)((char *)r.dlfo_eh_dbase - (char *)info_base(pc)));
#endif
    Dl_info info;
    struct link_map *map = NULL;
    CHECK(dladdr1(pc, &info, (void **)&map, RTLD_DL_LINKMAP) && map == r.dlfo_link_map,
          "link map %p, dladdr1 says %p", (void *)r.dlfo_link_map, (void *)map);
    CHECK(r.dlfo_flags == 0, "flags");
    CHECK(_dl_find_object((void *)16, &r) == -1, "found an object at 16");

    int (*real)(void *, struct dl_find_object *) =
        (int (*)(void *, struct dl_find_object *))dlsym(RTLD_DEFAULT, "_dl_find_object");
    if (real == NULL) {
        say("info dl_find_object_compared 0\n");
        return;
    }
    CHECK((void *)real != (void *)_dl_find_object, "the shim is exported");
    struct objects objs = {0};
    dl_iterate_phdr(collect_pcs, &objs);
    for (int i = 0; i < objs.count; i++) {
        struct dl_find_object mine, theirs;
        memset(&mine, 0, sizeof mine);
        memset(&theirs, 0, sizeof theirs);
        int a = _dl_find_object(objs.pc[i], &mine), b = real(objs.pc[i], &theirs);
        CHECK(a == b, "pc %p: shim %d, glibc %d", objs.pc[i], a, b);
        if (a != 0)
            continue;
#if DLFO_STRUCT_HAS_EH_COUNT
        CHECK(mine.dlfo_eh_count == theirs.dlfo_eh_count, "pc %p: shim %d entries, glibc %d",
              objs.pc[i], mine.dlfo_eh_count, theirs.dlfo_eh_count);
#endif
        CHECK(mine.dlfo_map_start == theirs.dlfo_map_start
                  && mine.dlfo_map_end == theirs.dlfo_map_end
                  && mine.dlfo_eh_frame == theirs.dlfo_eh_frame
                  && mine.dlfo_link_map == theirs.dlfo_link_map,
              "pc %p: shim %p..%p eh %p map %p, glibc %p..%p eh %p map %p", objs.pc[i],
              mine.dlfo_map_start, mine.dlfo_map_end, mine.dlfo_eh_frame,
              (void *)mine.dlfo_link_map, theirs.dlfo_map_start, theirs.dlfo_map_end,
              theirs.dlfo_eh_frame, (void *)theirs.dlfo_link_map);
    }
    say("info dl_find_object_compared %d\n", objs.count);
}

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *ctx, void *arg)
{
    (void)ctx;
    ++*(int *)arg;
    return _URC_NO_REASON;
}

__attribute__((noinline)) static int unwind_depth(int n)
{
    if (n > 0) {
        int frames = unwind_depth(n - 1);
        __asm__ __volatile__("");
        return frames;
    }
    int frames = 0;
    _Unwind_Backtrace(count_frame, &frames);
    return frames;
}

static void check_unwind(const char *dir)
{
    (void)dir;
    /* libgcc_eh's unwinder (static libgcc) finds every frame through _dl_find_object. */
    int frames = unwind_depth(4);
    say("info unwound_frames %d\n", frames);
    CHECK(frames >= 8, "only %d frames", frames);
}

/* ---------------------------------------------------------------- C23 */

static int vscan(const char *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = __isoc23_vsscanf(s, fmt, ap);
    va_end(ap);
    return n;
}

#define EXPECT(call, want, tail, err)                                                 \
    do {                                                                              \
        errno = 0;                                                                    \
        __typeof__(call) got_ = (call);                                               \
        CHECK(got_ == (want) && errno == (err), "%s: got %lld errno %d", #call,       \
              (long long)got_, errno);                                                \
        CHECK(end - in == (tail), "%s: stopped at %d", #call, (int)(end - in));       \
    } while (0)

static void check_isoc23(const char *dir)
{
    const char *in;
    char *end;
    static const char ones64[] = "0b1111111111111111111111111111111111111111111111111111111111111111";
    static const char min64[] = "-0b1000000000000000000000000000000000000000000000000000000000000000";
#if LONG_MAX == 0x7fffffffffffffffL
#define LONG_BITS 64
    static const char onesl[] = "0b1111111111111111111111111111111111111111111111111111111111111111";
    static const char minl[] = "-0b1000000000000000000000000000000000000000000000000000000000000000";
    static const char belowl[] = "-0b1000000000000000000000000000000000000000000000000000000000000001";
#else
#define LONG_BITS 32
    static const char onesl[] = "0b11111111111111111111111111111111";
    static const char minl[] = "-0b10000000000000000000000000000000";
    static const char belowl[] = "-0b10000000000000000000000000000001";
#endif
    in = "0b101";  EXPECT(__isoc23_strtol(in, &end, 0), 5, 5, 0);
    in = "0b101";  EXPECT(__isoc23_strtol(in, &end, 2), 5, 5, 0);
    in = "0B11";   EXPECT(__isoc23_strtol(in, &end, 0), 3, 4, 0);
    in = " \t-0b11z"; EXPECT(__isoc23_strtol(in, &end, 0), -3, 7, 0);
    in = "+0b1";   EXPECT(__isoc23_strtol(in, &end, 2), 1, 4, 0);
    in = "0b";     EXPECT(__isoc23_strtol(in, &end, 0), 0, 1, 0);
    in = "0b2";    EXPECT(__isoc23_strtol(in, &end, 0), 0, 1, 0);
    in = "0b101";  EXPECT(__isoc23_strtol(in, &end, 16), 0xb101, 5, 0);
    in = "0x1f";   EXPECT(__isoc23_strtol(in, &end, 0), 31, 4, 0);
    in = "017";    EXPECT(__isoc23_strtol(in, &end, 0), 15, 3, 0);
    in = "x";      EXPECT(__isoc23_strtol(in, &end, 0), 0, 0, 0);
    in = onesl;    EXPECT(__isoc23_strtol(in, &end, 0), LONG_MAX, LONG_BITS + 2, ERANGE);
    in = minl;     EXPECT(__isoc23_strtol(in, &end, 0), LONG_MIN, LONG_BITS + 3, 0);
    in = belowl;   EXPECT(__isoc23_strtol(in, &end, 0), LONG_MIN, LONG_BITS + 3, ERANGE);
    in = min64;    EXPECT(__isoc23_strtoll(in, &end, 2), LLONG_MIN, 67, 0);
    in = "-0b1";   EXPECT(__isoc23_strtoul(in, &end, 0), ULONG_MAX, 4, 0);
    in = onesl;    EXPECT(__isoc23_strtoul(in, &end, 0), ULONG_MAX, LONG_BITS + 2, 0);
    in = ones64;   EXPECT(__isoc23_strtoull(in, &end, 0), ULLONG_MAX, 66, 0);
    in = "0b11111111111111111111111111111111111111111111111111111111111111111";
                   EXPECT(__isoc23_strtoull(in, &end, 0), ULLONG_MAX, 67, ERANGE);
    in = "0b1000"; EXPECT(__isoc23_strtoull(in, &end, 0), 8, 6, 0);
    in = "-0b10";  EXPECT(__isoc23_strtoimax(in, &end, 0), -2, 5, 0);
    in = "-0b10";  EXPECT(__isoc23_strtoumax(in, &end, 0), UINTMAX_MAX - 1, 5, 0);
    in = "12";     EXPECT(__isoc23_strtoumax(in, &end, 10), 12, 2, 0);

    const wchar_t *w;
    wchar_t *wend;
#define WEXPECT(call, want, tail)                                                     \
    do {                                                                              \
        errno = 0;                                                                    \
        __typeof__(call) got_ = (call);                                               \
        CHECK(got_ == (want) && errno == 0 && wend - w == (tail), "%s: got %lld", #call, \
              (long long)got_);                                                       \
    } while (0)
    w = L"0b101";   WEXPECT(__isoc23_wcstol(w, &wend, 0), 5, 5);
    w = L" -0b11";  WEXPECT(__isoc23_wcstoll(w, &wend, 2), -3, 6);
    w = L"-0b1";    WEXPECT(__isoc23_wcstoul(w, &wend, 0), ULONG_MAX, 4);
    w = L"0b1000";  WEXPECT(__isoc23_wcstoull(w, &wend, 0), 8, 6);
    w = L"\t0b11";  WEXPECT(__isoc23_wcstoimax(w, &wend, 0), 3, 5);
    w = L"0x10";    WEXPECT(__isoc23_wcstoumax(w, &wend, 0), 16, 4);

    int i = 0, j = 0;
    char word[8] = "";
    CHECK(__isoc23_sscanf("12 abc", "%d %3s", &i, word) == 2 && i == 12 && !strcmp(word, "abc"),
          "sscanf");
    CHECK(vscan("7 8", "%d %d", &i, &j) == 2 && i == 7 && j == 8, "vsscanf");
    CHECK(__isoc23_swscanf(L"41", L"%d", &i) == 1 && i == 41, "swscanf");
    FILE *f = fopen(in_dir(0, dir, "numbers"), "w+");
    CHECK(f != NULL, "fopen");
    fputs("99 100", f);
    rewind(f);
    CHECK(__isoc23_fscanf(f, "%d %d", &i, &j) == 2 && i == 99 && j == 100, "fscanf");
    fclose(f);
}

/* ---------------------------------------------------------------- runner */

struct check {
    const char *name;
    void (*run)(const char *dir);
};

static const struct check checks[] = {
    {"fcntl64", check_fcntl64},
    {"stat", check_stat},
    {"mknod", check_mknod},
#if __SIZEOF_POINTER__ == 8
    {"fts64", check_fts64},
#endif
    {"getrandom", check_getrandom},
    {"getentropy", check_getentropy},
    {"explicit_bzero", check_explicit_bzero},
    {"reallocarray", check_reallocarray},
    {"memfd_create", check_memfd_create},
    {"single_threaded", check_single_threaded},
    {"arc4random", check_arc4random},
    {"sysconf", check_sysconf},
    {"cxa_thread_atexit_impl", check_cxa_thread_atexit_impl},
    {"cond_clockwait", check_cond_clockwait},
    {"mutex_clocklock", check_mutex_clocklock},
    {"rwlock_clocklock", check_rwlock_clocklock},
    {"dl_find_object", check_dl_find_object},
    {"unwind", check_unwind},
    {"isoc23", check_isoc23},
};

int run_checks(const char *dir, const char *only)
{
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (only != NULL && strcmp(only, checks[i].name) != 0)
            continue;
        int before = failures;
        current = checks[i].name;
        checks[i].run(dir);
        if (failures == before)
            say("ok %s\n", current);
    }
    return failures;
}

int overflow_explicit_bzero_chk(void)
{
    unsigned char buf[64];
    __explicit_bzero_chk(buf, 65, sizeof buf); /* aborts */
    return 0;
}
"""

CHECK_NAMES = re.findall(r'\{"(\w+)", check_\w+\}', CHECK_C)


def check_names(tools: Toolchain) -> list[str]:
    """The C checks a library built by ``tools`` runs: fts64 only where its shim exists."""
    return [name for name in CHECK_NAMES if tools.lp64 or name != "fts64"]


# Runs a check library as RUNNER does, for a machine without Python: the C library of a
# cross toolchain under qemu-user. Arguments: the library, its entry point, a directory
# holding `data` and `link` (see make_check_dir), then RUNNER's options.
DRIVER_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s LIBRARY ENTRY DIR [only=NAME] [dlclose]\n", argv[0]);
        return 2;
    }
    const char *only = NULL;
    int unload = 0;
    for (int i = 4; i < argc; i++) {
        if (strncmp(argv[i], "only=", 5) == 0)
            only = argv[i] + 5;
        else if (strcmp(argv[i], "dlclose") == 0)
            unload = 1;
    }
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (lib == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    void (*marker)(void) = (void (*)(void))dlsym(lib, "register_exit_marker");
    int (*entry)(const char *, const char *) =
        (int (*)(const char *, const char *))dlsym(lib, argv[2]);
    if (entry == NULL) {
        fprintf(stderr, "no %s in %s\n", argv[2], argv[1]);
        return 2;
    }
    if (marker != NULL)
        marker();
    entry(argv[3], only);
    if (unload) {
        dlclose(lib);
        printf("info still_loaded_after_dlclose %d\n",
               dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) != NULL);
    }
    fflush(stdout);
    return 0;
}
"""


def make_check_dir(path: Path) -> Path:
    """A directory as the checks expect it: `data` (12345 bytes) and `link` -> data."""
    path.mkdir(parents=True)
    (path / "data").write_bytes(b"x" * 12345)
    (path / "link").symlink_to("data")
    return path


# Runs a check library in a fresh interpreter, in a directory holding `data` (12345
# bytes) and `link` -> data; prints the library's report lines. Options after the entry
# point: only=NAME runs one check; dlclose unloads the library afterwards and reports
# whether it stayed loaded.
RUNNER = textwrap.dedent(
    """
    import ctypes, os, shutil, sys, tempfile
    lib = ctypes.CDLL(os.path.abspath(sys.argv[1]))
    d = tempfile.mkdtemp()
    try:
        with open(os.path.join(d, "data"), "wb") as f:
            f.write(b"x" * 12345)
        os.symlink("data", os.path.join(d, "link"))
        if hasattr(lib, "register_exit_marker"):
            lib.register_exit_marker()
        entry = getattr(lib, sys.argv[2])
        entry.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        only = [a[5:].encode() for a in sys.argv[3:] if a.startswith("only=")]
        entry(d.encode(), only[0] if only else None)
        if "dlclose" in sys.argv[3:]:  # unload, then say whether it is still loaded
            import _ctypes
            _ctypes.dlclose(lib._handle)
            try:
                ctypes.CDLL(os.path.abspath(sys.argv[1]), mode=os.RTLD_NOLOAD)
                loaded = 1
            except OSError:
                loaded = 0
            print("info still_loaded_after_dlclose", loaded, flush=True)
    finally:
        shutil.rmtree(d)
    """
)


class Report:
    def __init__(self, out: str, err: str, returncode: int) -> None:
        self.text = out + err
        self.returncode = returncode
        self.ok = set(re.findall(r"^ok (\w+)$", out, re.M))
        self.failed = dict(re.findall(r"^FAIL (\w+): (.*)$", out, re.M))
        self.info = dict(re.findall(r"^info (\w+) (\S+)$", out, re.M))

    def check(self, name: str) -> None:
        assert self.returncode == 0, self.text
        assert name not in self.failed, self.failed[name]
        assert name in self.ok, f"{name} did not report:\n{self.text}"


def run_report(lib: Path, entry: str, *extra: str) -> Report:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(lib), entry, *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return Report(proc.stdout, proc.stderr, proc.returncode)



# --------------------------------------------------------------------- the checks (C++)

CHECK_CXX = r"""
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono;

static int failures;
static void say(const std::string &s) { if (write(1, s.data(), s.size()) < 0) std::abort(); }
#define CHECK(name, cond)                                                          \
    do {                                                                           \
        if (cond) say("ok " name "\n");                                            \
        else { say("FAIL " name ": " #cond "\n"); failures++; }                    \
    } while (0)

[[gnu::noinline]] static void thrower(int depth)
{
    if (depth == 0) throw std::runtime_error("deep");
    thrower(depth - 1);
    asm volatile("");
}

static std::string dtor_log;
struct Tracked {
    std::string name = "unset";
    ~Tracked() { dtor_log += name + ";"; }
};
thread_local Tracked tracked;

static bool held_too_long(std::timed_mutex &m)
{
    auto t0 = steady_clock::now();
    bool got = m.try_lock_for(milliseconds(150));
    if (got) m.unlock();
    return !got && steady_clock::now() - t0 >= milliseconds(150);
}

extern "C" int cxx_checks(const char *dir, const char *only)
{
    (void)only;  // the C++ checks always run together
    bool caught = false;
    try { thrower(6); } catch (const std::runtime_error &e) { caught = std::strcmp(e.what(), "deep") == 0; }
    CHECK("throw_catch", caught);

    std::exception_ptr ep;
    std::thread([&] { try { thrower(3); } catch (...) { ep = std::current_exception(); } }).join();
    bool rethrown = false;
    try { if (ep) std::rethrow_exception(ep); } catch (const std::runtime_error &) { rethrown = true; }
    CHECK("exception_across_threads", rethrown);

    dtor_log.clear();
    std::thread([] { tracked.name = "worker"; }).join();
    CHECK("thread_local_dtor", dtor_log == "worker;");

    bool random_ok = true;
    for (const char *token : {"default", "getentropy", "arc4random"}) {
        try {
            std::random_device rd(token);
            unsigned a = rd(), b = rd(), c = rd();
            random_ok = random_ok && !(a == b && b == c);
        } catch (const std::exception &e) {
            say(std::string("info random_device ") + token + " " + e.what() + "\n");
            random_ok = false;
        }
    }
    CHECK("random_device", random_ok);

    fs::path d(dir);
    std::error_code ec;
    CHECK("filesystem", fs::file_size(d / "data") == 12345 && fs::is_symlink(d / "link")
                            && fs::is_regular_file(fs::status(d / "link"))
                            && std::distance(fs::directory_iterator(d), fs::directory_iterator()) >= 2
                            && fs::equivalent(d / "data", d / "link"));

    std::mutex m;
    std::condition_variable cv;
    std::unique_lock<std::mutex> lock(m);
    auto t0 = steady_clock::now();
    auto status = cv.wait_for(lock, milliseconds(200));  // pthread_cond_clockwait
    auto waited = steady_clock::now() - t0;
    lock.unlock();
    CHECK("condition_variable_wait_for", status == std::cv_status::timeout && waited >= milliseconds(200));

    std::timed_mutex tm;
    std::atomic<bool> locked{false};
    std::thread holder([&] { tm.lock(); locked = true; std::this_thread::sleep_for(milliseconds(700)); tm.unlock(); });
    while (!locked) std::this_thread::sleep_for(milliseconds(1));
    CHECK("timed_mutex_try_lock_for", held_too_long(tm));  // pthread_mutex_clocklock
    holder.join();

    std::shared_timed_mutex sm;
    locked = false;
    std::thread writer([&] { sm.lock(); locked = true; std::this_thread::sleep_for(milliseconds(500)); sm.unlock(); });
    while (!locked) std::this_thread::sleep_for(milliseconds(1));
    bool shared_got = sm.try_lock_shared_for(milliseconds(100));  // pthread_rwlock_clockrdlock
    if (shared_got) sm.unlock_shared();
    bool excl_got = sm.try_lock_for(milliseconds(100));  // pthread_rwlock_clockwrlock
    if (excl_got) sm.unlock();
    writer.join();
    CHECK("shared_timed_mutex", !shared_got && !excl_got && sm.try_lock_shared_for(milliseconds(100)));
    sm.unlock_shared();

    auto shared = std::make_shared<int>(1);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++)
        threads.emplace_back([shared] { for (int j = 0; j < 1000; j++) { auto copy = shared; (void)copy; } });
    for (auto &t : threads) t.join();
    CHECK("shared_ptr_atomic_counts", shared.use_count() == 1);
    return failures;
}
"""

CXX_CHECK_NAMES = re.findall(r'CHECK\("(\w+)"', CHECK_CXX)
